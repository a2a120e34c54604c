//! Approval on the person's phone over the CSC API (v2.0.0.2: `credentials/authorize` may
//! answer 202 with a `handle` while the authorization is under way, and
//! `credentials/authorizeCheck` takes that `handle` and answers 202 again, or 200 with the
//! SAD).
//!
//! CSC leaves open when a service answers 202; qsign does when the request says so with the
//! member `authMode` `oob` (or CSC's credential mode name `implicit`: "managed by the service,
//! which interacts with the user directly"), so that every existing way of calling
//! `credentials/authorize` answers as before. Such a request carries no factor; `labels`, one
//! per hash, say what each hash stands for. The 202 body is CSC's `handle`, with `expiresIn`
//! (seconds the person has) and `approvalURL` (qsign: the page where the person approves,
//! `{public_url}/approvals/{handle}`, for the relying party to show as a link or QR code).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};

use super::wire::{AuthorizeRequest, AuthorizeResponse};
use crate::http::extract::{Caller, Json};
use crate::http::router::AppState;
use crate::service::{ApprovalCheck, Error, ErrorCode, PendingApproval, Principal, Signing};

/// `credentials/authorizeCheck` request.
#[derive(Debug, Deserialize)]
pub struct AuthorizeCheckRequest {
    /// The `handle` `credentials/authorize` answered.
    pub(super) handle: String,
}

/// The 202 reply of `credentials/authorize` and `credentials/authorizeCheck`: the request
/// waits for the person.
#[derive(Debug, Serialize)]
pub struct PendingResponse {
    /// What `credentials/authorizeCheck` takes.
    pub(super) handle: String,
    /// Seconds the person has to decide.
    #[serde(rename = "expiresIn")]
    pub(super) expires_in: i64,
    /// qsign: the page where the person approves.
    #[serde(rename = "approvalURL")]
    pub(super) approval_url: String,
}

impl AuthorizeRequest {
    /// Whether the request asks for approval on the person's phone (`authMode` `oob` or
    /// `implicit`); such a request carries no factor. `labels` come only with it; the CSC
    /// credential modes `explicit` and `oauth2code` change nothing.
    ///
    /// # Errors
    /// `invalid_request` for another `authMode`, a factor with `oob`, or `labels` without it.
    pub(super) fn out_of_band(&self) -> Result<bool, Error> {
        let bad = |m: &str| Error::new(ErrorCode::InvalidRequest, m);
        match self.auth_mode.as_deref() {
            Some("oob" | "implicit") => {
                if !self.auth_data.is_empty()
                    || self.otp.is_some()
                    || self.pin.is_some()
                    || self.challenge_id.is_some()
                    || self.webauthn.is_some()
                {
                    return Err(bad(
                        "authMode oob takes no factor in the request: the person approves on their own phone",
                    ));
                }
                Ok(true)
            }
            None | Some("explicit" | "oauth2code") => {
                if self.labels.is_some() {
                    return Err(bad("labels: only with authMode oob"));
                }
                Ok(false)
            }
            Some(_) => Err(bad(
                "authMode: oob (or implicit) asks the person on their phone; leave it out otherwise",
            )),
        }
    }
}

/// Keeps an `authMode` `oob` request for the person and answers 202 with its handle.
pub(super) async fn ask(
    state: &AppState,
    signing: &Signing,
    principal: &Principal,
    request: AuthorizeRequest,
    request_id: Option<String>,
) -> Result<Response, Error> {
    let hashes = request.hashes();
    let pending = signing
        .ask_approval(principal, &hashes, request.labels, request_id)
        .await?;
    Ok(pending_reply(state, pending))
}

/// `POST /csc/v2/credentials/authorizeCheck`: where an `authMode` `oob` request stands, for
/// the token that asked: 202 with the `handle` while the person has not decided, 200 with the
/// SAD once they approved (handed out once); `authorization_refused`,
/// `authorization_expired`, `authorization_closed` (collected already), or `not_found` for an
/// unknown handle or one of another caller.
pub async fn authorize_check(
    State(state): State<AppState>,
    Caller(signing, principal, request_id): Caller<Arc<Signing>>,
    Json(request): Json<AuthorizeCheckRequest>,
) -> Result<Response, Error> {
    match signing
        .collect_approval(&principal, &request.handle, request_id)
        .await?
    {
        ApprovalCheck::Pending(pending) => Ok(pending_reply(&state, pending)),
        ApprovalCheck::Approved(sad) => Ok(Json(AuthorizeResponse {
            sad: sad.token,
            expires_in: sad.expires_in,
        })
        .into_response()),
    }
}

/// 202 with the handle, the time left and the approval page.
fn pending_reply(state: &AppState, pending: PendingApproval) -> Response {
    let approval_url = format!("{}/approvals/{}", state.config.public_url(), pending.id);
    let body = PendingResponse {
        handle: pending.id,
        expires_in: pending.expires_in,
        approval_url,
    };
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples};

    const HANDLE: &str = "5b0e8f0c-3c0e-4a55-9b1e-2f1c7d1a9e42";

    request_samples! {
        AuthorizeCheckRequest => json!({"handle": HANDLE});
    }

    response_samples! {
        PendingResponse => [PendingResponse {
            handle: HANDLE.into(),
            expires_in: 300,
            approval_url: format!("https://qsign.example/approvals/{HANDLE}"),
        }];
    }

    #[test]
    fn oob_takes_no_factor_and_labels_need_it() {
        let ask = |extra: serde_json::Value| {
            let mut body = json!({"credentialID": "c", "hashes": ["AA=="]});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            serde_json::from_value::<AuthorizeRequest>(body)
                .unwrap()
                .out_of_band()
        };
        assert!(!ask(json!({})).unwrap());
        assert!(!ask(json!({"authMode": "explicit"})).unwrap());
        assert!(ask(json!({"authMode": "oob", "labels": ["a"]})).unwrap());
        assert!(ask(json!({"authMode": "implicit"})).unwrap());
        for refused in [
            json!({"authMode": "oob", "OTP": "123456"}),
            json!({"authMode": "oob", "authData": [{"id": "OTP", "value": "1"}]}),
            json!({"authMode": "sms"}),
            json!({"labels": ["a"]}),
        ] {
            assert_eq!(
                ask(refused.clone()).unwrap_err().code,
                ErrorCode::InvalidRequest,
                "{refused}"
            );
        }
    }
}
