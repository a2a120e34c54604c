//! Roles and the rule of representation: the roles an organisation's members hold
//! (`director`, `board`, `chair`, `proxy`, any name `formats::representation::check_role`
//! accepts; a member may hold several) and the organisation's one rule (`director | board{2}`),
//! kept in its canonical text.
//!
//! Administrators change both (the service asks for a High login), or the operator with `qsign
//! org rule set` / `qsign org role add`; each change is audited under `org:<cvr>`. A rule may
//! name roles nobody holds yet: roles are given later. Each role row and the rule carry an
//! integrity tag, so that a role or a rule written by a database writer counts as none.

use std::collections::BTreeMap;

use super::{subject, Cvr, Error, Orgs};
use crate::audit::{Context, Entry, Event};
use crate::formats::representation::{check_role, Rule};
use crate::store::{RoleRow, RuleRow, Tx};
use crate::types::PersonId;

/// The most roles one member may hold in one organisation.
pub const MAX_ROLES: usize = 16;

/// Who changes a role or the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangedBy<'a> {
    /// An administrator of the organisation (checked).
    Admin(&'a PersonId),
    /// The operator on the command line (the caller's audit context says `system`).
    Operator,
}

/// Role names checked, sorted and without repeats.
///
/// # Errors
/// [`Error::InvalidRole`] for a name outside the syntax; [`Error::Invalid`] for more than
/// [`MAX_ROLES`].
pub fn canonical(names: &[String]) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let name = name.trim();
        check_role(name).map_err(Error::InvalidRole)?;
        out.push(name.to_owned());
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_ROLES {
        return Err(Error::Invalid(format!(
            "at most {MAX_ROLES} roles per member"
        )));
    }
    Ok(out)
}

/// Gives the roles inside `tx`; answers an audit entry for each role the member did not hold.
pub(super) async fn insert_roles(
    tx: &mut Tx,
    rows: &[RoleRow],
    person: PersonId,
    ctx: &Context,
) -> Result<Vec<Entry>, Error> {
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        if tx.insert_role(row).await? {
            entries.push(ctx.entry(
                subject(&row.cvr),
                Event::RoleAdded {
                    cvr: row.cvr.clone(),
                    person,
                    role: row.role.clone(),
                },
            ));
        }
    }
    Ok(entries)
}

impl Orgs {
    /// The organisation's rule of representation, if it has one whose integrity tag verifies
    /// (for everyone who needs it: the signing and validation of capacities included).
    ///
    /// # Errors
    /// Store and credential (HSM) failures.
    pub async fn rule(&self, cvr: &Cvr) -> Result<Option<Rule>, Error> {
        let Some(row) = self.store.rule(cvr.as_str()).await? else {
            return Ok(None);
        };
        if !self.keys.rule_intact(&row).await? {
            return Ok(None);
        }
        // A stored rule was canonical when written; one that no longer parses counts as none.
        Ok(Rule::parse(&row.rule).ok())
    }

    /// The roles a member holds, sorted: none for a person who is not a member (or whose
    /// membership's integrity tag fails), and only roles whose tags verify.
    ///
    /// # Errors
    /// Store and credential (HSM) failures.
    pub async fn roles_of(&self, cvr: &Cvr, person: &PersonId) -> Result<Vec<String>, Error> {
        let person = person.to_string();
        if self.member(cvr.as_str(), &person).await?.is_none() {
            return Ok(Vec::new());
        }
        let rows: Vec<RoleRow> = self
            .store
            .roles(cvr.as_str())
            .await?
            .into_iter()
            .filter(|r| r.person == person)
            .collect();
        Ok(self
            .intact_roles(rows)
            .await?
            .into_values()
            .flatten()
            .collect())
    }

    /// The roles of every member of an organisation, by person id (intact rows only).
    ///
    /// # Errors
    /// Store and credential (HSM) failures.
    pub async fn member_roles(&self, cvr: &Cvr) -> Result<BTreeMap<String, Vec<String>>, Error> {
        let rows = self.store.roles(cvr.as_str()).await?;
        self.intact_roles(rows).await
    }

    /// A person's roles in each of their organisations, by CVR (intact rows only).
    ///
    /// # Errors
    /// Store and credential (HSM) failures.
    pub async fn person_roles(
        &self,
        person: &PersonId,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        let rows = self.store.person_roles(&person.to_string()).await?;
        let intact = self.keys.roles_intact(&rows).await?;
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (row, ok) in rows.into_iter().zip(intact) {
            if ok {
                out.entry(row.cvr).or_default().push(row.role);
            }
        }
        Ok(out)
    }

    /// Role rows grouped by person, those whose tags fail left out.
    async fn intact_roles(
        &self,
        rows: Vec<RoleRow>,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        let intact = self.keys.roles_intact(&rows).await?;
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (row, ok) in rows.into_iter().zip(intact) {
            if ok {
                out.entry(row.person).or_default().push(row.role);
            }
        }
        Ok(out)
    }

    /// Role rows of a member with their integrity tags, ready to be written.
    pub(super) async fn tagged_roles(
        &self,
        cvr: &str,
        person: &PersonId,
        names: &[String],
        now: i64,
    ) -> Result<Vec<RoleRow>, Error> {
        let mut rows = Vec::with_capacity(names.len());
        for name in canonical(names)? {
            let mut row = RoleRow {
                cvr: cvr.to_owned(),
                person: person.to_string(),
                role: name,
                granted_at: now,
                mac: None,
            };
            row.mac = Some(self.keys.tag_role(&row).await?);
            rows.push(row);
        }
        Ok(rows)
    }

    /// Checks who changes: an administrator of the organisation, or the operator.
    async fn may_change(&self, by: ChangedBy<'_>, cvr: &Cvr) -> Result<(), Error> {
        match by {
            ChangedBy::Admin(caller) => self.admin_of(caller, cvr).await.map(|_| ()),
            ChangedBy::Operator => self.organisation(cvr).await.map(|_| ()),
        }
    }

    /// Sets (or replaces) the organisation's rule of representation; answers it in its
    /// canonical text. A rule may name roles no member holds yet.
    ///
    /// # Errors
    /// [`Error::InvalidRule`]; as [`Orgs::admin_of`] for an administrator ([`Error::NotFound`]
    /// for the operator); store, credential and audit failures.
    pub async fn set_rule(
        &self,
        by: ChangedBy<'_>,
        cvr: &Cvr,
        text: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<Rule, Error> {
        self.may_change(by, cvr).await?;
        let rule = Rule::parse(text).map_err(Error::InvalidRule)?;
        let mut row = RuleRow {
            cvr: cvr.to_string(),
            rule: rule.as_str().to_owned(),
            set_at: now,
            mac: None,
        };
        row.mac = Some(self.keys.tag_rule(&row).await?);
        let mut tx = self.store.begin().await?;
        tx.put_rule(&row).await?;
        let event = Event::RuleSet {
            cvr: cvr.to_string(),
            rule: row.rule.clone(),
        };
        self.commit_audited(tx, ctx, cvr, event, now).await?;
        Ok(rule)
    }

    /// Gives a member a role, or takes it away; effective at once. Answers whether anything
    /// changed (giving a role held already, or taking one not held, changes nothing and is
    /// not audited).
    ///
    /// # Errors
    /// [`Error::InvalidRole`], [`Error::NoMember`]; as [`Orgs::admin_of`] for an administrator
    /// ([`Error::NotFound`] for the operator); store, credential and audit failures.
    #[allow(
        clippy::too_many_arguments,
        reason = "the request's parts, each needed"
    )]
    pub async fn set_role(
        &self,
        by: ChangedBy<'_>,
        cvr: &Cvr,
        member: &PersonId,
        role: &str,
        granted: bool,
        ctx: &Context,
        now: i64,
    ) -> Result<bool, Error> {
        self.may_change(by, cvr).await?;
        let role = role.trim();
        check_role(role).map_err(Error::InvalidRole)?;
        if self
            .member(cvr.as_str(), &member.to_string())
            .await?
            .is_none()
        {
            return Err(Error::NoMember);
        }
        let rows = if granted {
            let held = self.roles_of(cvr, member).await?;
            if held.iter().any(|r| r == role) {
                return Ok(false);
            }
            if held.len() >= MAX_ROLES {
                return Err(Error::Invalid(format!(
                    "at most {MAX_ROLES} roles per member"
                )));
            }
            self.tagged_roles(cvr.as_str(), member, &[role.to_owned()], now)
                .await?
        } else {
            Vec::new()
        };
        let mut tx = self.store.begin().await?;
        let event = if granted {
            let mut changed = false;
            for row in &rows {
                changed |= tx.insert_role(row).await?;
            }
            if !changed {
                return Ok(false);
            }
            Event::RoleAdded {
                cvr: cvr.to_string(),
                person: *member,
                role: role.to_owned(),
            }
        } else {
            if !tx
                .delete_role(cvr.as_str(), &member.to_string(), role)
                .await?
            {
                return Ok(false);
            }
            Event::RoleRemoved {
                cvr: cvr.to_string(),
                person: *member,
                role: role.to_owned(),
            }
        };
        self.commit_audited(tx, ctx, cvr, event, now).await?;
        Ok(true)
    }
}
