//! The composition root: every entry point (the server, each command, the tests and the
//! benchmarks) gets its parts from here, so the wiring of qsign is written once.
//!
//! [`Settings::from_config`] turns the configuration into the parts' settings; a test or a
//! benchmark changes what it needs on them. [`App::assemble`] builds every part from an open
//! HSM, a connected store and those settings; [`App::open`] is the production path: resolve
//! the PKCS#11 module and PIN ([`HsmSetup::from_config`], before any thread starts), create the
//! managed token and keys when asked, connect the database, then assemble.

use std::time::Duration;

use anyhow::{bail, Context};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::audit::Audit;
use crate::clock::SharedClock;
use crate::config::{ClientAuthMethod, Config};
use crate::hsm::{self, softhsm, Hsm, KeyStatus, ServiceKey, TokenStatus};
use crate::identity::client_auth::ClientAuth;
use crate::identity::external::ExternalIssuer;
use crate::identity::loa::LoaPolicy;
use crate::identity::{self, Identity};
use crate::keys::policy::{Policies, DEFAULT_POLICIES, ORGANISATION_POLICY};
use crate::keys::Keys;
use crate::orgs::Orgs;
use crate::pki::{self, Pki};
use crate::sam::Sam;
use crate::service::{OperationSettings, Parts, Service, ValidationSettings};
use crate::store::{self, Store};

/// Every part of a running qsign, built once.
#[derive(Debug, Clone)]
pub struct App {
    /// The use cases, as the HTTP layer calls them.
    pub service: Service,
    /// The HSM.
    pub hsm: Hsm,
    /// The database.
    pub store: Store,
    /// The audit log.
    pub audit: Audit,
    /// The CA, TSA and OCSP responder.
    pub pki: Pki,
    /// The identity provider.
    pub identity: Identity,
    /// Signing credentials.
    pub keys: Keys,
    /// The signature activation module.
    pub sam: Sam,
    /// Organisations.
    pub orgs: Orgs,
    /// The clock everything reads.
    pub clock: SharedClock,
    /// The certificates of the hierarchy, found or made.
    pub certificates: Vec<(&'static str, pki::CertStatus)>,
}

/// What [`App::open`] found or made of the token and its keys, for `qsign init`.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    /// The managed token, when qsign manages it.
    pub token: Option<TokenStatus>,
    /// The long-lived keys.
    pub keys: Vec<(&'static str, KeyStatus)>,
}

/// The settings of every part, from the configuration; tests and benchmarks adjust them.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Identity provider.
    pub identity: identity::Settings,
    /// Level-of-assurance policy.
    pub loa: LoaPolicy,
    /// Trusted external identity brokers.
    pub external: Vec<ExternalIssuer>,
    /// PKI.
    pub pki: pki::Settings,
    /// Signature policies.
    pub policies: Policies,
    /// Audit records between two signed checkpoints.
    pub checkpoint_every: u32,
    /// Where checkpoints are published, if anywhere.
    pub anchor_dir: Option<std::path::PathBuf>,
    /// SAD lifetime, seconds.
    pub sad_lifetime_secs: u32,
    /// How long uploaded documents are kept, seconds.
    pub document_lifetime_secs: u32,
    /// How long a person has to approve a request on their phone, seconds.
    pub approval_lifetime_secs: u32,
    /// Usernames of the support operators.
    pub operators: Vec<String>,
    /// Validation of submitted signatures.
    pub validation: ValidationSettings,
    /// Asynchronous signing, and the response URIs registered for each client.
    pub operations: OperationSettings,
}

impl Settings {
    /// The settings the configuration describes; reads the policy files, the trust anchors
    /// and the external issuers' keys it names.
    ///
    /// # Errors
    /// A file that cannot be read or parsed, an invalid OID.
    pub async fn from_config(config: &Config) -> anyhow::Result<Self> {
        let mut anchors = Vec::new();
        for path in &config.validation.trust {
            anchors
                .extend(read_pem_or_der(path).with_context(|| {
                    format!("validation.trust: cannot read {}", path.display())
                })?);
        }
        let mut validation = ValidationSettings::new(&config.validation, anchors)
            .with_policies_text(
                config
                    .validation
                    .policies
                    .as_deref()
                    .map(read_policy)
                    .transpose()?,
            )
            .map_err(|e| anyhow::anyhow!("invalid validation policies: {e}"))?;
        if let Some(path) = &config.validation.lotl_certs {
            validation.lotl_certs = read_pem_or_der(path).with_context(|| {
                format!("validation.lotl_certs: cannot read {}", path.display())
            })?;
        }
        validation.trusted_list_dir = Some(config.trusted_list_dir());
        validation.tls_roots = fetch_roots(config)?;
        Ok(Self {
            identity: identity_settings(config)?,
            loa: loa_policy(config)?,
            external: external_issuers(config).await?,
            pki: pki_settings(config)?,
            policies: signature_policies(config)?,
            checkpoint_every: config.audit.checkpoint_every,
            anchor_dir: Some(config.anchor_dir()),
            sad_lifetime_secs: config.signing.sad_lifetime_secs,
            document_lifetime_secs: config.signing.document_lifetime_secs,
            approval_lifetime_secs: config.signing.approval_lifetime_secs,
            operators: config.identity.operators.clone(),
            validation,
            operations: OperationSettings {
                callback_roots: callback_roots(config)?,
                ..OperationSettings::new(&config.async_signing, &config.identity.clients)
            },
        })
    }
}

impl App {
    /// Opens qsign as configured: the HSM (with `create`, making the managed token and any
    /// missing key first; without, requiring them), the database, then every part.
    ///
    /// # Errors
    /// The HSM or the database cannot be opened, a key is missing, a setting is invalid.
    pub async fn open(
        config: &Config,
        setup: HsmSetup,
        create: bool,
        clock: SharedClock,
    ) -> anyhow::Result<(Self, Provisioned)> {
        let (hsm, provisioned) = setup.open(create).await?;
        let store = Store::connect(
            config.database_url().expose(),
            &store::Options {
                max_connections: config.database.max_connections,
                connect_timeout: Duration::from_secs(config.database.connect_timeout_secs),
            },
        )
        .await?;
        let app = Self::assemble(hsm, store, Settings::from_config(config).await?, clock).await?;
        if provisioned.keys.iter().any(|(label, status)| {
            *label == hsm::RECORDS_KEY_LABEL && *status == KeyStatus::Created
        }) {
            let count = app.identity.tag_existing().await?;
            if count > 0 {
                tracing::info!(
                    rows = count,
                    "integrity tags added to rows written before they existed"
                );
            }
        }
        Ok((app, provisioned))
    }

    /// Builds every part from an open HSM (with its keys), a connected store and the settings,
    /// and makes the certificate hierarchy if it is missing.
    ///
    /// # Errors
    /// The hierarchy cannot be made; an invalid identity setting.
    pub async fn assemble(
        hsm: Hsm,
        store: Store,
        settings: Settings,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let mut audit = Audit::new(store.clone(), hsm.clone(), settings.checkpoint_every);
        if let Some(dir) = settings.anchor_dir {
            audit = audit.with_anchors(dir);
        }
        let country = settings.pki.country.clone();
        let pki = Pki::new(hsm.clone(), store.clone(), audit.clone(), settings.pki);
        let certificates = pki.ensure_hierarchy(clock.now().unix_timestamp()).await?;
        let identity = Identity::new(
            store.clone(),
            hsm.clone(),
            audit.clone(),
            settings.identity,
            settings.loa,
            settings.external,
        )?;
        let keys = Keys::new(
            store.clone(),
            hsm.clone(),
            pki.clone(),
            audit.clone(),
            &settings.policies,
            &country,
        );
        let sam = Sam::new(
            hsm.clone(),
            store.clone(),
            audit.clone(),
            settings.sad_lifetime_secs,
        );
        let orgs = Orgs::new(
            store.clone(),
            keys.clone(),
            audit.clone(),
            ORGANISATION_POLICY,
        );
        let service = Service::new(Parts {
            store: store.clone(),
            hsm: hsm.clone(),
            pki: pki.clone(),
            audit: audit.clone(),
            identity: identity.clone(),
            keys: keys.clone(),
            sam: sam.clone(),
            orgs: orgs.clone(),
            clock: clock.clone(),
        })
        .with_document_lifetime(settings.document_lifetime_secs)
        .with_approval_lifetime(settings.approval_lifetime_secs)
        .with_operators(settings.operators)
        .with_validation(settings.validation)
        .with_operations(settings.operations);
        // The trusted lists (when configured) are loaded from the cache and refreshed in the
        // background for as long as the runtime runs.
        service.validation.start_trusted_list_refresh();
        Ok(Self {
            service,
            hsm,
            store,
            audit,
            pki,
            identity,
            keys,
            sam,
            orgs,
            clock,
            certificates,
        })
    }

    /// SHA-256 of the root CA's SubjectPublicKeyInfo, hex.
    ///
    /// # Errors
    /// The HSM cannot give the key.
    pub async fn root_fingerprint(&self) -> anyhow::Result<String> {
        let spki = self.hsm.public_key(ServiceKey::RootCa).await?;
        Ok(hex::encode(Sha256::digest(&spki)))
    }

    /// Closes the database pools.
    pub async fn close(&self) {
        self.service.close().await;
    }
}

/// Process-wide HSM set-up that must happen before threads start (SoftHSM reads its
/// configuration path from the environment).
pub struct HsmSetup {
    options: hsm::Options,
    so_pin: Option<Zeroizing<String>>,
    managed: bool,
}

impl HsmSetup {
    /// Resolves the PKCS#11 module and the PINs; for a managed SoftHSM token, prepares its
    /// directory and points SoftHSM at it. Call before any thread starts.
    ///
    /// # Errors
    /// No PKCS#11 module, no PIN, the data directory cannot be made.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let module = match &config.hsm.module {
            Some(path) => path.clone(),
            None => softhsm::find_module().context(
                "no PKCS#11 module: SoftHSM2 is not installed (apt-get install softhsm2) \
             and hsm.module is not set",
            )?,
        };
        let managed = if config.hsm.managed_softhsm {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("cannot create data directory {}", config.data_dir.display())
            })?;
            let managed = softhsm::prepare(&config.softhsm_dir())?;
            softhsm::point_env_at(&managed.conf);
            Some(managed)
        } else {
            None
        };
        let pin = match (&config.hsm.pin, &managed) {
            (Some(pin), _) => Zeroizing::new(pin.expose().to_owned()),
            (None, Some(m)) => m.pin.clone(),
            (None, None) => bail!("hsm.pin is not set (QSIGN_HSM_PIN)"),
        };
        let so_pin = match (&config.hsm.so_pin, &managed) {
            (Some(pin), _) => Some(Zeroizing::new(pin.expose().to_owned())),
            (None, Some(m)) => Some(m.so_pin.clone()),
            (None, None) => None,
        };
        Ok(HsmSetup {
            options: hsm::Options {
                module,
                token_label: config.hsm.token_label.clone(),
                pin,
                sessions: config.hsm.sessions,
                timeout: Duration::from_millis(config.hsm.timeout_ms),
            },
            so_pin,
            managed: managed.is_some(),
        })
    }

    /// Opens the HSM; with `create`, makes the managed token and every missing key first,
    /// without, requires the keys to exist.
    async fn open(self, create: bool) -> anyhow::Result<(Hsm, Provisioned)> {
        let Self {
            options,
            so_pin,
            managed,
        } = self;
        let token = if create && managed {
            let module = options.module.clone();
            let label = options.token_label.clone();
            let pin = options.pin.clone();
            let so_pin = so_pin.context("hsm.so_pin is needed to create the token")?;
            Some(
                tokio::task::spawn_blocking(move || {
                    hsm::init_token(&module, &label, &so_pin, &pin)
                })
                .await??,
            )
        } else {
            None
        };
        let hsm = tokio::task::spawn_blocking(move || Hsm::open(options)).await??;
        let keys = if create {
            hsm.ensure_keys().await?
        } else {
            hsm.ping()
                .await
                .context("the HSM token has no master key; run `qsign init`")?;
            Vec::new()
        };
        Ok((hsm, Provisioned { token, keys }))
    }
}

/// The identity provider settings from the configuration.
///
/// # Errors
/// A client's key that is no P-256 point.
fn identity_settings(config: &Config) -> anyhow::Result<identity::Settings> {
    let i = &config.identity;
    let mut clients = Vec::with_capacity(i.clients.len());
    for c in &i.clients {
        let auth = match c.token_endpoint_auth_method {
            ClientAuthMethod::None => ClientAuth::None,
            ClientAuthMethod::PrivateKeyJwt => {
                let mut keys = Vec::with_capacity(c.jwks.len());
                for jwk in &c.jwks {
                    let value = serde_json::json!({
                        "kty": jwk.kty, "crv": jwk.crv, "x": jwk.x, "y": jwk.y,
                    });
                    let (key, _) = identity::dpop::public_jwk(&value)
                        .map_err(|e| anyhow::anyhow!("identity.clients {}: {e}", c.client_id))?;
                    keys.push(key);
                }
                ClientAuth::PrivateKeyJwt(keys)
            }
        };
        clients.push(identity::oauth::Client {
            client_id: c.client_id.clone(),
            redirect_uris: c.redirect_uris.clone(),
            audience: c.audience.clone().unwrap_or_else(|| i.audience.clone()),
            auth,
        });
    }
    Ok(identity::Settings {
        clients,
        public_url: config.public_url(),
        issuer: i
            .issuer
            .clone()
            .unwrap_or_else(|| format!("{}/idp", config.public_url())),
        audience: i.audience.clone(),
        token_lifetime: Duration::from_secs(u64::from(i.token_lifetime_secs)),
        argon2_memory_kib: i.argon2_memory_kib,
        argon2_iterations: i.argon2_iterations,
        argon2_parallelism: i.argon2_parallelism,
        max_failures: i.max_failures,
        lockout: Duration::from_secs(u64::from(i.lockout_secs)),
        new_factor_delay: Duration::from_secs(u64::from(i.new_factor_delay_secs)),
        enrolment_code_lifetime: Duration::from_secs(u64::from(i.enrolment_code_days) * 86_400),
    })
}

/// The trusted external issuers, with their JWKS read from a file or fetched.
async fn external_issuers(
    config: &Config,
) -> anyhow::Result<Vec<identity::external::ExternalIssuer>> {
    let mut issuers = Vec::new();
    for e in &config.identity.external {
        let jwks = match (&e.jwks_file, &e.jwks_url) {
            (Some(file), _) => std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?,
            (None, Some(url)) => identity::external::fetch_jwks(url)
                .await
                .map_err(|m| anyhow::anyhow!("identity.external {}: {m}", e.issuer))?,
            (None, None) => anyhow::bail!("identity.external {}: no JWKS", e.issuer),
        };
        issuers.push(
            identity::external::ExternalIssuer::from_jwks(
                &e.issuer,
                &e.audience,
                &jwks,
                &e.loa_claim,
                i64::from(e.max_clock_skew_secs),
            )
            .map_err(|m| anyhow::anyhow!("identity.external {}: {m}", e.issuer))?,
        );
    }
    Ok(issuers)
}

/// A policy file's text: the configured file, or the built-in default.
fn policy_text(path: Option<&std::path::Path>, built_in: &str) -> anyhow::Result<String> {
    path.map_or_else(|| Ok(built_in.to_owned()), read_policy)
}

/// A configured policy file's text.
fn read_policy(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The level-of-assurance policy: the configured file, or the built-in default.
fn loa_policy(config: &Config) -> anyhow::Result<LoaPolicy> {
    let text = policy_text(
        config.identity.loa_policy.as_deref(),
        identity::loa::DEFAULT_POLICY,
    )?;
    LoaPolicy::parse(&text).map_err(|e| anyhow::anyhow!("invalid level-of-assurance policy: {e}"))
}

/// The signature policies: the configured file, or the built-in default.
fn signature_policies(config: &Config) -> anyhow::Result<Policies> {
    let text = policy_text(config.signing.policies.as_deref(), DEFAULT_POLICIES)?;
    Policies::parse(&text).map_err(|e| anyhow::anyhow!("invalid signature policies: {e}"))
}

/// The PKI settings from the configuration.
fn pki_settings(config: &Config) -> anyhow::Result<pki::Settings> {
    let p = &config.pki;
    let base_url = config.public_url();
    let days = |d: u32| Duration::from_secs(u64::from(d) * 86_400);
    Ok(pki::Settings {
        organization: p.organization.clone(),
        country: p.country.clone(),
        root_name: p.root_name.clone(),
        issuing_name: p.issuing_name.clone(),
        root_validity: days(p.root_validity_days),
        issuing_validity: days(p.issuing_validity_days),
        service_validity: days(p.service_validity_days),
        user_validity: days(p.user_validity_days),
        crl_validity: Duration::from_secs(u64::from(p.crl_validity_hours) * 3600),
        ocsp_validity: Duration::from_secs(u64::from(p.ocsp_validity_minutes) * 60),
        policy_oid: p
            .policy_oid
            .as_deref()
            .map(str::parse)
            .transpose()
            .context("pki.policy_oid")?,
        tsa_policy_oid: p.tsa_policy_oid.parse().context("pki.tsa_policy_oid")?,
        pds_url: p
            .pds_url
            .clone()
            .unwrap_or_else(|| format!("{base_url}/pki/pds")),
        base_url,
    })
}

/// The CA certificates `async_signing.callback_ca` names, which https callbacks trust beside
/// the system's roots; none when it is unset.
///
/// # Errors
/// The file cannot be read, or holds no certificate.
fn callback_roots(config: &Config) -> anyhow::Result<Vec<Vec<u8>>> {
    extra_roots(
        config.async_signing.callback_ca.as_deref(),
        "async_signing.callback_ca",
    )
}

/// The CA certificates `validation.tls_ca` names, which https fetches (revocation data, CA
/// certificates, trusted lists) trust beside the system's roots; none when it is unset.
///
/// # Errors
/// The file cannot be read, or holds no certificate.
pub fn fetch_roots(config: &Config) -> anyhow::Result<Vec<Vec<u8>>> {
    extra_roots(config.validation.tls_ca.as_deref(), "validation.tls_ca")
}

/// The certificates of the file `path` that the setting `setting` names; none without a file.
fn extra_roots(path: Option<&std::path::Path>, setting: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let roots = read_pem_or_der(path)
        .with_context(|| format!("{setting}: cannot read {}", path.display()))?;
    if roots.is_empty() {
        anyhow::bail!("{setting}: {} holds no certificate", path.display());
    }
    Ok(roots)
}

/// The certificates in a PEM file (any number) or a DER file (one).
///
/// # Errors
/// The file cannot be read; a PEM block is not base64.
pub fn read_pem_or_der(path: &std::path::Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path)?;
    if !bytes.starts_with(b"-----BEGIN") {
        return Ok(vec![bytes]);
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    for block in text.split("-----BEGIN CERTIFICATE-----").skip(1) {
        let body: String = block
            .split("-----END CERTIFICATE-----")
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        use base64::Engine as _;
        out.push(base64::engine::general_purpose::STANDARD.decode(body)?);
    }
    Ok(out)
}
