//! OAuth clients' working data: pushed authorization requests, the ids of DPoP proofs and
//! client assertions seen (each accepted once), an organisation's system clients, and their
//! rate windows. Everything but the system clients expires.

use super::{Error, Store};

/// A pushed authorization request (RFC 9126), kept by the hash of its `request_uri`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PushedRequestRow {
    /// SHA-256 hex of the `request_uri`.
    pub uri_hash: String,
    /// The client that pushed it: the only one that may use it.
    pub client_id: String,
    /// The checked request (JSON).
    pub request: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// An organisation's system client (CSC seals for machines).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SystemClientRow {
    /// Its client id.
    pub client_id: String,
    /// The organisation whose seal it uses.
    pub cvr: String,
    /// Its public key, a JWK (JSON).
    pub jwk: String,
    /// The key's RFC 7638 thumbprint.
    pub jkt: String,
    /// Most signatures one authorization may ask for.
    pub max_per_authorization: i64,
    /// Most authorizations per minute.
    pub per_minute: i64,
    /// The administrator who registered it.
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Integrity tag under the HSM's records key (`hsm::Record::SystemClient`).
    pub mac: Option<Vec<u8>>,
}

/// The columns of [`PushedRequestRow`].
macro_rules! pushed_columns {
    () => {
        "uri_hash, client_id, request, expires_at"
    };
}

/// The columns of [`SystemClientRow`].
macro_rules! system_client_columns {
    () => {
        "client_id, cvr, jwk, jkt, max_per_authorization, per_minute, created_by, created_at, mac"
    };
}

/// Records a key unless it is there and not expired (`$3`: now): one row affected means the
/// first use.
const FIRST_USE: &str = "INSERT INTO oauth_seen (key, expires_at) VALUES ($1, $2) \
     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at \
     WHERE oauth_seen.expires_at < $3";

/// Counts one use in a client's window while the count stays within `$3`: zero rows means no.
const COUNT_USE: &str = "INSERT INTO client_rate (client_id, window_start, used) \
     VALUES ($1, $2, 1) ON CONFLICT (client_id, window_start) \
     DO UPDATE SET used = client_rate.used + 1 WHERE client_rate.used < $3";

impl Store {
    /// Stores a pushed authorization request.
    ///
    /// # Errors
    /// Database errors.
    pub async fn put_pushed_request(&self, r: &PushedRequestRow) -> Result<(), Error> {
        execute!(
            self,
            concat!(
                "INSERT INTO oauth_pushed (",
                pushed_columns!(),
                ") VALUES ($1, $2, $3, $4)"
            ),
            &r.uri_hash,
            &r.client_id,
            &r.request,
            r.expires_at
        )?;
        Ok(())
    }

    /// Takes a pushed request once (across nodes), only for the client that pushed it and
    /// before it expires; another client's attempt leaves it in place.
    ///
    /// # Errors
    /// Database errors.
    pub async fn take_pushed_request(
        &self,
        uri_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Option<PushedRequestRow>, Error> {
        Ok(fetch!(
            write self,
            fetch_optional,
            PushedRequestRow,
            concat!(
                "DELETE FROM oauth_pushed WHERE uri_hash = $1 AND client_id = $2 \
                 AND expires_at > $3 RETURNING ",
                pushed_columns!()
            ),
            uri_hash,
            client_id,
            now
        )?)
    }

    /// Records `key` as used until `expires_at`: `true` for its first use, `false` when it was
    /// used before and has not expired (at `now`). One statement, so two nodes cannot both
    /// see a first use.
    ///
    /// # Errors
    /// Database errors.
    pub async fn first_use(&self, key: &str, expires_at: i64, now: i64) -> Result<bool, Error> {
        Ok(execute!(self, FIRST_USE, key, expires_at, now)? == 1)
    }

    /// Registers a system client.
    ///
    /// # Errors
    /// [`Error::Conflict`] for a client id that is taken; database errors (an unknown
    /// organisation or person).
    pub async fn insert_system_client(&self, c: &SystemClientRow) -> Result<(), Error> {
        execute!(
            self,
            concat!(
                "INSERT INTO system_clients (",
                system_client_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &c.client_id,
            &c.cvr,
            &c.jwk,
            &c.jkt,
            c.max_per_authorization,
            c.per_minute,
            &c.created_by,
            c.created_at,
            &c.mac
        )?;
        Ok(())
    }

    /// A system client by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn system_client(&self, client_id: &str) -> Result<Option<SystemClientRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            SystemClientRow,
            select_from!(system_client_columns, "system_clients WHERE client_id = $1"),
            client_id
        )?)
    }

    /// An organisation's system clients, by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn system_clients(&self, cvr: &str) -> Result<Vec<SystemClientRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            SystemClientRow,
            select_from!(
                system_client_columns,
                "system_clients WHERE cvr = $1 ORDER BY client_id"
            ),
            cvr
        )?)
    }

    /// Removes an organisation's system client (and its rate windows); `false` when it has
    /// none by that id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_system_client(&self, cvr: &str, client_id: &str) -> Result<bool, Error> {
        let n = execute!(
            self,
            "DELETE FROM system_clients WHERE cvr = $1 AND client_id = $2",
            cvr,
            client_id
        )?;
        if n == 1 {
            execute!(
                self,
                "DELETE FROM client_rate WHERE client_id = $1",
                client_id
            )?;
        }
        Ok(n == 1)
    }

    /// Counts one use of a client in the window starting at `window_start` if the window has
    /// had fewer than `limit`: `false` (nothing counted) otherwise. One conditional statement,
    /// so the limit holds across nodes.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_client_use(
        &self,
        client_id: &str,
        window_start: i64,
        limit: i64,
    ) -> Result<bool, Error> {
        if limit < 1 {
            return Ok(false);
        }
        Ok(execute!(self, COUNT_USE, client_id, window_start, limit)? == 1)
    }

    /// Deletes the expired pushed requests and seen ids, and rate windows that ended more than
    /// a minute before `now`; answers the rows deleted per table.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune_clients(&self, now: i64) -> Result<Vec<(&'static str, u64)>, Error> {
        const EXPIRED: [(&str, &str); 3] = [
            (
                "oauth_pushed",
                "DELETE FROM oauth_pushed WHERE expires_at < $1",
            ),
            ("oauth_seen", "DELETE FROM oauth_seen WHERE expires_at < $1"),
            (
                "client_rate",
                "DELETE FROM client_rate WHERE window_start < $1 - 120",
            ),
        ];
        let mut out = Vec::with_capacity(EXPIRED.len());
        for (table, sql) in EXPIRED {
            out.push((table, execute!(self, sql, now)?));
        }
        Ok(out)
    }
}
