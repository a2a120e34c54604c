//! The review of an uploaded document before its signer approves it: its facts (size,
//! SHA-256, what the approval covers), its pages as pictures, and the approval itself, which
//! activates through [`super::Signing`] and signs the document at once.

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use super::document_types::{approved, stored_options, Format};
use super::{Activation, Documents, Error, ErrorCode, Hashes};
use crate::formats::pdf::Pdf;
use crate::formats::representation::Capacity;
use crate::identity::Principal;
use crate::types::Digest;

/// The most pages shown before approval; the rest are counted, not drawn.
pub const PREVIEW_PAGES: usize = 20;
/// How long drawing one page may take.
const PREVIEW_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest picture of a page accepted from the renderer.
const PREVIEW_MAX_BYTES: usize = 8 << 20;
/// The address space the renderer may use.
const PREVIEW_MEMORY_BYTES: usize = 512 << 20;
/// The most text accepted from `pdftotext` (or shown of another format).
const TEXT_MAX_BYTES: usize = 1 << 20;
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
    /// The capacity the document is signed in (for an organisation), in words.
    pub capacity: Option<String>,
    /// The organisation whose credential signs it: the one signed for, or the one holding
    /// the power of attorney used.
    pub credential_cvr: Option<String>,
    /// Pages of a PDF (0 for other formats).
    pub pages: usize,
    /// Whether it is signed already.
    pub signed: bool,
    /// When it is forgotten, Unix seconds.
    pub expires_at: i64,
}

/// An uploaded document's text, as its signer reads it before approving.
#[derive(Debug, Clone)]
pub struct DocumentText {
    /// The text of each page shown that has text, with its number (from 1).
    pub pages: Vec<(usize, String)>,
    /// The document has more pages than are shown.
    pub more: bool,
}

impl Documents {
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
        let options = stored_options(&row)?;
        let format = Format::parse(&row.format)
            .ok_or_else(|| Error::internal(format!("stored format {:?}", row.format)))?;
        // An upload keeps no capacity for CAdES and XAdES (a PDF's is in its options).
        let approval = approved(format, &digest, &options, None);
        let approval_text = (format == Format::Pades)
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
            capacity: options.capacity.as_ref().map(Capacity::text),
            credential_cvr: options.capacity.as_ref().map(|c| {
                c.mandate
                    .as_ref()
                    .map_or(c.cvr.clone(), |m| m.holder_cvr.clone().unwrap_or_default())
            }),
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

    /// The uploaded document itself and its media type, while it is not signed yet (the
    /// upload is dropped once it is): for its signer to open in their own reader.
    ///
    /// # Errors
    /// `not_found`, also once the document is signed.
    pub async fn document_file(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(Vec<u8>, &'static str), Error> {
        let row = self.owned_document(principal, id).await?;
        if row.signed.is_some() || row.content.is_empty() {
            return Err(Error::new(
                ErrorCode::NotFound,
                "the upload is signed and gone",
            ));
        }
        let media_type = match Format::parse(&row.format) {
            Some(Format::Pades) => "application/pdf",
            Some(Format::XadesEnveloped | Format::XadesEnveloping) => "application/xml",
            _ => "application/octet-stream",
        };
        Ok((row.content, media_type))
    }

    /// The text of an uploaded PDF's first pages (those the review shows), one string per
    /// page, extracted by poppler's `pdftotext` in a separate process under the same limits as
    /// the pictures: so that a signer who cannot see the pictures can read what they sign.
    /// Other formats: their text when it is UTF-8 (XML is), else nothing.
    ///
    /// # Errors
    /// `not_found`, `unusable_input` when the text cannot be extracted,
    /// `temporarily_unavailable` when `pdftotext` is not installed.
    pub async fn document_text(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<DocumentText, Error> {
        let row = self.owned_document(principal, id).await?;
        let pages = pdf_pages(&row);
        if pages == 0 {
            return Ok(DocumentText {
                pages: String::from_utf8(row.content)
                    .ok()
                    .filter(|t| t.len() <= TEXT_MAX_BYTES && !t.trim().is_empty())
                    .map(|t| (1, t))
                    .into_iter()
                    .collect(),
                more: false,
            });
        }
        let shown = pages.min(PREVIEW_PAGES);
        let last = shown.to_string();
        let text = run_poppler(
            "pdftotext",
            &["-f", "1", "-l", &last, "-enc", "UTF-8", "-", "-"],
            row.content,
            TEXT_MAX_BYTES,
        )
        .await?;
        let text = String::from_utf8_lossy(&text);
        // pdftotext ends every page with a form feed; pages without text are left out.
        Ok(DocumentText {
            pages: text
                .split('\u{c}')
                .take(shown)
                .enumerate()
                .map(|(i, p)| (i + 1, p.trim_end().to_owned()))
                .filter(|(_, p)| !p.trim().is_empty())
                .collect(),
            more: pages > shown,
        })
    }

    /// Starts a passkey approval of an uploaded document with a credential: the challenge
    /// commits to the document's SHA-256 (see [`super::Signing::activation_challenge`]).
    ///
    /// # Errors
    /// `not_found`, and those of [`super::Signing::activation_challenge`].
    pub async fn document_challenge(
        &self,
        principal: &Principal,
        id: &str,
        credential: &str,
        request_id: Option<String>,
    ) -> Result<(String, serde_json::Value), Error> {
        let doc = self.document_info(principal, id).await?;
        let hashes = document_hashes(credential, &doc, None);
        self.signing
            .activation_challenge(principal, &hashes, request_id)
            .await
    }

    /// Approves an uploaded document (activation over its SHA-256) and signs it at once.
    /// `file_name`, the name the signer uploaded it under, is recorded with the approval (the
    /// first line of its label, see [`document_name`]) so that the person's history can name
    /// the document; it is not part of what is signed.
    ///
    /// # Errors
    /// `not_found`, `already_exists`, and those of [`super::Signing::authorize`] and
    /// [`Documents::sign_uploaded`].
    pub async fn approve_document(
        &self,
        principal: &Principal,
        id: &str,
        credential: &str,
        activation: Activation,
        request_id: Option<String>,
        file_name: Option<&str>,
    ) -> Result<(), Error> {
        let doc = self.document_info(principal, id).await?;
        let sad = self
            .signing
            .authorize(
                principal,
                &document_hashes(credential, &doc, file_name),
                activation,
                request_id.clone(),
            )
            .await?;
        self.sign_uploaded(principal, id, credential, Some(sad.token), request_id)
            .await
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

/// How the label of an approval names the uploaded file: its first line.
const NAME_LINE: &str = "file: ";
/// The longest label an approval may carry (see `Signing::activation_target`).
const LABEL_LIMIT: usize = 500;

/// What an approval of one uploaded document covers: its SHA-256, one signature. The label
/// says what it stands for: with the file's name, `file: NAME` on a line of its own first.
fn document_hashes(credential: &str, doc: &DocumentInfo, file_name: Option<&str>) -> Hashes {
    let what = match &doc.approval_text {
        Some(text) => format!(
            "{} ({} bytes; {})",
            doc.format,
            doc.size,
            text.trim_end().replace('\n', "; ")
        ),
        None => format!("{} ({} bytes)", doc.format, doc.size),
    };
    let room = LABEL_LIMIT.saturating_sub(what.chars().count() + NAME_LINE.len() + 1);
    let name: String = file_name
        .unwrap_or("")
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(room.min(200))
        .collect();
    let label = if name.is_empty() {
        what
    } else {
        format!("{NAME_LINE}{name}\n{what}")
    };
    Hashes {
        credential_id: credential.to_owned(),
        hash_algorithm: None,
        hashes: vec![doc.approval_b64.clone()],
        num_signatures: Some(1),
        label: Some(label),
    }
}

/// The file name an approval's label records (the web pages' uploads name their file), if it
/// names one.
#[must_use]
pub fn document_name(label: &str) -> Option<&str> {
    label
        .strip_prefix(NAME_LINE)
        .and_then(|rest| rest.split_once('\n'))
        .map(|(name, _)| name)
        .filter(|name| !name.is_empty())
}

/// Draws one page with `pdftocairo` (PDF on standard input, PNG on standard output), scaled
/// to a fixed size whatever the page box says (a 14400 pt page is not drawn at 14400 pt).
async fn render_page(pdf: Vec<u8>, page: usize) -> Result<Vec<u8>, Error> {
    let page = page.to_string();
    let png = run_poppler(
        "pdftocairo",
        &[
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
        ],
        pdf,
        PREVIEW_MAX_BYTES,
    )
    .await?;
    if !png.starts_with(b"\x89PNG") {
        return Err(Error::new(
            ErrorCode::UnusableInput,
            "this page cannot be drawn",
        ));
    }
    Ok(png)
}

/// Runs a poppler tool on `pdf` (standard input) and answers its standard output: a few at
/// once, each in its own process with a memory limit, killed after [`PREVIEW_TIMEOUT`]; more
/// than `max` bytes of output is refused.
async fn run_poppler(
    tool: &'static str,
    args: &[&str],
    pdf: Vec<u8>,
    max: usize,
) -> Result<Vec<u8>, Error> {
    // A few runs at once: each may take up to the memory limit.
    let _turn = RENDERS
        .acquire()
        .await
        .map_err(|e| Error::internal(e.to_string()))?;
    let memory = (PREVIEW_MEMORY_BYTES / 1024).to_string();
    let mut command = vec![
        "-c",
        "ulimit -v \"$1\" && shift && exec \"$@\"",
        "run",
        memory.as_str(),
        tool,
    ];
    command.extend_from_slice(args);
    let spawned = tokio::process::Command::new("sh")
        .args(&command)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let mut child = spawned.map_err(|e| {
        Error::new(
            ErrorCode::TemporarilyUnavailable,
            format!("the document cannot be shown here ({tool}: {e}); check the SHA-256 instead"),
        )
    })?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::internal(format!("{tool} stdin")))?;
    let run = async move {
        // Write and read at once: a large output would fill the pipe otherwise.
        let writer = async move {
            let _ = stdin.write_all(&pdf).await;
            drop(stdin);
        };
        let (_, output) = tokio::join!(writer, child.wait_with_output());
        output
    };
    let unusable = || Error::new(ErrorCode::UnusableInput, "this document cannot be shown");
    let output = tokio::time::timeout(PREVIEW_TIMEOUT, run)
        .await
        .map_err(|_| unusable())?
        .map_err(|_| unusable())?;
    if !output.status.success() || output.stdout.len() > max {
        return Err(unusable());
    }
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_approval_label_names_the_file_on_its_first_line() {
        let doc = DocumentInfo {
            id: "d".into(),
            format: "pades".into(),
            level: "B-LT".into(),
            size: 955,
            sha256: String::new(),
            approval_b64: String::new(),
            approval_text: None,
            capacity: None,
            credential_cvr: None,
            pages: 1,
            signed: false,
            expires_at: 0,
        };
        let label = document_hashes("c", &doc, Some("Lejekontrakt 2027.pdf"))
            .label
            .unwrap();
        assert_eq!(label, "file: Lejekontrakt 2027.pdf\npades (955 bytes)");
        assert_eq!(document_name(&label), Some("Lejekontrakt 2027.pdf"));
        let plain = document_hashes("c", &doc, None).label.unwrap();
        assert_eq!(plain, "pades (955 bytes)");
        assert_eq!(document_name(&plain), None);
        // A long name is cut so that the label stays within its limit.
        let long = "x".repeat(1000);
        let label = document_hashes("c", &doc, Some(&long)).label.unwrap();
        assert!(label.chars().count() <= LABEL_LIMIT, "{}", label.len());
        assert_eq!(document_name("file: \nx"), None);
    }
}
