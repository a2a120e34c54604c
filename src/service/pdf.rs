//! PAdES in the service: signing PDFs (through the SAM) and raising signed PDFs to higher
//! levels with the embedded TSA, CA and OCSP responder. [`super::Documents`] uses it; it knows
//! only the shared document types.

use sha2::{Digest as _, Sha256};

use super::document_types::{
    level_name, pdf_error, Document, Level, SignDoc, Signed, Signer, SigningKey,
};
use super::{unix_now, Cpu, Error, ErrorCode, Trust};
use crate::audit::Context;
use crate::clock::SharedClock;
use crate::formats::{cms, pades};
use crate::pki::tsa::ImprintHash;
use crate::pki::{Ca, Pki};
use crate::sam::{Derive, Sam};
use crate::types::{Digest, UnixTime};

/// The most signatures a PDF may carry to be extended.
const MAX_SIGNATURES: usize = 100;

/// PAdES signing and extension, for [`super::Documents`].
#[derive(Debug, Clone)]
pub(super) struct Pades {
    pub(super) pki: Pki,
    pub(super) sam: Sam,
    pub(super) clock: SharedClock,
    pub(super) cpu: Cpu,
    pub(super) trust: Trust,
}

fn cms_error(e: &cms::Error) -> Error {
    Error::internal(format!("PAdES CMS: {e}"))
}

/// Refuses to extend a signature at `current` to a lower `target`.
pub(super) fn below(current: Level, target: Level) -> Result<(), Error> {
    if target < current {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            format!(
                "the signature is at {} already, above {}",
                level_name(current),
                level_name(target)
            ),
        ));
    }
    Ok(())
}

/// Adds `more` to `into`: the certificates it does not hold yet, every CRL and OCSP response.
pub(super) fn add_validation(into: &mut pades::Validation, more: pades::Validation) {
    add_certificates(&mut into.certificates, more.certificates);
    into.crls.extend(more.crls);
    into.ocsps.extend(more.ocsps);
}

/// Adds the certificates (DER) of `more` that `into` does not hold yet.
pub(super) fn add_certificates(into: &mut Vec<Vec<u8>>, more: Vec<Vec<u8>>) {
    for der in more {
        if !into.contains(&der) {
            into.push(der);
        }
    }
}

impl Pades {
    /// Signs every document of the request (all PDFs) and raises each to its level; answers
    /// the signed PDFs and the signer's certificate.
    ///
    /// From B-LT the validation data goes into the signature's own revision when the signer's
    /// certificate is known before signing (a credential's), so that the signature covers the
    /// whole file; for a short-lived certificate, made only when the SAD is spent, it goes
    /// into a revision of its own after the signature.
    pub(super) async fn sign_pdfs(
        &self,
        signer: &Signer<'_>,
        request: &SignDoc,
        hashes: Vec<Digest>,
        ctx: &Context,
    ) -> Result<Signed, Error> {
        let name = signer.key.name();
        let now = self.now();
        let long_term = request.documents.iter().any(|d| d.level >= Level::BLT);
        let in_revision = match signer.key.certificate() {
            Some(certificate) if long_term => {
                Some(self.pdf_validation(&[certificate.to_vec()]).await?)
            }
            _ => None,
        };
        // Preparing parses every PDF: off the async runtime, one turn per core.
        let jobs: Vec<(Vec<u8>, pades::Options, bool)> = request
            .documents
            .iter()
            .map(|d| {
                (
                    d.content.clone(),
                    signed_as(d, &name, &signer.key),
                    d.level >= Level::BLT,
                )
            })
            .collect();
        let dss = in_revision.clone();
        let prepared = self
            .cpu
            .run(move || {
                jobs.into_iter()
                    .map(|(content, options, lt)| {
                        pades::prepare(content, &options, now, dss.as_ref().filter(|_| lt))
                            .map_err(|e| pdf_error(&e))
                    })
                    .collect::<Result<Vec<_>, Error>>()
            })
            .await??;
        let signed = signer
            .sign(
                &self.sam,
                hashes,
                Derive::Pades(&prepared),
                ctx,
                UnixTime::from_secs(now),
            )
            .await?;
        let validation = match in_revision.as_ref() {
            None if long_term => Some(
                self.pdf_validation(std::slice::from_ref(&signed.certificate))
                    .await?,
            ),
            _ => in_revision.clone(),
        };
        let chain = vec![self.pki.ca_certificate(Ca::Issuing).await?];
        let mut out = Vec::with_capacity(prepared.len());
        for ((document, prepared), signature) in request
            .documents
            .iter()
            .zip(prepared)
            .zip(signed.signatures)
        {
            let signature = signer.cms_signature(signature)?;
            // The same signed attributes as the SAM signed (with the options' capacity).
            let attributes = cms::prepare(
                &prepared.digest(),
                &signed.certificate,
                None,
                prepared.capacity(),
            )
            .map_err(|e| cms_error(&e))?;
            let mut cms = cms::assemble(&attributes, None, &chain, signer.algorithm, &signature)
                .map_err(|e| cms_error(&e))?;
            let mut level = Level::BB;
            if document.level >= Level::BT {
                let value = cms::signature_value(&cms).map_err(|e| cms_error(&e))?;
                let token = self
                    .trust
                    .token(ImprintHash::Sha256, &Sha256::digest(&value))
                    .await?;
                cms = cms::add_signature_timestamp(&cms, &token).map_err(|e| cms_error(&e))?;
                level = Level::BT;
            }
            if document.level >= Level::BLT && in_revision.is_some() {
                level = Level::BLT;
            }
            let assembled = pades::assemble(prepared, &cms).map_err(|e| pdf_error(&e))?;
            out.push(
                self.raise_pdf(assembled, level, document.level, validation.as_ref())
                    .await?,
            );
        }
        Ok(Signed {
            signatures: out,
            certificate: signed.certificate,
        })
    }

    /// Raises a signed PDF to `target` (B-T with a document timestamp, B-LT with the
    /// validation data in the DSS, B-LTA with a document timestamp over it); a PDF at B-LTA
    /// already gets fresh validation data and a new document timestamp (archive renewal).
    /// `foreign` is the validation data gathered for signers of other CAs, added to the DSS
    /// beside this service's own.
    ///
    /// # Errors
    /// `not_pdf`, `pdf_encrypted`, `pdf_malformed`; `invalid_request` for a PDF without a
    /// signature or a target below its level; `temporarily_unavailable` without a TSA.
    pub(super) async fn extend_pdf(
        &self,
        pdf: Vec<u8>,
        target: Level,
        foreign: pades::Validation,
    ) -> Result<Vec<u8>, Error> {
        let current = pades::level(&pdf)
            .map_err(|e| pdf_error(&e))?
            .ok_or_else(|| Error::new(ErrorCode::InvalidRequest, "the PDF has no signature"))?;
        below(current, target)?;
        let signatures = pades::signatures(&pdf).map_err(|e| pdf_error(&e))?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                format!("the PDF has more than {MAX_SIGNATURES} signatures"),
            ));
        }
        // One OCSP response per distinct signer, and only for certificates this service
        // issued: a PDF that lists one signature many times, or signers of other CAs, does
        // not make the HSM sign more.
        let mut signers: Vec<Vec<u8>> = signatures
            .iter()
            .filter(|s| !s.timestamp)
            .filter_map(|s| cms::signer_certificate(&s.contents).ok())
            .collect();
        signers.sort();
        signers.dedup();
        let mut own = Vec::with_capacity(signers.len());
        for signer in signers {
            if self.pki.issued_here(&signer).await? {
                own.push(signer);
            }
        }
        let signers = own;
        let validation = if target >= Level::BLT {
            let mut own = self.pdf_validation(&signers).await?;
            add_validation(&mut own, foreign);
            Some(own)
        } else {
            None
        };
        self.raise_pdf(pdf, current, target, validation.as_ref())
            .await
    }

    async fn raise_pdf(
        &self,
        mut pdf: Vec<u8>,
        current: Level,
        target: Level,
        validation: Option<&pades::Validation>,
    ) -> Result<Vec<u8>, Error> {
        if target >= Level::BT && current < Level::BT {
            pdf = self.document_timestamp(pdf).await?;
        }
        let renew = current == Level::BLTA && target == Level::BLTA;
        if target >= Level::BLT && (current < Level::BLT || renew) {
            let validation =
                validation.ok_or_else(|| Error::internal("validation data missing"))?;
            pdf = pades::add_dss(pdf, validation).map_err(|e| pdf_error(&e))?;
        }
        if target == Level::BLTA {
            pdf = self.document_timestamp(pdf).await?;
        }
        Ok(pdf)
    }

    async fn document_timestamp(&self, pdf: Vec<u8>) -> Result<Vec<u8>, Error> {
        let prepared = pades::prepare_timestamp(pdf).map_err(|e| pdf_error(&e))?;
        let token = self
            .trust
            .token(ImprintHash::Sha256, &prepared.digest())
            .await?;
        pades::assemble(prepared, &token).map_err(|e| pdf_error(&e))
    }

    /// What a verifier needs to validate signatures of `signers` (certificates of the
    /// issuing CA) and timestamps of the embedded TSA, now and later: the certificates, fresh
    /// CRLs of both CAs, and an OCSP response for each signer.
    ///
    /// # Errors
    /// HSM and store failures.
    pub(super) async fn pdf_validation(
        &self,
        signers: &[Vec<u8>],
    ) -> Result<pades::Validation, Error> {
        let now = self.now();
        let mut certificates = signers.to_vec();
        certificates.extend([
            self.pki.ca_certificate(Ca::Issuing).await?,
            self.pki.ca_certificate(Ca::Root).await?,
            self.pki.tsa_certificate().await?,
            self.pki.ocsp_certificate().await?,
        ]);
        let mut ocsps = Vec::with_capacity(signers.len());
        for signer in signers {
            ocsps.push(self.pki.ocsp_response_for(signer, now).await?);
        }
        Ok(pades::Validation {
            certificates,
            crls: vec![
                self.pki.crl(Ca::Issuing, now).await?,
                self.pki.crl(Ca::Root, now).await?,
            ],
            ocsps,
        })
    }

    fn now(&self) -> i64 {
        unix_now(&self.clock)
    }
}

/// The document's PDF options with the signer's name, and for an organisation's credential
/// the organisation and CVR, from the certificate.
fn signed_as(document: &Document, name: &str, key: &SigningKey<'_>) -> pades::Options {
    let mut options = document.pdf.clone();
    options.name = Some(name.to_owned());
    if let Some(visible) = options.visible.as_mut() {
        name.clone_into(&mut visible.signer);
        let organisation = key.organisation();
        visible.cvr = organisation.as_ref().map(|(cvr, _)| cvr.clone());
        visible.organisation = organisation.and_then(|(_, name)| name);
    }
    options
}
