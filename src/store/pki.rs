//! Certificates the CA issued, their revocation, and CRL numbers.

use super::{Error, Store, Tx};

/// A certificate issued by the CA, with its revocation state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CertificateRow {
    /// Serial number, lowercase hex without leading zeros stripped.
    pub serial: String,
    /// Which CA issued it (`root` or `issuing`).
    pub issuer: String,
    /// What it is for (`root`, `issuing`, `tsa`, `ocsp`, `natural_person`, ...).
    pub role: String,
    /// The subject DN as text (RFC 4514), for people and queries.
    pub subject: String,
    /// The certificate DER.
    pub der: Vec<u8>,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// Unix seconds; `None` while not revoked.
    pub revoked_at: Option<i64>,
    /// RFC 5280 CRLReason code.
    pub revocation_reason: Option<i32>,
    /// Unix seconds.
    pub created_at: i64,
}

macro_rules! select_certificates {
    ($where:literal) => {
        concat!(
            "SELECT serial, issuer, role, subject, der, not_before, not_after, revoked_at, \
             revocation_reason, created_at FROM certificates ",
            $where
        )
    };
}

impl Store {
    /// A certificate by serial.
    ///
    /// # Errors
    /// [`Error::NotFound`]; query errors.
    pub async fn certificate(&self, serial: &str) -> Result<CertificateRow, Error> {
        Ok(fetch!(
            self,
            fetch_one,
            CertificateRow,
            select_certificates!("WHERE serial = $1"),
            serial
        )?)
    }

    /// The newest certificate with a role (the CA and service certificates).
    ///
    /// # Errors
    /// Query errors.
    pub async fn latest_certificate(&self, role: &str) -> Result<Option<CertificateRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            CertificateRow,
            select_certificates!("WHERE role = $1 ORDER BY created_at DESC, serial LIMIT 1"),
            role
        )?)
    }

    /// Every revoked certificate of an issuer, for its CRL.
    ///
    /// # Errors
    /// Query errors.
    pub async fn revoked_certificates(&self, issuer: &str) -> Result<Vec<CertificateRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            CertificateRow,
            select_certificates!("WHERE issuer = $1 AND revoked_at IS NOT NULL ORDER BY serial"),
            issuer
        )?)
    }

    /// The next CRL number of an issuer (1, 2, ...), atomic across nodes.
    ///
    /// # Errors
    /// Query errors.
    pub async fn next_crl_number(&self, issuer: &str) -> Result<i64, Error> {
        execute!(
            self,
            "INSERT INTO crl_numbers (issuer, number) VALUES ($1, 0) \
             ON CONFLICT (issuer) DO NOTHING",
            issuer
        )?;
        Ok(fetch!(
            write self,
            fetch_one,
            (i64,),
            "UPDATE crl_numbers SET number = number + 1 WHERE issuer = $1 RETURNING number",
            issuer
        )?
        .0)
    }
}

impl Tx {
    /// Records an issued certificate inside this transaction.
    ///
    /// # Errors
    /// [`Error::Conflict`] for a duplicate serial; database errors.
    pub async fn insert_certificate(&mut self, c: &CertificateRow) -> Result<(), Error> {
        execute!(
            tx self,
            "INSERT INTO certificates (serial, issuer, role, subject, der, not_before, \
             not_after, revoked_at, revocation_reason, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &c.serial,
            &c.issuer,
            &c.role,
            &c.subject,
            &c.der,
            c.not_before,
            c.not_after,
            c.revoked_at,
            c.revocation_reason,
            c.created_at
        )?;
        Ok(())
    }

    /// Marks a certificate revoked inside this transaction; `false` when it already was.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown serial; database errors.
    pub async fn revoke_certificate(
        &mut self,
        serial: &str,
        at: i64,
        reason: i32,
    ) -> Result<bool, Error> {
        let changed = execute!(
            tx self,
            "UPDATE certificates SET revoked_at = $2, revocation_reason = $3 \
             WHERE serial = $1 AND revoked_at IS NULL",
            serial,
            at,
            reason
        )?;
        if changed == 1 {
            return Ok(true);
        }
        let exists = fetch!(
            tx self,
            fetch_optional,
            (String,),
            "SELECT serial FROM certificates WHERE serial = $1",
            serial
        )?
        .is_some();
        if exists {
            Ok(false)
        } else {
            Err(Error::NotFound)
        }
    }
}
