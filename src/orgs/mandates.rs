//! Powers of attorney (mandates): an organisation, the *grantor*, lets another organisation or
//! a named person, the *grantee*, act for it within a scope (`sign_on_behalf`, `use_seal`, or a
//! theme such as `accounting`) from `valid_from` until `valid_until`.
//!
//! ```text
//!   offer   (grantor's administrator) -> offered   --accept (grantee)--> active
//!   request (grantee's administrator) -> requested --approve (grantor)-> active
//!   grant   (the operator)            -> active
//!   offered --refuse (grantee)--> refused          requested --refuse (grantor)--> refused
//!   offered | requested | active --revoke (either side, or the operator)--> revoked
//! ```
//!
//! The grantee of an offer is an organisation (its administrators act for it) or a person (who
//! acts alone). An organisation's administrators assign an active mandate it holds to their own
//! members; a person grantee needs no assignment.
//!
//! [`Mandates::usable`] is the check at signing time. A mandate is usable by a person when it
//! exists with its integrity tag, is `active`, was granted by the organisation asked about,
//! covers the scope asked (the same scope; `sign_on_behalf` also covers every theme, never
//! `use_seal`), and `valid_from <= at < valid_until`; and the person is the person grantee, or a
//! current member of the grantee organisation who holds `sign_on_behalf` there and to whom the
//! mandate is assigned. Acting for another organisation through one's employer is signing on the
//! employer's behalf, so taking that right away (or the member) stops the mandates too.
//!
//! State changes are conditional updates from the state read, so two administrators cannot both
//! move a mandate. Every change is audited in the same transaction under each organisation
//! involved (`org:<cvr>`) and under the person grantee or the member assigned (`person:<id>`),
//! with the mandate id in the event. Rows carry integrity tags (`keys`): a mandate or an
//! assignment a database writer made or changed counts as none.

mod events;
mod terms;

use super::{Cvr, Orgs};
use crate::audit::{self, Context, Event, MandateMember};
use crate::formats::representation;
use crate::keys;
use crate::store::{self, MandateAssignmentRow, MandateRow};
use crate::types::PersonId;
use events::{changed_event, created_event, entries, ms};
use terms::{covers, next, Side};
pub use terms::{Acting, Action, Grantee, Scope, State, Terms, MAX_AHEAD_SECS};

/// What goes wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such organisation, not an administrator, no such member; store, credential and audit
    /// failures of the organisation module.
    #[error(transparent)]
    Orgs(#[from] super::Error),
    /// No such power of attorney (or one of other organisations).
    #[error("no such power of attorney")]
    NotFound,
    /// No such person.
    #[error("no such person")]
    UnknownPerson,
    /// The member does not hold this power of attorney.
    #[error("the power of attorney is not assigned to that member")]
    NotAssigned,
    /// A change that does not fit the mandate's state or the caller's side.
    #[error("{0}")]
    InvalidState(String),
    /// Not a scope.
    #[error("{0:?} is not a scope: sign_on_behalf, use_seal or a theme (lower-case letters, digits, '_' and '-', starting with a letter, at most 32 characters)")]
    InvalidScope(String),
    /// A validity window that does not fit.
    #[error("validity: {0}")]
    InvalidWindow(&'static str),
    /// A grantee that does not fit.
    #[error("grantee: {0}")]
    InvalidGrantee(&'static str),
    /// The mandate cannot be used for this (the signing-time check).
    #[error("the power of attorney cannot be used: {0}")]
    Unusable(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Integrity tags failed.
    #[error(transparent)]
    Keys(#[from] keys::Error),
    /// The audit record could not be written, so nothing changed.
    #[error(transparent)]
    Audit(#[from] audit::Error),
}

/// A mandate as its parties see it: the row (its integrity tag verified), both parties' names
/// and, for an organisation grantee, the members it is assigned to (tags verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The mandate.
    pub row: MandateRow,
    /// The grantor's registered name.
    pub grantor_name: String,
    /// The grantee organisation's registered name, or the person grantee's full name.
    pub grantee_name: String,
    /// The person grantee's username.
    pub grantee_username: Option<String>,
    /// The members of the grantee organisation who hold it.
    pub assignments: Vec<MandateAssignmentRow>,
}

/// What a signature made under a mandate needs to carry: the answer of [`Mandates::usable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandateGrant {
    /// Mandate id.
    pub id: String,
    /// The grantor's CVR number.
    pub grantor_cvr: String,
    /// The grantor's registered name.
    pub grantor_name: String,
    /// The holding organisation's CVR number (`None` for a person grantee).
    pub holder_cvr: Option<String>,
    /// What it allows.
    pub scope: String,
    /// From when, Unix seconds.
    pub valid_from: i64,
    /// Until when (exclusive), Unix seconds.
    pub valid_until: i64,
}

impl MandateGrant {
    /// The power of attorney as a signature's capacity carries it.
    #[must_use]
    pub fn to_mandate(&self) -> representation::Mandate {
        representation::Mandate {
            id: self.id.clone(),
            holder_cvr: self.holder_cvr.clone(),
            scope: self.scope.clone(),
            valid_until: self.valid_until,
        }
    }
}

impl From<MandateGrant> for representation::Mandate {
    fn from(grant: MandateGrant) -> Self {
        Self {
            id: grant.id,
            holder_cvr: grant.holder_cvr,
            scope: grant.scope,
            valid_until: grant.valid_until,
        }
    }
}

/// Powers of attorney: cheap to clone (the organisation module's parts).
#[derive(Debug, Clone)]
pub struct Mandates {
    orgs: Orgs,
}

impl Orgs {
    /// The powers of attorney between these organisations (and persons).
    #[must_use]
    pub fn mandates(&self) -> Mandates {
        Mandates { orgs: self.clone() }
    }
}

impl Mandates {
    /// A grantor's administrator offers a mandate to an organisation or a person: `offered`.
    ///
    /// # Errors
    /// `Orgs(NotFound | NotAdmin)`, [`Error::InvalidWindow`], [`Error::InvalidGrantee`],
    /// [`Error::UnknownPerson`]; store, tag and audit failures.
    pub async fn offer(
        &self,
        caller: &PersonId,
        grantor: &Cvr,
        grantee: &Grantee,
        terms: &Terms,
        ctx: &Context,
        now: i64,
    ) -> Result<MandateRow, Error> {
        self.orgs.admin_of(caller, grantor).await?;
        self.create(grantor, grantee, terms, State::Offered, ctx, now)
            .await
    }

    /// A grantee organisation's administrator asks another organisation for a mandate:
    /// `requested`.
    ///
    /// # Errors
    /// As [`Mandates::offer`].
    pub async fn request(
        &self,
        caller: &PersonId,
        grantee: &Cvr,
        grantor: &Cvr,
        terms: &Terms,
        ctx: &Context,
        now: i64,
    ) -> Result<MandateRow, Error> {
        self.orgs.admin_of(caller, grantee).await?;
        let holder = Grantee::Organisation(grantee.clone());
        self.create(grantor, &holder, terms, State::Requested, ctx, now)
            .await
    }

    /// The operator grants a mandate: `active` at once.
    ///
    /// # Errors
    /// As [`Mandates::offer`], without the administrator check.
    pub async fn grant(
        &self,
        grantor: &Cvr,
        grantee: &Grantee,
        terms: &Terms,
        ctx: &Context,
        now: i64,
    ) -> Result<MandateRow, Error> {
        self.create(grantor, grantee, terms, State::Active, ctx, now)
            .await
    }

    /// Accepts, approves, refuses or revokes a mandate, as `acting`; answers it as it is now.
    ///
    /// # Errors
    /// `Orgs(NotFound | NotAdmin)` for an administrator; [`Error::NotFound`] for an unknown
    /// mandate or one of other parties; [`Error::InvalidState`] when the action does not fit
    /// the state or the side (accepting a revoked mandate, approving one's own request), or
    /// an accepted mandate would already be over; store, tag and audit failures.
    pub async fn change(
        &self,
        acting: Acting<'_>,
        id: &str,
        action: Action,
        ctx: &Context,
        now: i64,
    ) -> Result<MandateRow, Error> {
        if let Acting::Admin(caller, cvr) = acting {
            self.orgs.admin_of(caller, cvr).await?;
        }
        let current = self.intact(id).await?.ok_or(Error::NotFound)?;
        let side = match acting {
            Acting::Admin(_, cvr) if current.grantor_cvr == cvr.as_str() => Side::Grantor,
            Acting::Admin(_, cvr) if current.grantee_cvr.as_deref() == Some(cvr.as_str()) => {
                Side::Grantee
            }
            Acting::Person(person) if current.grantee_person == Some(person.to_string()) => {
                Side::Grantee
            }
            Acting::Operator => Side::Operator,
            // Other parties' mandate: as if it did not exist.
            _ => return Err(Error::NotFound),
        };
        let from = State::parse(&current.state)
            .ok_or_else(|| Error::InvalidState(format!("unknown state {:?}", current.state)))?;
        let to = next(side, action, from).ok_or_else(|| {
            Error::InvalidState(format!(
                "the {} cannot {} a power of attorney that is {}",
                side.as_str(),
                action.as_str(),
                from.as_str()
            ))
        })?;
        if to == State::Active && current.valid_until <= now {
            return Err(Error::InvalidState(
                "the power of attorney's validity has ended".to_owned(),
            ));
        }
        let row = self
            .tagged(MandateRow {
                state: to.as_str().to_owned(),
                updated_at: now,
                mac: None,
                ..current
            })
            .await?;
        let mut tx = self.orgs.store.begin().await?;
        if !tx.update_mandate_state(&row, from.as_str()).await? {
            return Err(Error::InvalidState(
                "the power of attorney changed meanwhile; read it again".to_owned(),
            ));
        }
        let event = changed_event(&row, action);
        self.orgs
            .audit
            .append_many_and_commit(tx, &entries(ctx, &row, &event, None), ms(now))
            .await?;
        Ok(row)
    }

    /// The holding organisation's administrator gives an active mandate to one of its members
    /// (`assigned`), or takes it away.
    ///
    /// # Errors
    /// `Orgs(NotFound | NotAdmin | NoMember)`; [`Error::NotFound`]; [`Error::InvalidState`]
    /// for a mandate that is not active or that this organisation granted rather than holds;
    /// [`Error::NotAssigned`]; store, tag and audit failures.
    #[allow(
        clippy::too_many_arguments,
        reason = "the request's parts, each needed"
    )]
    pub async fn assign(
        &self,
        caller: &PersonId,
        holder: &Cvr,
        id: &str,
        member: &PersonId,
        assigned: bool,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        self.orgs.admin_of(caller, holder).await?;
        let mandate = self.intact(id).await?.ok_or(Error::NotFound)?;
        if mandate.grantee_cvr.as_deref() != Some(holder.as_str()) {
            return Err(if mandate.grantor_cvr == holder.as_str() {
                Error::InvalidState(
                    "only the organisation that holds a power of attorney assigns it".to_owned(),
                )
            } else {
                Error::NotFound
            });
        }
        let person = member.to_string();
        let mut row = MandateAssignmentRow {
            mandate: mandate.id.clone(),
            person: person.clone(),
            username: String::new(),
            given_name: String::new(),
            family_name: String::new(),
            assigned_at: now,
            mac: None,
        };
        if assigned {
            if mandate.state != State::Active.as_str() {
                return Err(Error::InvalidState(format!(
                    "only an active power of attorney is assigned; this one is {}",
                    mandate.state
                )));
            }
            if self.orgs.member(holder.as_str(), &person).await?.is_none() {
                return Err(Error::Orgs(super::Error::NoMember));
            }
            row.mac = Some(self.orgs.keys.tag_mandate_assignment(&row).await?);
        }
        let mut tx = self.orgs.store.begin().await?;
        if assigned {
            tx.upsert_mandate_assignment(&row).await?;
        } else if !tx.delete_mandate_assignment(&mandate.id, &person).await? {
            return Err(Error::NotAssigned);
        }
        let assignment = MandateMember {
            mandate: mandate.id.clone(),
            grantor: mandate.grantor_cvr.clone(),
            grantee_cvr: holder.to_string(),
            person: *member,
        };
        let event = if assigned {
            Event::MandateAssigned(assignment)
        } else {
            Event::MandateUnassigned(assignment)
        };
        self.orgs
            .audit
            .append_many_and_commit(tx, &entries(ctx, &mandate, &event, Some(member)), ms(now))
            .await?;
        Ok(())
    }

    /// The mandates an organisation granted or holds, for its administrators, oldest first.
    ///
    /// # Errors
    /// `Orgs(NotFound | NotAdmin)`; store and tag failures.
    pub async fn of_organisation(
        &self,
        caller: &PersonId,
        cvr: &Cvr,
    ) -> Result<Vec<Listed>, Error> {
        self.orgs.admin_of(caller, cvr).await?;
        self.listed(cvr).await
    }

    /// The mandates an organisation granted or holds (the operator's list), oldest first.
    ///
    /// # Errors
    /// `Orgs(NotFound)`; store and tag failures.
    pub async fn listed(&self, cvr: &Cvr) -> Result<Vec<Listed>, Error> {
        self.orgs.organisation(cvr).await?;
        let rows = self.orgs.store.mandates_of(cvr.as_str()).await?;
        self.describe(rows).await
    }

    /// The mandates granted to a person directly, in any state (offers to accept included).
    ///
    /// # Errors
    /// Store and tag failures.
    pub async fn of_person(&self, person: &PersonId) -> Result<Vec<Listed>, Error> {
        let rows = self
            .orgs
            .store
            .mandates_of_person(&person.to_string())
            .await?;
        self.describe(rows).await
    }

    /// Whether `person` may use mandate `mandate_id` of `grantor` for `scope` at `at_secs`
    /// (see the module documentation for the rules); answers what the signature carries.
    ///
    /// # Errors
    /// [`Error::Unusable`] saying why not; store and tag failures.
    pub async fn usable(
        &self,
        person: &PersonId,
        mandate_id: &str,
        grantor: &Cvr,
        scope: &str,
        at_secs: i64,
    ) -> Result<MandateGrant, Error> {
        let m = self
            .intact(mandate_id)
            .await?
            .ok_or(Error::Unusable("no such power of attorney"))?;
        if m.grantor_cvr != grantor.as_str() {
            return Err(Error::Unusable("it was granted by another organisation"));
        }
        match State::parse(&m.state) {
            Some(State::Active) => {}
            Some(State::Revoked) => return Err(Error::Unusable("it is revoked")),
            Some(State::Refused) => return Err(Error::Unusable("it was refused")),
            _ => return Err(Error::Unusable("it is not accepted yet")),
        }
        if !covers(&m.scope, scope) {
            return Err(Error::Unusable("it does not cover this scope"));
        }
        if at_secs < m.valid_from || at_secs >= m.valid_until {
            return Err(Error::Unusable("it is not valid at this time"));
        }
        let me = person.to_string();
        match (&m.grantee_cvr, &m.grantee_person) {
            (None, Some(holder)) if *holder == me => {}
            (Some(holder), None) => self.held_through(holder, &m.id, &me).await?,
            _ => return Err(Error::Unusable("it is not granted to this person")),
        }
        let grantor_name = self.organisation_name(&m.grantor_cvr).await?;
        Ok(MandateGrant {
            id: m.id,
            grantor_cvr: m.grantor_cvr,
            grantor_name,
            holder_cvr: m.grantee_cvr,
            scope: m.scope,
            valid_from: m.valid_from,
            valid_until: m.valid_until,
        })
    }

    /// Every mandate `person` may use at `at_secs`: granted to them directly, or assigned to
    /// them by an organisation that holds it (each as [`Mandates::usable`] answers it for its
    /// own scope).
    ///
    /// # Errors
    /// Store and tag failures.
    pub async fn usable_by(
        &self,
        person: &PersonId,
        at_secs: i64,
    ) -> Result<Vec<MandateGrant>, Error> {
        let me = person.to_string();
        let mut candidates = self.orgs.store.mandates_of_person(&me).await?;
        for assignment in self.orgs.store.mandate_assignments_of(&me).await? {
            if let Some(m) = self.orgs.store.mandate(&assignment.mandate).await? {
                candidates.push(m);
            }
        }
        let mut out = Vec::new();
        for m in candidates {
            let Ok(grantor) = Cvr::parse(&m.grantor_cvr) else {
                continue;
            };
            match self
                .usable(person, &m.id, &grantor, &m.scope, at_secs)
                .await
            {
                Ok(grant) => out.push(grant),
                Err(Error::Unusable(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(out)
    }
}

impl Mandates {
    /// Makes a mandate in `state`, audited under its parties.
    async fn create(
        &self,
        grantor: &Cvr,
        grantee: &Grantee,
        terms: &Terms,
        state: State,
        ctx: &Context,
        now: i64,
    ) -> Result<MandateRow, Error> {
        terms.check(now)?;
        self.orgs.organisation(grantor).await?;
        let (grantee_cvr, grantee_person) = match grantee {
            Grantee::Organisation(cvr) => {
                if cvr == grantor {
                    return Err(Error::InvalidGrantee(
                        "an organisation does not grant itself a power of attorney",
                    ));
                }
                self.orgs.organisation(cvr).await?;
                (Some(cvr.to_string()), None)
            }
            Grantee::Person(person) => {
                let id = person.to_string();
                if self.orgs.store.person_by_id(&id).await?.is_none() {
                    return Err(Error::UnknownPerson);
                }
                (None, Some(id))
            }
        };
        let row = self
            .tagged(MandateRow {
                id: uuid::Uuid::new_v4().to_string(),
                grantor_cvr: grantor.to_string(),
                grantee_cvr,
                grantee_person,
                scope: terms.scope.as_str().to_owned(),
                valid_from: terms.valid_from,
                valid_until: terms.valid_until,
                state: state.as_str().to_owned(),
                created_at: now,
                updated_at: now,
                mac: None,
            })
            .await?;
        let mut tx = self.orgs.store.begin().await?;
        tx.insert_mandate(&row).await?;
        let event = created_event(&row, state);
        self.orgs
            .audit
            .append_many_and_commit(tx, &entries(ctx, &row, &event, None), ms(now))
            .await?;
        Ok(row)
    }

    /// A mandate as the service wrote it: an unknown id, a row whose integrity tag does not
    /// verify, or an id that is not a UUID, is none.
    async fn intact(&self, id: &str) -> Result<Option<MandateRow>, Error> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Ok(None);
        }
        match self.orgs.store.mandate(id).await? {
            Some(m) if self.orgs.keys.mandate_intact(&m).await? => Ok(Some(m)),
            _ => Ok(None),
        }
    }

    /// A mandate with its integrity tag, ready to be written.
    async fn tagged(&self, mut m: MandateRow) -> Result<MandateRow, Error> {
        m.mac = Some(self.orgs.keys.tag_mandate(&m).await?);
        Ok(m)
    }

    /// Checks that `person` holds mandate `id` through organisation `holder`: a current member
    /// with `sign_on_behalf` there, to whom it is assigned.
    async fn held_through(&self, holder: &str, id: &str, person: &str) -> Result<(), Error> {
        let member = self
            .orgs
            .member(holder, person)
            .await?
            .ok_or(Error::Unusable(
                "the person is not a member of the organisation that holds it",
            ))?;
        if !member.sign_on_behalf {
            return Err(Error::Unusable(
                "the person does not hold sign_on_behalf in the organisation that holds it",
            ));
        }
        let assigned = match self.orgs.store.mandate_assignment(id, person).await? {
            Some(a) => self.orgs.keys.mandate_assignment_intact(&a).await?,
            None => false,
        };
        if assigned {
            Ok(())
        } else {
            Err(Error::Unusable("it is not assigned to the person"))
        }
    }

    /// An organisation's registered name (empty when unknown).
    async fn organisation_name(&self, cvr: &str) -> Result<String, Error> {
        Ok(self
            .orgs
            .store
            .organisation(cvr)
            .await?
            .map(|o| o.name)
            .unwrap_or_default())
    }

    /// Mandate rows with their integrity tags verified (the others left out), the parties'
    /// names and their assignments.
    ///
    /// # Errors
    /// Store and tag failures.
    pub async fn describe(&self, rows: Vec<MandateRow>) -> Result<Vec<Listed>, Error> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if !self.orgs.keys.mandate_intact(&row).await? {
                continue;
            }
            let grantor_name = self.organisation_name(&row.grantor_cvr).await?;
            let (grantee_name, grantee_username, assignments) =
                match (&row.grantee_cvr, &row.grantee_person) {
                    (Some(cvr), _) => (
                        self.organisation_name(cvr).await?,
                        None,
                        self.assignments(&row.id).await?,
                    ),
                    (None, Some(person)) => match self.orgs.store.person_by_id(person).await? {
                        Some(p) => (
                            format!("{} {}", p.given_name, p.family_name),
                            Some(p.username),
                            Vec::new(),
                        ),
                        None => (String::new(), None, Vec::new()),
                    },
                    (None, None) => (String::new(), None, Vec::new()),
                };
            out.push(Listed {
                row,
                grantor_name,
                grantee_name,
                grantee_username,
                assignments,
            });
        }
        Ok(out)
    }

    /// The assignments of a mandate whose integrity tags verify.
    async fn assignments(&self, id: &str) -> Result<Vec<MandateAssignmentRow>, Error> {
        let mut out = Vec::new();
        for a in self.orgs.store.mandate_assignments(id).await? {
            if self.orgs.keys.mandate_assignment_intact(&a).await? {
                out.push(a);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_becomes_the_mandate_a_signature_carries() {
        let grant = MandateGrant {
            id: "m-1".into(),
            grantor_cvr: "35408002".into(),
            grantor_name: "Rungstedlund A/S".into(),
            holder_cvr: Some("25313763".into()),
            scope: "sign_on_behalf".into(),
            valid_from: 1,
            valid_until: 2,
        };
        let expected = representation::Mandate {
            id: "m-1".into(),
            holder_cvr: Some("25313763".into()),
            scope: "sign_on_behalf".into(),
            valid_until: 2,
        };
        assert_eq!(grant.to_mandate(), expected);
        assert_eq!(representation::Mandate::from(grant), expected);
    }
}
