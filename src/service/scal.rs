//! Which activation a credential's signature activation control level accepts (CEN EN
//! 419 241-1), as the interfaces offer it to a signer. `Signing::authorize` checks the
//! activation itself.

use super::Scal;

/// Whether the signer's application may pass a one-time code through to activate (CSC
/// `authMode` "explicit"): at SCAL1 only; at SCAL2 the factor reaches qsign directly and is
/// bound to the hashes.
#[must_use]
pub const fn client_otp(scal: Scal) -> bool {
    matches!(scal, Scal::Scal1)
}

/// The CSC `authMode` of a credential: `explicit` (the application sends a one-time code)
/// where that is enough, else `oauth2code`.
#[must_use]
pub const fn auth_mode(scal: Scal) -> &'static str {
    if client_otp(scal) {
        "explicit"
    } else {
        "oauth2code"
    }
}

/// The activation methods accepted for a credential, strongest first: a passkey assertion
/// over the hashes (sent by the application, or made on the person's phone: `oob`), the OAuth
/// authorization-code flow, a trusted issuer's token naming the hashes, and at SCAL1 also a
/// one-time code sent by the application.
#[must_use]
pub const fn activation_methods(scal: Scal) -> &'static [&'static str] {
    if client_otp(scal) {
        &["webauthn", "oob", "oauth2code", "external_token", "totp"]
    } else {
        &["webauthn", "oob", "oauth2code", "external_token"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_time_code_from_the_application_activates_at_scal1_only() {
        assert!(client_otp(Scal::Scal1));
        assert!(!client_otp(Scal::Scal2));
        assert_eq!(auth_mode(Scal::Scal1), "explicit");
        assert_eq!(auth_mode(Scal::Scal2), "oauth2code");
        assert_eq!(activation_methods(Scal::Scal1).last(), Some(&"totp"));
        assert!(!activation_methods(Scal::Scal2).contains(&"totp"));
        assert_eq!(activation_methods(Scal::Scal2)[0], "webauthn");
    }
}
