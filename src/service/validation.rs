//! Validation for verifiers: the service's own root as trust anchor (plus any the caller adds
//! and the CA/QC services of the EU trusted lists, when configured: `super::trusted_lists`),
//! and fresh CRLs of its own CAs as the revocation data a verifier would fetch.

use std::sync::Arc;

use super::trusted_lists::TrustedLists;
use super::{unix_now, Cpu, Error, ErrorCode};
use crate::clock::SharedClock;
use crate::config::ValidationConfig;
use crate::pki::{Ca, Pki};
use crate::store::Store;
use crate::validate::report::TrustedListStatus;
use crate::validate::{self, Cert, Material, Report};

/// How validation runs: extra trust anchors, the size and time limits.
#[derive(Debug, Clone)]
pub struct ValidationSettings {
    /// Trust anchors beside the service's root (DER).
    pub anchors: Vec<Vec<u8>>,
    /// Largest file, bytes.
    pub max_bytes: usize,
    /// Longest validation, seconds.
    pub timeout_secs: u64,
    /// Fetch CRLs of other CAs from their distribution points when a file carries none.
    pub fetch_revocation: bool,
    /// Longest wait for one fetched CRL, seconds.
    pub fetch_timeout_secs: u64,
    /// The EU list of trusted lists (`validation.lotl_url`); none: no trusted lists are used.
    pub lotl_url: Option<String>,
    /// The only certificates that may sign it (DER, from `validation.lotl_certs`).
    pub lotl_certs: Vec<Vec<u8>>,
    /// Where verified lists are cached (`<data_dir>/trusted-lists`); none: nowhere.
    pub trusted_list_dir: Option<std::path::PathBuf>,
}

impl ValidationSettings {
    /// The settings of a validation configuration, with its trust anchors as read (DER).
    #[must_use]
    pub fn new(config: &ValidationConfig, anchors: Vec<Vec<u8>>) -> Self {
        Self {
            anchors,
            max_bytes: config.max_bytes,
            timeout_secs: config.timeout_secs,
            fetch_revocation: config.fetch_revocation,
            fetch_timeout_secs: config.fetch_timeout_secs,
            lotl_url: config.lotl_url.clone(),
            lotl_certs: Vec::new(),
            trusted_list_dir: None,
        }
    }
}

impl Default for ValidationSettings {
    /// The configuration's defaults, with no anchor beside the service's root.
    fn default() -> Self {
        Self::new(&ValidationConfig::default(), Vec::new())
    }
}

/// Largest CRL fetched, bytes.
const FETCH_LIMIT: usize = 16 * 1024 * 1024;

/// Fetches over HTTP from the validation's blocking thread, through the service's runtime.
#[derive(Debug)]
struct HttpFetch {
    client: reqwest::Client,
    handle: tokio::runtime::Handle,
    timeout: std::time::Duration,
}

impl crate::validate::chain::Fetch for HttpFetch {
    fn get(&self, url: &str) -> Option<Vec<u8>> {
        self.handle
            .block_on(super::trusted_lists::fetch(
                &self.client,
                url,
                self.timeout,
                FETCH_LIMIT,
            ))
            .ok()
    }
}

/// The service's own CA's certificate store as revocation source, read from the validation's
/// blocking thread through the service's runtime.
#[derive(Debug)]
struct OwnCa {
    store: crate::store::Store,
    handle: tokio::runtime::Handle,
}

impl crate::validate::chain::Local for OwnCa {
    fn status(&self, cert: &Cert) -> Option<crate::validate::chain::Status> {
        let serial = hex::encode(cert.cert.tbs_certificate().serial_number().as_bytes());
        let row = self.handle.block_on(self.store.certificate(&serial)).ok()?;
        (row.der == cert.der).then_some(match row.revoked_at {
            Some(at) => crate::validate::chain::Status::Revoked(at),
            None => crate::validate::chain::Status::Good,
        })
    }
}

/// Validating signed files.
#[derive(Debug, Clone)]
pub struct Validation {
    pub(super) store: Store,
    pub(super) pki: Pki,
    pub(super) clock: SharedClock,
    /// The service's one pool for CPU-heavy work.
    pub(super) cpu: Cpu,
    pub(super) settings: Arc<ValidationSettings>,
    /// The EU trusted lists of these settings.
    pub(super) trusted_lists: Arc<TrustedLists>,
}

impl Validation {
    /// What became of each trusted list (empty when none are configured).
    #[must_use]
    pub fn trusted_list_statuses(&self) -> Vec<TrustedListStatus> {
        self.trusted_lists
            .current()
            .map(|set| set.statuses.clone())
            .unwrap_or_default()
    }

    /// Fetches and verifies the trusted lists now (the background refresh does this on its
    /// own schedule); answers what became of each.
    pub async fn refresh_trusted_lists(&self) -> Vec<TrustedListStatus> {
        let set = self.trusted_lists.refresh(unix_now(&self.clock)).await;
        set.statuses.clone()
    }

    /// Starts the background refresh of the trusted lists (the cache first, then the
    /// network); nothing when none are configured. Called once by the composition root.
    pub fn start_trusted_list_refresh(&self) {
        self.trusted_lists.start_refresh(self.clock.clone());
    }

    /// Validates a signed PDF or CMS file (`content` for a detached CMS), trusting the
    /// service's root and `extra_anchors` (DER).
    ///
    /// # Errors
    /// `unusable_input`, `unsupported_format` (XML), `payload_too_large`; HSM and store
    /// failures.
    pub async fn validate_file(
        &self,
        file: &[u8],
        content: Option<&[u8]>,
        extra_anchors: &[Vec<u8>],
    ) -> Result<Report, Error> {
        let now = unix_now(&self.clock);
        let mut anchors = vec![self.pki.ca_certificate(Ca::Root).await?];
        anchors.extend(self.settings.anchors.iter().cloned());
        anchors.extend(extra_anchors.iter().cloned());
        let (max_bytes, timeout) = (self.settings.max_bytes, self.settings.timeout_secs);
        // The status of the service's own certificates comes from its certificate store: no
        // CRL is signed per validation (the endpoint is public).
        // The trusted lists' CA/QC services are anchors too; the lists decide the
        // qualification.
        let lists = self.trusted_lists.current();
        let mut anchors: Vec<Cert> = anchors.iter().filter_map(|d| Cert::parse(d)).collect();
        anchors.extend(lists.iter().flat_map(|set| set.anchors()));
        let material = Material {
            anchors,
            certificates: vec![Cert::parse(&self.pki.ca_certificate(Ca::Issuing).await?)]
                .into_iter()
                .flatten()
                .collect(),
            crls: Vec::new(),
            ocsps: Vec::new(),
            now,
            // The time limit stops the work itself (checked between signatures and
            // references), not only the wait for it.
            deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(timeout)),
            local: Some(std::sync::Arc::new(OwnCa {
                store: self.store.clone(),
                handle: tokio::runtime::Handle::current(),
            })),
            fetch: self.settings.fetch_revocation.then(|| {
                std::sync::Arc::new(HttpFetch {
                    client: reqwest::Client::new(),
                    handle: tokio::runtime::Handle::current(),
                    timeout: std::time::Duration::from_secs(self.settings.fetch_timeout_secs),
                }) as std::sync::Arc<dyn crate::validate::chain::Fetch>
            }),
            trusted_lists: lists,
        };
        // CPU work off the async runtime, bounded in time.
        let (file, content) = (file.to_vec(), content.map(<[u8]>::to_vec));
        let work = self
            .cpu
            .run(move || validate::validate(&file, content.as_deref(), &material, max_bytes));
        let outcome = tokio::time::timeout(std::time::Duration::from_secs(timeout), work)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorCode::RequestTimeout,
                    "the validation took too long and was stopped",
                )
            })??;
        outcome.map_err(|e| match e {
            validate::Error::Unusable(why) => Error::new(ErrorCode::UnusableInput, why),
            validate::Error::Unsupported(why) => Error::new(ErrorCode::UnsupportedFormat, why),
            validate::Error::TooLarge(_) => Error::new(ErrorCode::PayloadTooLarge, e.to_string()),
        })
    }
}
