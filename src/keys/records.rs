//! Integrity tags of the organisation rows that grant something: memberships (rights, the
//! administrator role, anonymity), invitations, members' roles and the rule of
//! representation. `orgs` writes each tag with its row and refuses a row whose tag does not
//! verify (a database writer's).

use super::{Error, Keys};
use crate::hsm::Record;
use crate::identity::membership_record;
use crate::store::{InvitationRow, MemberRow, RoleRow, RuleRow};

impl Keys {
    /// The integrity tag of an organisation membership (orgs writes it with every change).
    ///
    /// # Errors
    /// HSM failures.
    pub async fn tag_membership(&self, m: &MemberRow) -> Result<Vec<u8>, Error> {
        Ok(self.hsm.tag_record(&membership_record(m)).await?)
    }

    /// The integrity tag of an invitation (orgs writes it with the invitation).
    ///
    /// # Errors
    /// HSM failures.
    pub async fn tag_invitation(&self, i: &InvitationRow) -> Result<Vec<u8>, Error> {
        Ok(self.hsm.tag_record(&invitation_record(i)).await?)
    }

    /// Whether an invitation carries its integrity tag: one inserted by a database writer
    /// (with the rights it chose) invites nobody.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn invitation_intact(&self, i: &InvitationRow) -> Result<bool, Error> {
        Ok(self
            .hsm
            .record_intact(invitation_record(i), i.mac.as_deref())
            .await?)
    }

    /// Whether an organisation membership carries its integrity tag: rights given by a
    /// database writer fail.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn membership_intact(&self, m: &MemberRow) -> Result<bool, Error> {
        Ok(self
            .hsm
            .record_intact(membership_record(m), m.mac.as_deref())
            .await?)
    }

    /// The integrity tag of a member's role.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn tag_role(&self, r: &RoleRow) -> Result<Vec<u8>, Error> {
        Ok(self.hsm.tag_record(&role_record(r)).await?)
    }

    /// Whether each role row carries its integrity tag (one HSM round trip for all): a role
    /// given by a database writer fails.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn roles_intact(&self, rows: &[RoleRow]) -> Result<Vec<bool>, Error> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let checks: Vec<(Record<'_>, Option<&[u8]>)> = rows
            .iter()
            .map(|r| (role_record(r), r.mac.as_deref()))
            .collect();
        Ok(self.hsm.records_intact(&checks).await?)
    }

    /// The integrity tag of an organisation's rule of representation.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn tag_rule(&self, r: &RuleRow) -> Result<Vec<u8>, Error> {
        Ok(self.hsm.tag_record(&rule_record(r)).await?)
    }

    /// Whether a rule carries its integrity tag: a rule written by a database writer fails.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn rule_intact(&self, r: &RuleRow) -> Result<bool, Error> {
        Ok(self
            .hsm
            .record_intact(rule_record(r), r.mac.as_deref())
            .await?)
    }
}

/// What an invitation's integrity tag covers.
fn invitation_record(i: &InvitationRow) -> Record<'_> {
    Record::Invitation {
        id: &i.id,
        cvr: &i.cvr,
        person: i.person.as_deref(),
        admin: i.admin,
        sign_on_behalf: i.sign_on_behalf,
        use_seal: i.use_seal,
        expires_at: i.expires_at,
        anonymous: i.anonymous,
        roles: &i.roles,
    }
}

/// What a role row's integrity tag covers.
fn role_record(r: &RoleRow) -> Record<'_> {
    Record::Role {
        cvr: &r.cvr,
        person: &r.person,
        role: &r.role,
    }
}

/// What a rule row's integrity tag covers.
fn rule_record(r: &RuleRow) -> Record<'_> {
    Record::Rule {
        cvr: &r.cvr,
        rule: &r.rule,
    }
}
