//! Use cases. Owns transaction boundaries, reads the clock once per request, and turns the
//! domain's failures into [`Error`]s with stable codes.
//!
//! May use `store`, `hsm`, `clock` and `config`.

pub mod error;

use crate::clock::SharedClock;
use crate::hsm::Hsm;
use crate::store::Store;

pub use error::{Error, ErrorCode};

/// The service: everything a request needs, cheap to clone.
#[derive(Debug, Clone)]
pub struct Service {
    store: Store,
    hsm: Hsm,
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
    pub fn new(store: Store, hsm: Hsm, clock: SharedClock) -> Self {
        Self { store, hsm, clock }
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
