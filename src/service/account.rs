//! A person's own account: their factors (passkeys, TOTP app), their history, and the
//! operators' support lookup.

use std::sync::Arc;

use super::{audit_error, person_ctx, unix_now, Error, ErrorCode};
use crate::audit::{Actor, Audit};
use crate::clock::SharedClock;
use crate::identity::loa::Loa;
use crate::identity::{Identity, Principal};
use crate::store::{AuditFilter, AuditRow, Store};

pub use crate::identity::factors::{Factors, TotpOffer};

/// A person's own account and the support view.
#[derive(Debug, Clone)]
pub struct Account {
    pub(super) store: Store,
    pub(super) identity: Identity,
    pub(super) audit: Audit,
    pub(super) clock: SharedClock,
    /// Usernames of support operators (the support view).
    pub(super) operators: Arc<Vec<String>>,
}

impl Account {
    /// The caller's enrolled factors.
    ///
    /// # Errors
    /// `not_found` for a vanished account; store failures.
    pub async fn factors(&self, principal: &Principal) -> Result<Factors, Error> {
        Ok(self.identity.factors(principal).await?)
    }

    /// The caller's login name.
    ///
    /// # Errors
    /// `not_found` for a vanished account; store failures.
    pub async fn username(&self, principal: &Principal) -> Result<String, Error> {
        self.store
            .person_by_id(&principal.person.to_string())
            .await?
            .map(|p| p.username)
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "no such account"))
    }

    /// A new TOTP secret to confirm (needs a High session).
    ///
    /// # Errors
    /// `insufficient_loa`.
    pub async fn totp_offer(&self, principal: &Principal) -> Result<TotpOffer, Error> {
        Ok(self.identity.totp_offer(principal).await?)
    }

    /// Stores the offered TOTP secret once a code from it matches (needs a High session).
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_grant` for a wrong code.
    pub async fn totp_enrol(
        &self,
        principal: &Principal,
        secret: &str,
        code: &str,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .identity
            .totp_enrol(principal, secret, code, &ctx, self.now())
            .await?)
    }

    /// Removes the caller's TOTP app (a lost phone); a passkey must remain.
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_request` for the last second factor.
    pub async fn remove_totp(
        &self,
        principal: &Principal,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .identity
            .remove_totp(principal, &ctx, self.now())
            .await?)
    }

    /// Removes one of the caller's passkeys (a lost key); another second factor must remain.
    ///
    /// # Errors
    /// `insufficient_loa`, `not_found`, `invalid_request` for the last second factor.
    pub async fn remove_passkey(
        &self,
        principal: &Principal,
        credential_id: &str,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .identity
            .remove_passkey(principal, credential_id, &ctx, self.now())
            .await?)
    }

    /// The caller's own audit history (logins, enrolments, signatures), newest first.
    ///
    /// # Errors
    /// Database failures.
    pub async fn my_history(
        &self,
        principal: &Principal,
        limit: i64,
    ) -> Result<Vec<serde_json::Value>, Error> {
        let limit = limit.clamp(1, 1000);
        let about = AuditFilter {
            subject: Some(format!("person:{}", principal.person)),
            limit,
            ..AuditFilter::default()
        };
        let by = AuditFilter {
            actor: Some(Actor::Person(principal.person).key()),
            limit,
            ..AuditFilter::default()
        };
        let mut rows = self.audit.query(&about).await.map_err(audit_error)?;
        rows.extend(self.audit.query(&by).await.map_err(audit_error)?);
        rows.sort_by_key(|r| std::cmp::Reverse(r.seq));
        rows.dedup_by_key(|r| r.seq);
        rows.truncate(usize::try_from(limit).unwrap_or(100));
        records(&rows)
    }

    /// Whether the caller is a support operator (named in the configuration).
    ///
    /// # Errors
    /// Store failures.
    pub async fn is_operator(&self, principal: &Principal) -> Result<bool, Error> {
        if self.operators.is_empty() {
            return Ok(false);
        }
        let row = self
            .store
            .person_by_id(&principal.person.to_string())
            .await?;
        Ok(row.is_some_and(|p| self.operators.contains(&p.username)))
    }

    /// The audit records of a support reference (the request id every error response
    /// carries), for operators with a High session.
    ///
    /// # Errors
    /// `forbidden` for non-operators, `insufficient_loa` below High, `invalid_request` for a
    /// malformed reference.
    pub async fn support_lookup(
        &self,
        principal: &Principal,
        reference: &str,
    ) -> Result<Vec<serde_json::Value>, Error> {
        if !self.is_operator(principal).await? {
            return Err(Error::new(
                ErrorCode::Forbidden,
                "only support operators may look up support references",
            ));
        }
        if principal.loa < Loa::High {
            return Err(Error::new(
                ErrorCode::InsufficientLoa,
                "the support view needs a High login (step up with a passkey)",
            ));
        }
        let reference = reference.trim();
        let short = short_reference_range(reference);
        if short.is_none() && !is_support_reference(reference) {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "a support reference is 1 to 64 letters, digits, '-', '_' or '.' (or its 8-character short form)",
            ));
        }
        let mut rows = if is_support_reference(reference) {
            self.audit
                .query(&AuditFilter {
                    request_id: Some(reference.to_owned()),
                    limit: 100,
                    ..AuditFilter::default()
                })
                .await
                .map_err(audit_error)?
        } else {
            Vec::new()
        };
        // The short form: the request ids that begin with the 40 bits it spells, found through
        // the request-id index (a range, not a scan).
        if let (true, Some((from, to))) = (rows.is_empty(), short) {
            rows = self
                .store
                .audit_by_request_range(&from, to.as_deref(), 100)
                .await?;
            rows.retain(|r| {
                r.request_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with(&from))
            });
            rows.sort_by_key(|r| std::cmp::Reverse(r.seq));
        }
        records(&rows)
    }

    /// The `otpauth://` URI of a TOTP secret for the caller's account: for the QR code beside
    /// a new secret, and for the enrolment page shown again after a wrong code. Like the
    /// enrolment itself, only for a High session.
    ///
    /// # Errors
    /// `insufficient_loa` below High, `invalid_request` for a secret that is not base 32.
    pub async fn totp_uri(&self, principal: &Principal, secret: &str) -> Result<String, Error> {
        if principal.loa < Loa::High {
            return Err(Error::new(
                ErrorCode::InsufficientLoa,
                "enrolling an authenticator app needs a High login (step up with a passkey)",
            ));
        }
        let secret = secret.trim();
        let base32 = secret
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
        if !(16..=128).contains(&secret.len()) || !base32 {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "the secret is not an authenticator app's secret (base 32)",
            ));
        }
        let username = self.username(principal).await?;
        Ok(crate::identity::totp::uri(secret, "qsign", &username))
    }

    fn now(&self) -> i64 {
        unix_now(&self.clock)
    }
}

/// The records of audit rows, as JSON.
fn records(rows: &[AuditRow]) -> Result<Vec<serde_json::Value>, Error> {
    rows.iter()
        .map(|r| serde_json::from_slice(&r.record).map_err(|e| Error::internal(e.to_string())))
        .collect()
}

/// The letters of a short support reference: Crockford's base 32 (no I, L, O or U, so that
/// it reads aloud without doubt).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The short form of a support reference, for a person to read aloud: 8 characters of
/// Crockford's base 32 for the reference's first 40 bits. A request id is a random UUID, so
/// its first ten hex digits are random, and an operator's lookup finds the records by that
/// prefix ([`Account::support_lookup`]); a reference that does not begin with ten hex digits
/// is shortened from its SHA-256 instead (shown, but not found by its short form).
#[must_use]
pub fn short_reference(reference: &str) -> String {
    let hex: String = reference.chars().filter(|c| *c != '-').take(10).collect();
    let bits = Some(hex)
        .filter(|h| h.len() == 10 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .and_then(|h| u64::from_str_radix(&h, 16).ok())
        .unwrap_or_else(|| {
            use sha2::Digest as _;
            let digest = sha2::Sha256::digest(reference.as_bytes());
            digest
                .iter()
                .take(5)
                .fold(0u64, |bits, b| (bits << 8) | u64::from(*b))
        });
    (0..8u32)
        .rev()
        .map(|i| {
            let index = usize::try_from((bits >> (5 * i)) & 31).unwrap_or(0);
            CROCKFORD.get(index).map_or('0', |b| char::from(*b))
        })
        .collect()
}

/// The request ids a short support reference stands for, as a range of the request-id index:
/// `from` is the ten hex digits it spells (`xxxxxxxx-xx`), `to` the next such prefix (none
/// after the last). Read leniently: lower case, `O` for 0, `I` and `L` for 1, spaces and
/// hyphens ignored. `None` when it is not 8 such characters.
#[must_use]
pub fn short_reference_range(short: &str) -> Option<(String, Option<String>)> {
    let cleaned: Vec<u8> = short
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'-'))
        .map(|b| match b.to_ascii_uppercase() {
            b'O' => b'0',
            b'I' | b'L' => b'1',
            other => other,
        })
        .collect();
    if cleaned.len() != 8 {
        return None;
    }
    let mut bits = 0u64;
    for b in cleaned {
        let value = CROCKFORD.iter().position(|c| *c == b)?;
        bits = (bits << 5) | u64::try_from(value).ok()?;
    }
    let prefix = |bits: u64| {
        let hex = format!("{bits:010x}");
        Some(format!("{}-{}", hex.get(..8)?, hex.get(8..)?))
    };
    let next = bits.checked_add(1).filter(|n| *n < 1 << 40);
    Some((prefix(bits)?, next.and_then(prefix)))
}

/// Whether a request id can be a support reference (the caller's `X-Request-Id` is echoed
/// only then): 1 to 64 characters from `[A-Za-z0-9._-]`, safe in logs and headers.
#[must_use]
pub fn is_support_reference(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_references_spell_the_first_40_bits_and_map_back() {
        let id = "0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b";
        let short = short_reference(id);
        assert_eq!(short.len(), 8);
        assert!(short.bytes().all(|b| CROCKFORD.contains(&b)), "{short}");
        let (from, to) = short_reference_range(&short).unwrap();
        assert_eq!(from, "0190a1b2-c3");
        assert_eq!(to.as_deref(), Some("0190a1b2-c4"));
        assert!(id.starts_with(&from));
        // Read aloud and typed back loosely.
        let loose = format!("{} {}", &short[..4], &short[4..]).to_lowercase();
        assert_eq!(short_reference_range(&loose).unwrap().0, from);
        assert_eq!(short_reference_range("ZZZZZZZZ").unwrap().1, None);
        assert_eq!(short_reference_range("0000000O").unwrap().0, "00000000-00");
        for bad in ["", "ABCDEFG", "ABCDEFGHJ", "ABCDEFGU", id] {
            assert!(short_reference_range(bad).is_none(), "{bad}");
        }
        // Not hex: shortened from its SHA-256, still 8 readable characters.
        assert_eq!(short_reference("client-ref").len(), 8);
    }

    #[test]
    fn request_ids_from_callers_are_filtered_to_safe_support_references() {
        assert!(is_support_reference("abc-123_X.y"));
        assert!(!is_support_reference(""));
        assert!(!is_support_reference("a b"));
        assert!(!is_support_reference("line\nbreak"));
        assert!(!is_support_reference(&"a".repeat(65)));
    }
}
