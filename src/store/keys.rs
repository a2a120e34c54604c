//! Settings and the wrapped keys of the service's own certificates.

use super::{Error, Store};

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

impl Store {
    /// Sets a named setting.
    ///
    /// # Errors
    /// Query errors.
    pub async fn put_setting(&self, name: &str, value: &str, now: i64) -> Result<(), Error> {
        execute!(
            self,
            "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
             updated_at = excluded.updated_at",
            name,
            value,
            now
        )?;
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
        execute!(
            self,
            "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
            name,
            value,
            now
        )?;
        self.setting(name).await?.ok_or(Error::NotFound)
    }

    /// Reads a named setting.
    ///
    /// # Errors
    /// Query errors.
    pub async fn setting(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            (String,),
            "SELECT value FROM settings WHERE name = $1",
            name
        )?
        .map(|r| r.0))
    }

    /// Stores a wrapped key.
    ///
    /// # Errors
    /// [`Error::Conflict`] for a duplicate id; query errors.
    pub async fn insert_wrapped_key(&self, key: &StoredKey) -> Result<(), Error> {
        execute!(
            self,
            "INSERT INTO wrapped_keys (id, algorithm, blob, public_key, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &key.id,
            &key.algorithm,
            &key.blob,
            &key.public_key,
            key.created_at
        )?;
        Ok(())
    }

    /// Reads a wrapped key.
    ///
    /// # Errors
    /// [`Error::NotFound`]; query errors.
    pub async fn wrapped_key(&self, id: &str) -> Result<StoredKey, Error> {
        Ok(fetch!(
            self,
            fetch_one,
            StoredKey,
            "SELECT id, algorithm, blob, public_key, created_at FROM wrapped_keys WHERE id = $1",
            id
        )?)
    }
}
