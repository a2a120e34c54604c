//! Credential lifecycle: marking a revoked credential deleted, its wrapped key overwritten.

use super::{Error, Store, Tx};

impl Store {
    /// When a credential was deleted (Unix seconds), `None` when it was not (or does not
    /// exist).
    ///
    /// # Errors
    /// Database errors.
    pub async fn credential_deleted_at(&self, id: &str) -> Result<Option<i64>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            (Option<i64>,),
            "SELECT deleted_at FROM credentials WHERE id = $1",
            id
        )?
        .and_then(|r| r.0))
    }
}

impl Tx {
    /// Marks a revoked credential deleted at `now`, its wrapped key replaced by `wrapped` and
    /// its integrity tag by `mac`; `false` when it is not revoked, already deleted or unknown.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_credential(
        &mut self,
        id: &str,
        wrapped: &[u8],
        mac: &[u8],
        now: i64,
    ) -> Result<bool, Error> {
        let n = execute!(
            tx self,
            "UPDATE credentials SET wrapped = $2, mac = $3, deleted_at = $4, updated_at = $4 \
             WHERE id = $1 AND status = 'revoked' AND deleted_at IS NULL",
            id,
            wrapped,
            mac,
            now
        )?;
        Ok(n == 1)
    }
}
