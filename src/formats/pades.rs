//! PAdES (ETSI EN 319 142-1) by incremental update: the original bytes are never touched.
//!
//! The three steps: [`prepare`] appends a revision with a signature field, its widget, the
//! signature dictionary (`ETSI.CAdES.detached`, `/ByteRange` over the whole file but the
//! `/Contents` placeholder) and answers the digest of the byte ranges; the caller signs it (a
//! CMS with [`super::cms`], no signing-time attribute: the time is `/M`); [`assemble`] writes
//! the CMS into the placeholder. Higher levels append more revisions: [`add_dss`] (B-LT:
//! certificates, CRLs and OCSP responses in the document security store) and
//! [`prepare_timestamp`] (B-LTA, or B-T for an earlier signature: a document timestamp).
//!
//! Memory: the file is one `Vec` moved through the steps and grown in place; byte ranges are
//! hashed where they lie.
//!
//! The signature revision is written in `sign` (its visible box in `appearance`), the DSS in
//! `dss`; `inspect` reads the signatures, revisions and level of a signed PDF.

mod appearance;
mod dss;
mod inspect;
mod sign;

#[cfg(test)]
mod tests;

use sha2::{Digest as _, Sha256};

pub use super::cms::Level;
pub use super::pdf::Error;
use super::representation::Capacity;
pub use dss::{add_dss, Validation};
pub use inspect::{level, revision_ends, revision_start, signatures, signatures_in, Signature};

/// Bytes reserved for the CMS in `/Contents` (hex-encoded, so twice this in the file).
pub const DEFAULT_RESERVE: usize = 24 * 1024;

/// A visible signature.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Visible {
    /// The page, from 1.
    pub page: u32,
    /// Lower-left x, lower-left y, upper-right x, upper-right y, in points.
    pub rect: [f64; 4],
    /// The signer's name as shown.
    pub signer: String,
    /// The organisation signed for, if any.
    #[serde(default)]
    pub organisation: Option<String>,
    /// Its CVR number.
    #[serde(default)]
    pub cvr: Option<String>,
}

/// How to sign a PDF.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Options {
    /// `/Name`: the signer's name.
    #[serde(default)]
    pub name: Option<String>,
    /// `/Reason`.
    #[serde(default)]
    pub reason: Option<String>,
    /// `/Location`.
    #[serde(default)]
    pub location: Option<String>,
    /// `/ContactInfo`.
    #[serde(default)]
    pub contact_info: Option<String>,
    /// A certification signature (DocMDP, form filling and signing allowed afterwards); only
    /// as the document's first signature.
    #[serde(default)]
    pub certify: bool,
    /// A visible signature; invisible when `None`.
    #[serde(default)]
    pub visible: Option<Visible>,
    /// The capacity the signature is made in: signer-attributes-v2 in the CMS, a line in the
    /// visible box, and part of the approval.
    #[serde(default)]
    pub capacity: Option<Capacity>,
}

impl Options {
    /// What the signer approves besides the document, in a canonical text: every option a
    /// caller chooses (reason, location, contact, certification, the visible field's page and
    /// rectangle), one per line, strings JSON-escaped, numbers as [`format_number`] writes
    /// them, and for a signature made in a capacity a last line [`Capacity::approval_line`].
    /// `None` when there is none (an invisible, plain signature). The signer's name and
    /// organisation come from the certificate and are not part of it.
    #[must_use]
    pub fn approval_text(&self) -> Option<String> {
        let plain = self.reason.is_none()
            && self.location.is_none()
            && self.contact_info.is_none()
            && !self.certify
            && self.visible.is_none()
            && self.capacity.is_none();
        if plain {
            return None;
        }
        let text = |v: &Option<String>| {
            v.as_deref().map_or_else(
                || "null".to_owned(),
                |s| serde_json::Value::from(s).to_string(),
            )
        };
        let visible = self.visible.as_ref().map_or_else(
            || "none".to_owned(),
            |v| {
                let [a, b, c, d] = v.rect.map(format_number);
                format!("page {} rect {a} {b} {c} {d}", v.page)
            },
        );
        let mut out = format!(
            "reason={}\nlocation={}\ncontact={}\ncertify={}\nvisible={visible}\n",
            text(&self.reason),
            text(&self.location),
            text(&self.contact_info),
            self.certify,
        );
        // Appended, so that the text of options without a capacity stays what it always was.
        if let Some(capacity) = &self.capacity {
            out.push_str(&capacity.approval_line());
        }
        Some(out)
    }
}

/// The digest a signer approves for a PDF signed with `options`: the document's SHA-256 itself
/// for a plain signature, otherwise SHA-256 over a domain tag, that SHA-256 and
/// [`Options::approval_text`], so that an approval of one set of options cannot sign with
/// another (a changed reason, a certification, a visible box put elsewhere).
#[must_use]
pub fn approval_digest(document_sha256: &[u8; 32], options: &Options) -> [u8; 32] {
    approval_of(document_sha256, options.approval_text().as_deref())
}

fn approval_of(document_sha256: &[u8; 32], text: Option<&str>) -> [u8; 32] {
    match text {
        None => *document_sha256,
        Some(text) => {
            let mut h = Sha256::new();
            h.update(b"qsign-pdf-approval-v1\0");
            h.update(document_sha256);
            h.update(text.as_bytes());
            h.finalize().into()
        }
    }
}

/// A PDF with its signature placeholder.
#[derive(Debug)]
pub struct Prepared {
    pdf: Vec<u8>,
    original: usize,
    range: [usize; 4],
    /// SHA-256 over the byte ranges, computed once when the ranges are final.
    digest: [u8; 32],
    /// The options the revision was made with, as the approval covers them
    /// ([`Options::approval_text`]; `None` for a plain signature or a document timestamp).
    approval_text: Option<String>,
    /// The capacity of the options, which the CMS signed into this revision must claim.
    capacity: Option<Capacity>,
}

impl Prepared {
    /// The document before this revision.
    #[must_use]
    pub fn original(&self) -> &[u8] {
        self.pdf.get(..self.original).unwrap_or_default()
    }

    /// SHA-256 over the byte ranges: what the signature covers. Computed when the revision was
    /// appended (nothing outside the `/Contents` gap changes afterwards).
    #[must_use]
    pub const fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// The `/ByteRange`.
    #[must_use]
    pub const fn byte_range(&self) -> [usize; 4] {
        self.range
    }

    /// The approval this revision needs ([`approval_digest`] of the original and the options
    /// it was made with; the original's SHA-256 for a document timestamp). Computed when asked
    /// (by the SAM), so preparing costs no second pass over the file.
    #[must_use]
    pub fn approval(&self) -> [u8; 32] {
        let document: [u8; 32] = Sha256::digest(self.original()).into();
        approval_of(&document, self.approval_text.as_deref())
    }

    /// The capacity the options named ([`Options::capacity`]), which [`Prepared::approval`]
    /// covers: the CMS of this revision claims it (`cms::prepare`).
    #[must_use]
    pub const fn capacity(&self) -> Option<&Capacity> {
        self.capacity.as_ref()
    }
}

/// The kind of signature dictionary.
enum Kind<'a> {
    Signature {
        options: &'a Options,
        signing_time: i64,
    },
    DocTimeStamp,
}

/// Step 1 of a signature: appends the revision with the field and placeholder, and for
/// B-LT and above the DSS with `validation` in the same revision, so that the signature still
/// covers the whole file.
///
/// # Errors
/// [`Error::NotPdf`], [`Error::Encrypted`], [`Error::Malformed`]; [`Error::NoChangesAllowed`]
/// when an earlier certification forbids changes; [`Error::Options`] for a page that does not
/// exist, an empty rectangle, or certifying a document that is signed already.
pub fn prepare(
    pdf: Vec<u8>,
    options: &Options,
    signing_time: i64,
    validation: Option<&Validation>,
) -> Result<Prepared, Error> {
    sign::append_signature(
        pdf,
        &Kind::Signature {
            options,
            signing_time,
        },
        DEFAULT_RESERVE,
        validation,
    )
}

/// Step 1 of a document timestamp (ETSI.RFC3161): appends the revision with its field and
/// placeholder; the token over [`Prepared::digest`] goes in with [`assemble`].
///
/// # Errors
/// As [`prepare`].
pub fn prepare_timestamp(pdf: Vec<u8>) -> Result<Prepared, Error> {
    sign::append_signature(pdf, &Kind::DocTimeStamp, 16 * 1024, None)
}

/// Step 3: writes the CMS (or timestamp token) into the placeholder.
///
/// # Errors
/// [`Error::TooLarge`] when it does not fit.
pub fn assemble(prepared: Prepared, cms: &[u8]) -> Result<Vec<u8>, Error> {
    let Prepared { mut pdf, range, .. } = prepared;
    let [_, gap_start, gap_end, _] = range;
    let room = (gap_end - gap_start - 2) / 2;
    if cms.len() > room {
        return Err(Error::TooLarge(cms.len()));
    }
    let hex = hex::encode_upper(cms);
    pdf.get_mut(gap_start + 1..gap_start + 1 + hex.len())
        .ok_or_else(|| Error::Malformed("signature placeholder out of range".into()))?
        .copy_from_slice(hex.as_bytes());
    Ok(pdf)
}

fn format_number(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}
