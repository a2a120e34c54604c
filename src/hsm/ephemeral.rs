//! Keys for one signing operation (short-lived certificates): a key pair generated as session
//! objects (never token objects, so it is never written to the token's storage) in a session
//! of its own, outside the pool, which lives exactly as long as the key. The private half is
//! sensitive and not extractable: it cannot be wrapped, copied or read, only used to sign.
//!
//! [`EphemeralKey::sign_and_destroy`] signs, destroys both objects and closes the session,
//! whatever happened; a key that is never used is destroyed the same way when it is dropped
//! (on a blocking thread when a runtime is there). Closing a session destroys its session
//! objects (PKCS#11 §5.6), and a process that dies takes its sessions with it, so nothing of
//! the key outlives the operation. Both objects carry a label of their own
//! ([`EphemeralKey::label`]), by which a test can look for leftovers.
//!
//! Only the signature activation module (`sam`) may sign with such a key, as with wrapped keys;
//! the layering test checks that no other module names [`EphemeralKey::sign_and_destroy`].

use std::sync::atomic::Ordering;
use std::sync::Arc;

use cryptoki::object::{Attribute, ObjectHandle};
use cryptoki::session::Session;
use tokio::sync::OwnedSemaphorePermit;

use super::keygen::{destroy, generate_pair_with, public_key_der};
use super::{mechanism, Digest, Error, Hsm, Inner, KeyAlgorithm, SignAlgorithm};

/// The label prefix of ephemeral key objects.
pub const EPHEMERAL_LABEL_PREFIX: &str = "qsign-ephemeral-";

/// A key pair that exists for one signing operation, in a session of its own.
pub struct EphemeralKey {
    inner: Arc<Inner>,
    /// `None` once the key was used (the session went with it).
    session: Option<Session>,
    private: ObjectHandle,
    public: ObjectHandle,
    algorithm: KeyAlgorithm,
    label: String,
}

impl std::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EphemeralKey")
            .field("label", &self.label)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Hsm {
    /// Generates a key pair for one operation: session objects in a new session, the private
    /// half sensitive, not extractable, able only to sign. Returns the key and its
    /// SubjectPublicKeyInfo (DER).
    ///
    /// # Errors
    /// [`Error::Busy`]; PKCS#11 failures (nothing is left behind).
    pub async fn generate_ephemeral(
        &self,
        algorithm: KeyAlgorithm,
    ) -> Result<(EphemeralKey, Vec<u8>), Error> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| Error::Worker(format!("no randomness: {e}")))?;
        let label = format!("{EPHEMERAL_LABEL_PREFIX}{}", hex::encode(id));
        let permit = permit(&self.inner).await?;
        let inner = Arc::clone(&self.inner);
        let name = label.clone();
        let (session, private, public, spki) = tokio::task::spawn_blocking(move || {
            let _turn = permit;
            inner.stats.operations.fetch_add(1, Ordering::Relaxed);
            let made = match generate(&inner, algorithm, &name) {
                Err(Error::SessionLost { op, rv }) => {
                    tracing::warn!(op, rv = %rv, "HSM session lost; rebuilding the pool");
                    inner.rebuild()?;
                    generate(&inner, algorithm, &name)
                }
                other => other,
            };
            if made.is_err() {
                inner.stats.failures.fetch_add(1, Ordering::Relaxed);
            }
            made
        })
        .await
        .map_err(|e| Error::Worker(e.to_string()))??;
        Ok((
            EphemeralKey {
                inner: Arc::clone(&self.inner),
                session: Some(session),
                private,
                public,
                algorithm,
                label,
            },
            spki,
        ))
    }
}

impl EphemeralKey {
    /// The label (and `CKA_ID`) of both objects of the key.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The key type.
    #[must_use]
    pub const fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Signs each digest (ECDSA results raw `r || s`, in order), then destroys both objects
    /// and closes the key's session, also when signing failed: the key can sign only once.
    ///
    /// Only the signature activation module (`sam`) may call this.
    ///
    /// # Errors
    /// Scheme and key mismatch; [`Error::Busy`]; PKCS#11 failures, including a session that
    /// would not close ([`Error::DestroyFailed`]): no signature is given then.
    pub async fn sign_and_destroy(
        mut self,
        scheme: SignAlgorithm,
        digests: Vec<Digest>,
    ) -> Result<Vec<Vec<u8>>, Error> {
        for digest in &digests {
            // A mismatch drops `self`, which destroys the key.
            mechanism::sign_input(self.algorithm, scheme, digest)?;
        }
        let permit = permit(&self.inner).await?;
        let session = self
            .session
            .take()
            .ok_or_else(|| Error::Worker("the ephemeral key was used already".into()))?;
        let (inner, private, public, algorithm) = (
            Arc::clone(&self.inner),
            self.private,
            self.public,
            self.algorithm,
        );
        drop(self);
        tokio::task::spawn_blocking(move || {
            let _turn = permit;
            inner.stats.operations.fetch_add(1, Ordering::Relaxed);
            let signed = digests
                .iter()
                .map(|digest| {
                    let (mechanism, input) = mechanism::sign_input(algorithm, scheme, digest)?;
                    session
                        .sign(&mechanism, private, &input)
                        .map_err(|e| Error::from_ck("C_Sign", e))
                })
                .collect::<Result<Vec<_>, Error>>();
            let destroyed = destroy(&session, private).and(destroy(&session, public));
            // Closing the session destroys whatever of it is left.
            let closed = session
                .close()
                .map_err(|e| Error::DestroyFailed(format!("C_CloseSession: {e}")));
            let result = destroyed.and(closed).and(signed);
            if result.is_err() {
                inner.stats.failures.fetch_add(1, Ordering::Relaxed);
            }
            result
        })
        .await
        .map_err(|e| Error::Worker(e.to_string()))?
    }
}

impl Drop for EphemeralKey {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let (private, public) = (self.private, self.public);
        let cleanup = move || {
            let _ = session.destroy_object(private);
            let _ = session.destroy_object(public);
            // Dropping the session closes it, which destroys its objects in any case.
            drop(session);
        };
        // PKCS#11 calls belong on blocking threads, never on an async worker.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(cleanup)),
            Err(_) => cleanup(),
        }
    }
}

/// A turn at the HSM, within the configured wait.
async fn permit(inner: &Arc<Inner>) -> Result<OwnedSemaphorePermit, Error> {
    let timeout_ms = u64::try_from(inner.timeout.as_millis()).unwrap_or(u64::MAX);
    tokio::time::timeout(inner.timeout, Arc::clone(&inner.permits).acquire_owned())
        .await
        .map_err(|_| Error::Busy(timeout_ms))?
        .map_err(|_| Error::Worker("HSM pool closed".into()))
}

/// Opens a session and generates the pair in it as session objects labelled `label`; the
/// session, both handles and the public key. On failure the session closes, and with it
/// anything made.
fn generate(
    inner: &Inner,
    algorithm: KeyAlgorithm,
    label: &str,
) -> Result<(Session, ObjectHandle, ObjectHandle, Vec<u8>), Error> {
    let session = inner
        .pkcs11
        .open_rw_session(inner.slot)
        .map_err(|e| Error::from_ck("C_OpenSession", e))?;
    let named = |t: &mut Vec<Attribute>| {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
        t.push(Attribute::Id(label.as_bytes().to_vec()));
    };
    let mut public = vec![
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::Verify(true),
    ];
    named(&mut public);
    let mut private = vec![
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
        Attribute::Unwrap(false),
        Attribute::Copyable(false),
    ];
    named(&mut private);
    // Last: SoftHSM refuses attributes after this one.
    private.push(Attribute::Modifiable(false));
    let (public, private) = generate_pair_with(&session, algorithm, public, &private)?;
    let spki = public_key_der(&session, algorithm, public)?;
    Ok((session, private, public, spki))
}
