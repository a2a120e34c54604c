//! Roles and the rule of representation in the service: members read the rule and the roles
//! at Substantial; administrators change them at High.

use super::{at_least, member_id, organisation_at, Organisations};
use crate::formats::representation::Rule;
use crate::identity::loa::Loa;
use crate::identity::Principal;
use crate::orgs::ChangedBy;
use crate::service::{person_ctx, Error};
use crate::store::{MemberRow, OrganisationRow};

impl Organisations {
    /// Sets the organisation's rule of representation; answers it in its canonical text.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found`, `forbidden`, `invalid_rule`.
    pub async fn set_rule(
        &self,
        principal: &Principal,
        cvr: &str,
        rule: &str,
        request_id: Option<String>,
    ) -> Result<Rule, Error> {
        let cvr = organisation_at(principal, Loa::High, cvr)?;
        let ctx = person_ctx(principal, request_id);
        let by = ChangedBy::Admin(&principal.person);
        Ok(self.orgs.set_rule(by, &cvr, rule, &ctx, self.now()).await?)
    }

    /// The organisation's rule of representation, for its members.
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_cvr`, `not_found`, `forbidden` (not a member).
    pub async fn organisation_rule(
        &self,
        principal: &Principal,
        cvr: &str,
    ) -> Result<Option<Rule>, Error> {
        let cvr = organisation_at(principal, Loa::Substantial, cvr)?;
        self.orgs.member_of(&principal.person, &cvr).await?;
        Ok(self.orgs.rule(&cvr).await?)
    }

    /// Gives a member a role or takes it away (a person id); effective at once.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found`, `forbidden`, `invalid_request`
    /// (a role name).
    pub async fn set_member_role(
        &self,
        principal: &Principal,
        cvr: &str,
        member: &str,
        role: &str,
        granted: bool,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let cvr = organisation_at(principal, Loa::High, cvr)?;
        let member = member_id(member)?;
        let ctx = person_ctx(principal, request_id);
        let by = ChangedBy::Admin(&principal.person);
        self.orgs
            .set_role(by, &cvr, &member, role, granted, &ctx, self.now())
            .await?;
        Ok(())
    }

    /// The members of an organisation the caller administers, each with their roles.
    ///
    /// # Errors
    /// `insufficient_loa`, `invalid_cvr`, `not_found`, `forbidden`.
    pub async fn members_with_roles(
        &self,
        principal: &Principal,
        cvr: &str,
    ) -> Result<Vec<(MemberRow, Vec<String>)>, Error> {
        let cvr = organisation_at(principal, Loa::Substantial, cvr)?;
        let members = self.orgs.members(&principal.person, &cvr).await?;
        let mut roles = self.orgs.member_roles(&cvr).await?;
        Ok(members
            .into_iter()
            .map(|m| {
                let held = roles.remove(&m.person).unwrap_or_default();
                (m, held)
            })
            .collect())
    }

    /// The caller's memberships, each with their roles there.
    ///
    /// # Errors
    /// `insufficient_loa`.
    pub async fn memberships_with_roles(
        &self,
        principal: &Principal,
    ) -> Result<Vec<(OrganisationRow, MemberRow, Vec<String>)>, Error> {
        at_least(principal, Loa::Substantial)?;
        let memberships = self.orgs.memberships(&principal.person).await?;
        let mut roles = self.orgs.person_roles(&principal.person).await?;
        Ok(memberships
            .into_iter()
            .map(|(o, m)| {
                let held = roles.remove(&o.cvr).unwrap_or_default();
                (o, m, held)
            })
            .collect())
    }
}
