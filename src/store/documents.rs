//! Documents of the native signing flow, kept until they expire.

use super::{Error, Store};

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
    /// The signing case the document signs, if any.
    pub case_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Store {
    /// How many unexpired documents a person holds.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_documents(&self, person: &str, now: i64) -> Result<i64, Error> {
        Ok(fetch!(
            self,
            fetch_one,
            (i64,),
            "SELECT COUNT(*) FROM documents WHERE person = $1 AND expires_at > $2",
            person,
            now
        )?
        .0)
    }

    /// Stores an uploaded document.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_document(&self, d: &DocumentRow) -> Result<(), Error> {
        execute!(
            self,
            "INSERT INTO documents (id, person, format, level, content, signed, created_at, \
             expires_at, options, sha256, case_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11)",
            &d.id,
            &d.person,
            &d.format,
            &d.level,
            &d.content,
            &d.signed,
            d.created_at,
            d.expires_at,
            &d.options,
            &d.sha256,
            &d.case_id
        )?;
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
        Ok(fetch!(
            self,
            fetch_optional,
            DocumentRow,
            "SELECT id, person, format, level, content, signed, created_at, expires_at, \
             options, sha256, case_id FROM documents WHERE id = $1 AND person = $2 AND expires_at > $3",
            id,
            person,
            now
        )?)
    }

    /// Stores the signed result of a document and drops the uploaded content.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_document_signed(&self, id: &str, signed: &[u8]) -> Result<(), Error> {
        execute!(
            self,
            "UPDATE documents SET signed = $2, content = $3 WHERE id = $1",
            id,
            signed,
            Vec::<u8>::new()
        )?;
        Ok(())
    }

    /// Deletes a person's document (its signed result too); answers whether there was one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_document(&self, id: &str, person: &str) -> Result<bool, Error> {
        Ok(execute!(
            self,
            "DELETE FROM documents WHERE id = $1 AND person = $2",
            id,
            person
        )? > 0)
    }

    /// Deletes the documents that expired at or before `now`; answers how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune_documents(&self, now: i64) -> Result<u64, Error> {
        Ok(execute!(
            self,
            "DELETE FROM documents WHERE expires_at <= $1",
            now
        )?)
    }
}
