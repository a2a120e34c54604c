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
        if !is_support_reference(reference) {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "a support reference is 1 to 64 letters, digits, '-', '_' or '.'",
            ));
        }
        let rows = self
            .audit
            .query(&AuditFilter {
                request_id: Some(reference.to_owned()),
                limit: 100,
                ..AuditFilter::default()
            })
            .await
            .map_err(audit_error)?;
        records(&rows)
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
    fn request_ids_from_callers_are_filtered_to_safe_support_references() {
        assert!(is_support_reference("abc-123_X.y"));
        assert!(!is_support_reference(""));
        assert!(!is_support_reference("a b"));
        assert!(!is_support_reference("line\nbreak"));
        assert!(!is_support_reference(&"a".repeat(65)));
    }
}
