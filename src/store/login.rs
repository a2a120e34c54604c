//! What logging in leaves behind: throttling counters, revoked access tokens, WebAuthn
//! ceremony states, and OAuth authorization requests and codes. Everything here expires.

use super::{Error, Store};

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

/// The columns of [`OauthRequestRow`].
macro_rules! oauth_request_columns {
    () => {
        "id, client_id, redirect_uri, state, code_challenge, expires_at, authorization_details"
    };
}

/// The columns of [`OauthCodeRow`].
macro_rules! oauth_code_columns {
    () => {
        "code_hash, client_id, redirect_uri, code_challenge, person_id, factors, auth_time, \
         expires_at, authorization_details, loa, mac"
    };
}

/// Counts one more attempt of a key and answers the count and the lock's end.
const COUNT_ATTEMPT: &str = "INSERT INTO login_throttle (key, failures, locked_until) \
     VALUES ($1, 1, 0) ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1 \
     RETURNING failures, locked_until";

impl Store {
    /// The failure count and lock of a throttle key (`user:NAME`, `ip:ADDR`).
    ///
    /// # Errors
    /// Database errors.
    pub async fn throttle(&self, key: &str) -> Result<(i64, i64), Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            (i64, i64),
            "SELECT failures, locked_until FROM login_throttle WHERE key = $1",
            key
        )?
        .unwrap_or((0, 0)))
    }

    /// Counts one more attempt for a key, atomically; returns the new count and the time the
    /// key is locked until.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_attempt(&self, key: &str) -> Result<(i64, i64), Error> {
        Ok(fetch!(write self, fetch_one, (i64, i64), COUNT_ATTEMPT, key)?)
    }

    /// Counts one more failure for a key, atomically; returns the new count.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_failure(&self, key: &str) -> Result<i64, Error> {
        Ok(self.count_attempt(key).await?.0)
    }

    /// Locks a throttle key until `until` (Unix seconds).
    ///
    /// # Errors
    /// Database errors.
    pub async fn lock_throttle(&self, key: &str, until: i64) -> Result<(), Error> {
        execute!(
            self,
            "UPDATE login_throttle SET locked_until = $2 WHERE key = $1",
            key,
            until
        )?;
        Ok(())
    }

    /// Ends an expired lock of a key, once: `true` for the one caller that ended it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn end_lock(&self, key: &str, until: i64) -> Result<bool, Error> {
        let n = execute!(
            self,
            "UPDATE login_throttle SET locked_until = 0 WHERE key = $1 AND locked_until = $2",
            key,
            until
        )?;
        Ok(n == 1)
    }

    /// Forgets the failures of a key (after a success).
    ///
    /// # Errors
    /// Database errors.
    pub async fn clear_throttle(&self, key: &str) -> Result<(), Error> {
        execute!(self, "DELETE FROM login_throttle WHERE key = $1", key)?;
        Ok(())
    }

    /// Revokes an access token until it would have expired.
    ///
    /// # Errors
    /// Database errors.
    pub async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), Error> {
        execute!(
            self,
            "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO NOTHING",
            jti,
            expires_at
        )?;
        Ok(())
    }

    /// Whether an access token was revoked.
    ///
    /// # Errors
    /// Database errors.
    pub async fn token_revoked(&self, jti: &str) -> Result<bool, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            (String,),
            "SELECT jti FROM revoked_tokens WHERE jti = $1",
            jti
        )?
        .is_some())
    }

    /// Whether a token may still be used: not revoked, and its person exists and is active.
    /// One query, as every authenticated request asks it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn token_usable(&self, jti: &str, person: &str) -> Result<bool, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            (String,),
            "SELECT id FROM persons WHERE id = $2 AND status = 'active' \
             AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1)",
            jti,
            person
        )?
        .is_some())
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
        execute!(
            self,
            "INSERT INTO webauthn_states (id, person_id, kind, state, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            id,
            person,
            kind,
            state,
            expires_at
        )?;
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
        Ok(fetch!(
            write self,
            fetch_optional,
            (String,),
            "DELETE FROM webauthn_states WHERE id = $1 AND person_id = $2 AND kind = $3 \
             AND expires_at > $4 RETURNING state",
            id,
            person,
            kind,
            now
        )?
        .map(|r| r.0))
    }

    /// Stores a pending authorization request.
    ///
    /// # Errors
    /// Database errors.
    pub async fn put_oauth_request(&self, r: &OauthRequestRow) -> Result<(), Error> {
        execute!(
            self,
            concat!(
                "INSERT INTO oauth_requests (",
                oauth_request_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &r.id,
            &r.client_id,
            &r.redirect_uri,
            &r.state,
            &r.code_challenge,
            r.expires_at,
            &r.authorization_details
        )?;
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
        Ok(fetch!(
            self,
            fetch_optional,
            OauthRequestRow,
            select_from!(
                oauth_request_columns,
                "oauth_requests WHERE id = $1 AND expires_at > $2"
            ),
            id,
            now
        )?)
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
        Ok(fetch!(
            write self,
            fetch_optional,
            OauthRequestRow,
            concat!(
                "DELETE FROM oauth_requests WHERE id = $1 AND expires_at > $2 RETURNING ",
                oauth_request_columns!()
            ),
            id,
            now
        )?)
    }

    /// Stores an authorization code.
    ///
    /// # Errors
    /// Database errors.
    pub async fn put_oauth_code(&self, c: &OauthCodeRow) -> Result<(), Error> {
        execute!(
            self,
            concat!(
                "INSERT INTO oauth_codes (",
                oauth_code_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            &c.code_hash,
            &c.client_id,
            &c.redirect_uri,
            &c.code_challenge,
            &c.person_id,
            &c.factors,
            c.auth_time,
            c.expires_at,
            &c.authorization_details,
            &c.loa,
            &c.mac
        )?;
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
        Ok(fetch!(
            write self,
            fetch_optional,
            OauthCodeRow,
            concat!(
                "DELETE FROM oauth_codes WHERE code_hash = $1 AND expires_at > $2 RETURNING ",
                oauth_code_columns!()
            ),
            code_hash,
            now
        )?)
    }
}
