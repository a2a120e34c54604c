//! Asynchronous signing: CSC API v2.0.0.2 `signatures/signHash` and `signatures/signDoc` with
//! `operationMode` "A" (optional `validity_period`, in milliseconds, and `response_uri`), and
//! `signatures/signPolling`.
//!
//! An asynchronous request is checked like the synchronous one as far as that is cheap: the
//! form of its options, the callback URI (only one registered for the OAuth client of the
//! access token, exactly: nothing is ever sent to a URI a request names otherwise), the
//! credential (refused and recorded as the synchronous call would). It is then accepted within
//! the person's quota of pending operations ([`Store::start_operation`]: across nodes) and this
//! node's backlog, and answered with its `responseID`. The signing itself runs in the
//! background through exactly the synchronous path ([`Signing::sign_hash`],
//! [`Documents::sign_documents`]: SAD, hashes, credential state, audit records, the CPU pool
//! and the HSM pool), at most `workers` at once, stopped at its deadline; its outcome, the
//! body the synchronous call would have answered or its error, is stored and kept for the
//! validity period after the operation ends. Polling answers it to the person who asked,
//! every time until it expires (a reply lost in transit can be fetched again; the signatures
//! are spent either way), and nobody else.
//!
//! The callback, when asked for, is one JSON `POST` of `{"responseID": …}` and that same body
//! (or `error`, `error_description`, `support_ref`) to the registered URI, over TLS for an
//! https URI (trusting the system's roots and `async_signing.callback_ca`): no redirect is
//! followed, each attempt is bounded in time, the receiver's answer is not read, and there are
//! at most `callback_attempts` attempts with a growing pause; the outcome is recorded in the
//! audit trail (`callback_delivery`). The callback carries nothing but the result: no token,
//! SAD or credential data. A receiver must accept the same `responseID` twice (an attempt
//! that timed out may still have arrived).

mod callback;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tracing::Instrument as _;

use super::{
    person_ctx, unix_now, unix_now_ms, Documents, Error, ErrorCode, SignDoc, SignHash, Signing,
};
use crate::audit::{Audit, Context, Event};
use crate::clock::SharedClock;
use crate::config::{AsyncSigningConfig, ClientConfig};
use crate::identity::Principal;
use crate::store::{OperationRow, Store};
use callback::Transport;

/// The status of an operation that has not ended.
const PENDING: &str = "pending";
/// Seconds between an operation's timeout and the moment a pending one counts as interrupted.
const DEADLINE_GRACE: i64 = 5;
/// The longest `responseID` looked up (ours are UUIDs).
const MAX_ID_LEN: usize = 64;

/// Settings of asynchronous signing (`[async_signing]`, and each client's `response_uris`).
#[derive(Debug, Clone)]
pub struct OperationSettings {
    /// Most operations one person may have pending, on all nodes.
    pub max_pending: u32,
    /// Seconds a result is kept when the request names no `validity_period`.
    pub validity_secs: u32,
    /// Longest `validity_period`, seconds.
    pub max_validity_secs: u32,
    /// Longest an operation may take from its acceptance.
    pub timeout: Duration,
    /// Operations signing at once on this node.
    pub workers: usize,
    /// Operations accepted and not yet finished on this node.
    pub backlog: usize,
    /// Longest wait for one callback delivery.
    pub callback_timeout: Duration,
    /// Delivery attempts per callback.
    pub callback_attempts: u32,
    /// The pause before the second attempt; it doubles for each further one.
    pub callback_backoff: Duration,
    /// The registered response URIs, by OAuth client id.
    pub response_uris: BTreeMap<String, Vec<String>>,
    /// CA certificates (DER) that https callbacks trust beside the system's roots
    /// (`async_signing.callback_ca`).
    pub callback_roots: Vec<Vec<u8>>,
}

impl OperationSettings {
    /// The settings the configuration describes.
    #[must_use]
    pub fn new(config: &AsyncSigningConfig, clients: &[ClientConfig]) -> Self {
        Self {
            max_pending: config.max_pending,
            validity_secs: config.validity_secs,
            max_validity_secs: config.max_validity_secs,
            timeout: Duration::from_secs(u64::from(config.timeout_secs)),
            workers: usize::try_from(config.workers).unwrap_or(usize::MAX),
            backlog: usize::try_from(config.backlog).unwrap_or(usize::MAX),
            callback_timeout: Duration::from_secs(u64::from(config.callback_timeout_secs)),
            callback_attempts: config.callback_attempts,
            callback_backoff: Duration::from_secs(1),
            response_uris: clients
                .iter()
                .filter(|c| !c.response_uris.is_empty())
                .map(|c| (c.client_id.clone(), c.response_uris.clone()))
                .collect(),
            callback_roots: Vec::new(),
        }
    }
}

impl Default for OperationSettings {
    /// The configuration's defaults, with no client allowed a callback.
    fn default() -> Self {
        Self::new(&AsyncSigningConfig::default(), &[])
    }
}

/// What an asynchronous request adds to the synchronous one.
#[derive(Debug, Clone, Default)]
pub struct Asynchronous {
    /// CSC `validity_period`: milliseconds the result is kept after the operation ends.
    pub validity_ms: Option<u64>,
    /// CSC `response_uri`: where to send the result; one registered for the token's client.
    pub response_uri: Option<String>,
}

/// What a finished operation gives: what the synchronous call would have answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `signHash`: the signatures, in the order of the hashes.
    Signatures(Vec<Vec<u8>>),
    /// `signDoc`: each in request order.
    Documents {
        /// Attached and enveloped signatures, PDFs: the signed documents.
        with_signature: Vec<Vec<u8>>,
        /// Detached signatures.
        detached: Vec<Vec<u8>>,
    },
}

/// Where an operation stands, for `signPolling`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// Still running (or waiting for a worker).
    Pending,
    /// Ended with this result.
    Done(Outcome),
}

/// Asynchronous signing: accepting, running and polling operations, and their callbacks.
/// Cheap to clone; the background work holds it behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Operations {
    signing: Signing,
    documents: Documents,
    store: Store,
    audit: Audit,
    clock: SharedClock,
    settings: Arc<OperationSettings>,
    /// Turns for operations accepted and not yet finished on this node (taken without
    /// waiting: none free is `temporarily_unavailable`), so the requests waiting in memory are
    /// bounded.
    backlog: Arc<Semaphore>,
    /// Turns for operations signing at once.
    workers: Arc<Semaphore>,
    /// How callbacks are sent.
    transport: Transport,
}

/// The work of an operation: a synchronous request, parsed.
enum Job {
    Hash(SignHash),
    Documents(SignDoc),
}

impl Job {
    fn kind(&self) -> &'static str {
        match self {
            Self::Hash(_) => "hash",
            Self::Documents(_) => "doc",
        }
    }

    fn credential_id(&self) -> &str {
        match self {
            Self::Hash(r) => &r.credential_id,
            Self::Documents(r) => &r.credential_id,
        }
    }
}

/// Where a result goes: a URI registered for the client.
#[derive(Debug, Clone)]
struct Callback {
    client: String,
    uri: String,
}

/// An accepted operation as its background work knows it.
struct Accepted {
    id: String,
    /// Seconds the result is kept after the end.
    validity: i64,
    callback: Option<Callback>,
    /// The request's audit context (the person, the support reference of the request).
    ctx: Context,
    request_id: Option<String>,
}

/// The stored result, and the callback's body beside `responseID`: the members of the
/// synchronous reply, or of the error it would have been.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Body {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signatures: Option<Vec<String>>,
    #[serde(
        default,
        rename = "DocumentWithSignature",
        skip_serializing_if = "Option::is_none"
    )]
    document_with_signature: Option<Vec<String>>,
    #[serde(
        default,
        rename = "SignatureObject",
        skip_serializing_if = "Option::is_none"
    )]
    signature_object: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_description: Option<String>,
    /// The support reference of the request that started the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    support_ref: Option<String>,
}

/// The callback's body.
#[derive(Serialize)]
struct Message<'a> {
    #[serde(rename = "responseID")]
    response_id: &'a str,
    #[serde(flatten)]
    body: &'a Body,
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidRequest, message)
}

fn encode_all(items: &[Vec<u8>]) -> Vec<String> {
    items
        .iter()
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
        .collect()
}

fn decode_all(items: &[String]) -> Result<Vec<Vec<u8>>, Error> {
    items
        .iter()
        .map(|s| base64::engine::general_purpose::STANDARD.decode(s))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::internal(format!("stored result: {e}")))
}

impl Body {
    /// The body of a result; an error keeps its code, its caller-facing message and the
    /// request's support reference.
    fn of(result: &Result<Outcome, Error>, support_ref: Option<&str>) -> Self {
        match result {
            Ok(Outcome::Signatures(signatures)) => Self {
                signatures: Some(encode_all(signatures)),
                ..Self::default()
            },
            Ok(Outcome::Documents {
                with_signature,
                detached,
            }) => Self {
                document_with_signature: Some(encode_all(with_signature)),
                signature_object: Some(encode_all(detached)),
                ..Self::default()
            },
            Err(e) => Self {
                error: Some(e.code.as_str().to_owned()),
                error_description: Some(e.message.clone()),
                support_ref: support_ref.map(str::to_owned),
                ..Self::default()
            },
        }
    }

    /// The result again: the outcome, or the error with its code.
    fn outcome(self) -> Result<Outcome, Error> {
        if let Some(code) = self.error {
            let code = ErrorCode::ALL
                .iter()
                .copied()
                .find(|c| c.as_str() == code)
                .unwrap_or(ErrorCode::InternalError);
            let message = self
                .error_description
                .unwrap_or_else(|| code.description().to_owned());
            return Err(Error::new(code, message));
        }
        match (
            self.signatures,
            self.document_with_signature,
            self.signature_object,
        ) {
            (Some(signatures), None, None) => Ok(Outcome::Signatures(decode_all(&signatures)?)),
            (None, Some(with_signature), Some(detached)) => Ok(Outcome::Documents {
                with_signature: decode_all(&with_signature)?,
                detached: decode_all(&detached)?,
            }),
            _ => Err(Error::internal("stored result of an unknown shape")),
        }
    }
}

impl Operations {
    /// Asynchronous signing over these parts, with `settings`.
    pub(super) fn new(
        signing: Signing,
        documents: Documents,
        store: Store,
        audit: Audit,
        clock: SharedClock,
        settings: OperationSettings,
    ) -> Self {
        Self {
            backlog: Arc::new(Semaphore::new(settings.backlog)),
            workers: Arc::new(Semaphore::new(settings.workers)),
            transport: Transport::new(settings.callback_roots.clone()),
            settings: Arc::new(settings),
            signing,
            documents,
            store,
            audit,
            clock,
        }
    }

    /// Takes new settings (and the bounds they set), and the use cases as they are now.
    pub(super) fn configure(
        &mut self,
        settings: OperationSettings,
        signing: Signing,
        documents: Documents,
    ) {
        self.signing = signing;
        self.documents = documents;
        self.backlog = Arc::new(Semaphore::new(settings.backlog));
        self.workers = Arc::new(Semaphore::new(settings.workers));
        self.transport = Transport::new(settings.callback_roots.clone());
        self.settings = Arc::new(settings);
    }

    /// `signatures/signHash` with `operationMode` "A": accepts the request and answers its
    /// `responseID`; the signatures are made in the background as [`Signing::sign_hash`]
    /// makes them.
    ///
    /// # Errors
    /// `invalid_request` (a `validity_period` out of bounds, a `response_uri` not registered
    /// for the token's client); the credential's refusals (`credential_not_found`,
    /// `credential_suspended`, `credential_revoked`, `insufficient_loa`), recorded;
    /// `quota_exceeded`; `temporarily_unavailable` when this node's backlog is full.
    pub async fn sign_hash(
        self: &Arc<Self>,
        principal: &Principal,
        request: SignHash,
        options: &Asynchronous,
        request_id: Option<String>,
    ) -> Result<String, Error> {
        self.accept(principal, Job::Hash(request), options, request_id)
            .await
    }

    /// `signatures/signDoc` with `operationMode` "A", as [`Operations::sign_hash`]; the
    /// documents are signed in the background as [`Documents::sign_documents`] signs them.
    ///
    /// # Errors
    /// As [`Operations::sign_hash`].
    pub async fn sign_documents(
        self: &Arc<Self>,
        principal: &Principal,
        request: SignDoc,
        options: &Asynchronous,
        request_id: Option<String>,
    ) -> Result<String, Error> {
        self.accept(principal, Job::Documents(request), options, request_id)
            .await
    }

    /// `signatures/signPolling`: where the caller's operation stands. A failed operation is
    /// answered with the error the synchronous call would have given.
    ///
    /// # Errors
    /// `not_found` for an id that is not the caller's, or whose result is no longer kept;
    /// `temporarily_unavailable` for an operation interrupted by a stop of its node; the
    /// operation's own error.
    pub async fn poll(&self, principal: &Principal, response_id: &str) -> Result<Polled, Error> {
        let now = unix_now(&self.clock);
        let not_found = || {
            Error::new(
                ErrorCode::NotFound,
                "no such operation for this account, or its result is no longer kept",
            )
        };
        if response_id.len() > MAX_ID_LEN {
            return Err(not_found());
        }
        let row = self
            .store
            .operation(response_id, &principal.person.to_string(), now)
            .await?
            .ok_or_else(not_found)?;
        match (row.status.as_str(), row.result) {
            (PENDING, _) if row.deadline_at > now => Ok(Polled::Pending),
            (PENDING, _) => Err(Error::new(
                ErrorCode::TemporarilyUnavailable,
                "the operation was interrupted before it ended (the service stopped); its signatures may or may not have been made: ask for them again",
            )),
            (_, Some(bytes)) => {
                let body: Body = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::internal(format!("stored result: {e}")))?;
                body.outcome().map(Polled::Done)
            }
            (_, None) => Err(Error::internal("a finished operation without a result")),
        }
    }

    /// Checks what is cheap to check, accepts the operation within the quota and the backlog,
    /// and starts its work.
    async fn accept(
        self: &Arc<Self>,
        principal: &Principal,
        job: Job,
        options: &Asynchronous,
        request_id: Option<String>,
    ) -> Result<String, Error> {
        let validity = self.validity(options.validity_ms)?;
        let callback = self.callback(principal, options.response_uri.as_deref())?;
        let ctx = person_ctx(principal, request_id.clone());
        // The credential is checked, and a refusal answered and recorded, as the synchronous
        // call does; the rest of its checks run with the signing.
        if let Err(e) = self
            .signing
            .signing_credential(principal, job.credential_id())
            .await
        {
            return Err(self
                .signing
                .refuse_signature(&ctx, job.credential_id(), e)
                .await);
        }
        let turn = Arc::clone(&self.backlog).try_acquire_owned().map_err(|_| {
            Error::new(
                ErrorCode::TemporarilyUnavailable,
                "too many asynchronous operations are waiting; try again shortly",
            )
        })?;
        let now = unix_now(&self.clock);
        let timeout = i64::try_from(self.settings.timeout.as_secs()).unwrap_or(i64::MAX);
        let deadline = now.saturating_add(timeout).saturating_add(DEADLINE_GRACE);
        let id = uuid::Uuid::new_v4().to_string();
        let row = OperationRow {
            id: id.clone(),
            person: principal.person.to_string(),
            kind: job.kind().to_owned(),
            status: PENDING.to_owned(),
            result: None,
            created_at: now,
            deadline_at: deadline,
            expires_at: deadline.saturating_add(validity),
        };
        let max = self.settings.max_pending;
        if !self.store.start_operation(&row, i64::from(max)).await? {
            return Err(Error::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "at most {max} asynchronous operations may be pending at once; wait for the others to end"
                ),
            ));
        }
        tracing::info!(
            operation = %id,
            kind = job.kind(),
            callback = callback.is_some(),
            "asynchronous operation accepted"
        );
        let accepted = Accepted {
            id: id.clone(),
            validity,
            callback,
            ctx,
            request_id,
        };
        let this = Arc::clone(self);
        let principal = principal.clone();
        // The request's span follows the work, so its log lines carry the support reference.
        let work = async move {
            let _turn = turn;
            this.run(&principal, job, &accepted).await;
        };
        tokio::spawn(work.instrument(tracing::Span::current()));
        Ok(id)
    }

    /// Seconds a result is kept: `validity_period` (milliseconds, rounded up to whole
    /// seconds) within its bounds, or the default.
    fn validity(&self, validity_ms: Option<u64>) -> Result<i64, Error> {
        let Some(ms) = validity_ms else {
            return Ok(i64::from(self.settings.validity_secs));
        };
        let max = u64::from(self.settings.max_validity_secs);
        let secs = ms.div_ceil(1000);
        if secs == 0 || secs > max {
            return Err(bad(format!(
                "validity_period: from 1 to {} milliseconds",
                max.saturating_mul(1000)
            )));
        }
        Ok(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// The callback a request asks for: only a URI registered, exactly, for the OAuth client
    /// the access token was issued to. A token without such a client (a password or passkey
    /// login, another issuer's token) may not name one.
    fn callback(
        &self,
        principal: &Principal,
        response_uri: Option<&str>,
    ) -> Result<Option<Callback>, Error> {
        let Some(asked) = response_uri else {
            return Ok(None);
        };
        let registered = principal.client_id.as_deref().and_then(|client| {
            self.settings
                .response_uris
                .get(client)
                .and_then(|uris| uris.iter().find(|u| u.as_str() == asked))
                .map(|uri| Callback {
                    client: client.to_owned(),
                    uri: uri.clone(),
                })
        });
        match registered {
            Some(callback) => Ok(Some(callback)),
            None => {
                tracing::warn!(
                    client = ?principal.client_id,
                    "a response_uri not registered for the token's client was refused"
                );
                Err(bad(
                    "response_uri must be one of the URIs registered for the OAuth client the access token was issued to",
                ))
            }
        }
    }

    /// The background work: waits for a worker, signs, stores the outcome, sends the
    /// callback. The deadline covers the wait and the signing; reached, it stops the work (the
    /// signing future is dropped at its next await: a SAD spend is either committed with its
    /// audit records or not at all).
    async fn run(&self, principal: &Principal, job: Job, accepted: &Accepted) {
        let timeout = self.settings.timeout;
        let work = async {
            let _worker = Arc::clone(&self.workers)
                .acquire_owned()
                .await
                .map_err(|e| Error::internal(e.to_string()))?;
            self.execute(principal, job, accepted.request_id.clone())
                .await
        };
        let result = tokio::time::timeout(timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorCode::RequestTimeout,
                    format!(
                        "the operation took longer than {} seconds and was stopped",
                        timeout.as_secs()
                    ),
                ))
            });
        if let Err(e) = &result {
            tracing::info!(operation = %accepted.id, code = e.code.as_str(), detail = ?e.detail, "asynchronous operation failed");
        }
        let body = Body::of(&result, accepted.request_id.as_deref());
        let status = if result.is_ok() { "done" } else { "failed" };
        let stored = serde_json::to_vec(&body).unwrap_or_default();
        let expires = unix_now(&self.clock).saturating_add(accepted.validity);
        match self
            .store
            .finish_operation(&accepted.id, status, &stored, expires)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(operation = %accepted.id, "the operation was no longer pending");
            }
            Err(e) => {
                tracing::error!(operation = %accepted.id, error = %e, "the operation's result could not be stored");
            }
        }
        if let Some(callback) = &accepted.callback {
            self.deliver(accepted, callback, &body).await;
        }
    }

    /// Signs through the synchronous path.
    async fn execute(
        &self,
        principal: &Principal,
        job: Job,
        request_id: Option<String>,
    ) -> Result<Outcome, Error> {
        match job {
            Job::Hash(request) => self
                .signing
                .sign_hash(principal, &request, request_id)
                .await
                .map(Outcome::Signatures),
            Job::Documents(request) => {
                let signed = self
                    .documents
                    .sign_documents(principal, &request, request_id)
                    .await?;
                let (with_signature, detached) = request.split(signed);
                Ok(Outcome::Documents {
                    with_signature,
                    detached,
                })
            }
        }
    }

    /// Sends the result to the callback URI and records the outcome.
    async fn deliver(&self, accepted: &Accepted, callback: &Callback, body: &Body) {
        let message = Message {
            response_id: &accepted.id,
            body,
        };
        let (attempts, delivered, outcome) = match serde_json::to_vec(&message) {
            Ok(message) => self.post(&callback.uri, message).await,
            Err(e) => (0, false, format!("not encoded: {e}")),
        };
        if delivered {
            tracing::info!(operation = %accepted.id, client = %callback.client, attempts, "callback delivered");
        } else {
            tracing::warn!(operation = %accepted.id, client = %callback.client, attempts, %outcome, "callback not delivered");
        }
        let event = Event::CallbackDelivery {
            operation: accepted.id.clone(),
            client: callback.client.clone(),
            attempts,
            delivered,
            outcome,
        };
        let entry = accepted
            .ctx
            .entry(Some(format!("operation:{}", accepted.id)), event);
        if let Err(e) = self.audit.record(&entry, unix_now_ms(&self.clock)).await {
            tracing::error!(operation = %accepted.id, error = %e, "the callback's audit record could not be written");
        }
    }

    /// POSTs `message` to `uri` until a 2xx answer or the last attempt: over TLS for https
    /// (`callback`), no redirects, each attempt bounded by the callback timeout, the
    /// answer's body never read. Answers the attempts made, whether it was delivered, and the
    /// last outcome.
    async fn post(&self, uri: &str, message: Vec<u8>) -> (u32, bool, String) {
        let timeout = self.settings.callback_timeout;
        let attempts = self.settings.callback_attempts.max(1);
        let mut pause = self.settings.callback_backoff;
        let mut outcome = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
            let sent = self.transport.post(uri, message.clone());
            match tokio::time::timeout(timeout, sent).await {
                Ok(Ok(status)) => {
                    outcome = format!("HTTP {status}");
                    if (200..300).contains(&status) {
                        return (attempt, true, outcome);
                    }
                }
                Ok(Err(failure)) => failure.as_str().clone_into(&mut outcome),
                Err(_) => "timed out".clone_into(&mut outcome),
            }
        }
        (attempts, false, outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_survives_its_storage_and_an_error_keeps_its_code() {
        let outcome = Outcome::Documents {
            with_signature: vec![b"%PDF".to_vec()],
            detached: Vec::new(),
        };
        let body = Body::of(&Ok(outcome.clone()), None);
        let stored = serde_json::to_vec(&body).unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&stored).unwrap(),
            serde_json::json!({"DocumentWithSignature": ["JVBERg=="], "SignatureObject": []})
        );
        let again: Body = serde_json::from_slice(&stored).unwrap();
        assert_eq!(again.outcome().unwrap(), outcome);

        let refused = Err(Error::new(ErrorCode::SadUsed, "spent"));
        let body = Body::of(&refused, Some("ref-1"));
        let message = serde_json::to_value(Message {
            response_id: "op-1",
            body: &body,
        })
        .unwrap();
        assert_eq!(
            message,
            serde_json::json!({"responseID": "op-1", "error": "sad_used",
                "error_description": "spent", "support_ref": "ref-1"})
        );
        let e = body.outcome().unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::SadUsed, "spent"));
    }
}
