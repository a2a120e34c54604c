//! The terms of a power of attorney (its scope and validity window), its states, the actions
//! that move it and which side may take each. Pure: no I/O.

use super::Error;
use crate::formats::representation::check_role;
use crate::orgs::{Cvr, Right};
use crate::types::PersonId;

/// How far ahead a mandate may end: five years (of 366 days) after it is made.
pub const MAX_AHEAD_SECS: i64 = 5 * 366 * 24 * 3600;

/// What a mandate allows: `sign_on_behalf`, `use_seal`, or a theme (`[a-z][a-z0-9_-]{0,31}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope(String);

impl Scope {
    /// Parses a scope.
    ///
    /// # Errors
    /// [`Error::InvalidScope`].
    pub fn parse(s: &str) -> Result<Self, Error> {
        check_role(s)
            .map(|()| Self(s.to_owned()))
            .map_err(|_| Error::InvalidScope(s.chars().take(40).collect()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a mandate of this scope allows `wanted`: the same scope; `sign_on_behalf` also
    /// allows every theme, but not `use_seal` (the seal is a right of its own).
    #[must_use]
    pub fn covers(&self, wanted: &str) -> bool {
        covers(&self.0, wanted)
    }
}

/// [`Scope::covers`] on names.
pub(super) fn covers(granted: &str, wanted: &str) -> bool {
    granted == wanted
        || (granted == Right::SignOnBehalf.as_str() && wanted != Right::UseSeal.as_str())
}

/// Where a mandate is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Offered by the grantor; waits for the grantee.
    Offered,
    /// Asked for by the grantee organisation; waits for the grantor.
    Requested,
    /// In force (within its validity window).
    Active,
    /// The offer or the request was refused.
    Refused,
    /// Revoked, renounced or withdrawn: for good.
    Revoked,
}

impl State {
    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Requested => "requested",
            Self::Active => "active",
            Self::Refused => "refused",
            Self::Revoked => "revoked",
        }
    }

    /// Parses [`State::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Offered,
            Self::Requested,
            Self::Active,
            Self::Refused,
            Self::Revoked,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// A change of state asked for by one of the parties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The grantee takes an offered mandate.
    Accept,
    /// The grantor gives a requested mandate.
    Approve,
    /// The side asked refuses an offer (the grantee) or a request (the grantor).
    Refuse,
    /// Either side ends the mandate (or withdraws it before it is active).
    Revoke,
}

impl Action {
    /// The stable name (the last segment of the route).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Approve => "approve",
            Self::Refuse => "refuse",
            Self::Revoke => "revoke",
        }
    }

    /// Parses [`Action::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Accept, Self::Approve, Self::Refuse, Self::Revoke]
            .into_iter()
            .find(|action| action.as_str() == s)
    }
}

/// Who holds a mandate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// An organisation: its administrators assign the mandate to its members.
    Organisation(Cvr),
    /// A person, directly.
    Person(PersonId),
}

/// What a mandate allows and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// What it allows.
    pub scope: Scope,
    /// From when, Unix seconds.
    pub valid_from: i64,
    /// Until when (exclusive), Unix seconds: after `valid_from`, in the future, at most
    /// [`MAX_AHEAD_SECS`] ahead.
    pub valid_until: i64,
}

impl Terms {
    /// Checks the validity window against `now`.
    pub(super) fn check(&self, now: i64) -> Result<(), Error> {
        if self.valid_from >= self.valid_until {
            Err(Error::InvalidWindow(
                "valid_from must be before valid_until",
            ))
        } else if self.valid_until <= now {
            Err(Error::InvalidWindow("valid_until must be in the future"))
        } else if self.valid_until > now.saturating_add(MAX_AHEAD_SECS) {
            Err(Error::InvalidWindow("valid_until at most five years ahead"))
        } else {
            Ok(())
        }
    }
}

/// In whose name a change is made.
#[derive(Debug, Clone, Copy)]
pub enum Acting<'a> {
    /// A person as an administrator of this organisation (the grantor or the grantee).
    Admin(&'a PersonId, &'a Cvr),
    /// The person a mandate is granted to directly.
    Person(&'a PersonId),
    /// The operator (the command line): may revoke any mandate.
    Operator,
}

/// The side of a mandate a change is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Grantor,
    Grantee,
    Operator,
}

impl Side {
    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Self::Grantor => "grantor",
            Self::Grantee => "grantee",
            Self::Operator => "operator",
        }
    }
}

/// The state `action` from `side` moves a mandate in state `from` to; `None` when it does not
/// fit (the wrong side, or a state the action does not start from).
pub(super) fn next(side: Side, action: Action, from: State) -> Option<State> {
    match (action, side, from) {
        (Action::Accept, Side::Grantee, State::Offered)
        | (Action::Approve, Side::Grantor, State::Requested) => Some(State::Active),
        (Action::Refuse, Side::Grantee, State::Offered)
        | (Action::Refuse, Side::Grantor, State::Requested) => Some(State::Refused),
        (Action::Revoke, _, State::Offered | State::Requested | State::Active) => {
            Some(State::Revoked)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_moves_only_its_own_states() {
        use super::Action::{Accept, Approve, Refuse, Revoke};
        use super::State::{Active, Offered, Refused, Requested, Revoked};
        let (grantor, grantee, operator) = (Side::Grantor, Side::Grantee, Side::Operator);
        assert_eq!(next(grantee, Accept, Offered), Some(Active));
        assert_eq!(next(grantor, Approve, Requested), Some(Active));
        assert_eq!(next(grantee, Refuse, Offered), Some(Refused));
        assert_eq!(next(grantor, Refuse, Requested), Some(Refused));
        for side in [grantor, grantee, operator] {
            for from in [Offered, Requested, Active] {
                assert_eq!(next(side, Revoke, from), Some(Revoked), "{side:?} {from:?}");
            }
            for from in [Refused, Revoked] {
                assert_eq!(next(side, Revoke, from), None, "{side:?} {from:?}");
            }
        }
        // One's own offer or request is not accepted or approved by oneself.
        assert_eq!(next(grantor, Accept, Offered), None);
        assert_eq!(next(grantee, Approve, Requested), None);
        assert_eq!(next(grantor, Refuse, Offered), None);
        assert_eq!(next(grantee, Refuse, Requested), None);
        // Nothing brings a revoked or refused mandate back.
        for action in [Accept, Approve, Refuse] {
            for side in [grantor, grantee, operator] {
                for from in [Active, Refused, Revoked] {
                    assert_eq!(
                        next(side, action, from),
                        None,
                        "{action:?} {side:?} {from:?}"
                    );
                }
            }
        }
        // The operator only revokes.
        assert_eq!(next(operator, Accept, Offered), None);
        assert_eq!(next(operator, Approve, Requested), None);
    }

    #[test]
    fn sign_on_behalf_covers_themes_but_not_the_seal() {
        let sign = Scope::parse("sign_on_behalf").unwrap();
        assert!(sign.covers("sign_on_behalf"));
        assert!(sign.covers("accounting"));
        assert!(!sign.covers("use_seal"));
        let theme = Scope::parse("accounting").unwrap();
        assert!(theme.covers("accounting"));
        assert!(!theme.covers("sign_on_behalf"));
        assert!(!theme.covers("payroll"));
        let seal = Scope::parse("use_seal").unwrap();
        assert!(seal.covers("use_seal"));
        assert!(!seal.covers("accounting"));
        let long = "a".repeat(33);
        for bad in ["", "Accounting", "1st", "a b", long.as_str()] {
            assert!(
                matches!(Scope::parse(bad), Err(Error::InvalidScope(_))),
                "{bad:?}"
            );
        }
        assert!(Scope::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn the_window_is_ordered_in_the_future_and_at_most_five_years_ahead() {
        let now = 2_000_000_000;
        let terms = |valid_from, valid_until| Terms {
            scope: Scope::parse("accounting").unwrap(),
            valid_from,
            valid_until,
        };
        assert!(terms(now, now + 3600).check(now).is_ok());
        assert!(terms(now - 3600, now + MAX_AHEAD_SECS).check(now).is_ok());
        for (from, until) in [
            (now + 10, now + 10),
            (now + 10, now + 5),
            (now - 100, now),
            (now, now + MAX_AHEAD_SECS + 1),
        ] {
            assert!(
                matches!(terms(from, until).check(now), Err(Error::InvalidWindow(_))),
                "{from} {until}"
            );
        }
    }

    #[test]
    fn states_and_actions_round_trip_their_names() {
        for state in [
            State::Offered,
            State::Requested,
            State::Active,
            State::Refused,
            State::Revoked,
        ] {
            assert_eq!(State::parse(state.as_str()), Some(state));
        }
        for action in [
            Action::Accept,
            Action::Approve,
            Action::Refuse,
            Action::Revoke,
        ] {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
        assert_eq!(State::parse("Active"), None);
        assert_eq!(Action::parse("assignments"), None);
    }
}
