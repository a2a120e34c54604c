//! Extending signed files of every format (`POST /v1/extend`, `qsign extend`), in the sense of
//! ETSI EN 319 102-1's augmentation: a signature timestamp from the service's TSA when there is
//! none (B-T), the validation data (B-LT: the certificates of each signer's path and
//! revocation data, this service's own for its signers and, for signers of other CAs, fetched
//! online within the validation's bounds), and an archive timestamp over it all (B-LTA). A
//! signature at B-LTA already gets a further archive timestamp (renewal): PAdES a new document
//! timestamp revision with the DSS updated (EN 319 142-1 §5.5), CAdES a further
//! archive-time-stamp-v3 (EN 319 122-1 §5.5.3), XAdES a further `xadesv141:ArchiveTimeStamp`
//! (EN 319 132-1 §5.5.2).

use sha2::{Digest as _, Sha256};

use super::levels::ValidationData;
use super::Documents;
use crate::formats::{cms, pades, xades, xml};
use crate::pki::Ca;
use crate::service::document_types::Level;
use crate::service::pdf::{add_certificates, add_validation, below};
use crate::service::{Error, ErrorCode};
use crate::validate::chain::{self, Cert};

/// Most distinct signers of other CAs whose validation data one extension gathers.
const MAX_FOREIGN_SIGNERS: usize = 8;

/// A signed file raised to a level.
#[derive(Debug, Clone)]
pub struct Extended {
    /// The extended file.
    pub bytes: Vec<u8>,
    /// Its media type.
    pub media_type: &'static str,
}

/// The kinds of signed file an extension takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pdf,
    Cms,
    Xml,
}

fn kind(file: &[u8]) -> Option<Kind> {
    if crate::formats::pdf::header_version(file).is_some() {
        return Some(Kind::Pdf);
    }
    if file.first() == Some(&0x30) {
        return Some(Kind::Cms);
    }
    let head = file.get(..64).unwrap_or(file);
    let start = head.iter().find(|b| !b.is_ascii_whitespace());
    (start == Some(&b'<') || head.starts_with(b"\xef\xbb\xbf<")).then_some(Kind::Xml)
}

fn unusable(what: &str, e: &dyn std::fmt::Display) -> Error {
    Error::new(ErrorCode::UnusableInput, format!("{what}: {e}"))
}

/// The certificates (DER) a CMS carries.
fn cms_certificates(der: &[u8]) -> Vec<Vec<u8>> {
    crate::validate::cms::signed_data(der)
        .map(|signed| {
            crate::validate::cms::certificates(&signed)
                .map(|c| c.der)
                .collect()
        })
        .unwrap_or_default()
}

/// The certificates (DER) in the `ds:X509Certificate` elements of an XML signature, the
/// signer's first.
fn xml_certificates(signed: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    use base64::Engine as _;
    fn collect<'a>(e: &'a xml::Element, out: &mut Vec<&'a xml::Element>) {
        if e.local == "X509Certificate" {
            out.push(e);
        }
        for child in e.elements() {
            collect(child, out);
        }
    }
    let parsed = xml::parse(signed, xml::Limits::default())
        .map_err(|e| unusable("the XML does not parse", &e))?;
    let mut found = Vec::new();
    collect(&parsed.root, &mut found);
    Ok(found
        .iter()
        .filter_map(|e| {
            let text: String = e
                .children
                .iter()
                .filter_map(|n| match n {
                    xml::Node::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .flat_map(str::chars)
                .filter(|c| !c.is_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD.decode(text).ok()
        })
        .collect())
}

impl Documents {
    /// Raises a signed file to `target` (B-T, B-LT or B-LTA): a PDF (PAdES), a CMS (CAdES,
    /// `content` for a detached one) or an XML signature (XAdES as this service makes them,
    /// `content` for a detached one). Validation data for signers of other CAs is fetched
    /// online when the validation settings allow it.
    ///
    /// # Errors
    /// `unusable_input` for a file that is none of these or does not parse; `invalid_request`
    /// for a target below the file's level, a detached signature without its content, or
    /// signers of other CAs while fetching is off; `temporarily_unavailable` when the TSA does
    /// not answer or no revocation data could be fetched; the PDF errors of
    /// [`Documents::extend_pdf`].
    pub async fn extend(
        &self,
        file: Vec<u8>,
        content: Option<Vec<u8>>,
        target: Level,
    ) -> Result<Extended, Error> {
        if target < Level::BT {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "level: B-T, B-LT or B-LTA",
            ));
        }
        match kind(&file) {
            Some(Kind::Pdf) => self.extend_pades(file, target).await,
            Some(Kind::Cms) => self.extend_cms(file, content, target).await,
            Some(Kind::Xml) => self.extend_xml(file, content, target).await,
            None => Err(Error::new(
                ErrorCode::UnusableInput,
                "neither a PDF, a CMS (DER) nor an XML signature",
            )),
        }
    }

    /// [`Documents::extend`] for a PDF.
    pub(super) async fn extend_pades(
        &self,
        pdf: Vec<u8>,
        target: Level,
    ) -> Result<Extended, Error> {
        // With fetching off, a PDF's signatures of other CAs are left as they are and its own
        // are extended (a CMS or XML signature of another CA is refused instead).
        let foreign = if target >= Level::BLT && self.validation.fetch_revocation {
            let signatures =
                pades::signatures(&pdf).map_err(|e| super::super::document_types::pdf_error(&e))?;
            let mut signers = Vec::new();
            let mut pool = Vec::new();
            for s in signatures.iter().filter(|s| !s.timestamp) {
                if let Ok(signer) = cms::signer_certificate(&s.contents) {
                    signers.push(signer);
                }
                pool.extend(cms_certificates(&s.contents));
            }
            self.foreign_data(signers, pool, true).await?
        } else {
            pades::Validation::default()
        };
        Ok(Extended {
            bytes: self.pades.extend_pdf(pdf, target, foreign).await?,
            media_type: "application/pdf",
        })
    }

    async fn extend_cms(
        &self,
        signed: Vec<u8>,
        content: Option<Vec<u8>>,
        target: Level,
    ) -> Result<Extended, Error> {
        let current = cms::level(&signed).map_err(|e| unusable("the CMS", &e))?;
        below(current, target)?;
        let detached = crate::validate::cms::signed_data(&signed)
            .map_err(|e| unusable("the CMS", &e))?
            .encap_content_info
            .econtent
            .is_none();
        if detached && content.is_none() && target >= Level::BLTA {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "a detached signature: send the signed content too",
            ));
        }
        let validation = if target >= Level::BLT {
            let signer = cms::signer_certificate(&signed).map_err(|e| unusable("the CMS", &e))?;
            // CMS carries CRLs (RFC 5652 RevocationInfoChoice); OCSP is not asked for here.
            let foreign = self
                .foreign_data(vec![signer], cms_certificates(&signed), false)
                .await?;
            Some(self.with_own(foreign).await?)
        } else {
            None
        };
        let digest: Option<[u8; 32]> = content.map(|c| Sha256::digest(&c).into());
        let bytes = self
            .raise_cades(
                signed,
                current,
                target,
                digest.as_ref(),
                validation.as_ref(),
            )
            .await?;
        Ok(Extended {
            bytes,
            media_type: "application/pkcs7-signature",
        })
    }

    async fn extend_xml(
        &self,
        mut signed: Vec<u8>,
        content: Option<Vec<u8>>,
        target: Level,
    ) -> Result<Extended, Error> {
        let current = xades::level(&signed).map_err(|e| unusable("the XAdES signature", &e))?;
        below(current, target)?;
        let fail = |e: xades::Error| Error::new(ErrorCode::UnusableInput, format!("XAdES: {e}"));
        if target >= Level::BT && current < Level::BT {
            let c14n = xades::signature_value_c14n(&signed).map_err(fail)?;
            let token = self.timestamp_token(&Sha256::digest(&c14n)).await?;
            signed = xades::add_signature_timestamp(&signed, &token).map_err(fail)?;
        }
        // A renewal adds only the further archive timestamp: the validation data is there.
        if target >= Level::BLT && current < Level::BLT {
            let mut certificates = xml_certificates(&signed)?;
            let signer = certificates.first().cloned().into_iter().collect();
            certificates.truncate(MAX_FOREIGN_SIGNERS);
            // XAdES `RevocationValues` are written with CRLs.
            let foreign = self.foreign_data(signer, certificates, false).await?;
            let (certificates, crls) = self.with_own(foreign).await?;
            signed = xades::add_validation_data(&signed, &certificates, &crls).map_err(fail)?;
        }
        if target >= Level::BLTA {
            let input = xades::archive_input(&signed, content.as_deref()).map_err(fail)?;
            let token = self.timestamp_token(&Sha256::digest(&input)).await?;
            signed = xades::add_archive_timestamp(&signed, &token).map_err(fail)?;
        }
        Ok(Extended {
            bytes: signed,
            media_type: "application/xml",
        })
    }

    /// This service's own validation data (its CA and TSA certificates and fresh CRLs) with
    /// `foreign`'s certificates and CRLs beside it.
    async fn with_own(&self, foreign: pades::Validation) -> Result<ValidationData, Error> {
        let (mut certificates, mut crls) = self.own_validation_data().await?;
        add_certificates(&mut certificates, foreign.certificates);
        crls.extend(foreign.crls);
        Ok((certificates, crls))
    }

    /// The validation data of those of `signers` (DER) this service's CA did not issue: each
    /// one's path, completed from caIssuers, and revocation data for each certificate of it,
    /// fetched online (OCSP first when `ocsp`, else CRLs only) within the validation's bounds,
    /// with `pool` (DER) the certificates the file carries.
    async fn foreign_data(
        &self,
        signers: Vec<Vec<u8>>,
        pool: Vec<Vec<u8>>,
        ocsp: bool,
    ) -> Result<pades::Validation, Error> {
        let mut foreign = Vec::new();
        for signer in signers {
            if !foreign.contains(&signer) && !self.pki.issued_here(&signer).await? {
                foreign.push(signer);
            }
        }
        if foreign.is_empty() {
            return Ok(pades::Validation::default());
        }
        if foreign.len() > MAX_FOREIGN_SIGNERS {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                format!("more than {MAX_FOREIGN_SIGNERS} signers of other CAs"),
            ));
        }
        let Some(fetch) = self.validation.fetcher() else {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "the signature was made under another CA, and fetching its validation data \
                 online is off (validation.fetch_revocation)",
            ));
        };
        let mut anchors = vec![self.pki.ca_certificate(Ca::Root).await?];
        anchors.extend(self.validation.anchors.iter().cloned());
        let now = self.now();
        let gathered = self
            .cpu
            .run(move || {
                let anchors: Vec<Cert> = anchors.iter().filter_map(|d| Cert::parse(d)).collect();
                let pool: Vec<Cert> = pool.iter().filter_map(|d| Cert::parse(d)).collect();
                foreign
                    .iter()
                    .filter_map(|d| Cert::parse(d))
                    .map(|leaf| chain::gather(&leaf, &pool, &anchors, fetch.as_ref(), now, ocsp))
                    .collect::<Vec<_>>()
            })
            .await?;
        let mut out = pades::Validation::default();
        for one in gathered {
            if one.crls.is_empty() && one.ocsps.is_empty() {
                return Err(Error {
                    code: ErrorCode::TemporarilyUnavailable,
                    message: "no revocation data could be fetched for a signer of another CA"
                        .into(),
                    detail: Some(one.notes.join("; ")),
                });
            }
            let more = pades::Validation {
                certificates: one.certificates,
                crls: one.crls,
                ocsps: one.ocsps,
            };
            add_validation(&mut out, more);
        }
        Ok(out)
    }
}
