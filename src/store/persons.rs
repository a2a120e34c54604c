//! Persons and their login factors: password, TOTP, passkeys, enrolment codes, and the
//! external subjects mapped to them.

use super::{Error, Store, Tx};

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

/// The columns of [`PersonRow`], for the queries of several aggregates.
macro_rules! person_columns {
    () => {
        "id, username, given_name, family_name, status, password_hash, totp_secret, \
         totp_last_step, created_at, password_mac"
    };
}
pub(super) use person_columns;

/// The columns of [`PasskeyRow`].
macro_rules! passkey_columns {
    () => {
        "credential_id, person_id, passkey, created_at, high_from, bound_by, mac"
    };
}
pub(super) use passkey_columns;

impl Store {
    /// Adds a person.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the username is taken; database errors.
    pub async fn insert_person(&self, p: &PersonRow) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        tx.insert_person(p).await?;
        tx.commit().await
    }

    /// A person by login name.
    ///
    /// # Errors
    /// Database errors.
    pub async fn person_by_username(&self, username: &str) -> Result<Option<PersonRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            PersonRow,
            select_from!(person_columns, "persons WHERE username = $1"),
            username
        )?)
    }

    /// A person by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn person_by_id(&self, id: &str) -> Result<Option<PersonRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            PersonRow,
            select_from!(person_columns, "persons WHERE id = $1"),
            id
        )?)
    }

    /// Every person, by username.
    ///
    /// # Errors
    /// Database errors.
    pub async fn persons(&self) -> Result<Vec<PersonRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            PersonRow,
            select_from!(person_columns, "persons ORDER BY username")
        )?)
    }

    /// Sets a person's status; `false` when no such username.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_person_status(&self, username: &str, status: &str) -> Result<bool, Error> {
        let n = execute!(
            self,
            "UPDATE persons SET status = $2 WHERE username = $1",
            username,
            status
        )?;
        Ok(n == 1)
    }

    /// Records that TOTP `step` was used, only if it is after the last one used: `false` means
    /// a replay (or an older code), atomically across nodes.
    ///
    /// # Errors
    /// Database errors.
    pub async fn consume_totp_step(&self, person: &str, step: i64) -> Result<bool, Error> {
        let n = execute!(
            self,
            "UPDATE persons SET totp_last_step = $2 \
             WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
            person,
            step
        )?;
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
        let n = execute!(
            self,
            "UPDATE persons SET totp_secret = $2, totp_last_step = $3 WHERE id = $1",
            person,
            secret,
            last_step
        )?;
        Ok(n == 1)
    }

    /// The person an external issuer's subject maps to, with the mapping's integrity tag.
    ///
    /// # Errors
    /// Database errors.
    pub async fn external_person(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<(String, Option<Vec<u8>>)>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            (String, Option<Vec<u8>>),
            "SELECT person_id, mac FROM external_subjects WHERE issuer = $1 AND subject = $2",
            issuer,
            subject
        )?)
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
        let mapped = execute!(
            tx &mut tx,
            "INSERT INTO external_subjects (issuer, subject, person_id, mac) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (issuer, subject) DO NOTHING",
            issuer,
            subject,
            &person.id,
            mac
        )?;
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
        execute!(
            self,
            concat!(
                "INSERT INTO passkeys (",
                passkey_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &p.credential_id,
            &p.person_id,
            &p.passkey,
            p.created_at,
            p.high_from,
            &p.bound_by,
            &p.mac
        )?;
        Ok(())
    }

    /// A person's passkeys, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn passkeys(&self, person: &str) -> Result<Vec<PasskeyRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            PasskeyRow,
            select_from!(
                passkey_columns,
                "passkeys WHERE person_id = $1 ORDER BY created_at"
            ),
            person
        )?)
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
        execute!(
            self,
            "UPDATE passkeys SET passkey = $2, mac = $3 WHERE credential_id = $1",
            credential_id,
            passkey,
            mac
        )?;
        Ok(())
    }

    /// Deletes one of a person's passkeys; `false` when the person has no such passkey.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_passkey(&self, person: &str, credential_id: &str) -> Result<bool, Error> {
        let n = execute!(
            self,
            "DELETE FROM passkeys WHERE person_id = $1 AND credential_id = $2",
            person,
            credential_id
        )?;
        Ok(n == 1)
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
        let mut tx = self.begin().await?;
        execute!(
            tx &mut tx,
            "DELETE FROM enrolment_codes WHERE person_id = $1",
            person
        )?;
        execute!(
            tx &mut tx,
            "INSERT INTO enrolment_codes (code_hash, person_id, created_at, expires_at, mac) \
             VALUES ($1, $2, $3, $4, $5)",
            code_hash,
            person,
            now,
            expires_at,
            mac
        )?;
        tx.commit().await
    }

    /// A person's unexpired enrolment code (its expiry and integrity tag); with `spend`, uses
    /// it up in the same statement (so two ceremonies cannot both spend it).
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
        Ok(fetch!(
            write self,
            fetch_optional,
            (i64, Option<Vec<u8>>),
            sql,
            code_hash,
            person,
            now
        )?)
    }
}

impl Tx {
    /// Adds a person inside this transaction.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the username is taken; database errors.
    pub async fn insert_person(&mut self, p: &PersonRow) -> Result<(), Error> {
        execute!(
            tx self,
            concat!(
                "INSERT INTO persons (",
                person_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &p.id,
            &p.username,
            &p.given_name,
            &p.family_name,
            &p.status,
            &p.password_hash,
            &p.totp_secret,
            p.totp_last_step,
            p.created_at,
            &p.password_mac
        )?;
        Ok(())
    }
}
