//! PDF for PAdES: a reader of just what signing needs (cross-reference tables and streams,
//! object streams, the objects asked for) and a writer of incremental updates.
//!
//! Reading is lazy: the file stays one borrowed buffer; only the cross-reference data and the
//! objects that are looked up get parsed, so a 50 MB document costs little more than its own
//! bytes. Refused, each with its own code: input that is not a PDF (`not_pdf`), encrypted
//! files (`pdf_encrypted`), a cross-reference that does not point at the objects it names or
//! anything else that does not parse (`pdf_malformed`). Nesting, decompressed sizes and
//! cross-reference chains are bounded, so hostile input fails cleanly.
//!
//! The reader is in `read` (over the tokenizer in `lexer` and the stream filters in
//! `filters`), the objects in `object`, the writer in `update`.

mod filters;
mod lexer;
mod object;
mod read;
mod update;

#[cfg(test)]
pub(crate) mod tests;

pub use filters::decode;
pub use object::{Dict, Object};
pub use read::{header_version, Indirect, Pdf};
pub use update::Update;

/// Why a PDF cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is not a PDF file.
    #[error("the input is not a PDF file")]
    NotPdf,
    /// The file is encrypted.
    #[error("encrypted PDF files are not accepted")]
    Encrypted,
    /// The file does not parse.
    #[error("malformed PDF: {0}")]
    Malformed(String),
    /// An earlier certification signature forbids any change.
    #[error("the document is certified with no changes allowed")]
    NoChangesAllowed,
    /// The request does not fit the document (page, rectangle, certification).
    #[error("{0}")]
    Options(String),
    /// The signature is larger than the space reserved for it.
    #[error("the signature ({0} bytes) is larger than the space reserved for it")]
    TooLarge(usize),
}

impl Error {
    /// A stable code for each kind of refusal.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotPdf => "not_pdf",
            Self::Encrypted => "pdf_encrypted",
            Self::Malformed(_) => "pdf_malformed",
            Self::NoChangesAllowed => "pdf_no_changes_allowed",
            Self::Options(_) => "invalid_request",
            Self::TooLarge(_) => "pdf_signature_too_large",
        }
    }
}

fn bad(what: impl Into<String>) -> Error {
    Error::Malformed(what.into())
}

/// Deepest nesting of arrays and dictionaries.
const MAX_DEPTH: usize = 64;
/// Most cross-reference sections followed through `/Prev`.
const MAX_SECTIONS: usize = 4096;
/// Largest decompressed stream (cross-reference or object stream), and the most one document
/// may decompress in all.
const MAX_INFLATED: usize = 256 << 20;
/// What every document may decompress in all, at least: small files get this much.
const MIN_INFLATE_BUDGET: usize = 16 << 20;
/// Decompressed bytes allowed per byte of file (a document's whole decompression budget is
/// this multiple of its size, between [`MIN_INFLATE_BUDGET`] and [`MAX_INFLATED`]).
const INFLATE_PER_BYTE: usize = 64;
/// The most objects a PDF may have (ISO 32000-1 Annex C).
pub const MAX_OBJECTS: u32 = 8_388_607;
/// Most references followed to resolve one object.
const MAX_INDIRECTION: usize = 32;
