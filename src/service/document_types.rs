//! The documents a signer signs, as the use cases of documents ([`super::Documents`]) share
//! them: formats, levels, requests, uploads, what a signer approves for a document, and how a
//! refused document is answered. Signing (`documents`), PAdES (`pdf`) and the review
//! (`review`) all use this module; it uses none of them.

use crate::audit::Context;
pub use crate::formats::cms::Level;
use crate::formats::cms::SignatureAlgorithm;
use crate::formats::representation::{capacity_approval, Capacity};
use crate::formats::{pades, xml};
use crate::hsm::SignAlgorithm;
use crate::keys::policy::Policy;
use crate::keys::{Credential, Keys, Owner};
use crate::sam::{Derive, Sam, ShortLivedRequest, SignRequest};
use crate::types::{Digest, HashAlgorithm, UnixTime};

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

impl SignDoc {
    /// The request's results as `signDoc` answers them, each list in request order: the
    /// signed documents (attached and enveloped signatures, PDFs), and the detached
    /// signatures.
    #[must_use]
    pub fn split(&self, signed: Vec<Vec<u8>>) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let (mut with_document, mut detached) = (Vec::new(), Vec::new());
        for (document, result) in self.documents.iter().zip(signed) {
            if matches!(
                document.format,
                Format::Cades { attached: false } | Format::XadesDetached
            ) {
                detached.push(result);
            } else {
                with_document.push(result);
            }
        }
        (with_document, detached)
    }
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

/// Whose key signs a request's documents.
#[derive(Debug, Clone, Copy)]
pub(super) enum SigningKey<'a> {
    /// A credential's key, under a SAD for the credential.
    Credential(&'a Credential),
    /// A key made in the HSM for this one operation and certified for minutes, under a SAD
    /// for a signature qualifier.
    ShortLived(ShortLived<'a>),
}

/// What a short-lived certificate is made of, known before it exists.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShortLived<'a> {
    /// The CSC `signatureQualifier`.
    pub qualifier: &'a str,
    /// The policy that offers short-lived certificates under it.
    pub policy: &'a Policy,
    /// The signer, as the certificate names them.
    pub owner: &'a Owner,
    /// Who authenticated the signer, as the certificate says.
    pub identity_provider: &'a str,
    /// Where the certificate is issued.
    pub keys: &'a Keys,
}

impl SigningKey<'_> {
    /// Whether the key is an EC key (its raw signatures are DER-encoded for CMS).
    pub(super) fn is_ec(&self) -> bool {
        match self {
            Self::Credential(credential) => credential.algorithm.is_ec(),
            Self::ShortLived(short) => short.policy.key_algorithm.is_ec(),
        }
    }

    /// The signer's certificate when it exists before signing: a credential's. A short-lived
    /// key's is made only after the SAD is spent.
    pub(super) fn certificate(&self) -> Option<&[u8]> {
        match self {
            Self::Credential(credential) => Some(&credential.certificate),
            Self::ShortLived(_) => None,
        }
    }

    /// The signer's name as a PDF signature shows it: the certificate's common name, or for
    /// a short-lived key the name its certificate will carry.
    pub(super) fn name(&self) -> String {
        match self {
            Self::Credential(credential) => crate::pki::common_name(&credential.certificate)
                .unwrap_or_else(|| credential.person.to_string()),
            Self::ShortLived(short) => {
                format!("{} {}", short.owner.given_name, short.owner.family_name)
            }
        }
    }

    /// The CVR and name of the organisation a credential acts for; none for a short-lived
    /// key, which is always the person's own.
    pub(super) fn organisation(&self) -> Option<(String, Option<String>)> {
        match self {
            Self::Credential(credential) => credential.kind.cvr().map(|cvr| {
                (
                    cvr.to_owned(),
                    crate::pki::organization(&credential.certificate),
                )
            }),
            Self::ShortLived(_) => None,
        }
    }
}

/// The key, SAD and algorithms of one signing request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Signer<'a> {
    pub key: SigningKey<'a>,
    pub sad: &'a str,
    pub scheme: SignAlgorithm,
    pub algorithm: SignatureAlgorithm,
    pub sign_algo: &'a str,
}

/// What the SAM answered a document request.
#[derive(Debug, Clone)]
pub(super) struct Signed {
    /// In the order of the hashes: the raw signatures, or for XAdES the signed documents.
    pub signatures: Vec<Vec<u8>>,
    /// The certificate of the key that signed (DER).
    pub certificate: Vec<u8>,
}

impl Signer<'_> {
    /// Has the SAM sign what `derive` makes of the documents' approvals `hashes` (SHA-256,
    /// each covered by the SAD): with the credential's key, or with a key made for this
    /// operation, certified, used and destroyed.
    pub(super) async fn sign(
        &self,
        sam: &Sam,
        hashes: Vec<Digest>,
        derive: Derive<'_>,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<Signed, Error> {
        match self.key {
            SigningKey::Credential(credential) => {
                let request = SignRequest {
                    credential,
                    sad: self.sad,
                    hash_algorithm: HashAlgorithm::Sha256,
                    hashes,
                    scheme: self.scheme,
                    sign_algo: self.sign_algo,
                    derive,
                    spent: None,
                };
                Ok(Signed {
                    signatures: sam.sign(&request, ctx, now).await?,
                    certificate: credential.certificate.clone(),
                })
            }
            SigningKey::ShortLived(short) => {
                let request = self.short_lived_request(short, hashes, derive);
                let signed = sam.sign_short_lived(&request, short.keys, ctx, now).await?;
                Ok(Signed {
                    signatures: signed.signatures,
                    certificate: signed.certificate,
                })
            }
        }
    }

    /// The SAM's request for a short-lived key's signatures.
    pub(super) fn short_lived_request<'b>(
        &'b self,
        short: ShortLived<'b>,
        hashes: Vec<Digest>,
        derive: Derive<'b>,
    ) -> ShortLivedRequest<'b> {
        ShortLivedRequest {
            qualifier: short.qualifier,
            policy: short.policy,
            owner: short.owner,
            sad: self.sad,
            hash_algorithm: HashAlgorithm::Sha256,
            hashes,
            scheme: self.scheme,
            sign_algo: self.sign_algo,
            identity_provider: short.identity_provider,
            derive,
        }
    }

    /// A raw signature of the key as CMS carries it: DER for ECDSA.
    pub(super) fn cms_signature(&self, raw: Vec<u8>) -> Result<Vec<u8>, Error> {
        if self.key.is_ec() {
            Ok(crate::hsm::ecdsa_signature_der(&raw)?)
        } else {
            Ok(raw)
        }
    }
}
