//! Validation for verifiers: the service's own root as trust anchor (plus any the caller adds
//! and the CA/QC services of the EU trusted lists, when configured: `super::trusted_lists`),
//! the service's own CA's knowledge of its certificates, and, when configured, revocation data
//! and missing issuers of other CAs fetched online through the bounded [`super::fetch`].

mod report;

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
    /// Fetch revocation data (OCSP, then CRLs) and missing issuers of other CAs online when a
    /// file carries none; also what an extension embeds for signatures of other CAs.
    pub fetch_revocation: bool,
    /// Longest wait for one fetch, seconds.
    pub fetch_timeout_secs: u64,
    /// The validation policies a request may name (`policies/validation.toml` or the
    /// configured file).
    pub policies: crate::validate::Policies,
    /// Largest answer fetched, bytes.
    pub fetch_max_bytes: usize,
    /// Whether fetches may reach private, loopback and link-local addresses.
    pub fetch_allow_private: bool,
    /// How old a fetched OCSP response without the request's nonce may be, seconds.
    pub revocation_max_age_secs: u64,
    /// The EU list of trusted lists (`validation.lotl_url`); none: no trusted lists are used.
    pub lotl_url: Option<String>,
    /// The only certificates that may sign it (DER, from `validation.lotl_certs`).
    pub lotl_certs: Vec<Vec<u8>>,
    /// Where verified lists are cached (`<data_dir>/trusted-lists`); none: nowhere.
    pub trusted_list_dir: Option<std::path::PathBuf>,
    /// CA certificates (DER) that https fetches (revocation data, CA certificates, trusted
    /// lists) trust beside the system's roots (`validation.tls_ca`).
    pub tls_roots: Vec<Vec<u8>>,
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
            policies: crate::validate::Policies::default(),
            fetch_max_bytes: config.fetch_max_bytes,
            fetch_allow_private: config.fetch_allow_private,
            revocation_max_age_secs: config.revocation_max_age_secs,
            lotl_url: config.lotl_url.clone(),
            lotl_certs: Vec::new(),
            trusted_list_dir: None,
            tls_roots: Vec::new(),
        }
    }

    /// These settings with other validation policies.
    #[must_use]
    pub fn with_policies(mut self, policies: crate::validate::Policies) -> Self {
        self.policies = policies;
        self
    }

    /// These settings with the validation policies of a policy file's text (the built-in
    /// ones when `None`).
    ///
    /// # Errors
    /// The policy file's problem, in words.
    pub fn with_policies_text(self, text: Option<String>) -> Result<Self, String> {
        let text = text.unwrap_or_else(|| crate::validate::policy::DEFAULT_POLICIES.to_owned());
        let policies = crate::validate::Policies::parse(&text).map_err(|e| e.to_string())?;
        Ok(self.with_policies(policies))
    }

    /// A bounded fetcher for one validation or extension, when fetching is on.
    pub(super) fn fetcher(&self) -> Option<Arc<dyn crate::validate::chain::Fetch>> {
        self.fetch_revocation.then(|| {
            Arc::new(super::fetch::Fetcher::new(self)) as Arc<dyn crate::validate::chain::Fetch>
        })
    }
}

impl Default for ValidationSettings {
    /// The configuration's defaults, with no anchor beside the service's root.
    fn default() -> Self {
        Self::new(&ValidationConfig::default(), Vec::new())
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
    /// service's root and `extra_anchors` (DER), under the `default` validation policy.
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
        self.validate_under(file, content, extra_anchors, None)
            .await
    }

    /// The checks of [`Validation::validate_file`], before any validation policy.
    async fn check_file(
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
            fetch: self.settings.fetcher(),
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
