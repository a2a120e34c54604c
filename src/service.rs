//! Use cases. Owns transaction boundaries, reads the clock once per request, and turns the
//! domain's failures into [`Error`]s with stable codes.
//!
//! May use `store`, `hsm`, `clock` and `config`.

pub mod error;

use crate::clock::SharedClock;
use crate::hsm::Hsm;
use crate::pki::{Ca, Pki};
use crate::store::Store;

pub use error::{Error, ErrorCode};

/// The service: everything a request needs, cheap to clone.
#[derive(Debug, Clone)]
pub struct Service {
    store: Store,
    hsm: Hsm,
    pki: Pki,
    clock: SharedClock,
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

impl Service {
    /// Builds the service from its parts.
    #[must_use]
    pub fn new(store: Store, hsm: Hsm, pki: Pki, clock: SharedClock) -> Self {
        Self {
            store,
            hsm,
            pki,
            clock,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// The DER certificate of a CA by name (`root`, `issuing`) for the AIA caIssuers URL.
    ///
    /// # Errors
    /// `not_found` for another name; `not_ready` before `qsign init`.
    pub async fn ca_certificate(&self, name: &str) -> Result<Vec<u8>, Error> {
        let ca = Ca::parse(name).ok_or_else(|| Error::new(ErrorCode::NotFound, "no such CA"))?;
        Ok(self.pki.ca_certificate(ca).await?)
    }

    /// A freshly signed CRL of a CA by name.
    ///
    /// # Errors
    /// `not_found` for another name; HSM and database failures.
    pub async fn crl(&self, name: &str) -> Result<Vec<u8>, Error> {
        let ca = Ca::parse(name).ok_or_else(|| Error::new(ErrorCode::NotFound, "no such CA"))?;
        Ok(self.pki.crl(ca, self.now()).await?)
    }

    /// An OCSP response (DER) to a DER request; protocol errors are in the response itself.
    pub async fn ocsp(&self, request: &[u8]) -> Vec<u8> {
        self.pki.ocsp(request, self.now()).await
    }

    /// A time-stamp response (DER) to a DER request; protocol errors are in the response.
    pub async fn timestamp(&self, request: &[u8]) -> Vec<u8> {
        self.pki.timestamp(request, self.now()).await
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &SharedClock {
        &self.clock
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
