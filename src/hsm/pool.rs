//! The session pool: PKCS#11 work on blocking threads bounded by the pool size, sessions
//! reused and the pool rebuilt after a lost session or login, and the cache of object handles.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, SessionState, UserType};

use super::{Error, Hsm, Inner};

impl Hsm {
    /// Runs `op` with a pooled session on a blocking thread, bounded by the pool size and the
    /// configured wait. Retries once after rebuilding the pool if the session or login was lost.
    pub(super) async fn run<T, F>(&self, op: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&Inner, &Session) -> Result<T, Error> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let timeout_ms = u64::try_from(inner.timeout.as_millis()).unwrap_or(u64::MAX);
        let permit =
            tokio::time::timeout(inner.timeout, Arc::clone(&inner.permits).acquire_owned())
                .await
                .map_err(|_| Error::Busy(timeout_ms))?
                .map_err(|_| Error::Worker("HSM pool closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let result = inner.with_session(&op);
            drop(permit);
            result
        })
        .await
        .map_err(|e| Error::Worker(e.to_string()))?
    }
}

impl Inner {
    fn with_session<T>(
        &self,
        op: &dyn Fn(&Self, &Session) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.stats.operations.fetch_add(1, Ordering::Relaxed);
        let result = match self.attempt(op) {
            Err(Error::SessionLost { op: name, rv }) => {
                tracing::warn!(op = name, rv = %rv, "HSM session lost; rebuilding the pool");
                self.rebuild()?;
                self.attempt(op)
            }
            other => other,
        };
        if result.is_err() {
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn attempt<T>(&self, op: &dyn Fn(&Self, &Session) -> Result<T, Error>) -> Result<T, Error> {
        let session = match lock(&self.idle).pop() {
            Some(s) => s,
            None => self
                .pkcs11
                .open_rw_session(self.slot)
                .map_err(|e| Error::from_ck("C_OpenSession", e))?,
        };
        let result = op(self, &session);
        match &result {
            // A session whose state is unknown is closed (which destroys its session objects),
            // not reused.
            Err(Error::SessionLost { .. } | Error::DestroyFailed(_) | Error::Worker(_)) => {
                drop(session);
            }
            _ => {
                let mut idle = lock(&self.idle);
                if idle.len() < self.sessions {
                    idle.push(session);
                }
            }
        }
        result
    }

    /// Opens a fresh anchor session and logs in, then drops the old sessions and handles.
    pub(super) fn rebuild(&self) -> Result<(), Error> {
        let anchor = self
            .pkcs11
            .open_rw_session(self.slot)
            .map_err(|e| Error::from_ck("C_OpenSession", e))?;
        match anchor.login(UserType::User, Some(&self.pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                return Err(Error::WrongPin(self.token_label.clone()));
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                return Err(Error::PinLocked(self.token_label.clone()));
            }
            Err(e) => return Err(Error::from_ck("C_Login", e)),
        }
        let old = lock(&self.anchor).replace(anchor);
        let old_idle = std::mem::take(&mut *lock(&self.idle));
        lock(&self.handles).clear();
        drop(old);
        drop(old_idle);
        self.stats.rebuilds.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Finds a token object by class and label, with a cache of handles.
    pub(super) fn find(
        &self,
        session: &Session,
        class: ObjectClass,
        label: &str,
    ) -> Result<ObjectHandle, Error> {
        let key = (label.to_owned(), u64::from(class));
        if let Some(handle) = lock(&self.handles).get(&key) {
            return Ok(*handle);
        }
        let found = session
            .find_objects(&[
                Attribute::Token(true),
                Attribute::Class(class),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(|e| Error::from_ck("C_FindObjects", e))?;
        let Some(handle) = found.first().copied() else {
            // Private objects are invisible when the login is gone: say so, so the pool is
            // rebuilt, rather than report the key as missing.
            let info = session
                .get_session_info()
                .map_err(|e| Error::from_ck("C_GetSessionInfo", e))?;
            if !matches!(
                info.session_state(),
                SessionState::RoUser | SessionState::RwUser
            ) {
                return Err(Error::SessionLost {
                    op: "C_FindObjects",
                    rv: "not logged in".into(),
                });
            }
            return Err(Error::KeyMissing(label.to_owned()));
        };
        lock(&self.handles).insert(key, handle);
        Ok(handle)
    }
}

/// Locks a mutex, recovering the data if a holder panicked (the data are plain collections
/// whose invariants hold between statements).
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
