//! The CSC API for an organisation's system client (CSC API v2 §8.5, seals for machines).
//!
//! A request whose access token names a system client is answered here, for the methods a
//! machine may call — `credentials/list`, `credentials/info`, `credentials/authorize`,
//! `signatures/signHash`, `signatures/timestamp` and `auth/revoke` — with the same wire types
//! as a person's calls. Any other method gets the request as it came and refuses the client's
//! token as it refuses every token that names no person (`invalid_token`). The look at the
//! token that routes it verifies nothing; the handlers verify it ([`ClientCaller`]: signature,
//! claims, DPoP binding, the client still registered).
//!
//! For a machine the seal is activated by the client itself: `credentials/info` says
//! `authMode` `implicit` and SCAL 1, and `credentials/authorize` takes no factor.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::super::extract::{ClientCaller, Json};
use super::super::router::AppState;
use super::wire::{
    AuthInfo, AuthorizeRequest, AuthorizeResponse, CredentialInfoResponse, InfoRequest,
    ListRequest, ListResponse, SignHashRequest, SignHashResponse, TimestampRequest,
    TimestampResponse,
};
use super::{b64, check_user, describe, listed};
use crate::service::{CredentialInfo, Error, ErrorCode, Logins, Signing};

/// Sends a request whose access token names a system client to the machine's handler of its
/// CSC method; every other request goes on as it came.
pub(in crate::http) async fn dispatch(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let machine = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|header| header.split_once(' '))
        .is_some_and(|(_, token)| state.service.login.names_a_client(token.trim()));
    if !machine {
        return next.run(request).await;
    }
    let method = ["/csc/v1/", "/csc/v2/"]
        .iter()
        .find_map(|prefix| request.uri().path().strip_prefix(prefix))
        .unwrap_or_default()
        .to_owned();
    match method.as_str() {
        "credentials/list" => Handler::call(list, request, state).await,
        "credentials/info" => Handler::call(info, request, state).await,
        "credentials/authorize" => Handler::call(authorize, request, state).await,
        "signatures/signHash" => Handler::call(sign_hash, request, state).await,
        "signatures/timestamp" => Handler::call(timestamp, request, state).await,
        "auth/revoke" => Handler::call(revoke, request, state).await,
        _ => next.run(request).await,
    }
}

/// The CSC description of the seal for a system client: activated by the client's own key
/// (`implicit`, SCAL 1).
fn machine_describe(
    info: &CredentialInfo,
    certificates: Option<&str>,
    cert_info: bool,
    auth_info: bool,
) -> CredentialInfoResponse {
    let mut described = describe(info, certificates, cert_info, auth_info);
    described.auth_mode = "implicit";
    described.scal = "1";
    described.activation = &["client"];
    described.auth = auth_info.then_some(AuthInfo {
        mode: "implicit",
        expression: None,
        objects: None,
    });
    described.otp = None;
    described
}

/// `credentials/list` by a system client: its organisation's seal.
async fn list(
    ClientCaller(signing, machine, _): ClientCaller<Arc<Signing>>,
    body: Option<Json<ListRequest>>,
) -> Result<Json<ListResponse>, Error> {
    let request = body.map(|Json(b)| b).unwrap_or_default();
    check_user(
        &request,
        &machine.client_id,
        "userID must be the calling client (or left out)",
    )?;
    let credentials = signing.machine_credentials(&machine).await?;
    let (signing, machine) = (&signing, &machine);
    let info = move |id: String| async move { signing.machine_credential_info(machine, &id).await };
    Ok(Json(
        listed(&request, credentials, info, machine_describe).await?,
    ))
}

/// `credentials/info` by a system client: its organisation's seal only.
async fn info(
    ClientCaller(signing, machine, _): ClientCaller<Arc<Signing>>,
    Json(request): Json<InfoRequest>,
) -> Result<Json<CredentialInfoResponse>, Error> {
    let info = signing
        .machine_credential_info(&machine, &request.credential_id)
        .await?;
    Ok(Json(machine_describe(
        &info,
        request.certificates.as_deref(),
        request.cert_info,
        request.auth_info,
    )))
}

/// `credentials/authorize` by a system client: a SAD for the hashes, within its quota and
/// rate; the client's key is the activation, so the request carries no factor.
async fn authorize(
    ClientCaller(signing, machine, request_id): ClientCaller<Arc<Signing>>,
    Json(request): Json<AuthorizeRequest>,
) -> Result<Json<AuthorizeResponse>, Error> {
    if !request.auth_data.is_empty()
        || request.otp.is_some()
        || request.pin.is_some()
        || request.challenge_id.is_some()
        || request.webauthn.is_some()
    {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            "a system client activates with its own key: send no authData, OTP, PIN or webauthn",
        ));
    }
    let sad = signing
        .machine_authorize(&machine, &request.hashes(), request_id)
        .await?;
    Ok(Json(AuthorizeResponse {
        sad: sad.token,
        expires_in: sad.expires_in,
    }))
}

/// `signatures/signHash` by a system client, with the SAD of its authorization.
async fn sign_hash(
    ClientCaller(signing, machine, request_id): ClientCaller<Arc<Signing>>,
    Json(request): Json<SignHashRequest>,
) -> Result<Json<SignHashResponse>, Error> {
    if request.operation_mode.as_deref().is_some_and(|m| m != "S") {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            "a system client signs in the synchronous operation mode (S)",
        ));
    }
    let sign = request.into_sign_hash();
    let signatures = signing
        .machine_sign_hash(&machine, &sign, request_id)
        .await?;
    Ok(Json(SignHashResponse {
        signatures: signatures.iter().map(|s| b64(s)).collect(),
        certificates: None,
    }))
}

/// `signatures/timestamp` by a system client.
async fn timestamp(
    ClientCaller(signing, _, _): ClientCaller<Arc<Signing>>,
    Json(request): Json<TimestampRequest>,
) -> Result<Json<TimestampResponse>, Error> {
    let token = signing
        .timestamp_hash(request.hash_algorithm.as_deref(), &request.hash)
        .await?;
    Ok(Json(TimestampResponse {
        timestamp: b64(&token),
    }))
}

/// `auth/revoke` by a system client: ends its access token.
async fn revoke(
    ClientCaller(login, machine, _): ClientCaller<Arc<Logins>>,
) -> Result<StatusCode, Error> {
    login.revoke_machine(&machine).await?;
    Ok(StatusCode::NO_CONTENT)
}
