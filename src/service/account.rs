//! What the web pages need beyond the APIs: a person's own factors, a look at an uploaded
//! document before approving it (its facts and its pages as pictures), and the operators'
//! support lookup.

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use super::{audit_error, Activation, Error, ErrorCode, Format, Hashes, Service};
use crate::formats::pdf::Pdf;
use crate::identity::loa::Loa;
use crate::identity::Principal;
use crate::store::AuditFilter;
use crate::types::Digest;

pub use crate::identity::factors::{Factors, TotpOffer};

/// The most pages shown before approval; the rest are counted, not drawn.
pub const PREVIEW_PAGES: usize = 20;
/// How long drawing one page may take.
const PREVIEW_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest picture of a page accepted from the renderer.
const PREVIEW_MAX_BYTES: usize = 8 << 20;
/// The address space the renderer may use.
const PREVIEW_MEMORY_BYTES: usize = 512 << 20;
/// Pages drawn at once (the rest wait their turn).
static RENDERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// An uploaded document as its signer reviews it.
#[derive(Debug, Clone)]
pub struct DocumentInfo {
    /// Its id.
    pub id: String,
    /// `pades`, `xades-enveloped`, `cades-detached`, ...
    pub format: String,
    /// The signature level asked for.
    pub level: String,
    /// Size in bytes.
    pub size: usize,
    /// SHA-256, hex.
    pub sha256: String,
    /// What the approval covers, base64: the SHA-256, or for a PDF with options the approval
    /// digest of the document and its options; the hash handed to `credentials/authorize`.
    pub approval_b64: String,
    /// The options approved with the document (reason, place, certification, visible box), as
    /// the signer reads them on the review page; `None` for a plain signature.
    pub approval_text: Option<String>,
    /// Pages of a PDF (0 for other formats).
    pub pages: usize,
    /// Whether it is signed already.
    pub signed: bool,
    /// When it is forgotten, Unix seconds.
    pub expires_at: i64,
}

impl Service {
    /// The caller's enrolled factors.
    ///
    /// # Errors
    /// `not_found` for a vanished account; store failures.
    pub async fn factors(&self, principal: &Principal) -> Result<Factors, Error> {
        Ok(self.identity.factors(principal).await?)
    }

    /// The caller's login name.
    ///
    /// # Errors
    /// `not_found` for a vanished account; store failures.
    pub async fn username(&self, principal: &Principal) -> Result<String, Error> {
        self.store
            .person_by_id(&principal.person.to_string())
            .await?
            .map(|p| p.username)
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "no such account"))
    }

    /// A new TOTP secret to confirm (needs a High session).
    ///
    /// # Errors
    /// `insufficient_loa`.
    pub async fn totp_offer(&self, principal: &Principal) -> Result<TotpOffer, Error> {
        Ok(self.identity.totp_offer(principal).await?)
    }

    /// Stores the offered TOTP secret once a code from it matches (needs a High session).
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_grant` for a wrong code.
    pub async fn totp_enrol(
        &self,
        principal: &Principal,
        secret: &str,
        code: &str,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let ctx = Self::person_ctx(principal, request_id);
        Ok(self
            .identity
            .totp_enrol(principal, secret, code, &ctx, self.now())
            .await?)
    }

    /// Removes the caller's TOTP app (a lost phone); a passkey must remain.
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_request` for the last second factor.
    pub async fn remove_totp(
        &self,
        principal: &Principal,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let ctx = Self::person_ctx(principal, request_id);
        Ok(self
            .identity
            .remove_totp(principal, &ctx, self.now())
            .await?)
    }

    /// Removes one of the caller's passkeys (a lost key); another second factor must remain.
    ///
    /// # Errors
    /// `insufficient_loa`, `not_found`, `invalid_request` for the last second factor.
    pub async fn remove_passkey(
        &self,
        principal: &Principal,
        credential_id: &str,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let ctx = Self::person_ctx(principal, request_id);
        Ok(self
            .identity
            .remove_passkey(principal, credential_id, &ctx, self.now())
            .await?)
    }

    /// The facts of an uploaded document, for its signer to review.
    ///
    /// # Errors
    /// `not_found`.
    pub async fn document_info(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<DocumentInfo, Error> {
        let row = self.owned_document(principal, id).await?;
        // The digest kept at upload, computed again only for a row without one.
        let digest = row
            .sha256
            .as_deref()
            .and_then(|h| <[u8; 32]>::try_from(hex::decode(h).ok()?).ok())
            .unwrap_or_else(|| Sha256::digest(&row.content).into());
        let pages = pdf_pages(&row);
        let options = super::documents::stored_options(&row)?;
        let format = super::documents::Format::parse(&row.format)
            .ok_or_else(|| Error::internal(format!("stored format {:?}", row.format)))?;
        let approval = super::documents::approved(format, &digest, &options);
        let approval_text = (format == super::documents::Format::Pades)
            .then(|| options.approval_text())
            .flatten();
        Ok(DocumentInfo {
            id: row.id,
            format: row.format,
            level: row.level,
            size: row.content.len(),
            sha256: hex::encode(digest),
            approval_b64: Digest::sha256(approval).to_base64(),
            approval_text,
            pages,
            signed: row.signed.is_some(),
            expires_at: row.expires_at,
        })
    }

    /// Page `page` (from 1) of an uploaded PDF as a PNG picture, drawn by poppler's
    /// `pdftocairo` in a separate process (killed after a time limit) at a low resolution.
    ///
    /// # Errors
    /// `not_found` (also for a page out of range), `unusable_input` when the page cannot be
    /// drawn, `temporarily_unavailable` when the renderer is not installed.
    pub async fn document_page(
        &self,
        principal: &Principal,
        id: &str,
        page: usize,
    ) -> Result<Vec<u8>, Error> {
        let row = self.owned_document(principal, id).await?;
        if page == 0 || page > pdf_pages(&row).min(PREVIEW_PAGES) {
            return Err(Error::new(ErrorCode::NotFound, "no such page"));
        }
        render_page(row.content, page).await
    }

    /// Starts a passkey approval of an uploaded document with a credential: the challenge
    /// commits to the document's SHA-256 (see [`Service::activation_challenge`]).
    ///
    /// # Errors
    /// `not_found`, and those of [`Service::activation_challenge`].
    pub async fn document_challenge(
        &self,
        principal: &Principal,
        id: &str,
        credential: &str,
        request_id: Option<String>,
    ) -> Result<(String, serde_json::Value), Error> {
        let doc = self.document_info(principal, id).await?;
        self.activation_challenge(principal, &document_hashes(credential, &doc), request_id)
            .await
    }

    /// Approves an uploaded document (activation over its SHA-256) and signs it at once.
    ///
    /// # Errors
    /// `not_found`, `already_exists`, and those of [`Service::authorize`] and
    /// [`Service::sign_uploaded`].
    pub async fn approve_document(
        &self,
        principal: &Principal,
        id: &str,
        credential: &str,
        activation: Activation,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let doc = self.document_info(principal, id).await?;
        let sad = self
            .authorize(
                principal,
                &document_hashes(credential, &doc),
                activation,
                request_id.clone(),
            )
            .await?;
        self.sign_uploaded(principal, id, credential, Some(sad.token), request_id)
            .await
    }

    /// Whether the caller is a support operator (named in the configuration).
    ///
    /// # Errors
    /// Store failures.
    pub async fn is_operator(&self, principal: &Principal) -> Result<bool, Error> {
        if self.operators.is_empty() {
            return Ok(false);
        }
        let row = self
            .store
            .person_by_id(&principal.person.to_string())
            .await?;
        Ok(row.is_some_and(|p| self.operators.contains(&p.username)))
    }

    /// The audit records of a support reference (the request id every error response
    /// carries), for operators with a High session.
    ///
    /// # Errors
    /// `forbidden` for non-operators, `insufficient_loa` below High, `invalid_request` for a
    /// malformed reference.
    pub async fn support_lookup(
        &self,
        principal: &Principal,
        reference: &str,
    ) -> Result<Vec<serde_json::Value>, Error> {
        if !self.is_operator(principal).await? {
            return Err(Error::new(
                ErrorCode::Forbidden,
                "only support operators may look up support references",
            ));
        }
        if principal.loa < Loa::High {
            return Err(Error::new(
                ErrorCode::InsufficientLoa,
                "the support view needs a High login (step up with a passkey)",
            ));
        }
        let reference = reference.trim();
        if !is_support_reference(reference) {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "a support reference is 1 to 64 letters, digits, '-', '_' or '.'",
            ));
        }
        let rows = self
            .audit
            .query(&AuditFilter {
                request_id: Some(reference.to_owned()),
                limit: 100,
                ..AuditFilter::default()
            })
            .await
            .map_err(audit_error)?;
        rows.iter()
            .map(|r| serde_json::from_slice(&r.record).map_err(|e| Error::internal(e.to_string())))
            .collect()
    }
}

/// The pages of an uploaded PDF (0 for other formats or an unreadable page tree).
fn pdf_pages(row: &crate::store::DocumentRow) -> usize {
    if row.format == Format::Pades.as_str() {
        Pdf::parse(&row.content)
            .and_then(|p| p.page_count())
            .unwrap_or(0)
    } else {
        0
    }
}

/// Whether a request id can be a support reference (the caller's `X-Request-Id` is echoed
/// only then): 1 to 64 characters from `[A-Za-z0-9._-]`, safe in logs and headers.
#[must_use]
pub fn is_support_reference(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// What an approval of one uploaded document covers: its SHA-256, one signature.
fn document_hashes(credential: &str, doc: &DocumentInfo) -> Hashes {
    Hashes {
        credential_id: credential.to_owned(),
        hash_algorithm: None,
        hashes: vec![doc.approval_b64.clone()],
        num_signatures: Some(1),
        label: Some(match &doc.approval_text {
            Some(text) => format!(
                "{} ({} bytes; {})",
                doc.format,
                doc.size,
                text.trim_end().replace('\n', "; ")
            ),
            None => format!("{} ({} bytes)", doc.format, doc.size),
        }),
    }
}

/// Draws one page with `pdftocairo` (PDF on standard input, PNG on standard output).
async fn render_page(pdf: Vec<u8>, page: usize) -> Result<Vec<u8>, Error> {
    // A few renders at once: each may take up to the memory limit.
    let _turn = RENDERS
        .acquire()
        .await
        .map_err(|e| Error::internal(e.to_string()))?;
    let page = page.to_string();
    // The picture is scaled to a fixed size whatever the page box says (a 14400 pt page is
    // not drawn at 14400 pt), and the renderer runs with a memory limit of its own.
    let spawned = tokio::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -v \"$1\" && shift && exec pdftocairo \"$@\"",
            "render",
            &(PREVIEW_MEMORY_BYTES / 1024).to_string(),
            "-png",
            "-scale-to",
            "600",
            "-f",
            &page,
            "-l",
            &page,
            "-singlefile",
            "-",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let mut child = spawned.map_err(|e| {
        Error::new(
            ErrorCode::TemporarilyUnavailable,
            format!("pages cannot be drawn here (pdftocairo: {e}); check the SHA-256 instead"),
        )
    })?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::internal("pdftocairo stdin"))?;
    let run = async move {
        // Write and read at once: a large page would fill the pipe otherwise.
        let writer = async move {
            let _ = stdin.write_all(&pdf).await;
            drop(stdin);
        };
        let (_, output) = tokio::join!(writer, child.wait_with_output());
        output
    };
    let unusable = || Error::new(ErrorCode::UnusableInput, "this page cannot be drawn");
    let output = tokio::time::timeout(PREVIEW_TIMEOUT, run)
        .await
        .map_err(|_| unusable())?
        .map_err(|_| unusable())?;
    if !output.status.success()
        || !output.stdout.starts_with(b"\x89PNG")
        || output.stdout.len() > PREVIEW_MAX_BYTES
    {
        return Err(unusable());
    }
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_callers_are_filtered_to_safe_support_references() {
        assert!(is_support_reference("abc-123_X.y"));
        assert!(!is_support_reference(""));
        assert!(!is_support_reference("a b"));
        assert!(!is_support_reference("line\nbreak"));
        assert!(!is_support_reference(&"a".repeat(65)));
    }
}
