//! Shared start-up: resolve the PKCS#11 module and PIN, create the managed token and keys when
//! asked, open the HSM and the database.

use std::time::Duration;

use anyhow::{bail, Context};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::audit::Audit;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::hsm::{self, softhsm, Hsm, KeyStatus, ServiceKey, TokenStatus};
use crate::identity::loa::LoaPolicy;
use crate::identity::{self, Identity};
use crate::keys::policy::{Policies, DEFAULT_POLICIES};
use crate::keys::Keys;
use crate::pki::{self, Pki};
use crate::sam::Sam;
use crate::store::{self, Store};

/// What `open` found or made, for the init report.
pub(super) struct Opened {
    pub hsm: Hsm,
    pub store: Store,
    pub audit: Audit,
    pub pki: Pki,
    pub identity: Identity,
    pub credentials: Keys,
    pub sam: Sam,
    pub token: Option<TokenStatus>,
    pub keys: Vec<(&'static str, KeyStatus)>,
    pub certificates: Vec<(&'static str, pki::CertStatus)>,
}

/// Process-wide HSM set-up that must happen before threads start (SoftHSM reads its
/// configuration path from the environment).
pub(super) struct HsmSetup {
    options: hsm::Options,
    so_pin: Option<Zeroizing<String>>,
    managed: bool,
}

pub(super) fn prepare_hsm(config: &Config) -> anyhow::Result<HsmSetup> {
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

/// Opens the HSM and the database. With `create`, makes the managed token and any missing
/// key first; without, requires them to exist.
pub(super) async fn open(
    config: &Config,
    setup: HsmSetup,
    create: bool,
    clock: &SharedClock,
) -> anyhow::Result<Opened> {
    let HsmSetup {
        options,
        so_pin,
        managed,
    } = setup;
    let token = if create && managed {
        let module = options.module.clone();
        let label = options.token_label.clone();
        let pin = options.pin.clone();
        let so_pin = so_pin.context("hsm.so_pin is needed to create the token")?;
        Some(
            tokio::task::spawn_blocking(move || hsm::init_token(&module, &label, &so_pin, &pin))
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
    let store = Store::connect(
        config.database_url().expose(),
        &store::Options {
            max_connections: config.database.max_connections,
            connect_timeout: Duration::from_secs(config.database.connect_timeout_secs),
        },
    )
    .await?;
    let audit = Audit::new(store.clone(), hsm.clone(), config.audit.checkpoint_every)
        .with_anchors(config.anchor_dir());
    let pki = Pki::new(
        hsm.clone(),
        store.clone(),
        audit.clone(),
        pki_settings(config)?,
    );
    let certificates = pki.ensure_hierarchy(clock.now().unix_timestamp()).await?;
    let identity = Identity::new(
        store.clone(),
        hsm.clone(),
        audit.clone(),
        identity_settings(config),
        loa_policy(config)?,
        external_issuers(config).await?,
    )?;
    if keys
        .iter()
        .any(|(label, status)| *label == hsm::RECORDS_KEY_LABEL && *status == KeyStatus::Created)
    {
        let count = identity.tag_existing().await?;
        if count > 0 {
            tracing::info!(
                rows = count,
                "integrity tags added to rows written before they existed"
            );
        }
    }
    let credentials = Keys::new(
        store.clone(),
        hsm.clone(),
        pki.clone(),
        audit.clone(),
        &signature_policies(config)?,
        &config.pki.country,
    );
    let sam = Sam::new(
        hsm.clone(),
        store.clone(),
        audit.clone(),
        config.signing.sad_lifetime_secs,
    );
    Ok(Opened {
        hsm,
        store,
        audit,
        pki,
        identity,
        credentials,
        sam,
        token,
        keys,
        certificates,
    })
}

/// The identity provider settings from the configuration.
pub(super) fn identity_settings(config: &Config) -> identity::Settings {
    let i = &config.identity;
    identity::Settings {
        clients: i
            .clients
            .iter()
            .map(|c| identity::oauth::Client {
                client_id: c.client_id.clone(),
                redirect_uris: c.redirect_uris.clone(),
                audience: c.audience.clone().unwrap_or_else(|| i.audience.clone()),
            })
            .collect(),
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
    }
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

/// The level-of-assurance policy: the configured file, or the built-in default.
fn loa_policy(config: &Config) -> anyhow::Result<LoaPolicy> {
    let text = match &config.identity.loa_policy {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => identity::loa::DEFAULT_POLICY.to_owned(),
    };
    LoaPolicy::parse(&text).map_err(|e| anyhow::anyhow!("invalid level-of-assurance policy: {e}"))
}

/// The signature policies: the configured file, or the built-in default.
fn signature_policies(config: &Config) -> anyhow::Result<Policies> {
    let text = match &config.signing.policies {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => DEFAULT_POLICIES.to_owned(),
    };
    Policies::parse(&text).map_err(|e| anyhow::anyhow!("invalid signature policies: {e}"))
}

/// The PKI settings from the configuration.
pub(super) fn pki_settings(config: &Config) -> anyhow::Result<pki::Settings> {
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

/// SHA-256 of the root CA's SubjectPublicKeyInfo, hex.
pub(super) async fn root_fingerprint(hsm: &Hsm) -> anyhow::Result<String> {
    let spki = hsm.public_key(ServiceKey::RootCa).await?;
    Ok(hex::encode(Sha256::digest(&spki)))
}
