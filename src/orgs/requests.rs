//! What a member does for themselves: sees their memberships and the signatures they made for
//! an organisation, asks for a right or a role (an administrator approves or refuses; approval
//! grants it), and leaves an organisation, withdrawing their consent (their employee
//! credential is revoked at once, as when an administrator removes them). Every step is
//! audited under `org:<cvr>`.

use super::{subject, Cvr, Error, Orgs, Right};
use crate::audit::{Context, Event};
use crate::formats::representation::check_role;
use crate::keys::Owner;
use crate::store::{AuditFilter, AuditRow, MemberRow, RequestRow};
use crate::types::PersonId;

/// The most signature records [`Orgs::signatures_by`] answers.
pub const MAX_SIGNATURES: i64 = 1000;

/// What a member asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// A right (`sign_on_behalf`, `use_seal`).
    Right(Right),
    /// A role (`director`, `board`, ...).
    Role(String),
}

impl Requested {
    /// A request by its stored kind (`right` or `role`) and name.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown kind or right; [`Error::InvalidRole`].
    pub fn parse(kind: &str, name: &str) -> Result<Self, Error> {
        match kind {
            "right" => Right::parse(name)
                .map(Self::Right)
                .ok_or_else(|| Error::Invalid("right: sign_on_behalf or use_seal".to_owned())),
            "role" => {
                check_role(name).map_err(Error::InvalidRole)?;
                Ok(Self::Role(name.to_owned()))
            }
            _ => Err(Error::Invalid("kind: right or role".to_owned())),
        }
    }

    /// The stored kind: `right` or `role`.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Right(_) => "right",
            Self::Role(_) => "role",
        }
    }

    /// The right's or the role's name.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::Right(r) => r.as_str(),
            Self::Role(r) => r,
        }
    }
}

impl Orgs {
    /// The caller's own membership of the organisation (one whose integrity tag verifies).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::NotMember`]; store failures.
    pub async fn member_of(&self, person: &PersonId, cvr: &Cvr) -> Result<MemberRow, Error> {
        self.organisation(cvr).await?;
        self.member(cvr.as_str(), &person.to_string())
            .await?
            .ok_or(Error::NotMember)
    }

    /// A member asks for a right or a role; an administrator decides.
    ///
    /// # Errors
    /// As [`Orgs::member_of`]; [`Error::Pending`] when the member holds it already or asked
    /// for it already; store and audit failures.
    pub async fn request(
        &self,
        person: &PersonId,
        cvr: &Cvr,
        what: &Requested,
        ctx: &Context,
        now: i64,
    ) -> Result<RequestRow, Error> {
        let member = self.member_of(person, cvr).await?;
        let holds = match what {
            Requested::Right(Right::SignOnBehalf) => member.sign_on_behalf,
            Requested::Right(Right::UseSeal) => member.use_seal,
            Requested::Role(role) => self.roles_of(cvr, person).await?.contains(role),
        };
        if holds {
            return Err(Error::Pending("you hold this already"));
        }
        let row = RequestRow {
            id: uuid::Uuid::new_v4().to_string(),
            cvr: cvr.to_string(),
            person: person.to_string(),
            kind: what.kind().to_owned(),
            name: what.name().to_owned(),
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        match tx.insert_request(&row).await {
            Err(crate::store::Error::Conflict) => {
                return Err(Error::Pending("you asked for this already"))
            }
            other => other?,
        }
        let event = Event::RequestMade {
            cvr: cvr.to_string(),
            request: row.id.clone(),
            person: *person,
            kind: row.kind.clone(),
            name: row.name.clone(),
        };
        self.commit_audited(tx, ctx, cvr, event, now).await?;
        Ok(row)
    }

    /// The organisation's pending requests (administrators only), oldest first.
    ///
    /// # Errors
    /// As [`Orgs::admin_of`]; store failures.
    pub async fn requests(&self, caller: &PersonId, cvr: &Cvr) -> Result<Vec<RequestRow>, Error> {
        self.admin_of(caller, cvr).await?;
        Ok(self.store.org_requests(cvr.as_str()).await?)
    }

    /// The caller's own pending requests in every organisation.
    ///
    /// # Errors
    /// Store failures.
    pub async fn my_requests(&self, person: &PersonId) -> Result<Vec<RequestRow>, Error> {
        Ok(self.store.person_requests(&person.to_string()).await?)
    }

    /// One pending request of the organisation (administrators only).
    ///
    /// # Errors
    /// As [`Orgs::admin_of`]; [`Error::NoRequest`]; store failures.
    pub async fn pending(
        &self,
        caller: &PersonId,
        cvr: &Cvr,
        id: &str,
    ) -> Result<RequestRow, Error> {
        self.requests(caller, cvr)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(Error::NoRequest)
    }

    /// An administrator approves (granting what was asked, audited as a grant too) or refuses
    /// a member's request; `member` is the member who asked (their names go into an employee
    /// certificate). The request is decided once.
    ///
    /// # Errors
    /// As [`Orgs::admin_of`]; [`Error::NoRequest`] (also when `member` is not who asked);
    /// store, credential and audit failures.
    #[allow(
        clippy::too_many_arguments,
        reason = "the request's parts, each needed"
    )]
    pub async fn decide(
        &self,
        caller: &PersonId,
        cvr: &Cvr,
        id: &str,
        member: &Owner,
        approve: bool,
        ctx: &Context,
        now: i64,
    ) -> Result<RequestRow, Error> {
        self.admin_of(caller, cvr).await?;
        let mut tx = self.store.begin().await?;
        let row = tx
            .take_request(cvr.as_str(), id)
            .await?
            .ok_or(Error::NoRequest)?;
        if row.person != member.id.to_string() {
            // The transaction is dropped: the request stays.
            return Err(Error::NoRequest);
        }
        let what = Requested::parse(&row.kind, &row.name)?;
        let event = Event::RequestDecided {
            cvr: cvr.to_string(),
            request: row.id.clone(),
            person: member.id,
            kind: row.kind.clone(),
            name: row.name.clone(),
            approved: approve,
        };
        self.commit_audited(tx, ctx, cvr, event, now).await?;
        if approve {
            match what {
                Requested::Right(right) => {
                    self.set_right(caller, cvr, member, right, true, ctx, now)
                        .await?;
                }
                Requested::Role(role) => {
                    let by = super::ChangedBy::Admin(caller);
                    self.set_role(by, cvr, &member.id, &role, true, ctx, now)
                        .await?;
                }
            }
        }
        Ok(row)
    }

    /// The caller leaves the organisation, withdrawing their consent: the membership ends
    /// (with its roles and requests) and their employee credential is revoked at once. The
    /// last administrator cannot leave.
    ///
    /// # Errors
    /// As [`Orgs::member_of`]; [`Error::LastAdmin`]; store, credential and audit failures.
    pub async fn leave(
        &self,
        person: &PersonId,
        cvr: &Cvr,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        self.member_of(person, cvr).await?;
        let entry = ctx.entry(
            subject(cvr.as_str()),
            Event::MemberLeft {
                cvr: cvr.to_string(),
                person: *person,
            },
        );
        self.take_out(cvr, person, &entry, ctx, now).await
    }

    /// The signatures a member made for the organisation (with an employee credential or the
    /// seal), newest first, from the organisation's audit trail: its own records only.
    ///
    /// # Errors
    /// As [`Orgs::member_of`]; audit failures.
    pub async fn signatures_by(
        &self,
        person: &PersonId,
        cvr: &Cvr,
    ) -> Result<Vec<AuditRow>, Error> {
        self.member_of(person, cvr).await?;
        let mut rows = self
            .audit
            .query(&AuditFilter {
                actor: Some(format!("person:{person}")),
                subject: subject(cvr.as_str()),
                limit: MAX_SIGNATURES,
                ..AuditFilter::default()
            })
            .await?;
        rows.retain(|r| r.event == "signature_made");
        rows.sort_by_key(|r| std::cmp::Reverse(r.seq));
        Ok(rows)
    }
}
