//! The HSM, through PKCS#11: the only module that imports `cryptoki`.
//!
//! What lives in the token for good (DESIGN.md §2): the AES-256 master wrapping key and the
//! service's signing keys ([`ServiceKey`]: CAs, TSA, SAD, audit, IdP). User keys never stay: they
//! are generated as session objects, wrapped under the master key with `CKM_AES_KEY_WRAP_PAD`
//! (RFC 5649) into a [`WrappedKey`] blob that the database keeps, and for each signature unwrapped
//! into a session object (not token, sensitive, not extractable), used once and destroyed,
//! also when signing fails.
//!
//! Every PKCS#11 call runs on a blocking thread, never on an async worker, behind a semaphore
//! sized like the session pool ([`Hsm::run`]). Sessions are reused from a pool. One "anchor"
//! session stays open for the life of the process because closing every session logs the
//! application out; when the module reports a lost session or login, the pool is rebuilt and the
//! operation tried once more.
//!
//! Uses nothing else of the crate but the leaf [`crate::types`] (digests and hash algorithms,
//! re-exported here).

mod blob;
mod ephemeral;
mod keygen;
mod mechanism;
mod pool;
mod provision;
mod pubkey;
pub mod records;
pub mod softhsm;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

pub use crate::types::{Digest, HashAlgorithm};
pub use blob::WrappedKey;
pub use ephemeral::{EphemeralKey, EPHEMERAL_LABEL_PREFIX};
use keygen::{
    destroy, generate_data_key, generate_pair, generate_records_key, public_key_der,
    unwrap_template,
};
pub use mechanism::{ecdsa_signature_der, KeyAlgorithm, SignAlgorithm};
use pool::lock;
pub use provision::TokenStatus;
pub use records::Record;

/// Label (and `CKA_ID`) of the master wrapping key for EC user keys. Its unwrap template fixes
/// class, key type and every usage a PIN holder could add (`hsm::provision`).
pub const MASTER_EC_LABEL: &str = "qsign-master-2-ec";

/// Label of the master wrapping key for RSA user keys (same template, `CKK_RSA`).
pub const MASTER_RSA_LABEL: &str = "qsign-master-2-rsa";

/// Label of the master key of earlier versions, whose unwrap template fixed only token,
/// sensitive and extractable. Never created any more; blobs made under it still unwrap (their
/// header names it), with the attributes of today's template asked for by qsign itself.
pub const LEGACY_MASTER_KEY_LABEL: &str = "qsign-master-1";

/// Label of the HMAC-SHA256 key that authenticates the rows granting access (login factors,
/// credentials, memberships): a generic secret that can only sign and verify.
pub const RECORDS_KEY_LABEL: &str = "qsign-records-1";

/// Label of the AES-256 data key that seals small secrets kept in the database (TOTP seeds).
pub const DATA_KEY_LABEL: &str = "qsign-data-1";

/// Format tag of sealed data.
const SEALED_V1: u8 = 1;

/// Errors from the HSM layer. Messages name keys, tokens and operations, never PINs or key bytes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The PKCS#11 module file does not exist.
    #[error("PKCS#11 module not found at {0} (install softhsm2 or set hsm.module)")]
    ModuleMissing(String),
    /// The module exists but could not be loaded.
    #[error("cannot load PKCS#11 module {path}: {message}")]
    ModuleLoad {
        /// Module path.
        path: String,
        /// Loader message.
        message: String,
    },
    /// No token carries the configured label.
    #[error("no HSM token labelled {0:?} (run `qsign init` or check hsm.token_label)")]
    TokenMissing(String),
    /// No slot is free to create a token in.
    #[error("the PKCS#11 module has no free slot to create a token in")]
    NoFreeSlot,
    /// The user PIN was refused.
    #[error("HSM login failed: wrong PIN for token {0:?}")]
    WrongPin(String),
    /// The user PIN is locked after too many failures.
    #[error("HSM login failed: the PIN of token {0:?} is locked")]
    PinLocked(String),
    /// The module lacks a mechanism qsign needs.
    #[error("the HSM does not support {0}")]
    MechanismUnsupported(String),
    /// A service key is missing from the token.
    #[error("HSM key {0:?} not found (run `qsign init`)")]
    KeyMissing(String),
    /// All sessions stayed busy for the whole timeout.
    #[error("all HSM sessions are busy (waited {0} ms)")]
    Busy(u64),
    /// A signature scheme that does not fit the key type.
    #[error("signature scheme {scheme:?} does not fit a {key} key")]
    AlgorithmMismatch {
        /// Key algorithm name.
        key: &'static str,
        /// Requested scheme.
        scheme: SignAlgorithm,
    },
    /// A signature returned by the module has an unexpected form.
    #[error("the HSM returned a malformed signature")]
    BadSignature,
    /// A public key attribute that cannot be turned into a SubjectPublicKeyInfo.
    #[error("malformed public key from the HSM: {0}")]
    BadPublicKey(&'static str),
    /// A stored wrapped-key blob that does not decode.
    #[error("wrapped key blob is malformed: {0}")]
    BadBlob(&'static str),
    /// A template could not be built.
    #[error("cannot build a PKCS#11 template")]
    BadTemplate,
    /// The session or login was lost; the pool rebuilds and retries once.
    #[error("HSM session lost during {op}: {rv}")]
    SessionLost {
        /// The PKCS#11 function.
        op: &'static str,
        /// The return value.
        rv: String,
    },
    /// An unwrapped key object could not be destroyed; its session is closed instead.
    #[error("could not destroy a temporary key object: {0}")]
    DestroyFailed(String),
    /// Managed SoftHSM files could not be set up.
    #[error("SoftHSM set-up failed: {0}")]
    Setup(String),
    /// Any other PKCS#11 failure.
    #[error("HSM operation {op} failed: {rv}")]
    Pkcs11 {
        /// The PKCS#11 function.
        op: &'static str,
        /// The return value.
        rv: String,
    },
    /// The blocking worker panicked or was cancelled.
    #[error("HSM worker failed: {0}")]
    Worker(String),
}

impl Error {
    fn from_rv(op: &'static str, rv: RvError) -> Self {
        match rv {
            RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::UserNotLoggedIn
            | RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::CryptokiNotInitialized
            | RvError::UnwrappingKeyHandleInvalid
            | RvError::WrappingKeyHandleInvalid
            | RvError::KeyHandleInvalid
            | RvError::ObjectHandleInvalid => Self::SessionLost {
                op,
                rv: format!("{rv:?}"),
            },
            RvError::MechanismInvalid | RvError::MechanismParamInvalid => {
                Self::MechanismUnsupported(format!("{op}: {rv:?}"))
            }
            other => Self::Pkcs11 {
                op,
                rv: format!("{other:?}"),
            },
        }
    }

    fn from_ck(op: &'static str, e: CkError) -> Self {
        match e {
            CkError::Pkcs11(rv, _) => Self::from_rv(op, rv),
            other => Self::Pkcs11 {
                op,
                rv: other.to_string(),
            },
        }
    }
}

/// The service's long-lived signing keys (token objects), by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    /// Root CA.
    RootCa,
    /// Issuing CA (signs user certificates, CRLs).
    IssuingCa,
    /// RFC 3161 timestamp authority.
    Tsa,
    /// Signs signature activation data.
    Sad,
    /// Signs audit checkpoints.
    Audit,
    /// Signs IdP access tokens (ES256).
    Idp,
    /// Signs OCSP responses (delegated responder).
    Ocsp,
    /// Seals the ETSI TS 119 102-2 validation reports of the validation service.
    ValidationSeal,
}

impl ServiceKey {
    /// Every service key, in creation order.
    pub const ALL: [Self; 8] = [
        Self::RootCa,
        Self::IssuingCa,
        Self::Tsa,
        Self::Sad,
        Self::Audit,
        Self::Idp,
        Self::Ocsp,
        Self::ValidationSeal,
    ];

    /// The token label (also `CKA_ID`).
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::RootCa => "qsign-root-ca-1",
            Self::IssuingCa => "qsign-issuing-ca-1",
            Self::Tsa => "qsign-tsa-1",
            Self::Sad => "qsign-sad-1",
            Self::Audit => "qsign-audit-1",
            Self::Idp => "qsign-idp-1",
            Self::Ocsp => "qsign-ocsp-1",
            Self::ValidationSeal => "qsign-validation-1",
        }
    }

    /// The key type: P-384 for the root CA (long-lived), P-256 otherwise.
    #[must_use]
    pub const fn algorithm(self) -> KeyAlgorithm {
        match self {
            Self::RootCa => KeyAlgorithm::EcP384,
            _ => KeyAlgorithm::EcP256,
        }
    }
}

/// Whether `ensure_keys` found or made a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// The key was generated now.
    Created,
    /// The key was already in the token.
    Existing,
}

/// How to reach the token.
#[derive(Debug)]
pub struct Options {
    /// Path of the PKCS#11 module.
    pub module: PathBuf,
    /// Label of the token.
    pub token_label: String,
    /// User PIN.
    pub pin: Zeroizing<String>,
    /// Size of the session pool and of the concurrency bound.
    pub sessions: usize,
    /// Longest wait for a free session.
    pub timeout: Duration,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
struct Stats {
    operations: AtomicU64,
    failures: AtomicU64,
    rebuilds: AtomicU64,
    unwraps: AtomicU64,
}

/// A snapshot of the HSM counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Operations run (each may include several PKCS#11 calls).
    pub operations: u64,
    /// Operations that ended in an error.
    pub failures: u64,
    /// Times the session pool was rebuilt after a lost session or login.
    pub rebuilds: u64,
    /// User keys unwrapped (each destroyed after use).
    pub unwraps: u64,
    /// Sessions idle in the pool now.
    pub idle_sessions: u64,
}

/// A handle on the HSM: cheap to clone, shared by the whole service.
#[derive(Clone)]
pub struct Hsm {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hsm")
            .field("module", &self.inner.module)
            .field("token", &self.inner.token_label)
            .finish_non_exhaustive()
    }
}

struct Inner {
    pkcs11: Pkcs11,
    module: PathBuf,
    slot: Slot,
    token_label: String,
    pin: AuthPin,
    /// Keeps the application logged in: closing every session would log it out.
    anchor: Mutex<Option<Session>>,
    /// Idle sessions ready for reuse.
    idle: Mutex<Vec<Session>>,
    /// Token object handles by label and class; cleared on rebuild.
    handles: Mutex<HashMap<(String, u64), ObjectHandle>>,
    /// Bounds concurrent PKCS#11 work to the pool size.
    permits: Arc<Semaphore>,
    sessions: usize,
    timeout: Duration,
    stats: Stats,
    /// Record tags that verified, by [`verified_key`]: the same row read again (a credential
    /// on every signature) needs no second HSM call. A changed byte of the row or its tag is
    /// another key and goes to the HSM. Bounded: forgotten whole when full.
    verified: Mutex<std::collections::HashSet<[u8; 32]>>,
}

/// How many verified record tags are remembered (32 bytes each).
const VERIFIED_CAPACITY: usize = 8192;

/// The key under which a verified (message, tag) pair is remembered: SHA-256 over the
/// message's length, the message and the tag, so no two pairs share a key.
fn verified_key(message: &[u8], tag: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update((message.len() as u64).to_be_bytes());
    h.update(message);
    h.update(tag);
    h.finalize().into()
}

/// Loads a PKCS#11 module and initialises it (a second initialisation in the same process is
/// fine: cryptoki contexts share the library).
///
/// # Errors
/// [`Error::ModuleMissing`], [`Error::ModuleLoad`], or the module's own failure.
pub fn load_module(path: &Path) -> Result<Pkcs11, Error> {
    if !path.is_file() {
        return Err(Error::ModuleMissing(path.display().to_string()));
    }
    let pkcs11 = Pkcs11::new(path).map_err(|e| Error::ModuleLoad {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(pkcs11),
        Err(e) => Err(Error::from_ck("C_Initialize", e)),
    }
}

/// Creates the token `label` with the given PINs unless it exists (SoftHSM and HSMs that allow
/// `C_InitToken`).
///
/// # Errors
/// Module errors, no free slot, PKCS#11 failures.
pub fn init_token(
    module: &Path,
    label: &str,
    so_pin: &str,
    user_pin: &str,
) -> Result<TokenStatus, Error> {
    let pkcs11 = load_module(module)?;
    provision::init_token(&pkcs11, label, so_pin, user_pin)
}

/// Finds a service key pair, generating it when missing.
fn ensure_pair(inner: &Inner, session: &Session, key: ServiceKey) -> Result<KeyStatus, Error> {
    match inner.find(session, ObjectClass::PRIVATE_KEY, key.label()) {
        Ok(_) => Ok(KeyStatus::Existing),
        Err(Error::KeyMissing(_)) => {
            generate_pair(session, key.algorithm(), Some(key.label()))?;
            Ok(KeyStatus::Created)
        }
        Err(e) => Err(e),
    }
}

fn find_slot(pkcs11: &Pkcs11, label: &str) -> Result<Option<Slot>, Error> {
    let slots = pkcs11
        .get_slots_with_token()
        .map_err(|e| Error::from_ck("C_GetSlotList", e))?;
    for slot in slots {
        let info = pkcs11
            .get_token_info(slot)
            .map_err(|e| Error::from_ck("C_GetTokenInfo", e))?;
        if info.token_initialized() && info.label().trim_end() == label {
            return Ok(Some(slot));
        }
    }
    Ok(None)
}

impl Hsm {
    /// Loads the module, finds the token by label and logs in. Blocking: call before the
    /// runtime starts or from `spawn_blocking`.
    ///
    /// # Errors
    /// Missing module or token, wrong or locked PIN, PKCS#11 failures.
    pub fn open(options: Options) -> Result<Self, Error> {
        let pkcs11 = load_module(&options.module)?;
        let slot = find_slot(&pkcs11, &options.token_label)?
            .ok_or_else(|| Error::TokenMissing(options.token_label.clone()))?;
        let pin = AuthPin::new(options.pin.as_str().into());
        let inner = Inner {
            pkcs11,
            module: options.module,
            slot,
            token_label: options.token_label,
            pin,
            anchor: Mutex::new(None),
            idle: Mutex::new(Vec::new()),
            handles: Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(options.sessions.max(1))),
            sessions: options.sessions.max(1),
            timeout: options.timeout,
            stats: Stats::default(),
            verified: Mutex::new(std::collections::HashSet::new()),
        };
        inner.rebuild()?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Counters for monitoring.
    #[must_use]
    pub fn stats(&self) -> StatsSnapshot {
        let s = &self.inner.stats;
        StatsSnapshot {
            operations: s.operations.load(Ordering::Relaxed),
            failures: s.failures.load(Ordering::Relaxed),
            rebuilds: s.rebuilds.load(Ordering::Relaxed),
            unwraps: s.unwraps.load(Ordering::Relaxed),
            idle_sessions: u64::try_from(lock(&self.inner.idle).len()).unwrap_or(u64::MAX),
        }
    }

    /// Checks that the token answers and the master key is reachable (for `/readyz`).
    ///
    /// # Errors
    /// Any HSM failure.
    pub async fn ping(&self) -> Result<(), Error> {
        self.run(|inner, session| {
            // Ask the token itself (the handle cache would answer without it), then make sure
            // the master key is there.
            session
                .get_session_info()
                .map_err(|e| Error::from_ck("C_GetSessionInfo", e))?;
            inner
                .find(session, ObjectClass::SECRET_KEY, MASTER_EC_LABEL)
                .map(|_| ())
        })
        .await
    }

    /// Creates the master key and every [`ServiceKey`] that is missing; reports what it did.
    /// Idempotent.
    ///
    /// # Errors
    /// PKCS#11 failures.
    pub async fn ensure_keys(&self) -> Result<Vec<(&'static str, KeyStatus)>, Error> {
        self.run(|inner, session| {
            let mut report = Vec::new();
            for (label, ec) in [(MASTER_EC_LABEL, true), (MASTER_RSA_LABEL, false)] {
                let master = match inner.find(session, ObjectClass::SECRET_KEY, label) {
                    Ok(_) => KeyStatus::Existing,
                    Err(Error::KeyMissing(_)) => {
                        provision::generate_master_key(&inner.module, session, label, ec)?;
                        KeyStatus::Created
                    }
                    Err(e) => return Err(e),
                };
                report.push((label, master));
            }
            for (label, generate) in [
                (DATA_KEY_LABEL, generate_data_key as fn(&Session) -> _),
                (RECORDS_KEY_LABEL, generate_records_key),
            ] {
                let status = match inner.find(session, ObjectClass::SECRET_KEY, label) {
                    Ok(_) => KeyStatus::Existing,
                    Err(Error::KeyMissing(_)) => {
                        generate(session)?;
                        KeyStatus::Created
                    }
                    Err(e) => return Err(e),
                };
                report.push((label, status));
            }
            for key in ServiceKey::ALL {
                report.push((key.label(), ensure_pair(inner, session, key)?));
            }
            Ok(report)
        })
        .await
    }

    /// Creates one [`ServiceKey`] if it is missing (a key added to qsign after the token was
    /// set up, made on its first use); reports what it did. Idempotent.
    ///
    /// # Errors
    /// PKCS#11 failures.
    pub async fn ensure_key(&self, key: ServiceKey) -> Result<KeyStatus, Error> {
        self.run(move |inner, session| ensure_pair(inner, session, key))
            .await
    }

    /// The DER SubjectPublicKeyInfo of a service key.
    ///
    /// # Errors
    /// [`Error::KeyMissing`] before `qsign init`; PKCS#11 failures.
    pub async fn public_key(&self, key: ServiceKey) -> Result<Vec<u8>, Error> {
        self.run(move |inner, session| {
            let handle = inner.find(session, ObjectClass::PUBLIC_KEY, key.label())?;
            public_key_der(session, key.algorithm(), handle)
        })
        .await
    }

    /// Signs `digest` with a service key. ECDSA results are raw `r || s`.
    ///
    /// # Errors
    /// Scheme and key mismatch, missing key, PKCS#11 failures.
    pub async fn sign(
        &self,
        key: ServiceKey,
        scheme: SignAlgorithm,
        digest: Digest,
    ) -> Result<Vec<u8>, Error> {
        mechanism::sign_input(key.algorithm(), scheme, &digest)?;
        self.run(move |inner, session| {
            let (mechanism, input) = mechanism::sign_input(key.algorithm(), scheme, &digest)?;
            let handle = inner.find(session, ObjectClass::PRIVATE_KEY, key.label())?;
            session
                .sign(&mechanism, handle, &input)
                .map_err(|e| Error::from_ck("C_Sign", e))
        })
        .await
    }

    /// Generates a user key pair inside the HSM as session objects, wraps the private key under
    /// the master key and destroys both objects. Returns the blob and the SPKI DER.
    ///
    /// # Errors
    /// PKCS#11 failures.
    pub async fn generate_wrapped(
        &self,
        algorithm: KeyAlgorithm,
    ) -> Result<(WrappedKey, Vec<u8>), Error> {
        self.run(move |inner, session| {
            let label = master_label(algorithm);
            let master = inner.find(session, ObjectClass::SECRET_KEY, label)?;
            let (public, private) = generate_pair(session, algorithm, None)?;
            let result = public_key_der(session, algorithm, public).and_then(|spki| {
                let wrapped = session
                    .wrap_key(&Mechanism::AesKeyWrapPad, master, private)
                    .map_err(|e| Error::from_ck("C_WrapKey", e))?;
                Ok((WrappedKey::new(algorithm, label, wrapped)?, spki))
            });
            destroy(session, private)?;
            destroy(session, public)?;
            result
        })
        .await
    }

    /// Unwraps a user key into a session object (not token, sensitive, not extractable), signs
    /// each digest with it, and destroys the object whatever happened: one unwrap for the
    /// whole batch. ECDSA results are raw `r || s`, in the order of `digests`.
    ///
    /// Only the signature activation module (`sam`) may call this: it is the one way to make
    /// the HSM use a user key, and the layering test checks that no other module names it
    /// (DESIGN.md §2).
    ///
    /// # Errors
    /// Scheme and key mismatch, unknown master key, PKCS#11 failures.
    pub async fn sign_with_wrapped(
        &self,
        key: &WrappedKey,
        scheme: SignAlgorithm,
        digests: Vec<Digest>,
    ) -> Result<Vec<Vec<u8>>, Error> {
        for digest in &digests {
            mechanism::sign_input(key.algorithm(), scheme, digest)?;
        }
        let key = key.clone();
        self.run(move |inner, session| {
            let master = inner.find(session, ObjectClass::SECRET_KEY, key.master_label())?;
            let handle = session
                .unwrap_key(
                    &Mechanism::AesKeyWrapPad,
                    master,
                    key.wrapped_bytes(),
                    &unwrap_template(key.algorithm()),
                )
                .map_err(|e| Error::from_ck("C_UnwrapKey", e))?;
            inner.stats.unwraps.fetch_add(1, Ordering::Relaxed);
            let signed = digests
                .iter()
                .map(|digest| {
                    let (mechanism, input) =
                        mechanism::sign_input(key.algorithm(), scheme, digest)?;
                    session
                        .sign(&mechanism, handle, &input)
                        .map_err(|e| Error::from_ck("C_Sign", e))
                })
                .collect::<Result<Vec<_>, Error>>();
            destroy(session, handle)?;
            signed
        })
        .await
    }

    /// Seals a small secret with AES-256-GCM under the data key in the HSM, bound to `aad`
    /// (for example the owner's id): `1 || IV (12) || ciphertext || tag (16)`.
    ///
    /// # Errors
    /// PKCS#11 failures.
    pub async fn seal(&self, plaintext: Vec<u8>, aad: Vec<u8>) -> Result<Vec<u8>, Error> {
        let mut iv = [0u8; 12];
        getrandom::fill(&mut iv).map_err(|e| Error::Worker(format!("no randomness: {e}")))?;
        self.run(move |inner, session| {
            let key = inner.find(session, ObjectClass::SECRET_KEY, DATA_KEY_LABEL)?;
            let mut iv = iv;
            let params = cryptoki::mechanism::aead::GcmParams::new(&mut iv, &aad, 128.into())
                .map_err(|e| Error::from_ck("GcmParams", e))?;
            let sealed = session
                .encrypt(&Mechanism::AesGcm(params), key, &plaintext)
                .map_err(|e| Error::from_ck("C_Encrypt", e))?;
            let mut out = Vec::with_capacity(13 + sealed.len());
            out.push(SEALED_V1);
            out.extend_from_slice(&iv);
            out.extend_from_slice(&sealed);
            Ok(out)
        })
        .await
    }

    /// Opens what [`Hsm::seal`] made with the same `aad`.
    ///
    /// # Errors
    /// [`Error::BadBlob`] for a malformed, tampered or differently bound value.
    pub async fn unseal(&self, sealed: Vec<u8>, aad: Vec<u8>) -> Result<Vec<u8>, Error> {
        if sealed.len() < 1 + 12 + 16 || sealed.first() != Some(&SEALED_V1) {
            return Err(Error::BadBlob("sealed value is malformed"));
        }
        self.run(move |inner, session| {
            let key = inner.find(session, ObjectClass::SECRET_KEY, DATA_KEY_LABEL)?;
            let mut iv: [u8; 12] = sealed
                .get(1..13)
                .and_then(|s| s.try_into().ok())
                .ok_or(Error::BadBlob("sealed value is malformed"))?;
            let body = sealed
                .get(13..)
                .ok_or(Error::BadBlob("sealed value is malformed"))?;
            let params = cryptoki::mechanism::aead::GcmParams::new(&mut iv, &aad, 128.into())
                .map_err(|e| Error::from_ck("GcmParams", e))?;
            session
                .decrypt(&Mechanism::AesGcm(params), key, body)
                .map_err(|_| {
                    Error::BadBlob("sealed value does not open (tampered or bound elsewhere)")
                })
        })
        .await
    }

    /// HMAC-SHA256 of each message under the records key, in order: one HSM round trip.
    ///
    /// # Errors
    /// [`Error::KeyMissing`] before the key exists; PKCS#11 failures.
    pub async fn mac(&self, messages: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, Error> {
        self.run(move |inner, session| {
            let key = inner.find(session, ObjectClass::SECRET_KEY, RECORDS_KEY_LABEL)?;
            messages
                .iter()
                .map(|m| {
                    session
                        .sign(&Mechanism::Sha256Hmac, key, m)
                        .map_err(|e| Error::from_ck("C_Sign(HMAC)", e))
                })
                .collect()
        })
        .await
    }

    /// Whether each (message, tag) pair verifies under the records key (checked inside the
    /// HSM, so the comparison is the token's, not a byte compare here).
    ///
    /// # Errors
    /// [`Error::KeyMissing`]; PKCS#11 failures other than a wrong tag.
    pub async fn mac_verify(&self, pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Vec<bool>, Error> {
        let keys: Vec<[u8; 32]> = pairs.iter().map(|(m, t)| verified_key(m, t)).collect();
        let known: Vec<bool> = {
            let verified = lock(&self.inner.verified);
            keys.iter().map(|k| verified.contains(k)).collect()
        };
        if known.iter().all(|k| *k) {
            return Ok(known);
        }
        let asked: Vec<(Vec<u8>, Vec<u8>)> = pairs
            .into_iter()
            .zip(&known)
            .filter(|(_, k)| !**k)
            .map(|(p, _)| p)
            .collect();
        let mut answers = self
            .run(move |inner, session| {
                let key = inner.find(session, ObjectClass::SECRET_KEY, RECORDS_KEY_LABEL)?;
                asked
                    .iter()
                    .map(|(m, tag)| {
                        if tag.len() != 32 {
                            return Ok(false);
                        }
                        match session.verify(&Mechanism::Sha256Hmac, key, m, tag) {
                            Ok(()) => Ok(true),
                            Err(CkError::Pkcs11(
                                RvError::SignatureInvalid | RvError::SignatureLenRange,
                                _,
                            )) => Ok(false),
                            Err(e) => Err(Error::from_ck("C_Verify(HMAC)", e)),
                        }
                    })
                    .collect::<Result<Vec<bool>, Error>>()
            })
            .await?
            .into_iter();
        let mut verified = lock(&self.inner.verified);
        let mut out = Vec::with_capacity(known.len());
        for (known, key) in known.into_iter().zip(keys) {
            let ok = known || answers.next().unwrap_or(false);
            if ok && !known {
                if verified.len() >= VERIFIED_CAPACITY {
                    verified.clear();
                }
                verified.insert(key);
            }
            out.push(ok);
        }
        Ok(out)
    }
}

/// The master key that wraps new user keys of an algorithm.
#[must_use]
pub fn master_label(algorithm: KeyAlgorithm) -> &'static str {
    if algorithm.is_ec() {
        MASTER_EC_LABEL
    } else {
        MASTER_RSA_LABEL
    }
}
