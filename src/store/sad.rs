//! Signature activation data: how often each SAD was used, its mode and each hash's count.

use super::credentials::credential_columns;
use super::{CredentialRow, Error, Store, Tx};

/// A credential with the use count of a SAD, read in one query.
#[derive(Debug, sqlx::FromRow)]
struct CredentialUses {
    #[sqlx(flatten)]
    credential: CredentialRow,
    sad_used: i64,
}

/// Adds `$2` uses to a SAD only while the total stays within `$3`: zero rows means no.
const USE_SAD: &str = "INSERT INTO sad_uses (id, used, expires_at) VALUES ($1, $2, $4) \
     ON CONFLICT (id) DO UPDATE SET used = sad_uses.used + excluded.used \
     WHERE sad_uses.used + excluded.used <= $3";

impl Store {
    /// How many times a SAD has been used (0 when never).
    ///
    /// # Errors
    /// Database errors.
    pub async fn sad_uses(&self, id: &str) -> Result<i64, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            (i64,),
            "SELECT used FROM sad_uses WHERE id = $1",
            id
        )?
        .map_or(0, |r| r.0))
    }

    /// A credential by id together with how often a SAD has been used (0 when never): what a
    /// signature request reads, in one query.
    ///
    /// # Errors
    /// Database errors.
    pub async fn credential_and_sad_uses(
        &self,
        id: &str,
        sad: &str,
    ) -> Result<Option<(CredentialRow, i64)>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            CredentialUses,
            concat!(
                "SELECT ",
                credential_columns!(),
                ", COALESCE((SELECT used FROM sad_uses WHERE sad_uses.id = $2), 0) AS sad_used \
                 FROM credentials WHERE id = $1"
            ),
            id,
            sad
        )?
        .map(|r| (r.credential, r.sad_used)))
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

    /// Forgets the uses of SADs that expired before `before` (they can no longer verify).
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune_sad_uses(&self, before: i64) -> Result<u64, Error> {
        execute!(self, "DELETE FROM sad_spent WHERE expires_at < $1", before)?;
        Ok(execute!(
            self,
            "DELETE FROM sad_uses WHERE expires_at < $1",
            before
        )?)
    }
}

impl Tx {
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
        let n = execute!(tx self, USE_SAD, id, uses, max, expires_at)?;
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
            execute!(tx self, sql, id, &item, &value, expires_at)?;
        }
        Ok(true)
    }

    /// What a SAD's `item` (its mode, or a hash's signature count) says so far.
    async fn sad_spent(&mut self, id: &str, item: &str) -> Result<Option<String>, Error> {
        Ok(fetch!(
            tx self,
            fetch_optional,
            (String,),
            "SELECT value FROM sad_spent WHERE sad_id = $1 AND item = $2",
            id,
            item
        )?
        .map(|r| r.0))
    }
}
