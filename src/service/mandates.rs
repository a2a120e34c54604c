//! Powers of attorney in the service: who may offer, ask for, accept, approve, refuse, revoke
//! and assign them, at which level of assurance, and the check at signing time. Reads need a
//! Substantial login; every change needs High.

use super::orgs::{at_least, member_id, organisation_at};
use super::{person_ctx, Error, ErrorCode, Organisations};
use crate::identity::loa::Loa;
use crate::identity::Principal;
use crate::orgs::mandates::{
    self, Acting, Action, Grantee, Listed, MandateGrant, Mandates, Scope, State, Terms,
};
use crate::orgs::Cvr;
use crate::types::PersonId;

impl From<mandates::Error> for Error {
    fn from(e: mandates::Error) -> Self {
        use mandates::Error as M;
        let message = e.to_string();
        let code = match e {
            M::Orgs(inner) => return inner.into(),
            M::Store(inner) => return inner.into(),
            M::Keys(inner) => return inner.into(),
            M::Audit(inner) => return Self::internal(inner.to_string()),
            M::NotFound | M::UnknownPerson | M::NotAssigned => ErrorCode::NotFound,
            M::InvalidState(_) => ErrorCode::InvalidState,
            M::InvalidScope(_) | M::InvalidWindow(_) | M::InvalidGrantee(_) => {
                ErrorCode::InvalidRequest
            }
            M::Unusable(_) => ErrorCode::MandateInvalid,
        };
        Self::new(code, message)
    }
}

/// What a power of attorney allows and when, as a request gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandateTerms {
    /// `sign_on_behalf`, `use_seal` or a theme (`[a-z][a-z0-9_-]{0,31}`).
    pub scope: String,
    /// From when, Unix seconds.
    pub valid_from: i64,
    /// Until when (exclusive), Unix seconds: after `valid_from`, in the future, at most five
    /// years ahead.
    pub valid_until: i64,
}

impl MandateTerms {
    fn parse(&self) -> Result<Terms, Error> {
        Ok(Terms {
            scope: Scope::parse(&self.scope)?,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        })
    }
}

/// The mandates a person may use now, and those offered to them that wait for their answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonMandates {
    /// Usable now (granted to the person, or assigned to them by their organisation).
    pub usable: Vec<MandateGrant>,
    /// Offered to the person directly, waiting to be accepted or refused.
    pub offered: Vec<Listed>,
}

impl Organisations {
    /// An administrator of `cvr` offers a mandate to another organisation (`to_cvr`) or to a
    /// person (`to_username`), exactly one of them.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `invalid_request` (scope, window, grantee),
    /// `not_found`, `forbidden`.
    pub async fn offer_mandate(
        &self,
        principal: &Principal,
        cvr: &str,
        to_cvr: Option<&str>,
        to_username: Option<&str>,
        terms: &MandateTerms,
        request_id: Option<String>,
    ) -> Result<Listed, Error> {
        let grantor = organisation_at(principal, Loa::High, cvr)?;
        // Before any lookup of the grantee: a non-administrator learns nothing about accounts.
        self.orgs.admin_of(&principal.person, &grantor).await?;
        let grantee = match (to_cvr, to_username) {
            (Some(to), None) => Grantee::Organisation(Cvr::parse(to)?),
            (None, Some(username)) => Grantee::Person(self.person_id(username).await?),
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidRequest,
                    "name the grantee: to_cvr or to_username, one of them",
                ))
            }
        };
        let terms = terms.parse()?;
        let ctx = person_ctx(principal, request_id);
        let mandates = self.orgs.mandates();
        let row = mandates
            .offer(
                &principal.person,
                &grantor,
                &grantee,
                &terms,
                &ctx,
                self.now(),
            )
            .await?;
        described(&mandates, row).await
    }

    /// An administrator of `cvr` asks organisation `from_cvr` for a mandate.
    ///
    /// # Errors
    /// As [`Organisations::offer_mandate`].
    pub async fn request_mandate(
        &self,
        principal: &Principal,
        cvr: &str,
        from_cvr: &str,
        terms: &MandateTerms,
        request_id: Option<String>,
    ) -> Result<Listed, Error> {
        let grantee = organisation_at(principal, Loa::High, cvr)?;
        let grantor = Cvr::parse(from_cvr)?;
        let terms = terms.parse()?;
        let ctx = person_ctx(principal, request_id);
        let mandates = self.orgs.mandates();
        let row = mandates
            .request(
                &principal.person,
                &grantee,
                &grantor,
                &terms,
                &ctx,
                self.now(),
            )
            .await?;
        described(&mandates, row).await
    }

    /// Accepts, approves, refuses or revokes (`action`) a mandate: as an administrator of
    /// `cvr`, or without one as the person it is offered or granted to.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found` (an unknown action or mandate, or
    /// one of other parties), `forbidden`, `invalid_state` (the action does not fit the state
    /// or the caller's side).
    pub async fn change_mandate(
        &self,
        principal: &Principal,
        cvr: Option<&str>,
        id: &str,
        action: &str,
        request_id: Option<String>,
    ) -> Result<Listed, Error> {
        at_least(principal, Loa::High)?;
        let action = Action::parse(action).ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                "the action is accept, approve, refuse or revoke",
            )
        })?;
        let cvr = cvr.map(Cvr::parse).transpose()?;
        let acting = match &cvr {
            Some(cvr) => Acting::Admin(&principal.person, cvr),
            None => Acting::Person(&principal.person),
        };
        let ctx = person_ctx(principal, request_id);
        let mandates = self.orgs.mandates();
        let row = mandates
            .change(acting, id, action, &ctx, self.now())
            .await?;
        described(&mandates, row).await
    }

    /// An administrator of `cvr` assigns a mandate the organisation holds to a member (a
    /// person id), or takes it away.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found` (mandate, member, assignment),
    /// `forbidden`, `invalid_state` (not active, or granted rather than held).
    pub async fn assign_mandate(
        &self,
        principal: &Principal,
        cvr: &str,
        id: &str,
        person: &str,
        assigned: bool,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let cvr = organisation_at(principal, Loa::High, cvr)?;
        let member = member_id(person)?;
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .orgs
            .mandates()
            .assign(
                &principal.person,
                &cvr,
                id,
                &member,
                assigned,
                &ctx,
                self.now(),
            )
            .await?)
    }

    /// The mandates an organisation granted or holds, with their assignments (its
    /// administrators).
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_cvr`, `not_found`, `forbidden`.
    pub async fn organisation_mandates(
        &self,
        principal: &Principal,
        cvr: &str,
    ) -> Result<Vec<Listed>, Error> {
        let cvr = organisation_at(principal, Loa::Substantial, cvr)?;
        Ok(self
            .orgs
            .mandates()
            .of_organisation(&principal.person, &cvr)
            .await?)
    }

    /// The mandates the caller may use now, and those offered to them.
    ///
    /// # Errors
    /// `insufficient_loa`.
    pub async fn my_mandates(&self, principal: &Principal) -> Result<PersonMandates, Error> {
        at_least(principal, Loa::Substantial)?;
        let mandates = self.orgs.mandates();
        let usable = mandates.usable_by(&principal.person, self.now()).await?;
        let offered = mandates
            .of_person(&principal.person)
            .await?
            .into_iter()
            .filter(|m| m.row.state == State::Offered.as_str())
            .collect();
        Ok(PersonMandates { usable, offered })
    }

    /// Whether `person` may use mandate `id` of organisation `grantor` for `scope` at
    /// `at_secs` (the check at signing time); answers what the signature carries.
    ///
    /// # Errors
    /// `mandate_invalid` saying why not; `invalid_cvr`.
    pub async fn usable_mandate(
        &self,
        person: &PersonId,
        id: &str,
        grantor: &str,
        scope: &str,
        at_secs: i64,
    ) -> Result<MandateGrant, Error> {
        let grantor = Cvr::parse(grantor)?;
        Ok(self
            .orgs
            .mandates()
            .usable(person, id, &grantor, scope, at_secs)
            .await?)
    }
}

/// A mandate just written, with its parties' names.
async fn described(all: &Mandates, row: crate::store::MandateRow) -> Result<Listed, Error> {
    all.describe(vec![row])
        .await?
        .pop()
        .ok_or_else(|| Error::internal("a mandate just written does not verify"))
}
