//! Signing cases: a document signed on behalf of an organisation by several members until its
//! rule of representation is met.

use super::{Error, Store, Tx};

/// A signing case, without its document.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseRow {
    /// Random id.
    pub id: String,
    /// The organisation signed for.
    pub cvr: String,
    /// What the document is, as the opener named it.
    pub title: String,
    /// How it is signed: `pades` (incremental revisions), `cades-detached` or
    /// `xades-detached` (parallel signatures beside the document).
    pub format: String,
    /// The rule of representation when the case was opened (canonical text).
    pub rule: String,
    /// Who opened it (person id).
    pub opened_by: String,
    /// SHA-256 (hex) of the current revision.
    pub sha256: String,
    /// `open` or `complete`.
    pub status: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; an open case past it is expired.
    pub expires_at: i64,
    /// Unix seconds, once complete.
    pub completed_at: Option<i64>,
}

/// A signature recorded in a case.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseSignatureRow {
    /// The case.
    pub case_id: String,
    /// The signer (person id).
    pub person: String,
    /// The signer's name as their certificate shows it (a pseudonym for an anonymous member).
    pub name: String,
    /// The role signed in.
    pub role: String,
    /// Unix seconds.
    pub signed_at: i64,
    /// The signature itself, for CAdES and XAdES cases (a PDF's are in the document).
    pub signature: Option<Vec<u8>>,
}

macro_rules! case_columns {
    () => {
        "id, cvr, title, format, rule, opened_by, sha256, status, created_at, expires_at, \
         completed_at"
    };
}

impl Store {
    /// Opens a case with its document.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_case(&self, c: &CaseRow, content: &[u8]) -> Result<(), Error> {
        execute!(
            self,
            "INSERT INTO signing_cases (id, cvr, title, format, rule, opened_by, content, sha256, \
             status, created_at, expires_at, completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12)",
            &c.id,
            &c.cvr,
            &c.title,
            &c.format,
            &c.rule,
            &c.opened_by,
            content,
            &c.sha256,
            &c.status,
            c.created_at,
            c.expires_at,
            c.completed_at
        )?;
        Ok(())
    }

    /// An organisation's case.
    ///
    /// # Errors
    /// Database errors.
    pub async fn case(&self, cvr: &str, id: &str) -> Result<Option<CaseRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            CaseRow,
            select_from!(case_columns, "signing_cases WHERE cvr = $1 AND id = $2"),
            cvr,
            id
        )?)
    }

    /// An organisation's cases, newest first, at most `limit`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn cases(&self, cvr: &str, limit: i64) -> Result<Vec<CaseRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            CaseRow,
            select_from!(
                case_columns,
                "signing_cases WHERE cvr = $1 ORDER BY created_at DESC, id LIMIT $2"
            ),
            cvr,
            limit
        )?)
    }

    /// The current revision of a case's document.
    ///
    /// # Errors
    /// Database errors.
    pub async fn case_content(&self, id: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            (Vec<u8>,),
            "SELECT content FROM signing_cases WHERE id = $1",
            id
        )?
        .map(|r| r.0))
    }

    /// The signatures recorded in a case, in the order they were made.
    ///
    /// # Errors
    /// Database errors.
    pub async fn case_signatures(&self, id: &str) -> Result<Vec<CaseSignatureRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            CaseSignatureRow,
            "SELECT case_id, person, name, role, signed_at, signature FROM case_signatures \
             WHERE case_id = $1 ORDER BY signed_at, person",
            id
        )?)
    }

    /// Records a signature made over the revision whose SHA-256 is `over`: the case takes the
    /// signed `revision` (its content and SHA-256; `None` for a parallel signature, which
    /// leaves the document as it is) and, when `complete`, is complete. Only while the case is
    /// open, unexpired at `now` and still at revision `over` (a signature made over an older
    /// revision is not recorded); answers whether it was.
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_case_signature(
        &self,
        signature: &CaseSignatureRow,
        over: &str,
        revision: Option<(&[u8], &str)>,
        complete: bool,
        now: i64,
    ) -> Result<bool, Error> {
        let mut tx = self.begin().await?;
        let status = if complete { "complete" } else { "open" };
        let completed_at = complete.then_some(signature.signed_at);
        let moved = execute!(
            tx &mut tx,
            "UPDATE signing_cases SET content = COALESCE($1, content), \
             sha256 = COALESCE($2, sha256), status = $3, completed_at = $4 \
             WHERE id = $5 AND sha256 = $6 AND status = 'open' AND expires_at > $7",
            revision.map(|(content, _)| content),
            revision.map(|(_, sha256)| sha256),
            status,
            completed_at,
            &signature.case_id,
            over,
            now
        )?;
        if moved != 1 {
            return Ok(false);
        }
        execute!(
            tx &mut tx,
            "INSERT INTO case_signatures (case_id, person, name, role, signed_at, signature) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &signature.case_id,
            &signature.person,
            &signature.name,
            &signature.role,
            signature.signed_at,
            &signature.signature
        )?;
        tx.commit().await?;
        Ok(true)
    }
}
