//! Persistence over sqlx: SQLite (the embedded default, WAL) or PostgreSQL (several nodes),
//! chosen by URL. The only module with SQL.
//!
//! Both back ends run the same queries, written with `$N` placeholders (SQLite accepts them),
//! checked at run time (no compile-time macros, which would need a live database of each kind
//! at build time). Each back end has its own migration folder with identical version numbers;
//! a test asserts both reach the same version and tables.
//!
//! SQLite allows one writer at a time: writes go through a one-connection pool, reads through a
//! pool of their own, so writers queue in order instead of sleeping in the busy handler.
//! `synchronous = FULL`: a committed transaction survives power loss, which the audit log
//! promises.
//!
//! Uses nothing else of the crate.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::Row;
use sqlx::Transaction;

/// Errors from the store. Messages never carry the database password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database cannot be reached or opened.
    #[error("database unavailable ({target}): {message}")]
    Unavailable {
        /// The URL without credentials.
        target: String,
        /// Driver message.
        message: String,
    },
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A row with the same key exists.
    #[error("already exists")]
    Conflict,
    /// Any other database failure.
    #[error("database error: {0}")]
    Query(String),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Self::Unavailable {
                    target: "pool".into(),
                    message: e.to_string(),
                }
            }
            other => Self::Query(other.to_string()),
        }
    }
}

/// Which database engine a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A wrapped user key as stored (the blob format belongs to the HSM module).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredKey {
    /// Random identifier.
    pub id: String,
    /// Key algorithm name.
    pub algorithm: String,
    /// The wrapped-key blob.
    pub blob: Vec<u8>,
    /// DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
}

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

/// One row of the audit log as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// Who acted (`person:<uuid>`, `system`, ...).
    pub actor: String,
    /// Event type name.
    pub event: String,
    /// What the event is about (a certificate serial, a credential id, ...).
    pub subject: Option<String>,
    /// The request id (support reference).
    pub request_id: Option<String>,
    /// The canonical encoding of the record (what is hashed).
    pub record: Vec<u8>,
    /// SHA-256(previous hash || record).
    pub hash: Vec<u8>,
}

/// A signed audit checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckpointRow {
    /// The sequence number it covers (the head at the time).
    pub seq: i64,
    /// The hash of that record.
    pub head_hash: Vec<u8>,
    /// Unix milliseconds.
    pub at: i64,
    /// Label of the HSM key that signed it.
    pub key_label: String,
    /// DER ECDSA signature.
    pub signature: Vec<u8>,
    /// 1 (unchained, before checkpoints were chained) or 2.
    pub version: i64,
    /// The interval in records the log was checkpointed at when this one was made (0 in
    /// version 1).
    pub every: i64,
    /// Version 2: the digest the previous checkpoint signed (32 zero bytes for the first).
    pub prev_hash: Option<Vec<u8>>,
}

/// Which audit rows a query wants; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact subject.
    pub subject: Option<String>,
    /// Exact request id.
    pub request_id: Option<String>,
    /// From this time (Unix ms, inclusive).
    pub from_ms: Option<i64>,
    /// Before this time (Unix ms, exclusive).
    pub to_ms: Option<i64>,
    /// At most this many rows (newest first).
    pub limit: i64,
}

/// A database transaction on either back end. On SQLite it is `BEGIN IMMEDIATE` on the single
/// writer connection; on PostgreSQL a plain transaction.
#[derive(Debug)]
pub enum Tx {
    /// SQLite.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same expression on whichever connection the transaction has.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl Tx {
    /// Commits.
    ///
    /// # Errors
    /// Database errors.
    pub async fn commit(self) -> Result<(), Error> {
        match self {
            Self::Sqlite(t) => t.commit().await?,
            Self::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Serialises audit appends: on PostgreSQL a transaction-scoped advisory lock (released at
    /// commit or rollback), so appends from every node queue; SQLite's `BEGIN IMMEDIATE`
    /// already holds the one write lock.
    ///
    /// # Errors
    /// Database errors.
    pub async fn lock_audit(&mut self) -> Result<(), Error> {
        if let Self::Postgres(t) = self {
            sqlx::query(LOCK_AUDIT).execute(&mut **t).await?;
        }
        Ok(())
    }

    /// The last audit record's sequence number and hash, if any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit_head(&mut self) -> Result<Option<(i64, Vec<u8>)>, Error> {
        Ok(on_tx!(self, |conn| sqlx::query(AUDIT_HEAD)
            .fetch_optional(conn)
            .await
            .and_then(|row| row
                .map(|r| Ok((
                    r.try_get::<i64, _>("seq")?,
                    r.try_get::<Vec<u8>, _>("hash")?
                )))
                .transpose()))?)
    }

    /// Appends an audit row.
    ///
    /// # Errors
    /// [`Error::Conflict`] if the sequence number is taken; database errors.
    pub async fn insert_audit(&mut self, row: &AuditRow) -> Result<(), Error> {
        on_tx!(self, |conn| sqlx::query(INSERT_AUDIT)
            .bind(row.seq)
            .bind(row.at)
            .bind(&row.actor)
            .bind(&row.event)
            .bind(&row.subject)
            .bind(&row.request_id)
            .bind(&row.record)
            .bind(&row.hash)
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Adds a person inside this transaction.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the username is taken; database errors.
    pub async fn insert_person(&mut self, p: &PersonRow) -> Result<(), Error> {
        on_tx!(self, |conn| sqlx::query(INSERT_PERSON)
            .bind(&p.id)
            .bind(&p.username)
            .bind(&p.given_name)
            .bind(&p.family_name)
            .bind(&p.status)
            .bind(&p.password_hash)
            .bind(&p.totp_secret)
            .bind(p.totp_last_step)
            .bind(p.created_at)
            .bind(&p.password_mac)
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Adds a member (or updates an existing member's role and rights) inside this
    /// transaction.
    ///
    /// # Errors
    /// Database errors.
    pub async fn upsert_member(&mut self, m: &MemberRow) -> Result<(), Error> {
        on_tx!(self, |conn| {
            sqlx::query(
            "INSERT INTO org_members (cvr, person, admin, sign_on_behalf, use_seal, joined_at, mac) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (cvr, person) DO UPDATE SET \
             admin = excluded.admin, sign_on_behalf = excluded.sign_on_behalf, \
             use_seal = excluded.use_seal, mac = excluded.mac"
        )
        .bind(&m.cvr)
        .bind(&m.person)
        .bind(m.admin)
        .bind(m.sign_on_behalf)
        .bind(m.use_seal)
        .bind(m.joined_at)
        .bind(&m.mac)
        .execute(conn)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Removes a member inside this transaction; answers whether there was one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_member(&mut self, cvr: &str, person: &str) -> Result<bool, Error> {
        Ok(on_tx!(self, |conn| sqlx::query(
            "DELETE FROM org_members WHERE cvr = $1 AND person = $2"
        )
        .bind(cvr)
        .bind(person)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() > 0))?)
    }

    /// Records an organisation inside this transaction.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the CVR is registered already; database errors.
    pub async fn insert_organisation(&mut self, o: &OrganisationRow) -> Result<(), Error> {
        on_tx!(self, |conn| sqlx::query(
            "INSERT INTO organisations (cvr, name, status, created_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(&o.cvr)
        .bind(&o.name)
        .bind(&o.status)
        .bind(o.created_at)
        .execute(conn)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Records an invitation inside this transaction.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_invitation(&mut self, i: &InvitationRow) -> Result<(), Error> {
        on_tx!(self, |conn| sqlx::query(
            "INSERT INTO org_invitations (id, cvr, person, admin, sign_on_behalf, use_seal, \
             created_at, expires_at, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
        .bind(&i.id)
        .bind(&i.cvr)
        .bind(&i.person)
        .bind(i.admin)
        .bind(i.sign_on_behalf)
        .bind(i.use_seal)
        .bind(i.created_at)
        .bind(i.expires_at)
        .bind(&i.mac)
        .execute(conn)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Takes (deletes and answers) an invitation inside this transaction: used once.
    ///
    /// # Errors
    /// Database errors.
    pub async fn take_invitation(&mut self, id: &str) -> Result<Option<InvitationRow>, Error> {
        Ok(on_tx!(self, |conn| sqlx::query_as::<_, InvitationRow>(
            "DELETE FROM org_invitations WHERE id = $1 RETURNING id, cvr, person, admin, \
             sign_on_behalf, use_seal, created_at, expires_at, mac"
        )
        .bind(id)
        .fetch_optional(conn)
        .await)?)
    }

    /// Records a new credential inside this transaction.
    ///
    /// # Errors
    /// [`Error::Conflict`] for a duplicate id; database errors.
    pub async fn insert_credential(&mut self, c: &CredentialRow) -> Result<(), Error> {
        on_tx!(self, |conn| sqlx::query(INSERT_CREDENTIAL)
            .bind(&c.id)
            .bind(&c.person)
            .bind(&c.policy)
            .bind(&c.algorithm)
            .bind(&c.wrapped)
            .bind(&c.serial)
            .bind(&c.certificate)
            .bind(&c.status)
            .bind(c.created_at)
            .bind(c.updated_at)
            .bind(&c.kind)
            .bind(&c.cvr)
            .bind(&c.mac)
            .execute(conn)
            .await
            .map(|_| ()))?;
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
        let n = on_tx!(self, |conn| sqlx::query(SET_CREDENTIAL_STATUS)
            .bind(id)
            .bind(status)
            .bind(now)
            .bind(mac)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Counts `uses` more uses of the SAD `id` if the total stays within `max`, the SAD was
    /// not spent in another `mode` (`hash` or `doc`) and no hash is signed more often than it
    /// was approved (`hashes`: each distinct hash, how often this use signs it, and how often
    /// the SAD lists it); `false` (and nothing written) otherwise. Atomic across nodes: the
    /// audit lock serialises the transaction, and the count is one statement conditional on
    /// the row.
    ///
    /// # Errors
    /// Database errors.
    pub async fn use_sad(
        &mut self,
        id: &str,
        uses: i64,
        max: i64,
        expires_at: i64,
        mode: &str,
        hashes: &[(Vec<u8>, i64, i64)],
    ) -> Result<bool, Error> {
        if uses > max {
            return Ok(false);
        }
        // Checked before anything is written: the mode of the first use, and each hash's
        // signatures so far.
        let bound = self.sad_spent(id, "mode").await?;
        if bound.as_deref().is_some_and(|m| m != mode) {
            return Ok(false);
        }
        let mut counts = Vec::with_capacity(hashes.len());
        for (hash, now, approved) in hashes {
            let before: i64 = self
                .sad_spent(id, &hex::encode(hash))
                .await?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if before.saturating_add(*now) > *approved {
                return Ok(false);
            }
            counts.push((hex::encode(hash), before, before + now));
        }
        let n = on_tx!(self, |conn| sqlx::query(USE_SAD)
            .bind(id)
            .bind(uses)
            .bind(max)
            .bind(expires_at)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        if n != 1 {
            return Ok(false);
        }
        let mut writes: Vec<(String, String, bool)> = counts
            .into_iter()
            .map(|(item, before, after)| (item, after.to_string(), before > 0))
            .collect();
        if bound.is_none() {
            writes.push(("mode".to_owned(), mode.to_owned(), false));
        }
        for (item, value, exists) in writes {
            let sql = if exists {
                "UPDATE sad_spent SET value = $3 WHERE sad_id = $1 AND item = $2"
            } else {
                "INSERT INTO sad_spent (sad_id, item, value, expires_at) VALUES ($1, $2, $3, $4)"
            };
            on_tx!(self, |conn| sqlx::query(sql)
                .bind(id)
                .bind(&item)
                .bind(&value)
                .bind(expires_at)
                .execute(conn)
                .await
                .map(|_| ()))?;
        }
        Ok(true)
    }

    /// Stores a signed checkpoint inside this transaction (a second one for the same `seq`
    /// is ignored).
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_checkpoint(&mut self, c: &CheckpointRow) -> Result<(), Error> {
        on_tx!(self, |conn| sqlx::query(INSERT_CHECKPOINT)
            .bind(c.seq)
            .bind(&c.head_hash)
            .bind(c.at)
            .bind(&c.key_label)
            .bind(&c.signature)
            .bind(c.version)
            .bind(c.every)
            .bind(&c.prev_hash)
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The newest checkpoint, read inside this transaction (under the audit lock).
    ///
    /// # Errors
    /// Database errors.
    pub async fn last_checkpoint(&mut self) -> Result<Option<CheckpointRow>, Error> {
        Ok(on_tx!(self, |conn| sqlx::query_as::<_, CheckpointRow>(
            LAST_CHECKPOINT
        )
        .fetch_optional(conn)
        .await)?)
    }

    /// What a SAD's `item` (its mode, or a hash's signature count) says so far.
    async fn sad_spent(&mut self, id: &str, item: &str) -> Result<Option<String>, Error> {
        Ok(on_tx!(self, |conn| sqlx::query_scalar::<_, String>(
            "SELECT value FROM sad_spent WHERE sad_id = $1 AND item = $2"
        )
        .bind(id)
        .bind(item)
        .fetch_optional(conn)
        .await)?)
    }

    /// Records an issued certificate inside this transaction.
    ///
    /// # Errors
    /// [`Error::Conflict`] for a duplicate serial; database errors.
    pub async fn insert_certificate(&mut self, c: &CertificateRow) -> Result<(), Error> {
        on_tx!(self, |conn| sqlx::query(INSERT_CERT)
            .bind(&c.serial)
            .bind(&c.issuer)
            .bind(&c.role)
            .bind(&c.subject)
            .bind(&c.der)
            .bind(c.not_before)
            .bind(c.not_after)
            .bind(c.revoked_at)
            .bind(c.revocation_reason)
            .bind(c.created_at)
            .execute(conn)
            .await
            .map(|_| ()))?;
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
        let changed = on_tx!(self, |conn| sqlx::query(REVOKE_CERT)
            .bind(serial)
            .bind(at)
            .bind(reason)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        if changed == 1 {
            return Ok(true);
        }
        let exists = on_tx!(self, |conn| sqlx::query(CERT_EXISTS)
            .bind(serial)
            .fetch_optional(conn)
            .await
            .map(|r| r.is_some()))?;
        if exists {
            Ok(false)
        } else {
            Err(Error::NotFound)
        }
    }
}

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

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrganisationRow {
    /// CVR number.
    pub cvr: String,
    /// Registered name.
    pub name: String,
    /// `active`.
    pub status: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A member of an organisation, with the person's names.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    /// CVR number.
    pub cvr: String,
    /// Person id.
    pub person: String,
    /// Login name.
    pub username: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Administrator of the organisation.
    pub admin: bool,
    /// May sign on behalf of the organisation (has an employee credential).
    pub sign_on_behalf: bool,
    /// May use the organisation's seal.
    pub use_seal: bool,
    /// Unix seconds.
    pub joined_at: i64,
    /// Integrity tag under the HSM's records key (`hsm::Record::Membership`).
    pub mac: Option<Vec<u8>>,
}

/// A pending invitation (its id is the SHA-256 of the code, hex).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvitationRow {
    /// SHA-256 of the code, hex.
    pub id: String,
    /// CVR number.
    pub cvr: String,
    /// The invited person, or `None` for whoever holds the code.
    pub person: Option<String>,
    /// Joins as administrator.
    pub admin: bool,
    /// Gets `sign_on_behalf`.
    pub sign_on_behalf: bool,
    /// Gets `use_seal`.
    pub use_seal: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Integrity tag under the HSM's records key (`hsm::Record::Invitation`).
    pub mac: Option<Vec<u8>>,
}

/// A document in the native signing flow.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DocumentRow {
    /// Random id.
    pub id: String,
    /// The owner's person id.
    pub person: String,
    /// Format and packaging (`cades-attached`, `xades-enveloped`, ...).
    pub format: String,
    /// Baseline level (`B-B` ... `B-LTA`).
    pub level: String,
    /// The uploaded document; emptied once it is signed.
    pub content: Vec<u8>,
    /// The signed result, once finalised.
    pub signed: Option<Vec<u8>>,
    /// Format options (JSON), for PDFs.
    pub options: Option<String>,
    /// SHA-256 (hex) of the uploaded document.
    pub sha256: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A person with their login factors.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PersonRow {
    /// Random UUID, the person's only identifier inside qsign.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Given name (for certificates).
    pub given_name: String,
    /// Family name (for certificates).
    pub family_name: String,
    /// `active` or `disabled`.
    pub status: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Base32 TOTP secret, when enrolled.
    pub totp_secret: Option<String>,
    /// The last TOTP step accepted (replay protection).
    pub totp_last_step: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Integrity tag of the password hash under the HSM's records key
    /// (`hsm::Record::Password`).
    pub password_mac: Option<Vec<u8>>,
}

/// A passkey of a person.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PasskeyRow {
    /// WebAuthn credential id, base64url.
    pub credential_id: String,
    /// The owner.
    pub person_id: String,
    /// webauthn-rs's `Passkey`, JSON.
    pub passkey: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds from which it counts for High.
    pub high_from: i64,
    /// `high-session`, `enrolment-code`, or `session` (before level-preserving enrolment).
    pub bound_by: String,
    /// Integrity tag under the HSM's records key (`hsm::Record::Passkey`).
    pub mac: Option<Vec<u8>>,
}

/// Rows without an integrity tag (written before tags existed).
#[derive(Debug, Clone, Default)]
pub struct Untagged {
    /// Persons.
    pub persons: Vec<PersonRow>,
    /// Passkeys.
    pub passkeys: Vec<PasskeyRow>,
    /// Credentials.
    pub credentials: Vec<CredentialRow>,
    /// Organisation memberships.
    pub members: Vec<MemberRow>,
    /// External subjects as (issuer, subject, person).
    pub externals: Vec<(String, String, String)>,
}

/// Which row a tag belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Tagged<'a> {
    /// A person's password tag, with the TOTP seed as it is to be stored.
    Person {
        /// Person id.
        id: &'a str,
        /// The (sealed) TOTP seed.
        totp_secret: Option<&'a str>,
    },
    /// A passkey by credential id.
    Passkey(&'a str),
    /// A credential by id.
    Credential(&'a str),
    /// A membership.
    Member {
        /// CVR number.
        cvr: &'a str,
        /// Person id.
        person: &'a str,
    },
    /// An external issuer's subject.
    External {
        /// The issuer.
        issuer: &'a str,
        /// Its subject.
        subject: &'a str,
    },
}

/// A pending OAuth authorization request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OauthRequestRow {
    /// Random id, also the login form's anti-forgery value.
    pub id: String,
    /// The client.
    pub client_id: String,
    /// Its registered redirect URI used here.
    pub redirect_uri: String,
    /// The client's `state`, returned as given.
    pub state: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// RFC 9396 details to approve (JSON), if asked.
    pub authorization_details: Option<String>,
}

/// An issued authorization code (stored by hash).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OauthCodeRow {
    /// SHA-256 hex of the code.
    pub code_hash: String,
    /// The client.
    pub client_id: String,
    /// The redirect URI the code went to.
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// The person who logged in.
    pub person_id: String,
    /// Factors used, comma separated.
    pub factors: String,
    /// When they logged in.
    pub auth_time: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// RFC 9396 details the person approved (JSON), if any.
    pub authorization_details: Option<String>,
    /// The level the login reached (its URI).
    pub loa: String,
    /// Integrity tag under the HSM's records key.
    pub mac: Option<Vec<u8>>,
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Largest pool size.
    pub max_connections: u32,
    /// Longest wait to connect or to get a pooled connection.
    pub connect_timeout: Duration,
}

/// The database: cheap to clone.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite with a single writer connection and a read pool.
    Sqlite {
        /// One connection: SQLite has one writer.
        write: SqlitePool,
        /// Readers (WAL lets them run beside the writer).
        read: SqlitePool,
    },
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Runs the same expression on whichever pool the store has.
macro_rules! on_pool {
    ($store:expr, $kind:ident, |$pool:ident| $body:expr) => {
        match $store {
            Store::Sqlite { $kind: $pool, .. } => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

const TABLES_SQLITE: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
     AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name";
const TABLES_POSTGRES: &str = "SELECT table_name AS name FROM information_schema.tables \
     WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' ORDER BY table_name";
const SCHEMA_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0) AS version FROM _sqlx_migrations WHERE success";
const PUT_SETTING: &str = "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
const GET_SETTING: &str = "SELECT value FROM settings WHERE name = $1";
const INSERT_KEY: &str = "INSERT INTO wrapped_keys (id, algorithm, blob, public_key, created_at) \
     VALUES ($1, $2, $3, $4, $5)";
const GET_KEY: &str =
    "SELECT id, algorithm, blob, public_key, created_at FROM wrapped_keys WHERE id = $1";

const CERT_COLUMNS: &str = "serial, issuer, role, subject, der, not_before, not_after, \
     revoked_at, revocation_reason, created_at";
const INSERT_CERT: &str = "INSERT INTO certificates (serial, issuer, role, subject, der, \
     not_before, not_after, revoked_at, revocation_reason, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const REVOKE_CERT: &str = "UPDATE certificates SET revoked_at = $2, revocation_reason = $3 \
     WHERE serial = $1 AND revoked_at IS NULL";
const CERT_EXISTS: &str = "SELECT serial FROM certificates WHERE serial = $1";
/// One fixed 64-bit key for the audit append lock.
const LOCK_AUDIT: &str = "SELECT pg_advisory_xact_lock(7291000000000000001)";
const AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
const INSERT_AUDIT: &str = "INSERT INTO audit_log \
     (seq, at, actor, event, subject, request_id, record, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const AUDIT_COLUMNS: &str = "seq, at, actor, event, subject, request_id, record, hash";
const INSERT_CHECKPOINT: &str = "INSERT INTO audit_checkpoints \
     (seq, head_hash, at, key_label, signature, version, every, prev_hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (seq) DO NOTHING";
const CHECKPOINT_AT: &str = "SELECT seq, head_hash, at, key_label, signature, version, every, \
     prev_hash FROM audit_checkpoints WHERE seq = $1";
const CHECKPOINTS: &str = "SELECT seq, head_hash, at, key_label, signature, version, every, \
     prev_hash FROM audit_checkpoints WHERE seq >= $1 ORDER BY seq";
const LAST_CHECKPOINT: &str = "SELECT seq, head_hash, at, key_label, signature, version, \
     every, prev_hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1";
const PERSON_COLUMNS: &str = "id, username, given_name, family_name, status, password_hash, \
     totp_secret, totp_last_step, created_at, password_mac";
const INSERT_PERSON: &str = "INSERT INTO persons (id, username, given_name, family_name, status, \
     password_hash, totp_secret, totp_last_step, created_at, password_mac) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const CONSUME_TOTP: &str = "UPDATE persons SET totp_last_step = $2 \
     WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)";
const COUNT_FAILURE: &str = "INSERT INTO login_throttle (key, failures, locked_until) \
     VALUES ($1, 1, 0) ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1 \
     RETURNING failures, locked_until";
const CREDENTIAL_COLUMNS: &str = "id, person, policy, algorithm, wrapped, serial, certificate, \
     status, created_at, updated_at, kind, cvr, mac";
const INSERT_CREDENTIAL: &str = "INSERT INTO credentials (id, person, policy, algorithm, wrapped, \
     serial, certificate, status, created_at, updated_at, kind, cvr, mac) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const MEMBER_COLUMNS: &str = "m.cvr, m.person, p.username, p.given_name, p.family_name, m.admin, \
     m.sign_on_behalf, m.use_seal, m.joined_at, m.mac";
const SET_CREDENTIAL_STATUS: &str = "UPDATE credentials SET status = $2, updated_at = $3, \
     mac = $4 WHERE id = $1 AND status <> 'revoked' AND status <> $2";
/// Adds `$2` uses to a SAD only while the total stays within `$3`: zero rows means no.
const USE_SAD: &str = "INSERT INTO sad_uses (id, used, expires_at) VALUES ($1, $2, $4) \
     ON CONFLICT (id) DO UPDATE SET used = sad_uses.used + excluded.used \
     WHERE sad_uses.used + excluded.used <= $3";
const INIT_CRL_NUMBER: &str =
    "INSERT INTO crl_numbers (issuer, number) VALUES ($1, 0) ON CONFLICT (issuer) DO NOTHING";
const NEXT_CRL_NUMBER: &str =
    "UPDATE crl_numbers SET number = number + 1 WHERE issuer = $1 RETURNING number";

impl Store {
    /// Connects to `url` (`sqlite:` or `postgres://`) and applies the migrations.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the database cannot be reached; [`Error::Migration`].
    pub async fn connect(url: &str, options: &Options) -> Result<Self, Error> {
        let target = redact_url(url);
        let unavailable = |e: sqlx::Error| Error::Unavailable {
            target: target.clone(),
            message: e.to_string(),
        };
        let store = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(unavailable)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(options.connect_timeout);
            private_file(connect.get_filename()).map_err(|e| Error::Unavailable {
                target: target.clone(),
                message: format!("cannot create the database file owner-only: {e}"),
            })?;
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(options.connect_timeout)
                .connect_with(connect.clone())
                .await
                .map_err(unavailable)?;
            sqlx::migrate!("src/store/migrations/sqlite")
                .run(&write)
                .await
                .map_err(|e| Error::Migration(e.to_string()))?;
            let read = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.connect_timeout)
                .connect_with(connect.read_only(true))
                .await
                .map_err(unavailable)?;
            Self::Sqlite { write, read }
        } else {
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.connect_timeout)
                .connect(url)
                .await
                .map_err(unavailable)?;
            sqlx::migrate!("src/store/migrations/postgres")
                .run(&pool)
                .await
                .map_err(|e| Error::Migration(e.to_string()))?;
            Self::Postgres(pool)
        };
        Ok(store)
    }

    /// The engine in use.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers (for `/readyz`).
    ///
    /// # Errors
    /// [`Error::Unavailable`] or a query error.
    pub async fn ping(&self) -> Result<(), Error> {
        on_pool!(self, read, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The highest applied migration version.
    ///
    /// # Errors
    /// Query errors.
    pub async fn schema_version(&self) -> Result<i64, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query(SCHEMA_VERSION)
            .fetch_one(pool)
            .await
            .and_then(|row| row.try_get::<i64, _>("version")))?)
    }

    /// The application's table names, sorted.
    ///
    /// # Errors
    /// Query errors.
    pub async fn tables(&self) -> Result<Vec<String>, Error> {
        let names = match self {
            Self::Sqlite { read, .. } => {
                let rows = sqlx::query(TABLES_SQLITE).fetch_all(read).await?;
                rows.iter()
                    .map(|r| r.try_get::<String, _>("name"))
                    .collect::<Result<_, _>>()
            }
            Self::Postgres(pool) => {
                let rows = sqlx::query(TABLES_POSTGRES).fetch_all(pool).await?;
                rows.iter()
                    .map(|r| r.try_get::<String, _>("name"))
                    .collect::<Result<_, _>>()
            }
        };
        Ok(names?)
    }

    /// Sets a named setting.
    ///
    /// # Errors
    /// Query errors.
    pub async fn put_setting(&self, name: &str, value: &str, now: i64) -> Result<(), Error> {
        on_pool!(self, write, |pool| sqlx::query(PUT_SETTING)
            .bind(name)
            .bind(value)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Sets a named setting unless it exists, and returns the value that is stored (the
    /// first writer's, when nodes race).
    ///
    /// # Errors
    /// Query errors.
    pub async fn insert_setting_if_absent(
        &self,
        name: &str,
        value: &str,
        now: i64,
    ) -> Result<String, Error> {
        on_pool!(self, write, |pool| {
            sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING"
        )
        .bind(name)
        .bind(value)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        self.setting(name).await?.ok_or(Error::NotFound)
    }

    /// Reads a named setting.
    ///
    /// # Errors
    /// Query errors.
    pub async fn setting(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query(GET_SETTING)
            .bind(name)
            .fetch_optional(pool)
            .await
            .and_then(|row| row
                .map(|r| r.try_get::<String, _>("value"))
                .transpose()))?)
    }

    /// Stores a wrapped key.
    ///
    /// # Errors
    /// [`Error::Conflict`] for a duplicate id; query errors.
    pub async fn insert_wrapped_key(&self, key: &StoredKey) -> Result<(), Error> {
        on_pool!(self, write, |pool| sqlx::query(INSERT_KEY)
            .bind(&key.id)
            .bind(&key.algorithm)
            .bind(&key.blob)
            .bind(&key.public_key)
            .bind(key.created_at)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Reads a wrapped key.
    ///
    /// # Errors
    /// [`Error::NotFound`]; query errors.
    pub async fn wrapped_key(&self, id: &str) -> Result<StoredKey, Error> {
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, StoredKey>(GET_KEY)
                .bind(id)
                .fetch_one(pool)
                .await
        })?)
    }

    /// A certificate by serial.
    ///
    /// # Errors
    /// [`Error::NotFound`]; query errors.
    pub async fn certificate(&self, serial: &str) -> Result<CertificateRow, Error> {
        let sql = format!("SELECT {CERT_COLUMNS} FROM certificates WHERE serial = $1");
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<
            _,
            CertificateRow,
        >(sqlx::AssertSqlSafe(
            sql
        ))
        .bind(serial)
        .fetch_one(pool)
        .await)?)
    }

    /// The newest certificate with a role (the CA and service certificates).
    ///
    /// # Errors
    /// Query errors.
    pub async fn latest_certificate(&self, role: &str) -> Result<Option<CertificateRow>, Error> {
        let sql = format!(
            "SELECT {CERT_COLUMNS} FROM certificates WHERE role = $1 \
             ORDER BY created_at DESC, serial LIMIT 1"
        );
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<
            _,
            CertificateRow,
        >(sqlx::AssertSqlSafe(
            sql
        ))
        .bind(role)
        .fetch_optional(pool)
        .await)?)
    }

    /// Every revoked certificate of an issuer, for its CRL.
    ///
    /// # Errors
    /// Query errors.
    pub async fn revoked_certificates(&self, issuer: &str) -> Result<Vec<CertificateRow>, Error> {
        let sql = format!(
            "SELECT {CERT_COLUMNS} FROM certificates WHERE issuer = $1 \
             AND revoked_at IS NOT NULL ORDER BY serial"
        );
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<
            _,
            CertificateRow,
        >(sqlx::AssertSqlSafe(
            sql
        ))
        .bind(issuer)
        .fetch_all(pool)
        .await)?)
    }

    /// The next CRL number of an issuer (1, 2, ...), atomic across nodes.
    ///
    /// # Errors
    /// Query errors.
    pub async fn next_crl_number(&self, issuer: &str) -> Result<i64, Error> {
        on_pool!(self, write, |pool| sqlx::query(INIT_CRL_NUMBER)
            .bind(issuer)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(on_pool!(self, write, |pool| sqlx::query(NEXT_CRL_NUMBER)
            .bind(issuer)
            .fetch_one(pool)
            .await
            .and_then(|row| row.try_get::<i64, _>("number")))?)
    }

    /// Starts a write transaction (see [`Tx`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn begin(&self) -> Result<Tx, Error> {
        Ok(match self {
            Self::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Audit rows with `seq` in `from..to`, in order.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit_range(&self, from: i64, to: i64) -> Result<Vec<AuditRow>, Error> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 AND seq < $2 ORDER BY seq"
        );
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<_, AuditRow>(
            sqlx::AssertSqlSafe(sql)
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await)?)
    }

    /// The highest audit sequence number, 0 when empty.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit_last_seq(&self) -> Result<i64, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) AS seq FROM audit_log"
        )
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get::<i64, _>("seq")))?)
    }

    /// Audit rows matching a filter, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit_query(&self, f: &AuditFilter) -> Result<Vec<AuditRow>, Error> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE ($1 IS NULL OR actor = $1) \
             AND ($2 IS NULL OR subject = $2) AND ($3 IS NULL OR request_id = $3) \
             AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) \
             ORDER BY seq DESC LIMIT $6"
        );
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<_, AuditRow>(
            sqlx::AssertSqlSafe(sql)
        )
        .bind(&f.actor)
        .bind(&f.subject)
        .bind(&f.request_id)
        .bind(f.from_ms)
        .bind(f.to_ms)
        .bind(f.limit)
        .fetch_all(pool)
        .await)?)
    }

    /// Stores a checkpoint (a second one for the same `seq` is ignored).
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_checkpoint(&self, c: &CheckpointRow) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        tx.insert_checkpoint(c).await?;
        tx.commit().await
    }

    /// The checkpoint at `seq`, if any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn checkpoint(&self, seq: i64) -> Result<Option<CheckpointRow>, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<
            _,
            CheckpointRow,
        >(CHECKPOINT_AT)
        .bind(seq)
        .fetch_optional(pool)
        .await)?)
    }

    /// Checkpoints from `from` on, in order.
    ///
    /// # Errors
    /// Database errors.
    pub async fn checkpoints(&self, from: i64) -> Result<Vec<CheckpointRow>, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<
            _,
            CheckpointRow,
        >(CHECKPOINTS)
        .bind(from)
        .fetch_all(pool)
        .await)?)
    }

    /// Adds a person.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the username is taken; database errors.
    pub async fn insert_person(&self, p: &PersonRow) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        tx.insert_person(p).await?;
        tx.commit().await
    }

    /// A person by username or by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn person(&self, by_username: bool, key: &str) -> Result<Option<PersonRow>, Error> {
        let column = if by_username { "username" } else { "id" };
        let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE {column} = $1");
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, PersonRow>(sqlx::AssertSqlSafe(sql))
                .bind(key)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Every person, by username.
    ///
    /// # Errors
    /// Database errors.
    pub async fn persons(&self) -> Result<Vec<PersonRow>, Error> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM persons ORDER BY username");
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, PersonRow>(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
        })?)
    }

    /// Sets a person's status; `false` when no such username.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_person_status(&self, username: &str, status: &str) -> Result<bool, Error> {
        let n = on_pool!(self, write, |pool| sqlx::query(
            "UPDATE persons SET status = $2 WHERE username = $1"
        )
        .bind(username)
        .bind(status)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Records that TOTP `step` was used, only if it is after the last one used: `false` means
    /// a replay (or an older code), atomically across nodes.
    ///
    /// # Errors
    /// Database errors.
    pub async fn consume_totp_step(&self, person: &str, step: i64) -> Result<bool, Error> {
        let n = on_pool!(self, write, |pool| sqlx::query(CONSUME_TOTP)
            .bind(person)
            .bind(step)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// A person's credentials, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn credentials(&self, person: &str) -> Result<Vec<CredentialRow>, Error> {
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE person = $1 ORDER BY created_at, id"
        );
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, CredentialRow>(sqlx::AssertSqlSafe(sql))
                .bind(person)
                .fetch_all(pool)
                .await
        })?)
    }

    /// One credential by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn credential(&self, id: &str) -> Result<Option<CredentialRow>, Error> {
        let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1");
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, CredentialRow>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// The live seal credential of an organisation.
    ///
    /// # Errors
    /// Database errors.
    pub async fn seal_credential(&self, cvr: &str) -> Result<Option<CredentialRow>, Error> {
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE cvr = $1 AND kind = 'seal' \
             AND status <> 'revoked'"
        );
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, CredentialRow>(sqlx::AssertSqlSafe(sql))
                .bind(cvr)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// An organisation by CVR.
    ///
    /// # Errors
    /// Database errors.
    pub async fn organisation(&self, cvr: &str) -> Result<Option<OrganisationRow>, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<
            _,
            OrganisationRow,
        >(
            "SELECT cvr, name, status, created_at FROM organisations WHERE cvr = $1"
        )
        .bind(cvr)
        .fetch_optional(pool)
        .await)?)
    }

    /// Every organisation, by CVR.
    ///
    /// # Errors
    /// Database errors.
    pub async fn organisations(&self) -> Result<Vec<OrganisationRow>, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<
            _,
            OrganisationRow,
        >(
            "SELECT cvr, name, status, created_at FROM organisations ORDER BY cvr"
        )
        .fetch_all(pool)
        .await)?)
    }

    /// One member of an organisation.
    ///
    /// # Errors
    /// Database errors.
    pub async fn member(&self, cvr: &str, person: &str) -> Result<Option<MemberRow>, Error> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM org_members m JOIN persons p ON p.id = m.person \
             WHERE m.cvr = $1 AND m.person = $2"
        );
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(sql))
                .bind(cvr)
                .bind(person)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// The members of an organisation, by username.
    ///
    /// # Errors
    /// Database errors.
    pub async fn members(&self, cvr: &str) -> Result<Vec<MemberRow>, Error> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM org_members m JOIN persons p ON p.id = m.person \
             WHERE m.cvr = $1 ORDER BY p.username"
        );
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(sql))
                .bind(cvr)
                .fetch_all(pool)
                .await
        })?)
    }

    /// A person's memberships, by CVR.
    ///
    /// # Errors
    /// Database errors.
    pub async fn memberships(&self, person: &str) -> Result<Vec<MemberRow>, Error> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM org_members m JOIN persons p ON p.id = m.person \
             WHERE m.person = $1 ORDER BY m.cvr"
        );
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(sql))
                .bind(person)
                .fetch_all(pool)
                .await
        })?)
    }

    /// How many times a SAD has been used (0 when never).
    ///
    /// # Errors
    /// Database errors.
    pub async fn sad_uses(&self, id: &str) -> Result<i64, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<_, (i64,)>(
            "SELECT used FROM sad_uses WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?
        .map_or(0, |r| r.0))
    }

    /// Marks `id` used, once: `false` when it was used before (across nodes). Shares the SAD
    /// use counter table (an approval that may activate one SAD).
    ///
    /// # Errors
    /// Database errors.
    pub async fn use_once(&self, id: &str, expires_at: i64) -> Result<bool, Error> {
        let mut tx = self.begin().await?;
        let fresh = tx.use_sad(id, 1, 1, expires_at, "once", &[]).await?;
        tx.commit().await?;
        Ok(fresh)
    }

    /// Rows written before integrity tags existed (no tag yet): persons with a password,
    /// passkeys, credentials and memberships. Read once, when the records key is created.
    ///
    /// # Errors
    /// Database errors.
    pub async fn untagged(&self) -> Result<Untagged, Error> {
        let persons = on_pool!(self, read, |pool| sqlx::query_as::<_, PersonRow>(
            sqlx::AssertSqlSafe(format!(
                "SELECT {PERSON_COLUMNS} FROM persons WHERE password_mac IS NULL"
            ))
        )
        .fetch_all(pool)
        .await)?;
        let passkeys = on_pool!(self, read, |pool| sqlx::query_as::<_, PasskeyRow>(
            "SELECT credential_id, person_id, passkey, created_at, high_from, bound_by, mac \
             FROM passkeys WHERE mac IS NULL"
        )
        .fetch_all(pool)
        .await)?;
        let credentials = on_pool!(self, read, |pool| sqlx::query_as::<_, CredentialRow>(
            sqlx::AssertSqlSafe(format!(
                "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE mac IS NULL"
            ))
        )
        .fetch_all(pool)
        .await)?;
        let members = on_pool!(self, read, |pool| sqlx::query_as::<_, MemberRow>(
            sqlx::AssertSqlSafe(format!(
                "SELECT {MEMBER_COLUMNS} FROM org_members m JOIN persons p ON p.id = m.person \
                 WHERE m.mac IS NULL"
            ))
        )
        .fetch_all(pool)
        .await)?;
        let externals = on_pool!(self, read, |pool| sqlx::query_as::<
            _,
            (String, String, String),
        >(
            "SELECT issuer, subject, person_id FROM external_subjects WHERE mac IS NULL"
        )
        .fetch_all(pool)
        .await)?;
        Ok(Untagged {
            persons,
            passkeys,
            credentials,
            members,
            externals,
        })
    }

    /// Stores the integrity tag of a row named by `untagged`, and (for a person) the TOTP
    /// seed sealed in place of a plaintext one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_tag(&self, row: Tagged<'_>, mac: &[u8]) -> Result<(), Error> {
        match row {
            Tagged::Person { id, totp_secret } => on_pool!(self, write, |pool| sqlx::query(
                "UPDATE persons SET password_mac = $2, totp_secret = $3 WHERE id = $1"
            )
            .bind(id)
            .bind(mac)
            .bind(totp_secret)
            .execute(pool)
            .await
            .map(|_| ()))?,
            Tagged::Passkey(id) => on_pool!(self, write, |pool| sqlx::query(
                "UPDATE passkeys SET mac = $2 WHERE credential_id = $1"
            )
            .bind(id)
            .bind(mac)
            .execute(pool)
            .await
            .map(|_| ()))?,
            Tagged::Credential(id) => on_pool!(self, write, |pool| sqlx::query(
                "UPDATE credentials SET mac = $2 WHERE id = $1"
            )
            .bind(id)
            .bind(mac)
            .execute(pool)
            .await
            .map(|_| ()))?,
            Tagged::External { issuer, subject } => on_pool!(self, write, |pool| sqlx::query(
                "UPDATE external_subjects SET mac = $3 WHERE issuer = $1 AND subject = $2"
            )
            .bind(issuer)
            .bind(subject)
            .bind(mac)
            .execute(pool)
            .await
            .map(|_| ()))?,
            Tagged::Member { cvr, person } => on_pool!(self, write, |pool| sqlx::query(
                "UPDATE org_members SET mac = $3 WHERE cvr = $1 AND person = $2"
            )
            .bind(cvr)
            .bind(person)
            .bind(mac)
            .execute(pool)
            .await
            .map(|_| ()))?,
        }
        Ok(())
    }

    /// Deletes what can no longer be used (all before `now`, Unix seconds): ceremony states,
    /// OAuth requests and codes, revoked tokens past their expiry, SAD uses and spends of
    /// expired SADs, expired enrolment codes and documents, and login throttle rows whose
    /// lock ended more than a day ago. Answers the rows deleted per table.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune(&self, now: i64) -> Result<Vec<(&'static str, u64)>, Error> {
        const EXPIRED: [(&str, &str); 8] = [
            (
                "webauthn_states",
                "DELETE FROM webauthn_states WHERE expires_at < $1",
            ),
            (
                "oauth_requests",
                "DELETE FROM oauth_requests WHERE expires_at < $1",
            ),
            (
                "oauth_codes",
                "DELETE FROM oauth_codes WHERE expires_at < $1",
            ),
            (
                "revoked_tokens",
                "DELETE FROM revoked_tokens WHERE expires_at < $1",
            ),
            ("sad_uses", "DELETE FROM sad_uses WHERE expires_at < $1"),
            ("sad_spent", "DELETE FROM sad_spent WHERE expires_at < $1"),
            (
                "enrolment_codes",
                "DELETE FROM enrolment_codes WHERE expires_at < $1",
            ),
            (
                "login_throttle",
                "DELETE FROM login_throttle WHERE locked_until <> 0 AND locked_until < $1 - 86400",
            ),
        ];
        let mut out = Vec::with_capacity(EXPIRED.len() + 1);
        for (table, sql) in EXPIRED {
            let n = on_pool!(self, write, |pool| sqlx::query(sql)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
            out.push((table, n));
        }
        out.push(("documents", self.prune_documents(now).await?));
        Ok(out)
    }

    /// Forgets the uses of SADs that expired before `before` (they can no longer verify).
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune_sad_uses(&self, before: i64) -> Result<u64, Error> {
        on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM sad_spent WHERE expires_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|_| ()))?;
        let uses = on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM sad_uses WHERE expires_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(uses)
    }

    /// How many unexpired documents a person holds.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_documents(&self, person: &str, now: i64) -> Result<i64, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM documents WHERE person = $1 AND expires_at > $2"
        )
        .bind(person)
        .bind(now)
        .fetch_one(pool)
        .await)?)
    }

    /// Stores an uploaded document.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_document(&self, d: &DocumentRow) -> Result<(), Error> {
        on_pool!(self, write, |pool| sqlx::query(
            "INSERT INTO documents (id, person, format, level, content, signed, created_at, \
             expires_at, options, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        .bind(&d.id)
        .bind(&d.person)
        .bind(&d.format)
        .bind(&d.level)
        .bind(&d.content)
        .bind(&d.signed)
        .bind(d.created_at)
        .bind(d.expires_at)
        .bind(&d.options)
        .bind(&d.sha256)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// A person's document that has not expired.
    ///
    /// # Errors
    /// Database errors.
    pub async fn document(
        &self,
        id: &str,
        person: &str,
        now: i64,
    ) -> Result<Option<DocumentRow>, Error> {
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, DocumentRow>(
                "SELECT id, person, format, level, content, signed, created_at, expires_at, \
                 options, sha256 FROM documents WHERE id = $1 AND person = $2 AND expires_at > $3",
            )
            .bind(id)
            .bind(person)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Stores the signed result of a document and drops the uploaded content.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_document_signed(&self, id: &str, signed: &[u8]) -> Result<(), Error> {
        on_pool!(self, write, |pool| sqlx::query(
            "UPDATE documents SET signed = $2, content = $3 WHERE id = $1"
        )
        .bind(id)
        .bind(signed)
        .bind(Vec::<u8>::new())
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Deletes a person's document (its signed result too); answers whether there was one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_document(&self, id: &str, person: &str) -> Result<bool, Error> {
        Ok(on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM documents WHERE id = $1 AND person = $2"
        )
        .bind(id)
        .bind(person)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))?)
    }

    /// Deletes the documents that expired at or before `now`; answers how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune_documents(&self, now: i64) -> Result<u64, Error> {
        Ok(on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM documents WHERE expires_at <= $1"
        )
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }

    /// The failure count and lock of a throttle key (`user:NAME`, `ip:ADDR`).
    ///
    /// # Errors
    /// Database errors.
    pub async fn throttle(&self, key: &str) -> Result<(i64, i64), Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<_, (i64, i64)>(
            "SELECT failures, locked_until FROM login_throttle WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(pool)
        .await)?
        .unwrap_or((0, 0)))
    }

    /// Counts one more attempt for a key, atomically; returns the new count and the time the
    /// key is locked until.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_attempt(&self, key: &str) -> Result<(i64, i64), Error> {
        Ok(on_pool!(self, write, |pool| {
            sqlx::query_as::<_, (i64, i64)>(COUNT_FAILURE)
                .bind(key)
                .fetch_one(pool)
                .await
        })?)
    }

    /// Counts one more failure for a key, atomically; returns the new count.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_failure(&self, key: &str) -> Result<i64, Error> {
        Ok(
            on_pool!(self, write, |pool| sqlx::query_as::<_, (i64, i64)>(
                COUNT_FAILURE
            )
            .bind(key)
            .fetch_one(pool)
            .await)?
            .0,
        )
    }

    /// Locks a throttle key until `until` (Unix seconds).
    ///
    /// # Errors
    /// Database errors.
    pub async fn lock_throttle(&self, key: &str, until: i64) -> Result<(), Error> {
        on_pool!(self, write, |pool| sqlx::query(
            "UPDATE login_throttle SET locked_until = $2 WHERE key = $1"
        )
        .bind(key)
        .bind(until)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Ends an expired lock of a key, once: `true` for the one caller that ended it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn end_lock(&self, key: &str, until: i64) -> Result<bool, Error> {
        let n = on_pool!(self, write, |pool| sqlx::query(
            "UPDATE login_throttle SET locked_until = 0 WHERE key = $1 AND locked_until = $2"
        )
        .bind(key)
        .bind(until)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Forgets the failures of a key (after a success).
    ///
    /// # Errors
    /// Database errors.
    pub async fn clear_throttle(&self, key: &str) -> Result<(), Error> {
        on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM login_throttle WHERE key = $1"
        )
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Revokes an access token until it would have expired.
    ///
    /// # Errors
    /// Database errors.
    pub async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), Error> {
        on_pool!(self, write, |pool| {
            sqlx::query(
            "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING"
        )
        .bind(jti)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Whether an access token was revoked.
    ///
    /// # Errors
    /// Database errors.
    pub async fn token_revoked(&self, jti: &str) -> Result<bool, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query(
            "SELECT jti FROM revoked_tokens WHERE jti = $1"
        )
        .bind(jti)
        .fetch_optional(pool)
        .await
        .map(|r| r.is_some()))?)
    }

    /// Whether a token may still be used: not revoked, and its person exists and is active.
    /// One query, as every authenticated request asks it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn token_usable(&self, jti: &str, person: &str) -> Result<bool, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query(
            "SELECT id FROM persons WHERE id = $2 AND status = 'active' \
             AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1)"
        )
        .bind(jti)
        .bind(person)
        .fetch_optional(pool)
        .await
        .map(|r| r.is_some()))?)
    }

    /// The person an external issuer's subject maps to.
    ///
    /// # Errors
    /// Database errors.
    pub async fn external_person(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<(String, Option<Vec<u8>>)>, Error> {
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, (String, Option<Vec<u8>>)>(
                "SELECT person_id, mac FROM external_subjects WHERE issuer = $1 AND subject = $2",
            )
            .bind(issuer)
            .bind(subject)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Adds a person and maps an external subject to them, in one transaction. On a race with
    /// another node, returns the person the other node created.
    ///
    /// # Errors
    /// Database errors.
    pub async fn provision_external(
        &self,
        issuer: &str,
        subject: &str,
        person: &PersonRow,
        mac: &[u8],
    ) -> Result<(String, Option<Vec<u8>>), Error> {
        let mut tx = self.begin().await?;
        let mapped = on_tx!(&mut tx, |conn| sqlx::query(
            "INSERT INTO external_subjects (issuer, subject, person_id, mac) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (issuer, subject) DO NOTHING"
        )
        .bind(issuer)
        .bind(subject)
        .bind(&person.id)
        .bind(mac)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
        if mapped == 0 {
            drop(tx);
            return self
                .external_person(issuer, subject)
                .await?
                .ok_or(Error::NotFound);
        }
        tx.insert_person(person).await?;
        tx.commit().await?;
        Ok((person.id.clone(), Some(mac.to_vec())))
    }

    /// Stores a new passkey (JSON) of a person: `high_from` is when it starts to count for High,
    /// `bound_by` how it was bound (`high-session` or `enrolment-code`).
    ///
    /// # Errors
    /// [`Error::Conflict`] when the credential id is registered already; database errors.
    pub async fn insert_passkey(&self, p: &PasskeyRow) -> Result<(), Error> {
        on_pool!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO passkeys (credential_id, person_id, passkey, created_at, high_from, \
                 bound_by, mac) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&p.credential_id)
            .bind(&p.person_id)
            .bind(&p.passkey)
            .bind(p.created_at)
            .bind(p.high_from)
            .bind(&p.bound_by)
            .bind(&p.mac)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// A person's passkeys, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn passkeys(&self, person: &str) -> Result<Vec<PasskeyRow>, Error> {
        Ok(on_pool!(self, read, |pool| {
            sqlx::query_as::<_, PasskeyRow>(
                "SELECT credential_id, person_id, passkey, created_at, high_from, bound_by, mac \
             FROM passkeys WHERE person_id = $1 ORDER BY created_at",
            )
            .bind(person)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Keeps a new enrolment code of a person (by its SHA-256), replacing any earlier one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn put_enrolment_code(
        &self,
        code_hash: &str,
        person: &str,
        now: i64,
        expires_at: i64,
        mac: &[u8],
    ) -> Result<(), Error> {
        on_pool!(self, write, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM enrolment_codes WHERE person_id = $1")
                .bind(person)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO enrolment_codes (code_hash, person_id, created_at, expires_at, mac) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(code_hash)
            .bind(person)
            .bind(now)
            .bind(expires_at)
            .bind(mac)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    /// A person's unexpired enrolment code (its expiry and integrity tag); with `spend`, uses it up
    /// in the same statement (so two ceremonies cannot both spend it).
    ///
    /// # Errors
    /// Database errors.
    pub async fn enrolment_code(
        &self,
        code_hash: &str,
        person: &str,
        now: i64,
        spend: bool,
    ) -> Result<Option<(i64, Option<Vec<u8>>)>, Error> {
        let sql = if spend {
            "DELETE FROM enrolment_codes WHERE code_hash = $1 AND person_id = $2 \
             AND expires_at > $3 RETURNING expires_at, mac"
        } else {
            "SELECT expires_at, mac FROM enrolment_codes WHERE code_hash = $1 AND person_id = $2 \
             AND expires_at > $3"
        };
        Ok(on_pool!(self, write, |pool| sqlx::query_as::<
            _,
            (i64, Option<Vec<u8>>),
        >(sql)
        .bind(code_hash)
        .bind(person)
        .bind(now)
        .fetch_optional(pool)
        .await)?)
    }

    /// Deletes one of a person's passkeys; `false` when the person has no such passkey.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_passkey(&self, person: &str, credential_id: &str) -> Result<bool, Error> {
        let n = on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM passkeys WHERE person_id = $1 AND credential_id = $2"
        )
        .bind(person)
        .bind(credential_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Sets (or with `None` removes) a person's TOTP secret; `last_step` is the step already
    /// used to confirm it, so that code cannot be replayed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_totp(
        &self,
        person: &str,
        secret: Option<&str>,
        last_step: Option<i64>,
    ) -> Result<bool, Error> {
        let n = on_pool!(self, write, |pool| sqlx::query(
            "UPDATE persons SET totp_secret = $2, totp_last_step = $3 WHERE id = $1"
        )
        .bind(person)
        .bind(secret)
        .bind(last_step)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Replaces a stored passkey (its signature counter moved).
    ///
    /// # Errors
    /// Database errors.
    pub async fn update_passkey(
        &self,
        credential_id: &str,
        passkey: &str,
        mac: &[u8],
    ) -> Result<(), Error> {
        on_pool!(self, write, |pool| sqlx::query(
            "UPDATE passkeys SET passkey = $2, mac = $3 WHERE credential_id = $1"
        )
        .bind(credential_id)
        .bind(passkey)
        .bind(mac)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Keeps a pending WebAuthn ceremony state.
    ///
    /// # Errors
    /// Database errors.
    pub async fn put_webauthn_state(
        &self,
        id: &str,
        person: &str,
        kind: &str,
        state: &str,
        expires_at: i64,
    ) -> Result<(), Error> {
        on_pool!(self, write, |pool| {
            sqlx::query(
            "INSERT INTO webauthn_states (id, person_id, kind, state, expires_at) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(id)
        .bind(person)
        .bind(kind)
        .bind(state)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Takes a ceremony state once: it is deleted in the same statement, so a second finish
    /// with the same state finds nothing (also on another node). Expired states are not given.
    ///
    /// # Errors
    /// Database errors.
    pub async fn take_webauthn_state(
        &self,
        id: &str,
        person: &str,
        kind: &str,
        now: i64,
    ) -> Result<Option<String>, Error> {
        Ok(on_pool!(self, write, |pool| {
            sqlx::query_scalar::<_, String>(
                "DELETE FROM webauthn_states WHERE id = $1 AND person_id = $2 AND kind = $3 \
             AND expires_at > $4 RETURNING state",
            )
            .bind(id)
            .bind(person)
            .bind(kind)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Stores a pending authorization request.
    ///
    /// # Errors
    /// Database errors.
    pub async fn put_oauth_request(&self, r: &OauthRequestRow) -> Result<(), Error> {
        on_pool!(self, write, |pool| {
            sqlx::query(
            "INSERT INTO oauth_requests (id, client_id, redirect_uri, state, code_challenge, expires_at, \
             authorization_details) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(&r.id)
        .bind(&r.client_id)
        .bind(&r.redirect_uri)
        .bind(&r.state)
        .bind(&r.code_challenge)
        .bind(r.expires_at)
        .bind(&r.authorization_details)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// A pending authorization request that has not expired, without consuming it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn oauth_request(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<OauthRequestRow>, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query_as::<
            _,
            OauthRequestRow,
        >(
            "SELECT id, client_id, redirect_uri, state, code_challenge, expires_at, \
             authorization_details FROM oauth_requests WHERE id = $1 AND expires_at > $2"
        )
        .bind(id)
        .bind(now)
        .fetch_optional(pool)
        .await)?)
    }

    /// Consumes a pending authorization request (once, across nodes).
    ///
    /// # Errors
    /// Database errors.
    pub async fn take_oauth_request(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<OauthRequestRow>, Error> {
        Ok(on_pool!(self, write, |pool| sqlx::query_as::<
            _,
            OauthRequestRow,
        >(
            "DELETE FROM oauth_requests WHERE id = $1 AND expires_at > $2 \
             RETURNING id, client_id, redirect_uri, state, code_challenge, expires_at, \
             authorization_details"
        )
        .bind(id)
        .bind(now)
        .fetch_optional(pool)
        .await)?)
    }

    /// Stores an authorization code.
    ///
    /// # Errors
    /// Database errors.
    pub async fn put_oauth_code(&self, c: &OauthCodeRow) -> Result<(), Error> {
        on_pool!(self, write, |pool| {
            sqlx::query(
            "INSERT INTO oauth_codes (code_hash, client_id, redirect_uri, code_challenge, person_id, \
             factors, auth_time, expires_at, authorization_details, loa, mac) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )
        .bind(&c.code_hash)
        .bind(&c.client_id)
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(&c.person_id)
        .bind(&c.factors)
        .bind(c.auth_time)
        .bind(c.expires_at)
        .bind(&c.authorization_details)
        .bind(&c.loa)
        .bind(&c.mac)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Redeems an authorization code (once, across nodes); expired codes are not given.
    ///
    /// # Errors
    /// Database errors.
    pub async fn take_oauth_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<Option<OauthCodeRow>, Error> {
        Ok(on_pool!(self, write, |pool| {
            sqlx::query_as::<_, OauthCodeRow>(
            "DELETE FROM oauth_codes WHERE code_hash = $1 AND expires_at > $2 RETURNING code_hash, \
             client_id, redirect_uri, code_challenge, person_id, factors, auth_time, expires_at, \
             authorization_details, loa, mac"
        )
        .bind(code_hash)
        .bind(now)
        .fetch_optional(pool)
        .await
        })?)
    }

    /// Closes the pools, waiting for connections to be returned.
    pub async fn close(&self) {
        match self {
            Self::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// Creates the SQLite database file readable and writable by its owner only (0600), or
/// tightens an existing one; SQLite gives its `-wal` and `-shm` files the database file's
/// permissions. In-memory databases are left alone.
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// The URL without user information, for messages.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://<redacted>@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_credentials() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://<redacted>@h:5432/db"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("sqlite://./var/q.db"), "sqlite://./var/q.db");
    }
}
