//! The one typed configuration of qsign.
//!
//! Loaded as built-in defaults, then an optional TOML file (unknown keys are rejected), then
//! `QSIGN_*` environment overrides (an unknown `QSIGN_*` variable is an error, so a typo never
//! silently falls back to a default). `examples/qsign.toml` documents every key. Secrets are
//! [`Secret`] values whose `Debug`, `Display` and serialisation are redacted, so
//! `qsign config check` can print the effective configuration safely.
//!
//! # One table
//!
//! The structs below are the only description of the keys. The environment overrides are
//! derived from them ([`env_overrides`]): the default configuration is serialised, keys whose
//! default is `None` included, and every scalar key becomes the variable `QSIGN_` + its dotted
//! path in capitals with `.` as `_`, its value read by the type of the default (a boolean, a
//! whole number, or text; an optional key without a default is text). Arrays are set in the
//! file only. So a new field has its variable, of the right type, with nothing else to edit;
//! tests check that `examples/qsign.toml` names exactly these variables and that
//! `qsign config check` accepts each of them.
//!
//! This module uses nothing else of the crate.

mod async_signing;
mod clients;
mod env;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroize;

pub use async_signing::AsyncSigningConfig;
pub use clients::{ClientAuthMethod, ClientConfig, ClientJwk};
pub use env::{env_overrides, EnvOverride, ValueKind, ENV_NOT_OVERRIDES};

/// Errors while loading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The TOML was malformed, had an unknown key or a value of the wrong type.
    #[error("invalid configuration file {path}: {message}")]
    Parse {
        /// The file that was read.
        path: PathBuf,
        /// The parser's message (names the key and line).
        message: String,
    },
    /// A `QSIGN_*` environment variable that is not an override qsign knows.
    #[error(
        "unknown configuration key in environment: {0} (see examples/qsign.toml for the list)"
    )]
    UnknownEnv(String),
    /// An override whose value does not parse.
    #[error("invalid value for {name}: {message}")]
    InvalidEnv {
        /// The environment variable.
        name: String,
        /// What is wrong with its value.
        message: String,
    },
    /// A value that parses but makes no sense (zero sessions, relative URL, ...).
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A secret string: redacted in `Debug`, `Display` and serialisation, zeroized on drop.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself; call only where it is handed to the component that needs it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<redacted>")
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds (`QSIGN_LISTEN`).
    pub listen: SocketAddr,
    /// Directory for the SQLite database and the managed SoftHSM token (`QSIGN_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Public base URL used in certificate URLs, OpenID discovery and passkeys
    /// (`QSIGN_PUBLIC_URL`); derived from `listen` when unset.
    pub public_url: Option<String>,
    /// Log filter in `tracing` syntax (`QSIGN_LOG`).
    pub log: String,
    /// Database settings.
    pub database: DatabaseConfig,
    /// HSM settings.
    pub hsm: HsmConfig,
    /// HTTP server limits.
    pub http: HttpConfig,
    /// The certificate authority, OCSP and TSA.
    pub pki: PkiConfig,
    /// The audit log.
    pub audit: AuditConfig,
    /// The embedded identity provider.
    pub identity: IdentityConfig,
    /// Credentials and signature activation.
    pub signing: SigningConfig,
    /// Asynchronous signing (CSC `operationMode: "A"`) and its callbacks.
    pub async_signing: AsyncSigningConfig,
    /// Validation for verifiers.
    pub validation: ValidationConfig,
    /// How people reach a person for help.
    pub support: SupportConfig,
}

/// How people reach a person for help: shown in every page's footer and on every error.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupportConfig {
    /// One line: who to contact and how, e.g. phone, e-mail and opening hours
    /// (`QSIGN_SUPPORT_CONTACT`); none by default.
    pub contact: Option<String>,
}

/// Validation for verifiers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationConfig {
    /// Trust anchors beside the service's own root: PEM files of CA certificates (file only).
    pub trust: Vec<PathBuf>,
    /// Largest file validated, bytes (`QSIGN_VALIDATION_MAX_BYTES`).
    pub max_bytes: usize,
    /// Longest a validation may take, seconds (`QSIGN_VALIDATION_TIMEOUT_SECS`).
    pub timeout_secs: u64,
    /// Fetch CRLs of other CAs from their distribution points when a signed file carries no
    /// revocation data (`QSIGN_VALIDATION_FETCH_REVOCATION`).
    pub fetch_revocation: bool,
    /// Longest wait for one fetch (CRL, OCSP response, CA certificate), seconds
    /// (`QSIGN_VALIDATION_FETCH_TIMEOUT_SECS`).
    pub fetch_timeout_secs: u64,
    /// Validation policies replacing the built-in `policies/validation.toml`
    /// (`QSIGN_VALIDATION_POLICIES`).
    pub policies: Option<PathBuf>,
    /// Largest answer fetched, bytes (`QSIGN_VALIDATION_FETCH_MAX_BYTES`).
    pub fetch_max_bytes: usize,
    /// Let fetches reach private, loopback, link-local and unique-local addresses; off, a
    /// host with any such address is not asked (`QSIGN_VALIDATION_FETCH_ALLOW_PRIVATE`).
    pub fetch_allow_private: bool,
    /// How old, in seconds, a fetched OCSP response that does not echo the request's nonce
    /// may be (`QSIGN_VALIDATION_REVOCATION_MAX_AGE_SECS`).
    pub revocation_max_age_secs: u64,
    /// The EU list of trusted lists (LOTL), fetched with the national lists it points to for
    /// the qualification at signing time (`QSIGN_VALIDATION_LOTL_URL`); unset: none.
    pub lotl_url: Option<String>,
    /// PEM file of the only certificates allowed to sign the LOTL
    /// (`QSIGN_VALIDATION_LOTL_CERTS`).
    pub lotl_certs: Option<PathBuf>,
    /// PEM file of CA certificates that https fetches (revocation data, CA certificates,
    /// trusted lists) trust beside the system's roots (`QSIGN_VALIDATION_TLS_CA`).
    pub tls_ca: Option<PathBuf>,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self {
            trust: Vec::new(),
            max_bytes: 64 * 1024 * 1024,
            timeout_secs: 20,
            fetch_revocation: false,
            fetch_timeout_secs: 5,
            policies: None,
            fetch_max_bytes: 1024 * 1024,
            fetch_allow_private: false,
            revocation_max_age_secs: 86_400,
            lotl_url: None,
            lotl_certs: None,
            tls_ca: None,
        }
    }
}

/// When a person's credentials are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialsOn {
    /// When the account is created (and on first use for accounts made otherwise).
    Enrolment,
    /// Only on the first request that lists or uses credentials.
    FirstUse,
}

/// Credentials and signature activation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    /// Signature policies replacing the built-in `policies/signature.toml`
    /// (`QSIGN_SIGNING_POLICIES`).
    pub policies: Option<PathBuf>,
    /// Lifetime of signature activation data in seconds, 1 to 300
    /// (`QSIGN_SIGNING_SAD_LIFETIME_SECS`).
    pub sad_lifetime_secs: u32,
    /// When credentials are made (`QSIGN_SIGNING_CREDENTIALS_ON`).
    pub credentials_on: CredentialsOn,
    /// Seconds an uploaded document and its signed result are kept
    /// (`QSIGN_SIGNING_DOCUMENT_LIFETIME_SECS`).
    pub document_lifetime_secs: u32,
    /// Seconds a person has to approve a request on their phone (CSC `credentials/authorize`
    /// answered 202), 30 to 900 (`QSIGN_SIGNING_APPROVAL_LIFETIME_SECS`).
    pub approval_lifetime_secs: u32,
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self {
            policies: None,
            sad_lifetime_secs: 300,
            credentials_on: CredentialsOn::Enrolment,
            document_lifetime_secs: 900,
            approval_lifetime_secs: 300,
        }
    }
}

/// The embedded identity provider.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// `iss` of access tokens (`QSIGN_IDENTITY_ISSUER`); `PUBLIC_URL/idp` when unset.
    pub issuer: Option<String>,
    /// `aud` of access tokens (`QSIGN_IDENTITY_AUDIENCE`).
    pub audience: String,
    /// Access token lifetime in seconds (`QSIGN_IDENTITY_TOKEN_LIFETIME_SECS`).
    pub token_lifetime_secs: u32,
    /// Argon2id memory in KiB (`QSIGN_IDENTITY_ARGON2_MEMORY_KIB`); OWASP's 19 MiB by default.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations (`QSIGN_IDENTITY_ARGON2_ITERATIONS`).
    pub argon2_iterations: u32,
    /// Argon2id lanes (`QSIGN_IDENTITY_ARGON2_PARALLELISM`).
    pub argon2_parallelism: u32,
    /// Failed logins per username or source address before a lock
    /// (`QSIGN_IDENTITY_MAX_FAILURES`).
    pub max_failures: u32,
    /// First lock in seconds, doubling with each further failure up to a day
    /// (`QSIGN_IDENTITY_LOCKOUT_SECS`).
    pub lockout_secs: u32,
    /// How long a passkey bound with an enrolment code, rather than from a High session,
    /// counts for Substantial only (`QSIGN_IDENTITY_NEW_FACTOR_DELAY_SECS`; 0 by default, as the
    /// code comes from the operator; a deployment that posts codes sets a delay).
    pub new_factor_delay_secs: u32,
    /// How long an enrolment code printed by `qsign user` stays valid
    /// (`QSIGN_IDENTITY_ENROLMENT_CODE_DAYS`).
    pub enrolment_code_days: u32,
    /// A level-of-assurance policy file replacing the built-in `policies/loa.toml`
    /// (`QSIGN_IDENTITY_LOA_POLICY`).
    pub loa_policy: Option<PathBuf>,
    /// Trusted external identity providers (an eID broker, any OIDC provider); file only.
    pub external: Vec<ExternalIssuerConfig>,
    /// Registered OAuth clients (authorization-code flow with PKCE); file only.
    pub clients: Vec<ClientConfig>,
    /// Usernames of support operators, who may look up support references on `/support`
    /// with a High login; file only.
    pub operators: Vec<String>,
}

/// A trusted external issuer of access tokens.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalIssuerConfig {
    /// Its `iss`, exactly.
    pub issuer: String,
    /// The `aud` its tokens must carry for this service.
    pub audience: String,
    /// A JWKS file with its signing keys (ES256, P-256).
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// Or the URL of its JWKS, fetched at start-up (10-second timeout).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The claim that carries the level of assurance (`acr` by default; some brokers use
    /// `loa`).
    #[serde(default = "default_loa_claim")]
    pub loa_claim: String,
    /// Largest clock difference accepted for `exp`, `nbf` and `iat`, in seconds (at most 300).
    #[serde(default = "default_skew")]
    pub max_clock_skew_secs: u32,
}

fn default_loa_claim() -> String {
    "acr".to_owned()
}

const fn default_skew() -> u32 {
    60
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: "qsign".to_owned(),
            token_lifetime_secs: 600,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_failures: 5,
            lockout_secs: 60,
            new_factor_delay_secs: 0,
            enrolment_code_days: 14,
            loa_policy: None,
            external: Vec::new(),
            clients: Vec::new(),
            operators: Vec::new(),
        }
    }
}

/// The audit log.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Records between two signed checkpoints (`QSIGN_AUDIT_CHECKPOINT_EVERY`).
    pub checkpoint_every: u32,
    /// Where every checkpoint is also published as a write-once file, outside the database
    /// (`QSIGN_AUDIT_ANCHOR_DIR`); `<data_dir>/audit-anchors` by default. Point it at storage
    /// the database's administrators cannot rewrite (a WORM mount, another host's share).
    pub anchor_dir: Option<PathBuf>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every: 100,
            anchor_dir: None,
        }
    }
}

/// The service's own PKI.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PkiConfig {
    /// Organisation named in the CA, TSA and OCSP certificates (`QSIGN_PKI_ORGANIZATION`).
    pub organization: String,
    /// Country of those certificates, ISO 3166 (`QSIGN_PKI_COUNTRY`).
    pub country: String,
    /// Root CA common name (`QSIGN_PKI_ROOT_NAME`).
    pub root_name: String,
    /// Issuing CA common name (`QSIGN_PKI_ISSUING_NAME`).
    pub issuing_name: String,
    /// Root certificate lifetime in days (`QSIGN_PKI_ROOT_VALIDITY_DAYS`).
    pub root_validity_days: u32,
    /// Issuing CA certificate lifetime in days (`QSIGN_PKI_ISSUING_VALIDITY_DAYS`).
    pub issuing_validity_days: u32,
    /// TSA and OCSP responder certificate lifetime in days (`QSIGN_PKI_SERVICE_VALIDITY_DAYS`).
    pub service_validity_days: u32,
    /// User certificate lifetime in days (`QSIGN_PKI_USER_VALIDITY_DAYS`).
    pub user_validity_days: u32,
    /// Hours from a CRL's thisUpdate to its nextUpdate (`QSIGN_PKI_CRL_VALIDITY_HOURS`).
    pub crl_validity_hours: u32,
    /// Minutes from an OCSP response's thisUpdate to its nextUpdate
    /// (`QSIGN_PKI_OCSP_VALIDITY_MINUTES`).
    pub ocsp_validity_minutes: u32,
    /// The deployment's own certificate policy OID, added to every certificate below the root
    /// beside the ETSI policy (`QSIGN_PKI_POLICY_OID`); none by default.
    pub policy_oid: Option<String>,
    /// Policy OID of timestamp tokens (`QSIGN_PKI_TSA_POLICY_OID`); by default ETSI's
    /// best-practices time-stamp policy (EN 319 421, BTSP `0.4.0.2023.1.1`).
    pub tsa_policy_oid: String,
    /// PKI disclosure statement URL (QcPDS) (`QSIGN_PKI_PDS_URL`); `PUBLIC_URL/pki/pds` when
    /// unset.
    pub pds_url: Option<String>,
    /// An external RFC 3161 TSA to use instead of the embedded one (`QSIGN_PKI_TSA_URL`).
    pub tsa_url: Option<String>,
}

impl Default for PkiConfig {
    fn default() -> Self {
        Self {
            organization: "qsign test deployment".to_owned(),
            country: "DK".to_owned(),
            root_name: "qsign Root CA".to_owned(),
            issuing_name: "qsign Issuing CA".to_owned(),
            root_validity_days: 7300,
            issuing_validity_days: 3650,
            service_validity_days: 1095,
            user_validity_days: 730,
            crl_validity_hours: 24,
            ocsp_validity_minutes: 60,
            policy_oid: None,
            tsa_policy_oid: "0.4.0.2023.1.1".to_owned(),
            pds_url: None,
            tsa_url: None,
        }
    }
}

/// Database settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://...` (`QSIGN_DATABASE_URL`); SQLite in the data directory
    /// when unset. May hold a password, so it is printed redacted.
    pub url: Option<Secret>,
    /// Largest number of pooled connections (`QSIGN_DATABASE_MAX_CONNECTIONS`).
    pub max_connections: u32,
    /// How long to wait for a connection before failing, in seconds
    /// (`QSIGN_DATABASE_CONNECT_TIMEOUT_SECS`).
    pub connect_timeout_secs: u64,
}

/// HSM settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HsmConfig {
    /// Path of the PKCS#11 module (`QSIGN_HSM_MODULE`); SoftHSM2 is searched for when unset.
    pub module: Option<PathBuf>,
    /// Label of the token holding qsign's keys (`QSIGN_HSM_TOKEN_LABEL`).
    pub token_label: String,
    /// User PIN (`QSIGN_HSM_PIN`). With a managed SoftHSM token and no PIN set, a random PIN is
    /// generated at first start and kept in `DATA_DIR/softhsm/pins.toml` (mode 0600).
    pub pin: Option<Secret>,
    /// Security officer PIN, needed only to create a token (`QSIGN_HSM_SO_PIN`).
    pub so_pin: Option<Secret>,
    /// Whether qsign creates and owns a SoftHSM token in `DATA_DIR/softhsm`
    /// (`QSIGN_HSM_MANAGED_SOFTHSM`). Turn off for a network HSM or a token set up by hand.
    pub managed_softhsm: bool,
    /// Number of PKCS#11 sessions in the pool (`QSIGN_HSM_SESSIONS`).
    pub sessions: usize,
    /// Longest wait for a free HSM session, in milliseconds (`QSIGN_HSM_TIMEOUT_MS`).
    pub timeout_ms: u64,
}

/// HTTP server limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest accepted request body in bytes (`QSIGN_HTTP_BODY_LIMIT`).
    pub body_limit: usize,
    /// Largest request body carrying documents (`signDoc`, `/v1/documents`,
    /// `/v1/pdf/extend`), in bytes (`QSIGN_HTTP_DOCUMENT_LIMIT`).
    pub document_limit: usize,
    /// Longest time a request may take, in seconds (`QSIGN_HTTP_REQUEST_TIMEOUT_SECS`).
    pub request_timeout_secs: u64,
    /// Most requests processed at once; further ones wait (`QSIGN_HTTP_MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
    /// Longest wait for a turn among `max_in_flight` before the answer is 503, in seconds
    /// (`QSIGN_HTTP_QUEUE_TIMEOUT_SECS`). `/healthz` and `/readyz` never wait.
    pub queue_timeout_secs: u64,
    /// Longest time a client may take to send a request's headers, in seconds
    /// (`QSIGN_HTTP_HEADER_TIMEOUT_SECS`); slower connections are closed.
    pub header_timeout_secs: u64,
    /// Most open connections from one source address (`QSIGN_HTTP_MAX_CONNECTIONS_PER_SOURCE`);
    /// more are closed at once.
    pub max_connections_per_source: usize,
    /// Requests per second one source address may make to the public endpoints that need no
    /// login and make the service work (`/tsa`, `/pki/ocsp`, `/v1/validate`), with bursts of
    /// twice as many; 0 turns the limit off (`QSIGN_HTTP_PUBLIC_REQUESTS_PER_SECOND`).
    pub public_requests_per_second: u32,
    /// Longest time graceful shutdown waits for in-flight requests, in seconds
    /// (`QSIGN_HTTP_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./var"),
            public_url: None,
            log: "info".to_owned(),
            database: DatabaseConfig::default(),
            hsm: HsmConfig::default(),
            http: HttpConfig::default(),
            pki: PkiConfig::default(),
            audit: AuditConfig::default(),
            identity: IdentityConfig::default(),
            signing: SigningConfig::default(),
            async_signing: AsyncSigningConfig::default(),
            validation: ValidationConfig::default(),
            support: SupportConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
            connect_timeout_secs: 5,
        }
    }
}

impl Default for HsmConfig {
    fn default() -> Self {
        Self {
            module: None,
            token_label: "qsign".to_owned(),
            pin: None,
            so_pin: None,
            managed_softhsm: true,
            sessions: 8,
            timeout_ms: 5_000,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            document_limit: 64 * 1024 * 1024,
            request_timeout_secs: 30,
            max_in_flight: 256,
            queue_timeout_secs: 5,
            header_timeout_secs: 10,
            max_connections_per_source: 64,
            public_requests_per_second: 20,
            shutdown_grace_secs: 20,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` if given, then the `QSIGN_*` variables of `env`.
    ///
    /// # Errors
    /// Unreadable file, malformed TOML, unknown keys (file or environment), bad values.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
                    path: path.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>().map_err(|e| Error::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => toml::Table::new(),
        };
        self::env::apply(&mut table, env)?;
        let origin = file.map_or_else(|| PathBuf::from("<environment>"), Path::to_owned);
        let config: Self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Parse {
                path: origin,
                message: e.to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), Error> {
        if self
            .support
            .contact
            .as_deref()
            .is_some_and(|c| c.chars().count() > 300 || c.chars().any(char::is_control))
        {
            return Err(Error::Invalid(
                "support.contact must be one line of at most 300 characters".into(),
            ));
        }
        if self.validation.fetch_max_bytes == 0 || self.validation.fetch_timeout_secs == 0 {
            return Err(Error::Invalid(
                "validation.fetch_max_bytes and validation.fetch_timeout_secs must be at least 1"
                    .into(),
            ));
        }
        if self.hsm.sessions == 0 {
            return Err(Error::Invalid("hsm.sessions must be at least 1".into()));
        }
        if self.database.max_connections == 0 {
            return Err(Error::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        if self.http.max_in_flight == 0
            || self.http.max_connections_per_source == 0
            || self.http.header_timeout_secs == 0
            || self.http.body_limit == 0
            || self.http.document_limit == 0
        {
            return Err(Error::Invalid(
                "http.max_in_flight, http.body_limit and http.document_limit must be at least 1"
                    .into(),
            ));
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::Invalid(format!(
                    "public_url must start with http:// or https://, got {url:?}"
                )));
            }
        }
        if let Some(url) = &self.validation.lotl_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::Invalid(format!(
                    "validation.lotl_url must start with http:// or https://, got {url:?}"
                )));
            }
        }
        if let Some(url) = &self.database.url {
            let url = url.expose();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(Error::Invalid(
                    "database.url must start with sqlite:, postgres:// or postgresql://".into(),
                ));
            }
        }
        let oids = [
            ("pki.policy_oid", self.pki.policy_oid.as_ref()),
            ("pki.tsa_policy_oid", Some(&self.pki.tsa_policy_oid)),
        ];
        for (name, value) in oids.into_iter().filter_map(|(n, v)| v.map(|v| (n, v))) {
            if der::asn1::ObjectIdentifier::new(value).is_err() {
                return Err(Error::Invalid(format!("{name} is not an OID: {value:?}")));
            }
        }
        let p = &self.pki;
        if p.country.len() != 2 || !p.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::Invalid(
                "pki.country must be two capital letters".into(),
            ));
        }
        if [
            p.root_validity_days,
            p.issuing_validity_days,
            p.service_validity_days,
            p.user_validity_days,
            p.crl_validity_hours,
            p.ocsp_validity_minutes,
        ]
        .contains(&0)
        {
            return Err(Error::Invalid("pki lifetimes must be at least 1".into()));
        }
        let i = &self.identity;
        if i.token_lifetime_secs == 0
            || i.max_failures == 0
            || i.enrolment_code_days == 0
            || i.argon2_iterations == 0
            || i.argon2_parallelism == 0
        {
            return Err(Error::Invalid(
                "identity lifetimes, failures and argon2 costs must be at least 1".into(),
            ));
        }
        if i.argon2_memory_kib < 8 * i.argon2_parallelism {
            return Err(Error::Invalid(
                "identity.argon2_memory_kib must be at least 8 per lane".into(),
            ));
        }
        clients::validate(&self.identity.clients)?;
        for e in &self.identity.external {
            if e.max_clock_skew_secs > 300
                || e.issuer.is_empty()
                || e.audience.is_empty()
                || e.jwks_file.is_some() == e.jwks_url.is_some()
            {
                return Err(Error::Invalid(format!(
                    "identity.external {:?}: issuer, audience and one of jwks_file or jwks_url are required, skew at most 300 s",
                    e.issuer
                )));
            }
        }
        if !(1..=300).contains(&self.signing.sad_lifetime_secs) {
            return Err(Error::Invalid(
                "signing.sad_lifetime_secs must be from 1 to 300".into(),
            ));
        }
        if !(30..=900).contains(&self.signing.approval_lifetime_secs) {
            return Err(Error::Invalid(
                "signing.approval_lifetime_secs must be from 30 to 900".into(),
            ));
        }
        self.async_signing.validate()?;
        if self.audit.checkpoint_every == 0 {
            return Err(Error::Invalid(
                "audit.checkpoint_every must be at least 1".into(),
            ));
        }
        if self.hsm.token_label.is_empty() || self.hsm.token_label.len() > 32 {
            return Err(Error::Invalid(
                "hsm.token_label must be 1 to 32 bytes".into(),
            ));
        }
        Ok(())
    }

    /// The public base URL, without a trailing slash: `public_url`, or derived from `listen`
    /// (`http://localhost:PORT` on loopback, so passkeys work).
    #[must_use]
    pub fn public_url(&self) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        let port = self.listen.port();
        if self.listen.ip().is_loopback() || self.listen.ip().is_unspecified() {
            format!("http://localhost:{port}")
        } else {
            format!("http://{}", self.listen)
        }
    }

    /// The database URL: the configured one, or a SQLite file in the data directory.
    #[must_use]
    pub fn database_url(&self) -> Secret {
        match &self.database.url {
            Some(url) => url.clone(),
            None => Secret::new(format!(
                "sqlite://{}",
                self.data_dir.join("qsign.db").display()
            )),
        }
    }

    /// Directory of the managed SoftHSM token and its configuration.
    #[must_use]
    pub fn softhsm_dir(&self) -> PathBuf {
        self.data_dir.join("softhsm")
    }

    /// Where audit checkpoints are published: `audit.anchor_dir`, or under the data directory.
    #[must_use]
    pub fn anchor_dir(&self) -> PathBuf {
        self.audit
            .anchor_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-anchors"))
    }

    /// Where verified trusted lists are cached: under the data directory.
    #[must_use]
    pub fn trusted_list_dir(&self) -> PathBuf {
        self.data_dir.join("trusted-lists")
    }

    /// The effective configuration as TOML, secrets redacted.
    ///
    /// # Errors
    /// Only if serialisation fails, which the types rule out in practice.
    pub fn to_redacted_toml(&self) -> Result<String, Error> {
        toml::to_string_pretty(self).map_err(|e| Error::Invalid(e.to_string()))
    }
}
