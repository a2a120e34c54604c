//! Organisations by CVR number: administrators, members with rights (`sign_on_behalf`,
//! `use_seal`), invitations, employee credentials and the organisation's seal; in submodules,
//! roles and the rule of representation ([`roles`]), members' own requests and leaving
//! ([`requests`]), and enrolling many members at once ([`bulk`]).
//!
//! Rules: only an organisation's administrators see or change its members; an employee
//! credential exists while the member holds `sign_on_behalf` (taking the right away, or the
//! member, revokes it and its certificate at once); the seal is used by members holding
//! `use_seal`, each use activated by the member's own factor and audited under the
//! organisation with the member as actor. Every change is audited under `org:<cvr>`.
//!
//! An anonymous member (chosen on the invitation) is known to the administrators, but their
//! employee certificate names only the membership's pseudonym (a UUID), never the person.

pub mod bulk;
mod cvr;
pub mod requests;
pub mod roles;

pub mod mandates;

use sha2::{Digest as _, Sha256};

use crate::audit::{self, Audit, Context, Entry, Event};
use crate::formats::representation::RuleError;
use crate::keys::{self, Credential, For, Keys, Kind, Owner};
use crate::store::{self, InvitationRow, MemberRow, OrganisationRow, Store};
use crate::types::PersonId;
pub use cvr::Cvr;
pub use requests::Requested;
pub use roles::ChangedBy;

/// A right an administrator grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// Sign on behalf of the organisation with an employee credential.
    SignOnBehalf,
    /// Use the organisation's seal.
    UseSeal,
}

impl Right {
    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignOnBehalf => "sign_on_behalf",
            Self::UseSeal => "use_seal",
        }
    }

    /// Parses [`Right::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::SignOnBehalf, Self::UseSeal]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// What goes wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not a valid CVR number.
    #[error("{0:?} is not a valid CVR number (8 digits with a valid check digit)")]
    InvalidCvr(String),
    /// No such organisation.
    #[error("no such organisation")]
    NotFound,
    /// The organisation exists already.
    #[error("the organisation is registered already")]
    Exists,
    /// The caller is not an administrator of the organisation.
    #[error("only the organisation's administrators may do that")]
    NotAdmin,
    /// No such member.
    #[error("no such member of the organisation")]
    NoMember,
    /// The member lacks the right.
    #[error("the member does not hold the right {0}")]
    RightMissing(&'static str),
    /// An invitation code that is unknown, used, expired or for someone else.
    #[error("the invitation is not valid (unknown, used, expired or for someone else)")]
    Invitation,
    /// The last administrator cannot leave or lose the role.
    #[error("an organisation keeps at least one administrator")]
    LastAdmin,
    /// The caller is not a member of the organisation.
    #[error("you are not a member of this organisation")]
    NotMember,
    /// A rule of representation outside the rule language or its bounds.
    #[error("invalid rule of representation: {0}")]
    InvalidRule(RuleError),
    /// A role name outside the role names' syntax.
    #[error("{0}")]
    InvalidRole(RuleError),
    /// No such pending request.
    #[error("no such pending request")]
    NoRequest,
    /// The member asked for this already, or holds it.
    #[error("{0}")]
    Pending(&'static str),
    /// Input that cannot be used (a bulk enrolment's row or body).
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Credentials failed.
    #[error(transparent)]
    Keys(#[from] keys::Error),
    /// The audit record could not be written, so nothing changed.
    #[error(transparent)]
    Audit(#[from] audit::Error),
}

/// How long an invitation stays valid, seconds.
pub const INVITATION_LIFETIME: i64 = 7 * 24 * 3600;

/// What an invitation grants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants {
    /// Joins as administrator.
    pub admin: bool,
    /// Gets `sign_on_behalf`.
    pub sign_on_behalf: bool,
    /// Gets `use_seal`.
    pub use_seal: bool,
    /// Joins anonymously: the employee certificate names a pseudonym, not the person (only
    /// for someone who is not a member yet).
    pub anonymous: bool,
}

/// An invitation as issued: the code is shown once.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The code to accept with.
    pub code: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Organisation administration.
#[derive(Debug, Clone)]
pub struct Orgs {
    store: Store,
    keys: Keys,
    audit: Audit,
    policy: String,
}

impl Orgs {
    /// A membership as the service wrote it: a row whose integrity tag does not verify (a
    /// right or the administrator role given by a database writer) counts as no membership.
    async fn member(&self, cvr: &str, person: &str) -> Result<Option<MemberRow>, Error> {
        match self.store.member(cvr, person).await? {
            Some(m) if self.keys.membership_intact(&m).await? => Ok(Some(m)),
            _ => Ok(None),
        }
    }

    /// A membership with its integrity tag, ready to be written.
    async fn tagged(&self, mut m: MemberRow) -> Result<MemberRow, Error> {
        m.mac = Some(self.keys.tag_membership(&m).await?);
        Ok(m)
    }

    /// Records `event` under the organisation `cvr`, with the actor of `ctx`, inside `tx` and
    /// commits them together.
    async fn commit_audited(
        &self,
        tx: store::Tx,
        ctx: &Context,
        cvr: &Cvr,
        event: Event,
        now: i64,
    ) -> Result<(), Error> {
        let entry = ctx.entry(subject(cvr.as_str()), event);
        self.audit
            .append_and_commit(tx, &entry, now.saturating_mul(1000))
            .await?;
        Ok(())
    }
}

fn subject(cvr: &str) -> Option<String> {
    Some(format!("org:{cvr}"))
}

/// The pseudonym an anonymous member's employee certificate names: only with both the flag
/// and a pseudonym (the membership's integrity tag covers them together).
#[must_use]
pub fn pseudonym(m: &MemberRow) -> Option<&str> {
    m.pseudonym.as_deref().filter(|_| m.anonymous)
}

/// A new pseudonym: a random UUID.
fn new_pseudonym() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Orgs {
    /// Organisation administration; employee and seal credentials are made under `policy`.
    #[must_use]
    pub fn new(store: Store, keys: Keys, audit: Audit, policy: &str) -> Self {
        Self {
            store,
            keys,
            audit,
            policy: policy.to_owned(),
        }
    }

    /// An organisation.
    ///
    /// # Errors
    /// [`Error::NotFound`]; store failures.
    pub async fn organisation(&self, cvr: &Cvr) -> Result<OrganisationRow, Error> {
        self.store
            .organisation(cvr.as_str())
            .await?
            .ok_or(Error::NotFound)
    }

    /// Every organisation.
    ///
    /// # Errors
    /// Store failures.
    pub async fn all(&self) -> Result<Vec<OrganisationRow>, Error> {
        Ok(self.store.organisations().await?)
    }

    /// Registers an organisation with its first administrator (an operator's action).
    ///
    /// # Errors
    /// [`Error::Exists`]; store and audit failures.
    pub async fn create(
        &self,
        cvr: &Cvr,
        name: &str,
        admin: &PersonId,
        ctx: &Context,
        now: i64,
    ) -> Result<OrganisationRow, Error> {
        let row = OrganisationRow {
            cvr: cvr.to_string(),
            name: name.trim().to_owned(),
            status: "active".to_owned(),
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        match tx.insert_organisation(&row).await {
            Err(store::Error::Conflict) => return Err(Error::Exists),
            other => other?,
        }
        let first = MemberRow {
            cvr: row.cvr.clone(),
            person: admin.to_string(),
            username: String::new(),
            given_name: String::new(),
            family_name: String::new(),
            admin: true,
            sign_on_behalf: false,
            use_seal: false,
            joined_at: now,
            mac: None,
            anonymous: false,
            pseudonym: None,
        };
        tx.upsert_member(&self.tagged(first).await?).await?;
        let entries = [
            ctx.entry(
                subject(&row.cvr),
                Event::OrganisationCreated {
                    cvr: row.cvr.clone(),
                    name: row.name.clone(),
                },
            ),
            ctx.entry(
                subject(&row.cvr),
                Event::MemberJoined {
                    cvr: row.cvr.clone(),
                    person: *admin,
                    admin: true,
                },
            ),
        ];
        self.audit
            .append_many_and_commit(tx, &entries, now.saturating_mul(1000))
            .await?;
        Ok(row)
    }

    /// A person's memberships with their organisations.
    ///
    /// # Errors
    /// Store failures.
    pub async fn memberships(
        &self,
        person: &PersonId,
    ) -> Result<Vec<(OrganisationRow, MemberRow)>, Error> {
        let mut out = Vec::new();
        for member in self.store.memberships(&person.to_string()).await? {
            if !self.keys.membership_intact(&member).await? {
                continue;
            }
            if let Some(org) = self.store.organisation(&member.cvr).await? {
                out.push((org, member));
            }
        }
        Ok(out)
    }

    /// The caller's membership when they administer the organisation.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::NotAdmin`]; store failures.
    pub async fn admin_of(&self, caller: &PersonId, cvr: &Cvr) -> Result<MemberRow, Error> {
        self.organisation(cvr).await?;
        match self.member(cvr.as_str(), &caller.to_string()).await? {
            Some(m) if m.admin => Ok(m),
            _ => Err(Error::NotAdmin),
        }
    }

    /// The members (administrators only).
    ///
    /// # Errors
    /// As [`Orgs::admin_of`].
    pub async fn members(&self, caller: &PersonId, cvr: &Cvr) -> Result<Vec<MemberRow>, Error> {
        self.admin_of(caller, cvr).await?;
        Ok(self.store.members(cvr.as_str()).await?)
    }

    /// Invites a person (`invitee`, or whoever holds the code) with `grants`.
    ///
    /// # Errors
    /// As [`Orgs::admin_of`]; store and audit failures.
    pub async fn invite(
        &self,
        caller: &PersonId,
        cvr: &Cvr,
        invitee: Option<PersonId>,
        grants: Grants,
        ctx: &Context,
        now: i64,
    ) -> Result<Invitation, Error> {
        self.invite_with_roles(caller, cvr, invitee, grants, &[], ctx, now)
            .await
    }

    /// Invites a person with `grants` and `roles` (given on acceptance).
    ///
    /// # Errors
    /// As [`Orgs::admin_of`]; [`Error::InvalidRole`]; store and audit failures.
    #[allow(
        clippy::too_many_arguments,
        reason = "the request's parts, each needed"
    )]
    pub async fn invite_with_roles(
        &self,
        caller: &PersonId,
        cvr: &Cvr,
        invitee: Option<PersonId>,
        grants: Grants,
        named: &[String],
        ctx: &Context,
        now: i64,
    ) -> Result<Invitation, Error> {
        self.admin_of(caller, cvr).await?;
        let named = roles::canonical(named)?.join(" ");
        let mut raw = [0u8; 18];
        getrandom::fill(&mut raw).map_err(|e| store::Error::Query(e.to_string()))?;
        let code = data_encoding::BASE32_NOPAD.encode(&raw);
        let expires_at = now.saturating_add(INVITATION_LIFETIME);
        let mut invitation = InvitationRow {
            id: hex::encode(Sha256::digest(code.as_bytes())),
            cvr: cvr.to_string(),
            person: invitee.map(|p| p.to_string()),
            admin: grants.admin,
            sign_on_behalf: grants.sign_on_behalf,
            use_seal: grants.use_seal,
            created_at: now,
            expires_at,
            mac: None,
            anonymous: grants.anonymous,
            roles: named,
        };
        invitation.mac = Some(self.keys.tag_invitation(&invitation).await?);
        let mut tx = self.store.begin().await?;
        tx.insert_invitation(&invitation).await?;
        let event = Event::MemberInvited {
            cvr: cvr.to_string(),
            person: invitee,
            admin: grants.admin,
        };
        self.commit_audited(tx, ctx, cvr, event, now).await?;
        Ok(Invitation { code, expires_at })
    }

    /// Accepts an invitation: the person joins with its grants, and with `sign_on_behalf`
    /// gets an employee credential.
    ///
    /// # Errors
    /// [`Error::Invitation`]; store, credential and audit failures.
    pub async fn accept(
        &self,
        person: &Owner,
        code: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<OrganisationRow, Error> {
        let id = hex::encode(Sha256::digest(code.trim().as_bytes()));
        let mut tx = self.store.begin().await?;
        let invitation = tx.take_invitation(&id).await?.ok_or(Error::Invitation)?;
        let mine = invitation
            .person
            .as_deref()
            .is_none_or(|p| p == person.id.to_string());
        // An invitation a database writer inserted (with the rights it chose) invites nobody.
        if !mine
            || invitation.expires_at <= now
            || !self.keys.invitation_intact(&invitation).await?
        {
            // The transaction is dropped: the invitation stays for its person.
            return Err(Error::Invitation);
        }
        let org = self
            .store
            .organisation(&invitation.cvr)
            .await?
            .ok_or(Error::NotFound)?;
        let existing = self.member(&invitation.cvr, &person.id.to_string()).await?;
        // Anonymity is chosen when the membership is made; a member keeps theirs.
        let (anonymous, pseudo) = match &existing {
            Some(m) => (m.anonymous, m.pseudonym.clone()),
            None if invitation.anonymous => (true, Some(new_pseudonym())),
            None => (false, None),
        };
        let member = MemberRow {
            cvr: invitation.cvr.clone(),
            person: person.id.to_string(),
            username: String::new(),
            given_name: String::new(),
            family_name: String::new(),
            admin: invitation.admin || existing.as_ref().is_some_and(|m| m.admin),
            sign_on_behalf: invitation.sign_on_behalf
                || existing.as_ref().is_some_and(|m| m.sign_on_behalf),
            use_seal: invitation.use_seal || existing.as_ref().is_some_and(|m| m.use_seal),
            joined_at: existing.as_ref().map_or(now, |m| m.joined_at),
            mac: None,
            anonymous,
            pseudonym: pseudo,
        };
        let member = self.tagged(member).await?;
        let named: Vec<String> = invitation
            .roles
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let given = self.tagged_roles(&org.cvr, &person.id, &named, now).await?;
        tx.upsert_member(&member).await?;
        let mut entries = vec![ctx.entry(
            subject(&org.cvr),
            Event::MemberJoined {
                cvr: org.cvr.clone(),
                person: person.id,
                admin: member.admin,
            },
        )];
        entries.extend(roles::insert_roles(&mut tx, &given, person.id, ctx).await?);
        self.audit
            .append_many_and_commit(tx, &entries, now.saturating_mul(1000))
            .await?;
        if member.sign_on_behalf {
            self.ensure_employee(person, &org, pseudonym(&member), ctx, now)
                .await?;
        }
        Ok(org)
    }

    /// Makes the member's employee credential unless a live one exists: under the
    /// membership's pseudonym for an anonymous member.
    async fn ensure_employee(
        &self,
        person: &Owner,
        org: &OrganisationRow,
        pseudonym: Option<&str>,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        let live = self.keys.list(&person.id).await?.into_iter().any(|c| {
            matches!(&c.kind, Kind::Employee { cvr } if *cvr == org.cvr)
                && c.status != keys::Status::Revoked
        });
        if !live {
            let acting = match pseudonym {
                Some(pseudonym) => For::AnonymousEmployee {
                    organization: org.name.clone(),
                    cvr: org.cvr.clone(),
                    pseudonym: pseudonym.to_owned(),
                },
                None => For::Employee {
                    organization: org.name.clone(),
                    cvr: org.cvr.clone(),
                },
            };
            match self
                .keys
                .create(person, &self.policy, &acting, ctx, now)
                .await
            {
                Err(keys::Error::Store(store::Error::Conflict)) => {}
                other => {
                    other?;
                }
            }
        }
        Ok(())
    }

    /// Grants or revokes a member's right. Granting `sign_on_behalf` issues the employee
    /// credential; revoking it revokes the credential and its certificate.
    ///
    /// # Errors
    /// As [`Orgs::admin_of`]; [`Error::NoMember`]; store, credential and audit failures.
    #[allow(
        clippy::too_many_arguments,
        reason = "the request's parts, each needed"
    )]
    pub async fn set_right(
        &self,
        caller: &PersonId,
        cvr: &Cvr,
        member: &Owner,
        right: Right,
        granted: bool,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        self.admin_of(caller, cvr).await?;
        let org = self.organisation(cvr).await?;
        let mut row = self
            .member(cvr.as_str(), &member.id.to_string())
            .await?
            .ok_or(Error::NoMember)?;
        match right {
            Right::SignOnBehalf => row.sign_on_behalf = granted,
            Right::UseSeal => row.use_seal = granted,
        }
        let row = self.tagged(row).await?;
        let mut tx = self.store.begin().await?;
        tx.upsert_member(&row).await?;
        let event = if granted {
            Event::RightGranted {
                cvr: cvr.to_string(),
                right: right.as_str().to_owned(),
                person: member.id,
            }
        } else {
            Event::RightRevoked {
                cvr: cvr.to_string(),
                right: right.as_str().to_owned(),
                person: member.id,
            }
        };
        self.commit_audited(tx, ctx, cvr, event, now).await?;
        if right == Right::SignOnBehalf {
            if granted {
                self.ensure_employee(member, &org, pseudonym(&row), ctx, now)
                    .await?;
            } else {
                self.keys
                    .revoke_employee(&member.id, cvr.as_str(), ctx, now)
                    .await?;
            }
        }
        Ok(())
    }

    /// Removes a member (revoking their employee credential). The last administrator stays.
    ///
    /// # Errors
    /// As [`Orgs::admin_of`]; [`Error::NoMember`], [`Error::LastAdmin`]; store, credential and
    /// audit failures.
    pub async fn remove(
        &self,
        caller: &PersonId,
        cvr: &Cvr,
        member: &PersonId,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        self.admin_of(caller, cvr).await?;
        let entry = ctx.entry(
            subject(cvr.as_str()),
            Event::MemberRemoved {
                cvr: cvr.to_string(),
                person: *member,
            },
        );
        self.take_out(cvr, member, &entry, ctx, now).await
    }

    /// Ends a membership (its roles and requests go with it) with its audit record, and
    /// revokes the member's employee credential. The last administrator stays.
    async fn take_out(
        &self,
        cvr: &Cvr,
        member: &PersonId,
        entry: &Entry,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        // Only memberships whose integrity tag verifies count (an administrator row added by a
        // database writer must not let the last real administrator be removed).
        let mut members = Vec::new();
        for m in self.store.members(cvr.as_str()).await? {
            if self.keys.membership_intact(&m).await? {
                members.push(m);
            }
        }
        let target = members
            .iter()
            .find(|m| m.person == member.to_string())
            .ok_or(Error::NoMember)?;
        if target.admin && members.iter().filter(|m| m.admin).count() == 1 {
            return Err(Error::LastAdmin);
        }
        let mut tx = self.store.begin().await?;
        if !tx.delete_member(cvr.as_str(), &member.to_string()).await? {
            return Err(Error::NoMember);
        }
        self.audit
            .append_and_commit(tx, entry, now.saturating_mul(1000))
            .await?;
        self.keys
            .revoke_employee(member, cvr.as_str(), ctx, now)
            .await?;
        Ok(())
    }

    /// Makes the organisation's seal credential (legal-person certificate), or answers the
    /// live one.
    ///
    /// # Errors
    /// As [`Orgs::admin_of`]; credential failures.
    pub async fn seal(
        &self,
        caller: &Owner,
        cvr: &Cvr,
        ctx: &Context,
        now: i64,
    ) -> Result<Credential, Error> {
        self.admin_of(&caller.id, cvr).await?;
        if let Some(existing) = self.keys.seal(cvr.as_str()).await? {
            return Ok(existing);
        }
        let org = self.organisation(cvr).await?;
        let acting = For::Seal {
            organization: org.name,
            cvr: org.cvr,
        };
        match self
            .keys
            .create(caller, &self.policy, &acting, ctx, now)
            .await
        {
            Err(keys::Error::Store(store::Error::Conflict)) => {
                self.keys.seal(cvr.as_str()).await?.ok_or(Error::NotFound)
            }
            other => Ok(other?),
        }
    }

    /// The seals `person` may use (member with `use_seal`).
    ///
    /// # Errors
    /// Store and credential failures.
    pub async fn usable_seals(&self, person: &PersonId) -> Result<Vec<Credential>, Error> {
        let mut out = Vec::new();
        for member in self.store.memberships(&person.to_string()).await? {
            if member.use_seal && self.keys.membership_intact(&member).await? {
                if let Some(seal) = self.keys.seal(&member.cvr).await? {
                    out.push(seal);
                }
            }
        }
        Ok(out)
    }

    /// Whether `person` may use `credential` now: their own personal credential; their
    /// employee credential while they hold `sign_on_behalf`; a seal while they hold
    /// `use_seal`.
    ///
    /// # Errors
    /// [`Error::NoMember`] for an organisation's credential of a non-member,
    /// [`Error::RightMissing`]; store failures.
    pub async fn may_use(&self, person: &PersonId, credential: &Credential) -> Result<(), Error> {
        let (cvr, right) = match &credential.kind {
            Kind::Personal => {
                return if credential.person == *person {
                    Ok(())
                } else {
                    Err(Error::NoMember)
                }
            }
            Kind::Employee { cvr } => {
                if credential.person != *person {
                    return Err(Error::NoMember);
                }
                (cvr, Right::SignOnBehalf)
            }
            Kind::Seal { cvr } => (cvr, Right::UseSeal),
        };
        let member = self
            .member(cvr, &person.to_string())
            .await?
            .ok_or(Error::NoMember)?;
        let holds = match right {
            Right::SignOnBehalf => member.sign_on_behalf,
            Right::UseSeal => member.use_seal,
        };
        if holds {
            Ok(())
        } else {
            Err(Error::RightMissing(right.as_str()))
        }
    }

    /// The organisation's audit records (administrators only), newest first.
    ///
    /// # Errors
    /// As [`Orgs::admin_of`]; audit failures.
    pub async fn audit(
        &self,
        caller: &PersonId,
        cvr: &Cvr,
        limit: i64,
    ) -> Result<Vec<store::AuditRow>, Error> {
        self.admin_of(caller, cvr).await?;
        let mut rows = self
            .audit
            .query(&store::AuditFilter {
                subject: subject(cvr.as_str()),
                limit: limit.clamp(1, 1000),
                ..store::AuditFilter::default()
            })
            .await?;
        rows.sort_by_key(|r| std::cmp::Reverse(r.seq));
        Ok(rows)
    }
}
