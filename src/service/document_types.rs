//! The documents a signer signs, as the use cases of documents ([`super::Documents`]) share
//! them: formats, levels, requests, uploads, what a signer approves for a document, and how a
//! refused document is answered. Signing (`documents`), PAdES (`pdf`) and the review
//! (`review`) all use this module; it uses none of them.

pub use crate::formats::cms::Level;
use crate::formats::cms::SignatureAlgorithm;
use crate::formats::representation::{capacity_approval, Capacity};
use crate::formats::{pades, xml};
use crate::hsm::SignAlgorithm;
use crate::keys::Credential;
use crate::types::Digest;

use super::{Error, ErrorCode};

/// How a document is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CAdES, with the document embedded (`Attached`) or not (`Detached`).
    Cades {
        /// Embed the document.
        attached: bool,
    },
    /// XAdES enveloped: the signature goes inside the XML document.
    XadesEnveloped,
    /// XAdES enveloping: the XML document goes inside the signature.
    XadesEnveloping,
    /// XAdES detached: the signature names the document (any bytes) as `document-N`, its
    /// position in the request from 1.
    XadesDetached,
    /// PAdES: the signature goes into the PDF as an incremental update.
    Pades,
}

/// One document to sign.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document's bytes.
    pub content: Vec<u8>,
    /// The format and packaging.
    pub format: Format,
    /// The baseline level to reach.
    pub level: Level,
    /// For PDFs: reason, location, visible field, certification, capacity. The signer's name
    /// (`/Name` and the visible text) is always taken from the certificate.
    pub pdf: pades::Options,
    /// For CAdES and XAdES: the capacity the document is signed in (signer-attributes-v2,
    /// `SignerRoleV2`), covered by the approval ([`approved`]). A PDF's capacity is
    /// `pdf.capacity`; this field is not read for PDFs.
    pub capacity: Option<Capacity>,
}

/// A `signDoc` request.
#[derive(Debug, Clone)]
pub struct SignDoc {
    /// The credential.
    pub credential_id: String,
    /// The SAD over the documents' SHA-256 digests; `None` when the bearer token carries the
    /// approval (`authorization_details`).
    pub sad: Option<String>,
    /// The documents, at most 100.
    pub documents: Vec<Document>,
    /// The `signAlgo` OID; by default the key's (ECDSA with SHA-256, or RSA PKCS#1 v1.5).
    pub sign_algo: Option<String>,
}

impl Format {
    /// Whether it is one of the XAdES packagings.
    pub(super) const fn is_xades(self) -> bool {
        matches!(
            self,
            Self::XadesEnveloped | Self::XadesEnveloping | Self::XadesDetached
        )
    }

    /// The stable name (`cades-attached`, `cades-detached`, `xades-enveloped`,
    /// `xades-enveloping`, `xades-detached`, `pades`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cades { attached: true } => "cades-attached",
            Self::Cades { attached: false } => "cades-detached",
            Self::XadesEnveloped => "xades-enveloped",
            Self::XadesEnveloping => "xades-enveloping",
            Self::XadesDetached => "xades-detached",
            Self::Pades => "pades",
        }
    }

    /// Parses [`Format::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Cades { attached: true },
            Self::Cades { attached: false },
            Self::XadesEnveloped,
            Self::XadesEnveloping,
            Self::XadesDetached,
            Self::Pades,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
    }

    /// The media type of the signed result.
    #[must_use]
    pub const fn media_type(self) -> &'static str {
        match self {
            Self::Cades { .. } => "application/pkcs7-signature",
            Self::Pades => "application/pdf",
            _ => "application/xml",
        }
    }
}

/// The stable name of a level (`B-B`, `B-T`, `B-LT`, `B-LTA`).
#[must_use]
pub const fn level_name(level: Level) -> &'static str {
    match level {
        Level::BB => "B-B",
        Level::BT => "B-T",
        Level::BLT => "B-LT",
        Level::BLTA => "B-LTA",
    }
}

/// Parses [`level_name`].
#[must_use]
pub fn parse_level(s: &str) -> Option<Level> {
    [Level::BB, Level::BT, Level::BLT, Level::BLTA]
        .into_iter()
        .find(|l| level_name(*l) == s)
}

/// An uploaded document, waiting for its signature.
#[derive(Debug, Clone)]
pub struct Uploaded {
    /// Its id.
    pub id: String,
    /// Its SHA-256.
    pub sha256: Digest,
    /// What `credentials/authorize` must cover: the SHA-256, or for a PDF with options the
    /// approval digest of the document and the options.
    pub digest: Digest,
    /// The options approved with the document, as the signer reads them (PDFs with options).
    pub approval_text: Option<String>,
    /// When it is forgotten, Unix seconds.
    pub expires_at: i64,
}

/// A refused XML document: `invalid_xml`, with the kind (`xml_dtd`, `xml_entity`, ...) in the
/// message.
pub(super) fn xml_error(e: &xml::Error) -> Error {
    Error::new(ErrorCode::InvalidXml, format!("{e} ({})", e.code()))
}

/// What a signer approves for a document: its SHA-256; for a PDF signed with options the
/// approval digest of the document and the options (`pades::approval_digest`, which covers the
/// options' capacity); for CAdES and XAdES signed in a `capacity` the approval of the
/// document and the capacity (`representation::capacity_approval`). `capacity` is not read
/// for PDFs.
#[must_use]
pub fn approved(
    format: Format,
    sha256: &[u8; 32],
    pdf: &pades::Options,
    capacity: Option<&Capacity>,
) -> [u8; 32] {
    match (format, capacity) {
        (Format::Pades, _) => pades::approval_digest(sha256, pdf),
        (_, Some(capacity)) => capacity_approval(sha256, capacity),
        (_, None) => *sha256,
    }
}

/// The PDF options an uploaded document was stored with (none for other formats).
pub(super) fn stored_options(row: &crate::store::DocumentRow) -> Result<pades::Options, Error> {
    Ok(row
        .options
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| Error::internal(format!("stored options: {e}")))?
        .unwrap_or_default())
}

/// A refused PDF, with its stable code.
pub(super) fn pdf_error(e: &pades::Error) -> Error {
    let code = match e {
        pades::Error::NotPdf => ErrorCode::NotPdf,
        pades::Error::Encrypted => ErrorCode::PdfEncrypted,
        pades::Error::Malformed(_) => ErrorCode::PdfMalformed,
        pades::Error::NoChangesAllowed => ErrorCode::PdfNoChangesAllowed,
        pades::Error::Options(_) => ErrorCode::InvalidRequest,
        pades::Error::TooLarge(_) => return Error::internal(format!("PAdES: {e}")),
    };
    Error::new(code, e.to_string())
}

/// The credential, SAD and algorithms of one signing request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Signer<'a> {
    pub credential: &'a Credential,
    pub sad: &'a str,
    pub scheme: SignAlgorithm,
    pub algorithm: SignatureAlgorithm,
    pub sign_algo: &'a str,
}
