//! CSC v2 asynchronous signing: `signatures/signHash` and `signatures/signDoc` with
//! `operationMode` "A" answer 202 and a `responseID`; `signatures/signPolling` answers 202
//! while the operation runs, then what the synchronous call would have answered (or its
//! error). Without "A" the requests go to the synchronous handlers unchanged; `validity_period`
//! and `response_uri` belong to the asynchronous mode only. The checks and the work are the
//! service's ([`Operations`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::wire::{AcceptedResponse, PollRequest, PollResponse, SignDocRequest, SignHashRequest};
use crate::http::extract::{Caller, Json};
use crate::service::{
    Asynchronous, Documents, Error, ErrorCode, Operations, Outcome, Polled, Signing,
};

/// The operation mode a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `S`, or none.
    Synchronous,
    /// `A`.
    Asynchronous,
}

/// The mode of a request; the asynchronous options are refused without `A` (CSC: they MAY be
/// given only with it), and a mode other than `S` or `A` is refused.
fn mode(
    operation_mode: Option<&str>,
    validity_period: Option<u64>,
    response_uri: Option<&str>,
) -> Result<Mode, Error> {
    match operation_mode {
        Some("A") => Ok(Mode::Asynchronous),
        None | Some("S") if validity_period.is_none() && response_uri.is_none() => {
            Ok(Mode::Synchronous)
        }
        None | Some("S") => Err(Error::new(
            ErrorCode::InvalidRequest,
            "validity_period and response_uri go with operationMode A only",
        )),
        Some(_) => Err(Error::new(
            ErrorCode::InvalidRequest,
            "operationMode: S (synchronous, the default) or A (asynchronous)",
        )),
    }
}

/// The asynchronous options of a request in mode `A` (its `response_uri` taken); `None` in
/// mode `S`, which the synchronous handler answers. A short-lived certificate
/// (`signatureQualifier`) is signed for synchronously only: its key lives for one request.
fn asynchronous(
    operation_mode: Option<&str>,
    validity_period: Option<u64>,
    response_uri: &mut Option<String>,
    signature_qualifier: Option<&str>,
) -> Result<Option<Asynchronous>, Error> {
    match mode(operation_mode, validity_period, response_uri.as_deref())? {
        Mode::Synchronous => Ok(None),
        Mode::Asynchronous if signature_qualifier.is_some() => Err(Error::new(
            ErrorCode::InvalidRequest,
            "signatureQualifier is signed for in the synchronous operation mode (S) only",
        )),
        Mode::Asynchronous => Ok(Some(Asynchronous {
            validity_ms: validity_period,
            response_uri: response_uri.take(),
        })),
    }
}

/// The 202 answer with the operation's id.
fn accepted(response_id: String) -> Response {
    (StatusCode::ACCEPTED, Json(AcceptedResponse { response_id })).into_response()
}

fn b64(items: &[Vec<u8>]) -> Vec<String> {
    items
        .iter()
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
        .collect()
}

/// `POST /csc/v2/signatures/signHash`: asynchronous with `operationMode` "A", else the
/// synchronous [`super::sign_hash`].
pub async fn sign_hash(
    Caller(operations, principal, request_id): Caller<Arc<Operations>>,
    State(signing): State<Arc<Signing>>,
    Json(mut request): Json<SignHashRequest>,
) -> Result<Response, Error> {
    let Some(options) = asynchronous(
        request.operation_mode.as_deref(),
        request.validity_period,
        &mut request.response_uri,
        request.signature_qualifier.as_deref(),
    )?
    else {
        let reply = super::sign_hash(Caller(signing, principal, request_id), Json(request));
        return Ok(reply.await?.into_response());
    };
    let id = operations
        .sign_hash(&principal, request.into_sign_hash(), &options, request_id)
        .await?;
    Ok(accepted(id))
}

/// `POST /csc/v2/signatures/signDoc`: asynchronous with `operationMode` "A", else the
/// synchronous [`super::sign_doc`]. The documents are read (and a refused format answered) at
/// once.
pub async fn sign_doc(
    Caller(operations, principal, request_id): Caller<Arc<Operations>>,
    State(documents): State<Arc<Documents>>,
    Json(mut request): Json<SignDocRequest>,
) -> Result<Response, Error> {
    let Some(options) = asynchronous(
        request.operation_mode.as_deref(),
        request.validity_period,
        &mut request.response_uri,
        request.signature_qualifier.as_deref(),
    )?
    else {
        let reply = super::sign_doc(Caller(documents, principal, request_id), Json(request));
        return Ok(reply.await?.into_response());
    };
    let sign = super::documents_to_sign(request)?;
    let id = operations
        .sign_documents(&principal, sign, &options, request_id)
        .await?;
    Ok(accepted(id))
}

/// `POST /csc/v2/signatures/signPolling`: 202 with the `responseID` while the caller's
/// operation runs; then its result as the synchronous call would have answered it, or its
/// error; `not_found` for an id that is not the caller's or no longer kept.
pub async fn sign_polling(
    Caller(operations, principal, _): Caller<Arc<Operations>>,
    Json(request): Json<PollRequest>,
) -> Result<Response, Error> {
    let polled = operations.poll(&principal, &request.response_id).await?;
    let reply = match polled {
        Polled::Pending => return Ok(accepted(request.response_id)),
        Polled::Done(Outcome::Signatures(signatures)) => PollResponse {
            signatures: Some(b64(&signatures)),
            document_with_signature: None,
            signature_object: None,
        },
        Polled::Done(Outcome::Documents {
            with_signature,
            detached,
        }) => PollResponse {
            signatures: None,
            document_with_signature: Some(b64(&with_signature)),
            signature_object: Some(b64(&detached)),
        },
    };
    Ok(Json(reply).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_is_s_or_a_and_the_options_need_a() {
        assert_eq!(mode(None, None, None).unwrap(), Mode::Synchronous);
        assert_eq!(mode(Some("S"), None, None).unwrap(), Mode::Synchronous);
        assert_eq!(
            mode(Some("A"), Some(1000), Some("https://a/cb")).unwrap(),
            Mode::Asynchronous
        );
        assert_eq!(mode(Some("A"), None, None).unwrap(), Mode::Asynchronous);
        for (m, v, r) in [
            (None, Some(1000), None),
            (Some("S"), None, Some("https://a/cb")),
            (Some("X"), None, None),
        ] {
            let e = mode(m, v, r).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest, "{m:?} {v:?} {r:?}");
        }
    }
}
