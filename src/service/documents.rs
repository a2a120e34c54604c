//! Whole-document signing (CSC `signatures/signDoc`): CAdES over submitted documents at
//! B-B, B-T, B-LT or B-LTA, XAdES (enveloped, enveloping, detached) and PAdES at the same
//! levels. The SAD covers the documents' SHA-256 digests; the SAM derives what it signs from
//! them (the CAdES signed attributes, the XAdES `SignedInfo`, or the CAdES signed attributes
//! over a prepared PDF's byte ranges) and signs; the service extends the result. With a
//! signature qualifier in place of a credential, the SAM signs with a key made for the one
//! operation, under a short-lived certificate it has issued once the SAD is spent, and derives
//! what it signs with that certificate (`sam::short_lived`). PAdES is in
//! `pdf`, the review of an uploaded document in `review`; the types they share with this
//! module are in `document_types`. Here, `short_lived` is the path with a qualifier, `levels`
//! raises signatures with the service's own TSA and PKI, and `extension` extends signed files.

use sha2::{Digest as _, Sha256};

use super::document_types::{
    approved, level_name, parse_level, pdf_error, stored_options, xml_error, Document, Format,
    Level, SignDoc, Signed, Signer, SigningKey, Uploaded,
};
use super::pdf::Pades;
use super::{person_ctx, unix_now, Cpu, Error, ErrorCode, Signing, Trust};
use crate::clock::SharedClock;
use crate::formats::cms::{self, SignatureAlgorithm};
use crate::formats::representation::Capacity;
use crate::formats::{pades, xades, xml};
use crate::hsm::SignAlgorithm;
use crate::identity::Principal;
use crate::pki::{Ca, Pki};
use crate::sam::{Derive, InCapacity, Sam, SignRequest};
use crate::store::Store;
use crate::types::{Digest, DocumentId, HashAlgorithm, UnixTime};

/// Documents one person may have waiting (uploaded, not yet expired) at once.
const MAX_WAITING_DOCUMENTS: i64 = 20;

/// Signing whole documents, the upload, review and sign flow, and extending signed PDFs.
/// Documents are signed through [`Signing`] (credential checks, activation, refusals) and the
/// SAM; their time-stamps come from [`Trust`].
#[derive(Debug, Clone)]
pub struct Documents {
    pub(super) store: Store,
    pub(super) pki: Pki,
    pub(super) sam: Sam,
    pub(super) clock: SharedClock,
    /// The service's one pool for CPU-heavy work.
    pub(super) cpu: Cpu,
    pub(super) signing: Signing,
    pub(super) trust: Trust,
    pub(super) pades: Pades,
    /// How long an uploaded document is kept, seconds.
    pub(super) lifetime: i64,
    /// What an extension may fetch online for signatures of other CAs, and the trust anchors
    /// their paths may end at (the validation's settings).
    pub(super) validation: std::sync::Arc<super::ValidationSettings>,
}

mod extension;
mod levels;
mod short_lived;

pub use extension::Extended;
use levels::needed;

fn format_error(e: &cms::Error) -> Error {
    Error::internal(format!("CAdES: {e}"))
}

/// Refuses a request with no documents or more than 100.
fn check_count(documents: &[Document]) -> Result<(), Error> {
    if documents.is_empty() || documents.len() > 100 {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            "documents: 1 to 100 documents",
        ));
    }
    Ok(())
}

/// The HSM scheme, the CMS algorithm and its OID for a `signAlgo` (the key's default when
/// absent) with a key that is EC (`ec`) or RSA, for CAdES and PAdES with SHA-256.
fn cms_algorithms(
    ec: bool,
    sign_algo: Option<&str>,
) -> Result<(SignAlgorithm, SignatureAlgorithm, &'static str), Error> {
    match (ec, sign_algo) {
        (true, None | Some("1.2.840.10045.4.3.2" | "1.2.840.10045.2.1")) => Ok((
            SignAlgorithm::Ecdsa,
            SignatureAlgorithm::EcdsaSha256,
            "1.2.840.10045.4.3.2",
        )),
        (false, None | Some("1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.1")) => Ok((
            SignAlgorithm::RsaPkcs1v15,
            SignatureAlgorithm::RsaSha256,
            "1.2.840.113549.1.1.11",
        )),
        (false, Some("1.2.840.113549.1.1.10")) => Ok((
            SignAlgorithm::RsaPss,
            SignatureAlgorithm::RsaPssSha256,
            "1.2.840.113549.1.1.10",
        )),
        (_, Some(other)) => Err(Error::new(
            ErrorCode::UnsupportedAlgorithm,
            format!("signAlgo {other:?} does not fit this key for CAdES with SHA-256"),
        )),
    }
}

/// Each document's SHA-256, and what the signer approved for it: the SHA-256, and for a PDF
/// with options the approval digest over it and the options, so that no option is chosen
/// after approval.
fn approvals(documents: &[Document]) -> (Vec<[u8; 32]>, Vec<Digest>) {
    let digests: Vec<[u8; 32]> = documents
        .iter()
        .map(|d| Sha256::digest(&d.content).into())
        .collect();
    let hashes = documents
        .iter()
        .zip(&digests)
        .map(|(d, digest)| Digest::sha256(approved(d.format, digest, &d.pdf, d.capacity.as_ref())))
        .collect();
    (digests, hashes)
}

impl Documents {
    /// Signs each document as CAdES at its level; returns the CMS (DER) of each, in order.
    ///
    /// # Errors
    /// As `signatures/signHash`; `invalid_request` for no or too many documents;
    /// `unsupported_algorithm`; `temporarily_unavailable` when the TSA does not answer.
    pub async fn sign_documents(
        &self,
        principal: &Principal,
        request: &SignDoc,
        request_id: Option<String>,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let ctx = person_ctx(principal, request_id);
        let credential = match self
            .signing
            .signing_credential(principal, &request.credential_id)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                return Err(self
                    .signing
                    .refuse_signature(&ctx, &request.credential_id, e)
                    .await)
            }
        };
        check_count(&request.documents)?;
        let (scheme, algorithm, sign_algo) =
            cms_algorithms(credential.algorithm.is_ec(), request.sign_algo.as_deref())?;
        let (digests, hashes) = approvals(&request.documents);
        let sad = self
            .signing
            .sad_or_approval(
                principal,
                request.sad.as_deref(),
                &request.credential_id,
                &credential,
                &hashes,
                HashAlgorithm::Sha256,
                &ctx,
            )
            .await?;
        // The SAD's signature and claims are checked before any document work, so a forged or
        // spent SAD buys nothing (the SAM checks again when it signs).
        self.sam
            .precheck(
                &SignRequest {
                    credential: &credential,
                    sad: &sad,
                    hash_algorithm: HashAlgorithm::Sha256,
                    hashes: hashes.clone(),
                    scheme,
                    sign_algo: "",
                    derive: Derive::Hashes,
                    spent: None,
                },
                &ctx,
                UnixTime::from_secs(self.now()),
            )
            .await?;
        let signer = Signer {
            key: SigningKey::Credential(&credential),
            sad: &sad,
            scheme,
            algorithm,
            sign_algo,
        };
        let signed = self
            .sign_with(&signer, request, &digests, hashes, &ctx)
            .await?;
        Ok(signed.signatures)
    }

    /// Signs the request's documents (of one format) with `signer` and raises each to its
    /// level: XAdES, PAdES, or CAdES here. `digests` are the documents' SHA-256, `hashes`
    /// their approvals, which the SAD covers.
    async fn sign_with(
        &self,
        signer: &Signer<'_>,
        request: &SignDoc,
        digests: &[[u8; 32]],
        hashes: Vec<Digest>,
        ctx: &crate::audit::Context,
    ) -> Result<Signed, Error> {
        if request.documents.iter().all(|d| d.format.is_xades()) {
            return self.sign_xml(signer, request, hashes, ctx).await;
        }
        let all_pdf = request.documents.iter().all(|d| d.format == Format::Pades);
        if !all_pdf
            && request
                .documents
                .iter()
                .any(|d| d.format.is_xades() || d.format == Format::Pades)
        {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "documents: one request signs documents of one format (CAdES, XAdES or PAdES)",
            ));
        }
        if all_pdf {
            return self.pades.sign_pdfs(signer, request, hashes, ctx).await;
        }
        let now = self.now();
        // Each document signed in a capacity: the SAM checks its approval and claims it.
        let capacities: Vec<Option<InCapacity<'_>>> = request
            .documents
            .iter()
            .zip(digests)
            .map(|(d, digest)| {
                d.capacity.as_ref().map(|capacity| InCapacity {
                    sha256: *digest,
                    capacity,
                })
            })
            .collect();
        let derive = Derive::Cades {
            time: UnixTime::from_secs(now),
            capacities: &capacities,
        };
        let signed = signer
            .sign(&self.sam, hashes, derive, ctx, UnixTime::from_secs(now))
            .await?;
        let chain = vec![self.pki.ca_certificate(Ca::Issuing).await?];
        let validation = self.validation_data(&request.documents).await?;
        let mut out = Vec::with_capacity(signed.signatures.len());
        for ((document, digest), signature) in
            request.documents.iter().zip(digests).zip(signed.signatures)
        {
            let signature = signer.cms_signature(signature)?;
            // The same signed attributes as the SAM signed.
            let prepared = cms::prepare(
                digest,
                &signed.certificate,
                Some(now),
                document.capacity.as_ref(),
            )
            .map_err(|e| format_error(&e))?;
            let cades = cms::assemble(
                &prepared,
                matches!(document.format, Format::Cades { attached: true })
                    .then_some(document.content.as_slice()),
                &chain,
                signer.algorithm,
                &signature,
            )
            .map_err(|e| format_error(&e))?;
            out.push(
                self.raise_cades(
                    cades,
                    Level::BB,
                    document.level,
                    Some(digest),
                    needed(&validation, document.level)?,
                )
                .await?,
            );
        }
        Ok(Signed {
            signatures: out,
            certificate: signed.certificate,
        })
    }

    /// XAdES signatures over the request's documents (all XML, or any bytes when detached),
    /// with the key's default algorithm.
    async fn sign_xml(
        &self,
        signer: &Signer<'_>,
        request: &SignDoc,
        hashes: Vec<Digest>,
        ctx: &crate::audit::Context,
    ) -> Result<Signed, Error> {
        let (scheme, algorithm, sign_algo) = if signer.key.is_ec() {
            (
                SignAlgorithm::Ecdsa,
                xades::SignatureAlgorithm::EcdsaSha256,
                "1.2.840.10045.4.3.2",
            )
        } else {
            (
                SignAlgorithm::RsaPkcs1v15,
                xades::SignatureAlgorithm::RsaSha256,
                "1.2.840.113549.1.1.11",
            )
        };
        let signer = Signer {
            scheme,
            sign_algo,
            ..*signer
        };
        let contents: Vec<Vec<u8>> = request
            .documents
            .iter()
            .map(|d| d.content.clone())
            .collect();
        let names: Vec<String> = (1..=contents.len())
            .map(|n| format!("document-{n}"))
            .collect();
        // Refuse hostile or malformed XML before anything is used up, off the async runtime.
        let (formats, contents) = {
            let formats: Vec<Format> = request.documents.iter().map(|d| d.format).collect();
            self.cpu
                .run(move || -> Result<_, Error> {
                    for (format, content) in formats.iter().zip(&contents) {
                        if *format != Format::XadesDetached {
                            xml::parse(content, xml::Limits::default())
                                .map_err(|e| xml_error(&e))?;
                        }
                    }
                    Ok((formats, contents))
                })
                .await??
        };
        let packagings: Vec<xades::Packaging<'_>> = formats
            .iter()
            .zip(&names)
            .map(|(format, name)| match format {
                Format::XadesDetached => xades::Packaging::Detached { uri: name },
                Format::XadesEnveloping => xades::Packaging::Enveloping,
                _ => xades::Packaging::Enveloped,
            })
            .collect();
        let now = UnixTime::from_secs(self.now());
        // The issuing CA goes into `ds:KeyInfo`: a verifier with only the root builds the path.
        let chain = [self.pki.ca_certificate(crate::pki::Ca::Issuing).await?];
        let capacities: Vec<Option<&Capacity>> = request
            .documents
            .iter()
            .map(|d| d.capacity.as_ref())
            .collect();
        let derive = Derive::Xades {
            documents: &contents,
            packagings: &packagings,
            mime: "text/xml",
            signing_time: now,
            algorithm,
            chain: &chain,
            capacities: &capacities,
        };
        let signed = signer.sign(&self.sam, hashes, derive, ctx, now).await?;
        let validation = self.validation_data(&request.documents).await?;
        let mut out = Vec::with_capacity(signed.signatures.len());
        for (document, mut xml_signed) in request.documents.iter().zip(signed.signatures) {
            let fail = |e: xades::Error| Error::internal(format!("XAdES: {e}"));
            if document.level >= Level::BT {
                let c14n = xades::signature_value_c14n(&xml_signed).map_err(fail)?;
                let token = self.timestamp_token(&Sha256::digest(&c14n)).await?;
                xml_signed = xades::add_signature_timestamp(&xml_signed, &token).map_err(fail)?;
            }
            if let Some((certificates, crls)) = needed(&validation, document.level)? {
                xml_signed =
                    xades::add_validation_data(&xml_signed, certificates, crls).map_err(fail)?;
            }
            if document.level >= Level::BLTA {
                let detached = (document.format == Format::XadesDetached)
                    .then_some(document.content.as_slice());
                let input = xades::archive_input(&xml_signed, detached).map_err(fail)?;
                let token = self.timestamp_token(&Sha256::digest(&input)).await?;
                xml_signed = xades::add_archive_timestamp(&xml_signed, &token).map_err(fail)?;
            }
            out.push(xml_signed);
        }
        Ok(Signed {
            signatures: out,
            certificate: signed.certificate,
        })
    }
}

impl Documents {
    /// The native flow, step 1: keeps a document to sign (15 minutes by default) with its
    /// PDF options, and answers its digest, which the signer then authorizes
    /// (`credentials/authorize`, any activation). Expired documents are deleted here.
    ///
    /// # Errors
    /// `invalid_xml` for an XML format and a refused document; `not_pdf`, `pdf_encrypted`,
    /// `pdf_malformed`, `pdf_no_changes_allowed` and `invalid_request` (page, rectangle) for a
    /// PDF that cannot be signed as asked; `invalid_request` when empty.
    pub async fn upload_document(
        &self,
        principal: &Principal,
        content: Vec<u8>,
        format: Format,
        level: Level,
        pdf: &pades::Options,
    ) -> Result<Uploaded, Error> {
        self.keep_document(principal, content, format, level, pdf, None, None)
            .await
    }

    /// Checks that a PDF can be signed with `options`, off the async runtime; answers it.
    pub(super) async fn check_pdf(
        &self,
        content: Vec<u8>,
        options: &pades::Options,
    ) -> Result<Vec<u8>, Error> {
        let options = options.clone();
        self.cpu
            .run(move || -> Result<_, Error> {
                pades::prepare(content.clone(), &options, 0, None).map_err(|e| pdf_error(&e))?;
                Ok(content)
            })
            .await?
    }

    /// [`Self::upload_document`], for a signer acting in `capacity` (approved with the
    /// document) and, with `case_id`, for a signing case.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn keep_document(
        &self,
        principal: &Principal,
        content: Vec<u8>,
        format: Format,
        level: Level,
        pdf: &pades::Options,
        capacity: Option<Capacity>,
        case_id: Option<String>,
    ) -> Result<Uploaded, Error> {
        if content.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "the document is empty",
            ));
        }
        // Uploads cost storage and parsing: not for a password alone, and a bounded number
        // per person.
        if principal.loa < crate::identity::loa::Loa::Substantial {
            return Err(crate::identity::Error::InsufficientLoa {
                required: crate::identity::loa::Loa::Substantial,
            }
            .into());
        }
        let waiting = self
            .store
            .count_documents(&principal.person.to_string(), self.now())
            .await?;
        if waiting >= MAX_WAITING_DOCUMENTS {
            return Err(Error::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "{MAX_WAITING_DOCUMENTS} documents are waiting already; sign or cancel one first"
                ),
            ));
        }
        // The capacity is signed with the document: for a PDF among its options, otherwise
        // kept beside it as options with nothing else.
        let mut pdf = pdf.clone();
        pdf.capacity = capacity.clone();
        let stored = if format == Format::Pades {
            Some(&pdf)
        } else {
            None
        };
        // Everything about the document that can fail, checked before the signer approves,
        // off the async runtime.
        let content = match (format, stored) {
            (Format::Pades, Some(options)) => self.check_pdf(content, options).await?,
            (Format::XadesEnveloped | Format::XadesEnveloping, _) => {
                self.cpu
                    .run(move || -> Result<_, Error> {
                        xml::parse(&content, xml::Limits::default()).map_err(|e| xml_error(&e))?;
                        Ok(content)
                    })
                    .await??
            }
            _ => content,
        };
        let options = if format == Format::Pades || capacity.is_some() {
            let kept = if format == Format::Pades {
                pdf.clone()
            } else {
                pades::Options {
                    capacity: capacity.clone(),
                    ..pades::Options::default()
                }
            };
            Some(serde_json::to_string(&kept).map_err(|e| Error::internal(e.to_string()))?)
        } else {
            None
        };
        let sha: [u8; 32] = Sha256::digest(&content).into();
        let now = self.now();
        self.store.prune_documents(now).await?;
        let id = DocumentId::random().to_string();
        let sha256 = Digest::sha256(sha);
        let digest = Digest::sha256(approved(format, &sha, &pdf, capacity.as_ref()));
        let approval_text = if format == Format::Pades {
            pdf.approval_text()
        } else {
            capacity.as_ref().map(Capacity::approval_line)
        };
        let lifetime = self.lifetime;
        self.store
            .insert_document(&crate::store::DocumentRow {
                id: id.clone(),
                person: principal.person.to_string(),
                format: format.as_str().to_owned(),
                level: level_name(level).to_owned(),
                content,
                signed: None,
                created_at: now,
                expires_at: now + lifetime,
                options,
                sha256: Some(hex::encode(sha256.as_bytes())),
                case_id,
            })
            .await?;
        Ok(Uploaded {
            id,
            sha256,
            digest,
            approval_text,
            expires_at: now + lifetime,
        })
    }

    pub(super) async fn owned_document(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<crate::store::DocumentRow, Error> {
        self.store
            .document(id, &principal.person.to_string(), self.now())
            .await?
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "no such document (or it expired)"))
    }

    /// The native flow, step 2: signs the uploaded document with the credential and the SAD
    /// over its digest (or the token's approval); signing again is refused.
    ///
    /// # Errors
    /// `not_found`, `already_exists`, and the errors of `signatures/signDoc`.
    pub async fn sign_uploaded(
        &self,
        principal: &Principal,
        id: &str,
        credential_id: &str,
        sad: Option<String>,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let mut row = self.owned_document(principal, id).await?;
        if row.signed.is_some() {
            return Err(Error::new(
                ErrorCode::AlreadyExists,
                "this document is signed already",
            ));
        }
        let format = Format::parse(&row.format)
            .ok_or_else(|| Error::internal(format!("stored format {:?}", row.format)))?;
        let level = parse_level(&row.level)
            .ok_or_else(|| Error::internal(format!("stored level {:?}", row.level)))?;
        let mut pdf = stored_options(&row)?;
        // Signing for an organisation: the capacity must still be the signer's, with the
        // credential that acts for the organisation.
        let on_behalf = match pdf.capacity.clone() {
            Some(capacity) => {
                let credential = self
                    .signing
                    .signing_credential(principal, credential_id)
                    .await?;
                self.recheck_capacity(principal, &capacity, &credential)
                    .await?;
                Some((capacity, credential))
            }
            None => None,
        };
        let capacity = if format == Format::Pades {
            None
        } else {
            pdf.capacity.take()
        };
        let signed = self
            .sign_documents(
                principal,
                &SignDoc {
                    credential_id: credential_id.to_owned(),
                    sad,
                    documents: vec![Document {
                        content: std::mem::take(&mut row.content),
                        format,
                        level,
                        pdf,
                        capacity,
                    }],
                    sign_algo: None,
                },
                request_id.clone(),
            )
            .await?;
        let signed = signed
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("no signature"))?;
        self.store.set_document_signed(id, &signed).await?;
        if let Some((capacity, credential)) = on_behalf {
            self.record_capacity_signature(principal, &row, &capacity, request_id.clone())
                .await?;
            self.record_in_case(principal, &row, &capacity, &credential, &signed, request_id)
                .await?;
        }
        Ok(())
    }

    /// Deletes a document (and its signed result) before it expires.
    ///
    /// # Errors
    /// `not_found`.
    pub async fn delete_document(&self, principal: &Principal, id: &str) -> Result<(), Error> {
        if self
            .store
            .delete_document(id, &principal.person.to_string())
            .await?
        {
            Ok(())
        } else {
            Err(Error::new(ErrorCode::NotFound, "no such document"))
        }
    }

    /// The native flow, step 3: the signed result and its media type.
    ///
    /// # Errors
    /// `not_found` (also before it is signed).
    pub async fn signed_document(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(Vec<u8>, &'static str), Error> {
        let row = self.owned_document(principal, id).await?;
        let format = Format::parse(&row.format)
            .ok_or_else(|| Error::internal(format!("stored format {:?}", row.format)))?;
        let signed = row
            .signed
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "the document is not signed yet"))?;
        Ok((signed, format.media_type()))
    }

    /// Raises a signed PDF to `target` (B-T with a document timestamp, B-LT with the
    /// validation data in the DSS, B-LTA with a document timestamp over it); a PDF at B-LTA
    /// already gets fresh validation data and a new document timestamp (archive renewal).
    ///
    /// # Errors
    /// `not_pdf`, `pdf_encrypted`, `pdf_malformed`; `invalid_request` for a PDF without a
    /// signature or a target below its level; `temporarily_unavailable` without a TSA.
    pub async fn extend_pdf(&self, pdf: Vec<u8>, target: Level) -> Result<Vec<u8>, Error> {
        Ok(self.extend_pades(pdf, target).await?.bytes)
    }

    /// What a verifier needs to validate signatures of `signers` (certificates of the
    /// issuing CA) and timestamps of the embedded TSA, now and later: the certificates, fresh
    /// CRLs of both CAs, and an OCSP response for each signer.
    ///
    /// # Errors
    /// HSM and store failures.
    pub async fn pdf_validation(&self, signers: &[Vec<u8>]) -> Result<pades::Validation, Error> {
        self.pades.pdf_validation(signers).await
    }

    fn now(&self) -> i64 {
        unix_now(&self.clock)
    }
}
