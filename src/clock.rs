//! Time as a parameter: the one place that reads the wall clock.
//!
//! Services read `clock.now()` once per request and pass the value down, so tests can pin time
//! (SAD expiry, certificate validity, audit checkpoints) with [`FixedClock`].

use std::sync::Arc;

use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one reader of the wall clock"
    )]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that always answers the same instant (tests, replays).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// The clock shared by the service.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock, shared.
#[must_use]
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_returns_its_instant() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(FixedClock(t).now(), t);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now().unix_timestamp() > 1_704_067_200);
    }
}
