//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, 6 digits, 30-second
//! steps, accepting the previous and next step for clock drift. Replay protection (a code is
//! accepted once) is the caller's: it records the step used and refuses steps not after it.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per step.
pub const STEP: i64 = 30;

/// A new random 160-bit secret, as base32 (RFC 4648, no padding) for authenticator apps.
///
/// # Errors
/// When the OS has no randomness.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut secret = [0u8; 20];
    getrandom::fill(&mut secret)?;
    Ok(data_encoding::BASE32_NOPAD.encode(&secret))
}

/// The `otpauth://` URI for enrolment in an authenticator app.
#[must_use]
pub fn uri(secret: &str, issuer: &str, account: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// The code for `step` (RFC 4226 §5.3 dynamic truncation).
#[must_use]
pub fn code_at(key: &[u8], step: i64) -> u32 {
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(key) else {
        return 0;
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest.last().copied().unwrap_or(0) & 0x0f);
    let bytes: [u8; 4] = digest
        .get(offset..offset + 4)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; 4]);
    (u32::from_be_bytes(bytes) & 0x7fff_ffff) % 1_000_000
}

/// The step a 6-digit `code` matches at `now` (±1 step), compared in constant time; `None` for
/// a wrong, malformed or undecodable input.
#[must_use]
pub fn matching_step(secret_base32: &str, code: &str, now: i64) -> Option<i64> {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret_base32.as_bytes())
        .ok()?;
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now.div_euclid(STEP);
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        let expected = format!("{:06}", code_at(&key, step));
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (8-digit values; the 6-digit code is the last six).
    #[test]
    fn rfc6238_vectors() {
        let key = b"12345678901234567890";
        for (time, eight) in [
            (59_i64, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(code_at(key, time / STEP), eight % 1_000_000, "t={time}");
        }
    }

    #[test]
    fn drift_of_one_step_is_accepted_and_two_is_not() {
        let secret = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        let now = 1_234_567_890;
        let code = |step: i64| format!("{:06}", code_at(b"12345678901234567890", step));
        let step = now / STEP;
        assert_eq!(matching_step(&secret, &code(step), now), Some(step));
        assert_eq!(matching_step(&secret, &code(step - 1), now), Some(step - 1));
        assert_eq!(matching_step(&secret, &code(step + 1), now), Some(step + 1));
        assert_eq!(matching_step(&secret, &code(step - 2), now), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
        assert_eq!(matching_step("not base32!", "123456", now), None);
    }

    #[test]
    fn secrets_are_random_base32() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(a, b);
        assert_eq!(
            data_encoding::BASE32_NOPAD
                .decode(a.as_bytes())
                .unwrap()
                .len(),
            20
        );
        assert!(uri(&a, "qsign", "alice").starts_with("otpauth://totp/qsign:alice?secret="));
    }
}
