//! Use cases, one service each. A use case owns its transaction boundaries, reads the clock
//! once per request, and turns the domain's failures into [`Error`]s with stable codes.
//!
//! [`Service`] is the container the HTTP layer and the commands hold; `app::App::assemble`
//! builds it (with [`Service::new`] and the `with_*` settings). It has one field per use case,
//! each a small, cheap-to-clone struct that holds only the parts it needs:
//!
//! | field | struct | use cases |
//! |---|---|---|
//! | `login` | [`Logins`] | the identity provider: password and passkey logins, step-ups, the OAuth authorization-code flow, the token endpoint's PAR, DPoP, private_key_jwt and client credentials, logout, JWKS and discovery |
//! | `signing` | [`Signing`] | credentials (listing, info, suspend, resume, revoke, create, delete), activation (SAD issuance, also approved on the person's phone, also for a signature qualifier, and extending a transaction), `signHash` (also under a short-lived certificate), `signatures/timestamp` |
//! | `documents` | [`Documents`] | `signDoc` (CAdES, XAdES, PAdES), the upload, review and sign flow, extending signed PDFs |
//! | `operations` | [`Operations`] | asynchronous `signHash` and `signDoc` (CSC `operationMode` "A"), `signPolling`, callbacks |
//! | `orgs` | [`Organisations`] | organisations, members, rights and seals, system clients; powers of attorney between them |
//! | `validation` | [`Validation`] | validating signed files, with the EU trusted lists ([`TrustedLists`]) |
//! | `trust` | [`Trust`] | the PKI's public side: CA certificates, CRLs, OCSP, RFC 3161 time-stamps |
//! | `account` | [`Account`] | a person's own factors and history, the support view |
//!
//! Beside them, [`Service`] keeps the operations about the whole service: readiness, HSM
//! counters, the start and stop records, pruning and shutdown.
//!
//! A use case that needs another holds a clone of it (documents are signed through
//! [`Signing`]; signing and documents take time-stamps from [`Trust`]); none calls back through
//! [`Service`]. CPU-heavy work on untrusted input runs in one pool for the whole service
//! (`Cpu`), of which the use cases that need it hold clones.
//!
//! May use the domain modules, `store`, `hsm`, `clock` and `config`.

mod account;
mod approvals;
mod cases;
mod credentials;
mod document_types;
mod documents;
pub mod error;
mod fetch;
mod lifecycle;
mod login;
mod mandates;
mod oauth;
mod operations;
mod orgs;
mod pdf;
mod review;
pub mod scal;
mod signing;
mod tls;
mod trust;
mod trusted_lists;
mod validation;

use std::sync::Arc;

use crate::audit::{Audit, Context, Event};
use crate::clock::SharedClock;
use crate::hsm::Hsm;
pub use crate::identity::loa::Loa;
pub use crate::identity::oauth::AuthorizeQuery;
use crate::identity::Identity;
pub use crate::identity::{Issued, Principal};
use crate::keys::Keys;
use crate::pki::Pki;
use crate::sam::Sam;
use crate::store::Store;

pub use crate::formats::pades::{Options as PdfOptions, Visible as PdfVisible};
pub use crate::formats::representation::Rule;
pub use crate::keys::policy::Scal;
pub use crate::keys::{Credential, Kind as CredentialKind, Status as CredentialStatus};
pub use crate::orgs::mandates::{Listed as ListedMandate, MandateGrant};
pub use crate::orgs::{Cvr, Grants, Right};
pub use crate::sam::Sad;
pub use crate::store::{MemberRow, OrganisationRow, RequestRow};
pub use crate::validate::etsi::MEDIA_TYPE as ETSI_REPORT_MEDIA_TYPE;
pub use crate::validate::report::rfc3339;
pub use crate::validate::Report as ValidationReport;
pub use account::{
    is_support_reference, short_reference, short_reference_range, Account, Factors, TotpOffer,
};
pub use approvals::{Approval, ApprovalCheck, ApprovalHash, ApprovalState, PendingApproval};
pub use cases::{CaseSigning, CaseView, NewCase, OnBehalf, PROXY_ROLE};
pub use credentials::{CredentialInfo, StateChange};
pub use document_types::{level_name, parse_level, Document, Format, Level, SignDoc, Uploaded};
pub use documents::{Documents, Extended};
pub use error::{Error, ErrorCode};
pub use login::{AuthorizeForm, AuthorizeOutcome, Ceremony, Logins, PasskeyLogin};
pub use mandates::{MandateTerms, PersonMandates};
pub use operations::{Asynchronous, OperationSettings, Operations, Outcome, Polled};
pub use orgs::{BulkLine, BulkOutcome, BulkReport, Organisations, OwnMembership};
pub use review::{document_name, DocumentInfo, DocumentText, PREVIEW_PAGES};
pub use signing::{Activation, Hashes, ShortLivedSigned, SignHash, Signing};
pub use trust::Trust;
pub use trusted_lists::TrustedLists;
pub use validation::{Validation, ValidationSettings};

pub use crate::identity::client_auth::ClientAssertion;
pub use crate::identity::dpop::{Presented, Scheme};
pub use crate::identity::machine::{Machine, SystemClient};
pub use crate::identity::par::Pushed;
pub use oauth::TokenRequest;
pub use orgs::ClientRegistration;

/// The service: one field per use case, and the operations about the whole service. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct Service {
    /// Logins and the rest of the identity provider.
    pub login: Arc<Logins>,
    /// Credentials, activation and signing hashes.
    pub signing: Arc<Signing>,
    /// Signing whole documents, uploaded documents, extending PDFs.
    pub documents: Arc<Documents>,
    /// Asynchronous signing and its callbacks.
    pub operations: Arc<Operations>,
    /// Organisations, their members and seals.
    pub orgs: Arc<Organisations>,
    /// Validating signed files.
    pub validation: Arc<Validation>,
    /// CA certificates, CRLs, OCSP and time-stamps.
    pub trust: Arc<Trust>,
    /// A person's own account and the support view.
    pub account: Arc<Account>,
    store: Store,
    hsm: Hsm,
    audit: Audit,
    clock: SharedClock,
}

/// How long a request waits for a turn at CPU-heavy work before it is answered 503.
const CPU_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long an uploaded document is kept by default, seconds.
pub const DEFAULT_DOCUMENT_LIFETIME: u32 = 900;

/// How long a person has by default to approve a request on their phone, seconds.
pub const DEFAULT_APPROVAL_LIFETIME: u32 = 300;

/// Turns for CPU-heavy work on untrusted input (parsing, preparing and validating
/// documents): one per core, so such work never starves the async runtime or itself. There is
/// one pool per [`Service`]: the use cases that need it hold clones of the same semaphore.
#[derive(Debug, Clone)]
pub(crate) struct Cpu(Arc<tokio::sync::Semaphore>);

impl Cpu {
    /// A pool with one turn per core.
    fn new() -> Self {
        Self(Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        )))
    }

    /// Runs CPU-heavy work on a blocking thread when a turn is free (one per core; waiting
    /// is bounded by [`CPU_WAIT`], then `temporarily_unavailable`). The turn is held until the
    /// work ends, also when the request gave up on it, so that abandoned work still counts.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = tokio::time::timeout(CPU_WAIT, Arc::clone(&self.0).acquire_owned())
            .await
            .map_err(|_| {
                Error::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the service is busy with other documents; try again shortly",
                )
            })?
            .map_err(|e| Error::internal(e.to_string()))?;
        // The request's span follows the work onto the blocking thread, so its lines carry the
        // support reference too.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _turn = permit;
            let _span = span.enter();
            work()
        })
        .await
        .map_err(|e| Error::internal(format!("worker: {e}")))
    }
}

/// The parts a [`Service`] is made of.
#[derive(Debug)]
pub struct Parts {
    /// The database.
    pub store: Store,
    /// The HSM.
    pub hsm: Hsm,
    /// The PKI.
    pub pki: Pki,
    /// The audit log.
    pub audit: Audit,
    /// The identity provider.
    pub identity: Identity,
    /// Credentials.
    pub keys: Keys,
    /// The signature activation module.
    pub sam: Sam,
    /// Organisations.
    pub orgs: crate::orgs::Orgs,
    /// The clock.
    pub clock: SharedClock,
}

/// Readiness of each dependency, for `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// `None` when the database answers, else why not.
    pub database: Option<String>,
    /// `None` when the HSM answers and the master key is there, else why not.
    pub hsm: Option<String>,
}

impl Readiness {
    /// Whether every dependency is ready.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.database.is_none() && self.hsm.is_none()
    }
}

/// HSM counters for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HsmStats {
    /// Operations run.
    pub operations: u64,
    /// Operations that failed.
    pub failures: u64,
    /// Pool rebuilds after lost sessions.
    pub rebuilds: u64,
    /// User keys unwrapped.
    pub unwraps: u64,
    /// Idle sessions.
    pub idle_sessions: u64,
}

/// The current time of `clock`, Unix seconds (read once per request).
fn unix_now(clock: &SharedClock) -> i64 {
    clock.now().unix_timestamp()
}

/// The current time of `clock`, Unix milliseconds (audit records).
fn unix_now_ms(clock: &SharedClock) -> i64 {
    i64::try_from(clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The audit context of a request by a person.
fn person_ctx(principal: &Principal, request_id: Option<String>) -> Context {
    Context::person(principal.person, request_id)
}

/// A person as the owner of credentials (their name from the account).
///
/// # Errors
/// `invalid_token` when the account no longer exists; store failures.
async fn owner(
    store: &Store,
    person: &crate::types::PersonId,
) -> Result<crate::keys::Owner, Error> {
    let row = store
        .person_by_id(&person.to_string())
        .await?
        .ok_or_else(|| Error::new(ErrorCode::InvalidToken, "the account no longer exists"))?;
    Ok(crate::keys::Owner {
        id: *person,
        given_name: row.given_name,
        family_name: row.family_name,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::internal(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| {
        Error::new(
            ErrorCode::InvalidRequest,
            format!("malformed WebAuthn credential: {e}"),
        )
    })
}

fn audit_error(e: crate::audit::Error) -> Error {
    match e {
        crate::audit::Error::Store(e) => e.into(),
        crate::audit::Error::Hsm(e) => e.into(),
        other => Error::internal(other.to_string()),
    }
}

impl Service {
    /// Builds the service from its parts: every use case, sharing the parts and one CPU pool.
    #[must_use]
    pub fn new(parts: Parts) -> Self {
        let Parts {
            store,
            hsm,
            pki,
            audit,
            identity,
            keys,
            sam,
            orgs,
            clock,
        } = parts;
        let cpu = Cpu::new();
        let trust = Trust {
            pki: pki.clone(),
            clock: clock.clone(),
        };
        let signing = Signing {
            store: store.clone(),
            pki: pki.clone(),
            audit: audit.clone(),
            identity: identity.clone(),
            keys,
            sam: sam.clone(),
            orgs: orgs.clone(),
            clock: clock.clone(),
            trust: trust.clone(),
            approval_lifetime: i64::from(DEFAULT_APPROVAL_LIFETIME),
        };
        let pades = pdf::Pades {
            pki: pki.clone(),
            sam: sam.clone(),
            clock: clock.clone(),
            cpu: cpu.clone(),
            trust: trust.clone(),
        };
        let documents = Documents {
            store: store.clone(),
            pki: pki.clone(),
            sam,
            clock: clock.clone(),
            cpu: cpu.clone(),
            signing: signing.clone(),
            trust: trust.clone(),
            pades,
            lifetime: i64::from(DEFAULT_DOCUMENT_LIFETIME),
            validation: Arc::new(ValidationSettings::default()),
        };
        let operations = Operations::new(
            signing.clone(),
            documents.clone(),
            store.clone(),
            audit.clone(),
            clock.clone(),
            OperationSettings::default(),
        );
        let validation = Validation {
            store: store.clone(),
            pki,
            clock: clock.clone(),
            cpu,
            settings: Arc::new(ValidationSettings::default()),
            trusted_lists: Arc::new(TrustedLists::default()),
        };
        let organisations = Organisations {
            store: store.clone(),
            orgs,
            clock: clock.clone(),
            identity: identity.clone(),
        };
        let account = Account {
            store: store.clone(),
            identity: identity.clone(),
            audit: audit.clone(),
            clock: clock.clone(),
            operators: Arc::new(Vec::new()),
        };
        let login = Logins {
            identity,
            clock: clock.clone(),
        };
        Self {
            login: Arc::new(login),
            signing: Arc::new(signing),
            documents: Arc::new(documents),
            operations: Arc::new(operations),
            orgs: Arc::new(organisations),
            validation: Arc::new(validation),
            trust: Arc::new(trust),
            account: Arc::new(account),
            store,
            hsm,
            audit,
            clock,
        }
    }

    /// Names the support operators (usernames): they may use the support view.
    #[must_use]
    pub fn with_operators(mut self, usernames: Vec<String>) -> Self {
        Arc::make_mut(&mut self.account).operators = Arc::new(usernames);
        self
    }

    /// Validates with these settings (trust anchors, limits, trusted lists).
    #[must_use]
    pub fn with_validation(mut self, settings: ValidationSettings) -> Self {
        let validation = Arc::make_mut(&mut self.validation);
        validation.trusted_lists = Arc::new(
            TrustedLists::new(
                settings.lotl_url.clone(),
                &settings.lotl_certs,
                settings.trusted_list_dir.clone(),
            )
            .with_fetch(&settings),
        );
        let settings = Arc::new(settings);
        validation.settings = Arc::clone(&settings);
        Arc::make_mut(&mut self.documents).validation = settings;
        self
    }

    /// Runs asynchronous signing with these settings (quota, validity, workers, callbacks).
    /// Call after the other `with_*` settings: the operations sign through the use cases as
    /// they are then.
    #[must_use]
    pub fn with_operations(mut self, settings: OperationSettings) -> Self {
        let signing = Signing::clone(&self.signing);
        let documents = Documents::clone(&self.documents);
        Arc::make_mut(&mut self.operations).configure(settings, signing, documents);
        self
    }

    /// Keeps uploaded documents (and their signed results) `secs` seconds.
    #[must_use]
    pub fn with_document_lifetime(mut self, secs: u32) -> Self {
        Arc::make_mut(&mut self.documents).lifetime = i64::from(secs.max(1));
        self
    }

    /// Gives a person `secs` seconds to approve a request on their phone.
    #[must_use]
    pub fn with_approval_lifetime(mut self, secs: u32) -> Self {
        Arc::make_mut(&mut self.signing).approval_lifetime = i64::from(secs.max(1));
        self
    }

    fn now(&self) -> i64 {
        unix_now(&self.clock)
    }

    /// Deletes expired working data (see `Store::prune`); run periodically by `qsign serve`.
    ///
    /// # Errors
    /// Store failures.
    pub async fn prune(&self) -> Result<u64, Error> {
        let pruned = self.store.prune(self.now()).await?;
        let total = pruned.iter().map(|(_, n)| n).sum();
        if total > 0 {
            tracing::info!(?pruned, "expired working data pruned");
        }
        Ok(total)
    }

    /// The service's current time, Unix seconds (pages compare dates against it).
    #[must_use]
    pub fn clock_now(&self) -> i64 {
        self.now()
    }

    /// Records that the service started with a configuration (its redacted fingerprint).
    ///
    /// # Errors
    /// When the record cannot be written: the service must not start unaudited.
    pub async fn started(&self, config_sha256: String) -> Result<(), Error> {
        let event = Event::ServiceStarted {
            config_sha256,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        let entry = Context::system().entry(None, event);
        self.audit
            .record(&entry, unix_now_ms(&self.clock))
            .await
            .map_err(audit_error)?;
        Ok(())
    }

    /// Records the stop and signs a checkpoint over the head of the audit log.
    ///
    /// # Errors
    /// Database or HSM failures.
    pub async fn stopping(&self) -> Result<(), Error> {
        let now = unix_now_ms(&self.clock);
        let entry = Context::system().entry(None, Event::ServiceStopped);
        self.audit.record(&entry, now).await.map_err(audit_error)?;
        self.audit.checkpoint_head(now).await.map_err(audit_error)?;
        Ok(())
    }

    /// Checks the database and the HSM, concurrently.
    pub async fn readiness(&self) -> Readiness {
        let (db, hsm) = tokio::join!(self.store.ping(), self.hsm.ping());
        Readiness {
            database: db.err().map(|e| e.to_string()),
            hsm: hsm.err().map(|e| e.to_string()),
        }
    }

    /// HSM counters.
    #[must_use]
    pub fn hsm_stats(&self) -> HsmStats {
        let s = self.hsm.stats();
        HsmStats {
            operations: s.operations,
            failures: s.failures,
            rebuilds: s.rebuilds,
            unwraps: s.unwraps,
            idle_sessions: s.idle_sessions,
        }
    }

    /// Closes the database pools (graceful shutdown).
    pub async fn close(&self) {
        self.store.close().await;
    }
}
