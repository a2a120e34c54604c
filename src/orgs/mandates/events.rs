//! The audit records of powers of attorney: one event, written under each party.

use super::{Action, State};
use crate::audit::{Context, Entry, Event, MandateParties, NewMandate};
use crate::orgs::subject;
use crate::store::MandateRow;
use crate::types::PersonId;

/// Unix milliseconds of the audit record.
pub(super) fn ms(now: i64) -> i64 {
    now.saturating_mul(1000)
}

/// The audit entries of one event about a mandate: under the grantor, under the grantee
/// (organisation or person), and under `also` (the member assigned).
pub(super) fn entries(
    ctx: &Context,
    m: &MandateRow,
    event: &Event,
    also: Option<&PersonId>,
) -> Vec<Entry> {
    let person = |p: &str| Some(format!("person:{p}"));
    let mut subjects = vec![subject(&m.grantor_cvr)];
    subjects.extend(m.grantee_cvr.as_deref().map(subject));
    subjects.extend(m.grantee_person.as_deref().map(person));
    subjects.extend(also.map(|p| person(&p.to_string())));
    subjects
        .into_iter()
        .map(|s| ctx.entry(s, event.clone()))
        .collect()
}

/// The parties of a mandate as audit events name them.
fn parties(m: &MandateRow) -> MandateParties {
    MandateParties {
        mandate: m.id.clone(),
        grantor: m.grantor_cvr.clone(),
        grantee_cvr: m.grantee_cvr.clone(),
        grantee_person: m
            .grantee_person
            .as_deref()
            .and_then(|p| PersonId::parse(p).ok()),
    }
}

/// The audit event of a new mandate in `state`.
pub(super) fn created_event(m: &MandateRow, state: State) -> Event {
    let new = NewMandate {
        parties: parties(m),
        scope: m.scope.clone(),
        valid_from: m.valid_from,
        valid_until: m.valid_until,
    };
    match state {
        State::Requested => Event::MandateRequested(new),
        State::Active => Event::MandateGranted(new),
        State::Offered | State::Refused | State::Revoked => Event::MandateOffered(new),
    }
}

/// The audit event of a change of state.
pub(super) fn changed_event(m: &MandateRow, action: Action) -> Event {
    let parties = parties(m);
    match action {
        Action::Accept => Event::MandateAccepted(parties),
        Action::Approve => Event::MandateApproved(parties),
        Action::Refuse => Event::MandateRefused(parties),
        Action::Revoke => Event::MandateRevoked(parties),
    }
}
