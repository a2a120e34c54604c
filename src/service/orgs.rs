//! Organisations in the service: who may administer what, at which level of assurance.
//! Reads and accepting an invitation need a Substantial login; every change of members,
//! rights, roles or the rule of representation (and making the seal) needs High. In
//! submodules: roles and the rule ([`roles`]), what members do for themselves ([`own`]) and
//! bulk enrolment ([`bulk`]).

mod bulk;
mod clients;
mod own;
mod roles;

use super::{owner, person_ctx, unix_now, Error, ErrorCode};
use crate::clock::SharedClock;
use crate::identity::loa::Loa;
use crate::identity::{Identity, Principal};
use crate::orgs::{self, Cvr, Grants, Invitation, Orgs, Right};
use crate::store::{AuditRow, MemberRow, OrganisationRow, Store};
use crate::types::PersonId;
pub use bulk::{BulkLine, BulkOutcome, BulkReport};
pub use clients::ClientRegistration;
pub use own::OwnMembership;

/// Organisations, their members, rights and seals.
#[derive(Debug, Clone)]
pub struct Organisations {
    pub(super) store: Store,
    pub(super) orgs: Orgs,
    pub(super) clock: SharedClock,
    /// Makes the accounts of a bulk enrolment.
    pub(super) identity: Identity,
}

impl From<orgs::Error> for Error {
    fn from(e: orgs::Error) -> Self {
        let message = e.to_string();
        let code = match e {
            orgs::Error::Store(inner) => return inner.into(),
            orgs::Error::Keys(inner) => return inner.into(),
            orgs::Error::Audit(inner) => return Self::internal(inner.to_string()),
            orgs::Error::InvalidCvr(_) => ErrorCode::InvalidCvr,
            orgs::Error::NotFound | orgs::Error::NoMember | orgs::Error::Invitation => {
                ErrorCode::NotFound
            }
            orgs::Error::Exists => ErrorCode::AlreadyExists,
            orgs::Error::NotAdmin => ErrorCode::Forbidden,
            orgs::Error::RightMissing(_) => ErrorCode::RightMissing,
            orgs::Error::LastAdmin | orgs::Error::InvalidRole(_) | orgs::Error::Invalid(_) => {
                ErrorCode::InvalidRequest
            }
            orgs::Error::NotMember => ErrorCode::Forbidden,
            orgs::Error::InvalidRule(_) => ErrorCode::InvalidRule,
            orgs::Error::NoRequest => ErrorCode::NotFound,
            orgs::Error::Pending(_) => ErrorCode::AlreadyExists,
        };
        Self::new(code, message)
    }
}

/// A member by person id: `not_found` for anything else.
pub(super) fn member_id(member: &str) -> Result<PersonId, Error> {
    PersonId::parse(member).map_err(|_| Error::new(ErrorCode::NotFound, "no such member"))
}

/// The organisation `cvr` names, once the caller's login reaches `loa`: the level is checked
/// first, so `insufficient_loa` comes before `invalid_cvr`.
pub(super) fn organisation_at(principal: &Principal, loa: Loa, cvr: &str) -> Result<Cvr, Error> {
    at_least(principal, loa)?;
    Ok(Cvr::parse(cvr)?)
}

pub(super) fn at_least(principal: &Principal, loa: Loa) -> Result<(), Error> {
    if principal.loa >= loa {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::InsufficientLoa,
            format!("this needs a login at {} (step up)", loa.uri()),
        ))
    }
}

impl Organisations {
    /// Registers an organisation with its first administrator (by username): the operator's
    /// command.
    ///
    /// # Errors
    /// `invalid_cvr`, `already_exists`, `not_found` (no such user).
    pub async fn create_organisation(
        &self,
        cvr: &str,
        name: &str,
        admin_username: &str,
    ) -> Result<OrganisationRow, Error> {
        let cvr = Cvr::parse(cvr)?;
        if name.trim().is_empty() || name.len() > 200 {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "name: 1 to 200 characters",
            ));
        }
        let admin = self.person_id(admin_username).await?;
        let ctx = crate::audit::Context::system();
        Ok(self
            .orgs
            .create(&cvr, name, &admin, &ctx, self.now())
            .await?)
    }

    /// Every organisation (the operator's list).
    ///
    /// # Errors
    /// Store failures.
    pub async fn organisations(&self) -> Result<Vec<OrganisationRow>, Error> {
        Ok(self.orgs.all().await?)
    }

    /// The caller's memberships.
    ///
    /// # Errors
    /// `insufficient_loa`.
    pub async fn my_organisations(
        &self,
        principal: &Principal,
    ) -> Result<Vec<(OrganisationRow, MemberRow)>, Error> {
        at_least(principal, Loa::Substantial)?;
        Ok(self.orgs.memberships(&principal.person).await?)
    }

    /// The members of an organisation the caller administers.
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_cvr`, `not_found`, `forbidden`.
    pub async fn organisation_members(
        &self,
        principal: &Principal,
        cvr: &str,
    ) -> Result<Vec<MemberRow>, Error> {
        let cvr = organisation_at(principal, Loa::Substantial, cvr)?;
        Ok(self.orgs.members(&principal.person, &cvr).await?)
    }

    /// Invites a person (by username, or whoever holds the code).
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found`, `forbidden`.
    pub async fn invite_member(
        &self,
        principal: &Principal,
        cvr: &str,
        username: Option<&str>,
        grants: Grants,
        request_id: Option<String>,
    ) -> Result<Invitation, Error> {
        self.invite_member_with_roles(principal, cvr, username, grants, &[], request_id)
            .await
    }

    /// Invites a person (by username, or whoever holds the code) with rights, anonymity and
    /// roles, given when the invitation is accepted.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found`, `forbidden`, `invalid_request`
    /// (a role name).
    pub async fn invite_member_with_roles(
        &self,
        principal: &Principal,
        cvr: &str,
        username: Option<&str>,
        grants: Grants,
        roles: &[String],
        request_id: Option<String>,
    ) -> Result<Invitation, Error> {
        let cvr = organisation_at(principal, Loa::High, cvr)?;
        let invitee = match username {
            None => None,
            Some(u) => Some(self.person_id(u).await?),
        };
        let ctx = person_ctx(principal, request_id);
        let caller = &principal.person;
        Ok(self
            .orgs
            .invite_with_roles(caller, &cvr, invitee, grants, roles, &ctx, self.now())
            .await?)
    }

    /// A person by username (an invitee, a first administrator, the grantee of an offer).
    pub(super) async fn person_id(&self, username: &str) -> Result<PersonId, Error> {
        let row = self
            .store
            .person_by_username(username)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "no such user"))?;
        PersonId::parse(&row.id).map_err(|e| Error::internal(e.to_string()))
    }

    /// Accepts an invitation; with `sign_on_behalf` the caller gets an employee credential.
    ///
    /// # Errors
    /// `insufficient_loa`, `not_found` (unknown, used, expired or someone else's code).
    pub async fn accept_invitation(
        &self,
        principal: &Principal,
        code: &str,
        request_id: Option<String>,
    ) -> Result<OrganisationRow, Error> {
        at_least(principal, Loa::Substantial)?;
        let owner = owner(&self.store, &principal.person).await?;
        let ctx = person_ctx(principal, request_id);
        Ok(self.orgs.accept(&owner, code, &ctx, self.now()).await?)
    }

    /// Grants or revokes a member's right (a person id).
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found`, `forbidden`.
    pub async fn set_member_right(
        &self,
        principal: &Principal,
        cvr: &str,
        member: &str,
        right: Right,
        granted: bool,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let cvr = organisation_at(principal, Loa::High, cvr)?;
        let member = member_id(member)?;
        self.orgs.admin_of(&principal.person, &cvr).await?;
        let owner = owner(&self.store, &member).await?;
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .orgs
            .set_right(
                &principal.person,
                &cvr,
                &owner,
                right,
                granted,
                &ctx,
                self.now(),
            )
            .await?)
    }

    /// Removes a member (a person id).
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found`, `forbidden`, `invalid_request`
    /// for the last administrator.
    pub async fn remove_member(
        &self,
        principal: &Principal,
        cvr: &str,
        member: &str,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let cvr = organisation_at(principal, Loa::High, cvr)?;
        let member = member_id(member)?;
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .orgs
            .remove(&principal.person, &cvr, &member, &ctx, self.now())
            .await?)
    }

    /// Makes (or answers) the organisation's seal credential.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found`, `forbidden`.
    pub async fn organisation_seal(
        &self,
        principal: &Principal,
        cvr: &str,
        request_id: Option<String>,
    ) -> Result<super::Credential, Error> {
        let cvr = organisation_at(principal, Loa::High, cvr)?;
        let owner = owner(&self.store, &principal.person).await?;
        let ctx = person_ctx(principal, request_id);
        Ok(self.orgs.seal(&owner, &cvr, &ctx, self.now()).await?)
    }

    /// The organisation's audit records, for its administrators.
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_cvr`, `not_found`, `forbidden`.
    pub async fn organisation_audit(
        &self,
        principal: &Principal,
        cvr: &str,
        limit: i64,
    ) -> Result<Vec<AuditRow>, Error> {
        let cvr = organisation_at(principal, Loa::Substantial, cvr)?;
        Ok(self.orgs.audit(&principal.person, &cvr, limit).await?)
    }

    /// The organisation `cvr` names, once the caller's login reaches `loa` and the caller
    /// administers it.
    pub(super) async fn administered(
        &self,
        principal: &Principal,
        loa: Loa,
        cvr: &str,
    ) -> Result<Cvr, Error> {
        let cvr = organisation_at(principal, loa, cvr)?;
        self.orgs.admin_of(&principal.person, &cvr).await?;
        Ok(cvr)
    }

    pub(super) fn now(&self) -> i64 {
        unix_now(&self.clock)
    }
}
