//! What a member does for themselves (Substantial): sees their organisations with their
//! roles, rights, anonymity, pending requests and the signatures they made for each; asks for
//! a right or a role; leaves. Administrators list the requests (Substantial) and decide them
//! (High).

use super::{organisation_at, Organisations};
use crate::identity::loa::Loa;
use crate::identity::Principal;
use crate::orgs::{Cvr, Requested};
use crate::service::{owner, person_ctx, Error};
use crate::store::{AuditRow, MemberRow, OrganisationRow, RequestRow};
use crate::types::PersonId;

/// One of the caller's organisations, as they see it.
#[derive(Debug, Clone)]
pub struct OwnMembership {
    /// The organisation.
    pub organisation: OrganisationRow,
    /// The membership: rights, administrator role, anonymity and pseudonym.
    pub member: MemberRow,
    /// The roles held.
    pub roles: Vec<String>,
    /// What the member asked for and is not decided yet.
    pub requests: Vec<RequestRow>,
    /// The signatures the member made for the organisation (employee credential or seal),
    /// newest first: the organisation's audit records of them.
    pub signatures: Vec<AuditRow>,
}

impl Organisations {
    /// The caller's organisations, roles, rights, requests and signatures made for each.
    ///
    /// # Errors
    /// `insufficient_loa`.
    pub async fn own_organisations(
        &self,
        principal: &Principal,
    ) -> Result<Vec<OwnMembership>, Error> {
        let person = &principal.person;
        let memberships = self.memberships_with_roles(principal).await?;
        let mut requests = self.orgs.my_requests(person).await?;
        let mut out = Vec::with_capacity(memberships.len());
        for (organisation, member, roles) in memberships {
            let cvr = Cvr::parse(&organisation.cvr)?;
            let signatures = self.orgs.signatures_by(person, &cvr).await?;
            let (mine, rest): (Vec<RequestRow>, Vec<RequestRow>) = requests
                .into_iter()
                .partition(|r| r.cvr == organisation.cvr);
            requests = rest;
            out.push(OwnMembership {
                organisation,
                member,
                roles,
                requests: mine,
                signatures,
            });
        }
        Ok(out)
    }

    /// A member asks for a right (`kind` `right`: `sign_on_behalf`, `use_seal`) or a role
    /// (`kind` `role`).
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_cvr`, `not_found`, `forbidden` (not a member),
    /// `invalid_request`, `already_exists` (held or asked for already).
    pub async fn request_access(
        &self,
        principal: &Principal,
        cvr: &str,
        kind: &str,
        name: &str,
        request_id: Option<String>,
    ) -> Result<RequestRow, Error> {
        let cvr = organisation_at(principal, Loa::Substantial, cvr)?;
        let what = Requested::parse(kind, name.trim())?;
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .orgs
            .request(&principal.person, &cvr, &what, &ctx, self.now())
            .await?)
    }

    /// The organisation's pending requests, for its administrators.
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_cvr`, `not_found`, `forbidden`.
    pub async fn pending_requests(
        &self,
        principal: &Principal,
        cvr: &str,
    ) -> Result<Vec<RequestRow>, Error> {
        let cvr = organisation_at(principal, Loa::Substantial, cvr)?;
        Ok(self.orgs.requests(&principal.person, &cvr).await?)
    }

    /// An administrator approves (granting it) or refuses a pending request.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found` (no such pending request),
    /// `forbidden`.
    pub async fn decide_request(
        &self,
        principal: &Principal,
        cvr: &str,
        id: &str,
        approve: bool,
        request_id: Option<String>,
    ) -> Result<RequestRow, Error> {
        let cvr = organisation_at(principal, Loa::High, cvr)?;
        let caller = &principal.person;
        let pending = self.orgs.pending(caller, &cvr, id).await?;
        let person =
            PersonId::parse(&pending.person).map_err(|e| Error::internal(e.to_string()))?;
        let member = owner(&self.store, &person).await?;
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .orgs
            .decide(caller, &cvr, id, &member, approve, &ctx, self.now())
            .await?)
    }

    /// The caller leaves the organisation (withdraws their consent): their employee
    /// credential is revoked at once.
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_cvr`, `not_found`, `forbidden` (not a member),
    /// `invalid_request` (the last administrator).
    pub async fn leave_organisation(
        &self,
        principal: &Principal,
        cvr: &str,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let cvr = organisation_at(principal, Loa::Substantial, cvr)?;
        let ctx = person_ctx(principal, request_id);
        Ok(self
            .orgs
            .leave(&principal.person, &cvr, &ctx, self.now())
            .await?)
    }
}
