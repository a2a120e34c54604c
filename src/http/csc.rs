//! Cloud Signature Consortium API v2, and the same methods under `/csc/v1/`.
//!
//! Field names follow CSC v2; the v1.0.4 names that widely used clients still send are accepted
//! beside them (`hash` for `hashes`, `hashAlgo` for `hashAlgorithmOID`, `PIN` and `OTP` beside
//! `authData`). Errors keep the CSC shape (`error`, `error_description`) plus `support_ref`.
//! The request and reply bodies are the types of [`wire`]; approval on the person's phone
//! (`credentials/authorize` answered 202, `credentials/authorizeCheck`) is in [`oob`].

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use serde_json::Value;
use std::sync::Arc;

use super::extract::{Caller, Json, Origin};
use super::router::AppState;
use crate::service::{
    scal, Activation, Credential, CredentialInfo, CredentialStatus, Document, Documents, Error,
    ErrorCode, Format, Level, Logins, PdfOptions, PdfVisible, SignDoc, SignHash, Signing,
};

pub(super) mod asynchronous;
pub(super) mod lifecycle;
pub(super) mod machine;
pub(super) mod oob;
pub(super) mod wire;

use wire::{
    AuthInfo, AuthorizeRequest, AuthorizeResponse, CertInfo, ChallengeRequest, ChallengeResponse,
    CredentialInfoResponse, InfoRequest, InfoResponse, KeyInfo, ListRequest, ListResponse,
    ListedCredential, LoginResponse, OtpInfo, PdfExtension, SignDocRequest, SignDocResponse,
    SignHashRequest, SignHashResponse, TimestampRequest, TimestampResponse, ValidationInfo,
};

/// `POST /csc/v2/auth/login` (and `/csc/v1/auth/login`): HTTP Basic username and password.
pub async fn login(
    State(login): State<Arc<Logins>>,
    Origin(source, request_id): Origin,
    headers: HeaderMap,
) -> Result<Json<LoginResponse>, Error> {
    let header = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoded = header.strip_prefix("Basic ").ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidRequest,
            "HTTP Basic authentication is required",
        )
    })?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Error::new(ErrorCode::InvalidRequest, "malformed Basic credentials"))?;
    let (username, password) = decoded
        .split_once(':')
        .ok_or_else(|| Error::new(ErrorCode::InvalidRequest, "malformed Basic credentials"))?;
    let issued = login
        .password_grant(username, password, None, source, request_id)
        .await?;
    Ok(Json(LoginResponse {
        access_token: issued.access_token,
        expires_in: issued.expires_in,
    }))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `POST /csc/v2/info`: what this service offers. A request body (CSC `lang`) is not read.
pub async fn info(State(state): State<AppState>) -> Json<InfoResponse> {
    let base = state.config.public_url();
    Json(InfoResponse {
        specs: "2.0.0.2",
        name: "qsign",
        logo: format!("{base}/static/logo.svg"),
        region: "DK",
        lang: "en-US",
        description:
            "Remote qualified signing: keys in an HSM, sole control by signature activation data",
        auth_type: &["basic", "oauth2code", "oauth2client"],
        oauth2: format!("{base}/idp"),
        oauth2_issuer: state.service.login.issuer(),
        oauth2_par: format!("{base}/idp/par"),
        asynchronous_operation_mode: true,
        methods: &[
            "info",
            "auth/login",
            "auth/revoke",
            "credentials/list",
            "credentials/info",
            "credentials/authorize",
            "credentials/authorizeCheck",
            "credentials/getChallenge",
            "credentials/extendTransaction",
            "credentials/create",
            "credentials/delete",
            "signatures/signHash",
            "signatures/signDoc",
            "signatures/signPolling",
            "signatures/timestamp",
        ],
        validation_info: true,
    })
}

/// `POST /csc/v2/auth/revoke`: ends the caller's access token.
pub async fn revoke(Caller(login, principal, _): Caller<Arc<Logins>>) -> Result<StatusCode, Error> {
    login.logout(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /csc/v2/credentials/list`: the caller's credential ids (made on first use).
pub async fn list(
    Caller(signing, principal, request_id): Caller<Arc<Signing>>,
    body: Option<Json<ListRequest>>,
) -> Result<Json<ListResponse>, Error> {
    let request = body.map(|Json(b)| b).unwrap_or_default();
    let caller = principal.person.to_string();
    check_user(&request, &caller, "userID must be the caller (or left out)")?;
    let credentials = signing.credentials(&principal, request_id).await?;
    let (signing, principal) = (&signing, &principal);
    let info = move |id: String| async move { signing.credential_info(principal, &id).await };
    Ok(Json(listed(&request, credentials, info, describe).await?))
}

/// Refuses a `credentials/list` whose `userID` is not the caller's.
pub(super) fn check_user(request: &ListRequest, caller: &str, message: &str) -> Result<(), Error> {
    if request.user_id.as_deref().is_some_and(|u| u != caller) {
        return Err(Error::new(ErrorCode::InvalidRequest, message));
    }
    Ok(())
}

/// How a credential is described to its caller: from its info, with the certificates, the
/// certificate's details and the activation's details asked for.
pub(super) type Describe = fn(&CredentialInfo, Option<&str>, bool, bool) -> CredentialInfoResponse;

/// The `credentials/list` answer over the caller's `credentials`: only the valid ones and at
/// most `maxResults` when asked, each described (`info` gives its info by id) when
/// `credentialInfo` is asked.
pub(super) async fn listed<F, Fut>(
    request: &ListRequest,
    mut credentials: Vec<Credential>,
    info: F,
    describe: Describe,
) -> Result<ListResponse, Error>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<CredentialInfo, Error>>,
{
    if request.only_valid {
        credentials.retain(|c| c.status == CredentialStatus::Active);
    }
    if let Some(max) = request.max_results {
        credentials.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    }
    let credential_infos = if request.credential_info {
        let mut infos = Vec::with_capacity(credentials.len());
        for c in &credentials {
            let id = c.id.to_string();
            let found = info(id.clone()).await?;
            infos.push(ListedCredential {
                credential_id: id,
                info: describe(
                    &found,
                    request.certificates.as_deref(),
                    request.cert_info,
                    request.auth_info,
                ),
            });
        }
        Some(infos)
    } else {
        None
    };
    Ok(ListResponse {
        credential_ids: credentials.iter().map(|c| c.id.to_string()).collect(),
        credential_infos,
        only_valid: request.only_valid,
    })
}

/// `POST /csc/v2/credentials/info`.
pub async fn credential_info(
    Caller(signing, principal, _): Caller<Arc<Signing>>,
    Json(request): Json<InfoRequest>,
) -> Result<Json<CredentialInfoResponse>, Error> {
    let info = signing
        .credential_info(&principal, &request.credential_id)
        .await?;
    Ok(Json(describe(
        &info,
        request.certificates.as_deref(),
        request.cert_info,
        request.auth_info,
    )))
}

/// CSC `YYYYMMDDHHMMSSZ`.
fn generalized(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            format!(
                "{:04}{:02}{:02}{:02}{:02}{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default()
}

/// The CSC description of a credential. Which activation it offers follows its SCAL
/// ([`scal`]): the explicit mode (a one-time code sent by the application) only where the
/// policy accepts that.
fn describe(
    info: &CredentialInfo,
    certificates: Option<&str>,
    cert_info: bool,
    auth_info: bool,
) -> CredentialInfoResponse {
    let c = &info.credential;
    let policy = &c.policy;
    let (key_status, cert_status) = match c.status {
        CredentialStatus::Active => ("enabled", "valid"),
        CredentialStatus::Suspended => ("disabled", "suspended"),
        CredentialStatus::Revoked => ("disabled", "revoked"),
    };
    let cert_status = if info.certificate_revoked {
        "revoked"
    } else {
        cert_status
    };
    let chain: Vec<String> = match certificates.unwrap_or("single") {
        "none" => Vec::new(),
        "chain" => info.chain.iter().map(|d| b64(d)).collect(),
        _ => info.chain.iter().take(1).map(|d| b64(d)).collect(),
    };
    let summary = &info.certificate;
    let shown = |value: String| cert_info.then_some(value);
    let explicit = scal::client_otp(policy.scal);
    let auth = auth_info.then(|| {
        if explicit {
            AuthInfo::explicit_otp()
        } else {
            AuthInfo::oauth2code()
        }
    });
    let otp = (auth_info && explicit).then(OtpInfo::totp);
    CredentialInfoResponse {
        description: c.description(),
        kind: match &c.kind {
            crate::service::CredentialKind::Personal => "personal",
            crate::service::CredentialKind::Employee { .. } => "employee",
            crate::service::CredentialKind::Seal { .. } => "seal",
        },
        cvr: c.kind.cvr().map(str::to_owned),
        signature_qualifier: if policy.qualified {
            "eu_eidas_qes"
        } else {
            "eu_eidas_aes"
        },
        policy: policy.name.clone(),
        key: KeyInfo {
            status: key_status,
            algo: c.sign_algos(),
            len: c.key_len(),
            curve: c.curve_oid(),
        },
        cert: CertInfo {
            status: cert_status,
            certificates: chain,
            issuer_dn: shown(summary.issuer.clone()),
            subject_dn: shown(summary.subject.clone()),
            serial_number: shown(summary.serial.clone()),
            valid_from: shown(generalized(summary.not_before)),
            valid_to: shown(generalized(summary.not_after)),
        },
        auth_mode: scal::auth_mode(policy.scal),
        scal: policy.scal.csc(),
        multisign: policy.max_signatures,
        lang: "en-US",
        activation: scal::activation_methods(policy.scal),
        auth,
        otp,
    }
}

impl AuthorizeRequest {
    /// The activation factor, from the v2 `authData` entries or the top-level fields.
    fn activation(self) -> Result<Activation, Error> {
        let mut otp = self.otp;
        let mut pin = self.pin;
        let mut challenge = self.challenge_id;
        let mut assertion = self.webauthn;
        for entry in self.auth_data {
            let text = || entry.value.as_str().map(str::to_owned);
            match entry.id.to_ascii_lowercase().as_str() {
                "otp" => otp = text(),
                "pin" => pin = text(),
                "challengeid" => challenge = text(),
                "webauthn" => {
                    assertion = Some(match entry.value {
                        Value::String(s) => serde_json::from_str(&s).map_err(|_| {
                            Error::new(ErrorCode::InvalidRequest, "authData webauthn: not JSON")
                        })?,
                        other => other,
                    });
                }
                other => {
                    return Err(Error::new(
                        ErrorCode::InvalidRequest,
                        format!("authData: unknown id {other:?}"),
                    ))
                }
            }
        }
        match (otp, challenge, assertion) {
            (_, Some(challenge_id), Some(assertion)) => Ok(Activation::Passkey {
                challenge_id,
                assertion,
            }),
            (Some(code), _, _) => Ok(Activation::Totp(code)),
            _ if pin.take().is_some() => Err(Error::new(
                ErrorCode::InvalidRequest,
                "qsign credentials have no PIN: activate with an OTP, a passkey (challengeID and webauthn) or the OAuth flow",
            )),
            // No factor in the request: the access token must carry the approval.
            _ => Ok(Activation::Token),
        }
    }
}

/// `POST /csc/v2/credentials/getChallenge`: a WebAuthn challenge bound to the credential and
/// the hashes, for a passkey activation.
pub async fn get_challenge(
    Caller(signing, principal, request_id): Caller<Arc<Signing>>,
    Json(request): Json<ChallengeRequest>,
) -> Result<Json<ChallengeResponse>, Error> {
    let qualifier = lifecycle::qualifier(
        &request.credential_id,
        request.signature_qualifier.as_deref(),
    )?;
    let (id, options) = match qualifier {
        Some(q) => {
            signing
                .qualifier_challenge(&principal, q, &request.hashes(), request_id)
                .await?
        }
        None => {
            signing
                .activation_challenge(&principal, &request.hashes(), request_id)
                .await?
        }
    };
    let public_key = options.get("publicKey").cloned().unwrap_or(Value::Null);
    Ok(Json(ChallengeResponse {
        challenge_id: id,
        public_key,
    }))
}

/// `POST /csc/v2/credentials/authorize`: signature activation data for the hashes; with
/// `authMode` `oob`, 202 and a `handle` while the person approves on their phone ([`oob`]).
pub async fn authorize(
    State(state): State<AppState>,
    Caller(signing, principal, request_id): Caller<Arc<Signing>>,
    Json(request): Json<AuthorizeRequest>,
) -> Result<Response, Error> {
    if request.out_of_band()? {
        return oob::ask(&state, &signing, &principal, request, request_id).await;
    }
    let hashes = request.hashes();
    let qualifier = lifecycle::qualifier(
        &request.credential_id,
        request.signature_qualifier.as_deref(),
    )?
    .map(str::to_owned);
    let activation = request.activation()?;
    let sad = match qualifier {
        Some(q) => {
            signing
                .authorize_qualifier(&principal, &q, &hashes, activation, request_id)
                .await?
        }
        None => {
            signing
                .authorize(&principal, &hashes, activation, request_id)
                .await?
        }
    };
    Ok(Json(AuthorizeResponse {
        sad: sad.token,
        expires_in: sad.expires_in,
    })
    .into_response())
}

/// `POST /csc/v2/signatures/signHash`: the signatures, in the order of the hashes.
pub async fn sign_hash(
    Caller(signing, principal, request_id): Caller<Arc<Signing>>,
    Json(request): Json<SignHashRequest>,
) -> Result<Json<SignHashResponse>, Error> {
    synchronous(request.operation_mode.as_deref())?;
    let qualifier = lifecycle::qualifier(
        &request.credential_id,
        request.signature_qualifier.as_deref(),
    )?
    .map(str::to_owned);
    let sign = request.into_sign_hash();
    if let Some(q) = qualifier {
        let signed = signing
            .sign_hash_short_lived(&principal, &q, &sign, request_id)
            .await?;
        return Ok(Json(SignHashResponse {
            signatures: signed.signatures.iter().map(|s| b64(s)).collect(),
            certificates: Some(signed.chain.iter().map(|c| b64(c)).collect()),
        }));
    }
    let signatures = signing.sign_hash(&principal, &sign, request_id).await?;
    Ok(Json(SignHashResponse {
        signatures: signatures.iter().map(|s| b64(s)).collect(),
        certificates: None,
    }))
}

impl SignHashRequest {
    /// The use case's request: the credential, the SAD, the hash algorithm, the hashes and
    /// the signature algorithm.
    fn into_sign_hash(self) -> SignHash {
        SignHash {
            credential_id: self.credential_id,
            sad: self.sad,
            hash_algorithm: self.hash_algorithm,
            hashes: self.hashes,
            sign_algo: self.sign_algo,
        }
    }
}

/// Refuses any `operationMode` but `S` (synchronous): the asynchronous `A` is taken by
/// [`asynchronous`] before the synchronous handlers.
fn synchronous(operation_mode: Option<&str>) -> Result<(), Error> {
    if operation_mode.is_some_and(|m| m != "S") {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            "only the synchronous operation mode (S) is offered",
        ));
    }
    Ok(())
}

impl PdfExtension {
    fn into_options(self) -> PdfOptions {
        PdfOptions {
            reason: self.reason,
            location: self.location,
            contact_info: self.contact_info,
            visible: self.visible.map(|v| PdfVisible {
                page: v.page,
                rect: v.rect,
                signer: String::new(),
                organisation: None,
                cvr: None,
            }),
            ..PdfOptions::default()
        }
    }
}

fn level(text: Option<&str>) -> Result<Level, Error> {
    let normal = text
        .unwrap_or("Ades-B-B")
        .to_ascii_uppercase()
        .replace("ADES-", "")
        .replace("B-", "");
    match normal.as_str() {
        "B" => Ok(Level::BB),
        "T" => Ok(Level::BT),
        "LT" => Ok(Level::BLT),
        "LTA" => Ok(Level::BLTA),
        _ => Err(Error::new(
            ErrorCode::InvalidRequest,
            "conformance_level: Ades-B-B, Ades-B-T, Ades-B-LT or Ades-B-LTA",
        )),
    }
}

/// `POST /csc/v2/signatures/signDoc`: CAdES, XAdES or PAdES signatures over the documents;
/// attached and enveloped ones come back in `DocumentWithSignature`, detached ones in
/// `SignatureObject`, each in request order; with `returnValidationInfo`, also the signer's
/// `validationInfo`. With `signatureQualifier` in place of `credentialID` the documents are
/// signed under a short-lived certificate, which comes back in `certificates` with its chain.
pub async fn sign_doc(
    Caller(service, principal, request_id): Caller<Arc<Documents>>,
    Json(request): Json<SignDocRequest>,
) -> Result<Json<SignDocResponse>, Error> {
    synchronous(request.operation_mode.as_deref())?;
    let return_validation_info = request.return_validation_info;
    let qualifier = lifecycle::qualifier(
        &request.credential_id,
        request.signature_qualifier.as_deref(),
    )?
    .map(str::to_owned);
    let sign = documents_to_sign(request)?;
    let (signed, chain) = match &qualifier {
        Some(q) => {
            let signed = service
                .sign_documents_short_lived(&principal, q, &sign, request_id)
                .await?;
            (signed.signatures, Some(signed.chain))
        }
        None => (
            service
                .sign_documents(&principal, &sign, request_id)
                .await?,
            None,
        ),
    };
    let validation_info = if return_validation_info {
        let data = match &chain {
            Some(chain) => {
                service
                    .pdf_validation(chain.get(..1).unwrap_or_default())
                    .await?
            }
            None => {
                service
                    .validation_info(&principal, &sign.credential_id)
                    .await?
            }
        };
        Some(ValidationInfo {
            ocsp: data.ocsps.iter().map(|d| b64(d)).collect(),
            crl: data.crls.iter().map(|d| b64(d)).collect(),
            certificates: data.certificates.iter().map(|d| b64(d)).collect(),
        })
    } else {
        None
    };
    let (with_document, detached) = sign.split(signed);
    Ok(Json(SignDocResponse {
        document_with_signature: with_document.iter().map(|d| b64(d)).collect(),
        signature_object: detached.iter().map(|d| b64(d)).collect(),
        validation_info,
        certificates: chain.map(|c| c.iter().map(|d| b64(d)).collect()),
    }))
}

/// The documents of a `signDoc` request as the service signs them: formats, levels and PDF
/// options read, contents decoded.
pub(super) fn documents_to_sign(request: SignDocRequest) -> Result<SignDoc, Error> {
    let mut documents = Vec::with_capacity(request.documents.len());
    let mut sign_algo = None;
    for d in &request.documents {
        let property = d.signed_envelope_property.as_deref();
        let format = match (d.signature_format.as_str(), property) {
            ("C", None | Some("Attached")) => Format::Cades { attached: true },
            ("C", Some("Detached")) => Format::Cades { attached: false },
            ("X", None | Some("Enveloped")) => Format::XadesEnveloped,
            ("X", Some("Enveloping")) => Format::XadesEnveloping,
            ("X", Some("Detached")) => Format::XadesDetached,
            ("P", None | Some("Revision" | "Certification")) => Format::Pades,
            (f, p) => {
                return Err(Error::new(
                    ErrorCode::UnsupportedFormat,
                    format!(
                        "signature_format {f:?} with signed_envelope_property {p:?}: offered are C (Attached, Detached), X (Enveloped, Enveloping, Detached) and P (Revision, Certification)"
                    ),
                ))
            }
        };
        let content = base64::engine::general_purpose::STANDARD
            .decode(d.document.trim())
            .map_err(|_| Error::new(ErrorCode::InvalidRequest, "document: not base64"))?;
        sign_algo = sign_algo.or_else(|| d.sign_algo.clone());
        let mut pdf = d
            .pdf
            .clone()
            .map(PdfExtension::into_options)
            .unwrap_or_default();
        pdf.certify = property == Some("Certification");
        documents.push(Document {
            content,
            format,
            level: level(d.conformance_level.as_deref())?,
            pdf,
            capacity: None,
        });
    }
    Ok(SignDoc {
        credential_id: request.credential_id,
        sad: request.sad,
        documents,
        sign_algo,
    })
}

/// `POST /csc/v2/signatures/timestamp`: an RFC 3161 token from the embedded TSA.
pub async fn timestamp(
    Caller(signing, _, _): Caller<Arc<Signing>>,
    Json(request): Json<TimestampRequest>,
) -> Result<Json<TimestampResponse>, Error> {
    let algorithm = request.hash_algorithm.as_deref();
    let token = signing.timestamp_hash(algorithm, &request.hash).await?;
    Ok(Json(TimestampResponse {
        timestamp: b64(&token),
    }))
}
