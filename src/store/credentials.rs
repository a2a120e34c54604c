//! Signing credentials: a wrapped user key, its certificate and its state.

use super::{Error, Store, Tx};

/// A signing credential: the wrapped user key, its certificate and its state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CredentialRow {
    /// Random UUID, the CSC `credentialID`.
    pub id: String,
    /// The owner's person id.
    pub person: String,
    /// The signature policy's name.
    pub policy: String,
    /// The key algorithm's stable name.
    pub algorithm: String,
    /// The wrapped key blob (`QSWK`).
    pub wrapped: Vec<u8>,
    /// The certificate's serial (hex).
    pub serial: String,
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// `active`, `suspended` or `revoked`.
    pub status: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last state change.
    pub updated_at: i64,
    /// `personal`, `employee` or `seal`.
    pub kind: String,
    /// The organisation an employee or seal credential acts for.
    pub cvr: Option<String>,
    /// Integrity tag under the HSM's records key (`hsm::Record::Credential`).
    pub mac: Option<Vec<u8>>,
}

/// The columns of [`CredentialRow`].
macro_rules! credential_columns {
    () => {
        "id, person, policy, algorithm, wrapped, serial, certificate, status, created_at, \
         updated_at, kind, cvr, mac"
    };
}
pub(super) use credential_columns;

impl Store {
    /// A person's credentials, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn credentials(&self, person: &str) -> Result<Vec<CredentialRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            CredentialRow,
            select_from!(
                credential_columns,
                "credentials WHERE person = $1 ORDER BY created_at, id"
            ),
            person
        )?)
    }

    /// One credential by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn credential(&self, id: &str) -> Result<Option<CredentialRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            CredentialRow,
            select_from!(credential_columns, "credentials WHERE id = $1"),
            id
        )?)
    }

    /// The live seal credential of an organisation.
    ///
    /// # Errors
    /// Database errors.
    pub async fn seal_credential(&self, cvr: &str) -> Result<Option<CredentialRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            CredentialRow,
            select_from!(
                credential_columns,
                "credentials WHERE cvr = $1 AND kind = 'seal' AND status <> 'revoked'"
            ),
            cvr
        )?)
    }
}

impl Tx {
    /// Records a new credential inside this transaction.
    ///
    /// # Errors
    /// [`Error::Conflict`] for a duplicate id; database errors.
    pub async fn insert_credential(&mut self, c: &CredentialRow) -> Result<(), Error> {
        execute!(
            tx self,
            concat!(
                "INSERT INTO credentials (",
                credential_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &c.id,
            &c.person,
            &c.policy,
            &c.algorithm,
            &c.wrapped,
            &c.serial,
            &c.certificate,
            &c.status,
            c.created_at,
            c.updated_at,
            &c.kind,
            &c.cvr,
            &c.mac
        )?;
        Ok(())
    }

    /// Changes a credential's state unless it is revoked (final) or already in that state;
    /// `true` when it changed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_credential_status(
        &mut self,
        id: &str,
        status: &str,
        now: i64,
        mac: &[u8],
    ) -> Result<bool, Error> {
        let n = execute!(
            tx self,
            "UPDATE credentials SET status = $2, updated_at = $3, mac = $4 \
             WHERE id = $1 AND status <> 'revoked' AND status <> $2",
            id,
            status,
            now,
            mac
        )?;
        Ok(n == 1)
    }
}
