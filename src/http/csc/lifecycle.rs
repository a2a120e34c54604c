//! CSC credential lifecycle and transactions: `credentials/create`, `credentials/delete` and
//! `credentials/extendTransaction`, with their bodies; and which of `credentialID` and
//! `signatureQualifier` a request names (a signature qualifier without a credential asks for
//! a short-lived certificate).

use std::sync::Arc;

use axum::http::StatusCode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::wire::AuthorizeResponse;
use crate::http::extract::{Caller, Json};
use crate::service::{Error, ErrorCode, Signing};

/// `credentials/create` request (a qsign extension of CSC v2).
#[derive(Debug, Deserialize)]
pub struct CreateRequest {
    /// The signature policy (`qualified`, `advanced`, …) of the new credential.
    pub(super) policy: String,
}

/// `credentials/create` reply.
#[derive(Debug, Serialize)]
pub struct CreateResponse {
    #[serde(rename = "credentialID")]
    pub(super) credential_id: String,
    /// The new certificate, then the issuing CA and the root, base64 DER.
    pub(super) certificates: Vec<String>,
}

/// `credentials/delete` request (a qsign extension of CSC v2).
#[derive(Debug, Deserialize)]
pub struct DeleteRequest {
    #[serde(rename = "credentialID")]
    pub(super) credential_id: String,
}

/// `credentials/extendTransaction` request (CSC v2): the credential and a SAD of its
/// transaction.
#[derive(Debug, Deserialize)]
pub struct ExtendRequest {
    #[serde(rename = "credentialID")]
    pub(super) credential_id: String,
    #[serde(rename = "SAD")]
    pub(super) sad: String,
}

/// The signature qualifier a request asks a short-lived certificate for, or `None` when it
/// names a credential; a request must name exactly one of the two.
///
/// # Errors
/// `invalid_request` when it names both or neither.
pub(super) fn qualifier<'a>(
    credential_id: &str,
    signature_qualifier: Option<&'a str>,
) -> Result<Option<&'a str>, Error> {
    match (credential_id.is_empty(), signature_qualifier) {
        (false, None) => Ok(None),
        (true, Some(q)) if !q.is_empty() => Ok(Some(q)),
        (false, Some(_)) => Err(Error::new(
            ErrorCode::InvalidRequest,
            "send credentialID or signatureQualifier, not both (a signatureQualifier alone asks for a short-lived certificate)",
        )),
        _ => Err(Error::new(
            ErrorCode::InvalidRequest,
            "credentialID (or, for a short-lived certificate, signatureQualifier) is required",
        )),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `POST /csc/v2/credentials/create`: a new credential under a policy, for the caller.
pub async fn create(
    Caller(signing, principal, request_id): Caller<Arc<Signing>>,
    Json(request): Json<CreateRequest>,
) -> Result<Json<CreateResponse>, Error> {
    let info = signing
        .create_credential(&principal, &request.policy, request_id)
        .await?;
    Ok(Json(CreateResponse {
        credential_id: info.credential.id.to_string(),
        certificates: info.chain.iter().map(|c| b64(c)).collect(),
    }))
}

/// `POST /csc/v2/credentials/delete`: revokes one of the caller's credentials and its
/// certificate, destroys its key and marks it deleted.
pub async fn delete(
    Caller(signing, principal, request_id): Caller<Arc<Signing>>,
    Json(request): Json<DeleteRequest>,
) -> Result<StatusCode, Error> {
    signing
        .delete_credential(&principal, &request.credential_id, request_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /csc/v2/credentials/extendTransaction`: a new SAD for the rest of an approved
/// transaction (same hashes and count of uses, no later expiry).
pub async fn extend_transaction(
    Caller(signing, principal, request_id): Caller<Arc<Signing>>,
    Json(request): Json<ExtendRequest>,
) -> Result<Json<AuthorizeResponse>, Error> {
    let sad = signing
        .extend_transaction(&principal, &request.credential_id, &request.sad, request_id)
        .await?;
    Ok(Json(AuthorizeResponse {
        sad: sad.token,
        expires_in: sad.expires_in,
    }))
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples};

    const CREDENTIAL: &str = "0b7f0c59-31c5-4cb5-9a4c-0d6c3c6e2f1a";

    request_samples! {
        CreateRequest => json!({"policy": "advanced"});
        DeleteRequest => json!({"credentialID": CREDENTIAL});
        ExtendRequest => json!({"credentialID": CREDENTIAL, "SAD": "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"});
    }

    response_samples! {
        CreateResponse => [CreateResponse {
            credential_id: CREDENTIAL.into(),
            certificates: vec!["MIIB".into(), "MIIC".into(), "MIID".into()],
        }];
    }

    #[test]
    fn a_request_names_a_credential_or_a_qualifier() {
        assert_eq!(qualifier(CREDENTIAL, None).unwrap(), None);
        assert_eq!(
            qualifier("", Some("eu_eidas_qes")).unwrap(),
            Some("eu_eidas_qes")
        );
        for (id, q) in [
            (CREDENTIAL, Some("eu_eidas_qes")),
            ("", None),
            ("", Some("")),
        ] {
            assert_eq!(
                qualifier(id, q).unwrap_err().code,
                ErrorCode::InvalidRequest
            );
        }
    }
}
