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
        // Checked before anything is written, from one read of what the SAD spent so far: the
        // mode of its first use, and each hash's signatures.
        let spent: Vec<(String, String)> = fetch!(
            tx self,
            fetch_all,
            (String, String),
            "SELECT item, value FROM sad_spent WHERE sad_id = $1",
            id
        )?;
        let value = |item: &str| spent.iter().find(|(i, _)| i == item).map(|(_, v)| v);
        let bound = value("mode");
        if bound.is_some_and(|m| m != mode) {
            return Ok(false);
        }
        let mut writes: Vec<(String, String)> = Vec::with_capacity(hashes.len() + 1);
        for (hash, now, approved) in hashes {
            let item = hex::encode(hash);
            let before: i64 = value(&item).and_then(|v| v.parse().ok()).unwrap_or(0);
            if before.saturating_add(*now) > *approved {
                return Ok(false);
            }
            writes.push((item, (before + now).to_string()));
        }
        if bound.is_none() {
            writes.push(("mode".to_owned(), mode.to_owned()));
        }
        if execute!(tx self, USE_SAD, id, uses, max, expires_at)? != 1 {
            return Ok(false);
        }
        if writes.is_empty() {
            return Ok(true);
        }
        // Every count and the mode in one statement.
        let rows: Vec<String> = (0..writes.len())
            .map(|i| format!("($1, ${}, ${}, $2)", 3 + 2 * i, 4 + 2 * i))
            .collect();
        let sql = format!(
            "INSERT INTO sad_spent (sad_id, item, value, expires_at) VALUES {} \
             ON CONFLICT (sad_id, item) DO UPDATE SET value = excluded.value",
            rows.join(", ")
        );
        on_tx!(self, |conn| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .bind(expires_at);
            for (item, value) in &writes {
                q = q.bind(item).bind(value);
            }
            q.execute(conn).await.map(|_| ())
        })?;
        Ok(true)
    }
}
