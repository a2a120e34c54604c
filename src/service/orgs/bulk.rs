//! Bulk enrolment (administrators, High): a CSV file of employees (`orgs::bulk` reads it).
//! Each row is one of:
//!
//! - an existing account (by username): an invitation bound to it, with the row's rights,
//!   roles and anonymity; the person consents by accepting it;
//! - a new username: an account is created (the row's names, a random initial password and an
//!   enrolment code for the first passkey, both answered once) and joins at once, with an
//!   employee credential when the row gives `sign_on_behalf`;
//! - a refused row, with why; the other rows go on.
//!
//! Rows are worked on a few at a time ([`AT_ONCE`]: password hashing, key generation and the
//! database each get their turns), each in transactions of its own, so a failing row leaves
//! the others as they are.

use tokio::task::JoinSet;

use super::Organisations;
use crate::audit::Context;
use crate::identity::loa::Loa;
use crate::identity::{AccountRequest, Principal};
use crate::keys::Owner;
use crate::orgs::bulk::{self, Row};
use crate::orgs::Cvr;
use crate::service::{person_ctx, Error};
use crate::types::PersonId;

/// Rows worked on at once.
pub const AT_ONCE: usize = 4;

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkOutcome {
    /// A new account, a member at once.
    Created {
        /// The enrolment code for the first passkey (shown once; hand it over out of band).
        enrolment_code: String,
        /// The initial password (shown once).
        initial_password: String,
    },
    /// An existing account, invited.
    Invited {
        /// The invitation code (shown once).
        invitation_code: String,
        /// Unix seconds.
        expires_at: i64,
    },
    /// The row was refused.
    Refused(String),
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkLine {
    /// The line the row starts on (the header is line 1).
    pub line: usize,
    /// The username as given.
    pub username: String,
    /// What became of it.
    pub outcome: BulkOutcome,
}

/// The report of a bulk enrolment: every row, by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkReport {
    /// Every row, by line.
    pub lines: Vec<BulkLine>,
}

impl BulkReport {
    /// Accounts created.
    #[must_use]
    pub fn created(&self) -> usize {
        self.count(|o| matches!(o, BulkOutcome::Created { .. }))
    }

    /// Existing accounts invited.
    #[must_use]
    pub fn invited(&self) -> usize {
        self.count(|o| matches!(o, BulkOutcome::Invited { .. }))
    }

    /// Rows refused.
    #[must_use]
    pub fn refused(&self) -> usize {
        self.count(|o| matches!(o, BulkOutcome::Refused(_)))
    }

    fn count(&self, which: impl Fn(&BulkOutcome) -> bool) -> usize {
        self.lines.iter().filter(|l| which(&l.outcome)).count()
    }
}

/// A random initial password: 120 bits, base32.
fn initial_password() -> Result<String, Error> {
    let mut raw = [0u8; 15];
    getrandom::fill(&mut raw).map_err(|e| Error::internal(e.to_string()))?;
    Ok(data_encoding::BASE32_NOPAD.encode(&raw))
}

impl Organisations {
    /// Enrols the employees of a CSV file; answers a report line per row.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found`, `forbidden`; `invalid_request`
    /// naming the line for a body that is not such a CSV file. A refused row is a report line,
    /// not an error.
    pub async fn bulk_enrol(
        &self,
        principal: &Principal,
        cvr: &str,
        body: &[u8],
        request_id: Option<String>,
    ) -> Result<BulkReport, Error> {
        let cvr = self.administered(principal, Loa::High, cvr).await?;
        let rows = bulk::parse(body)?;
        let ctx = person_ctx(principal, request_id);
        let now = self.now();
        let mut report = BulkReport::default();
        let mut tasks: JoinSet<BulkLine> = JoinSet::new();
        for row in rows {
            let row = match row {
                Ok(row) => row,
                Err(refused) => {
                    report.lines.push(BulkLine {
                        line: refused.line,
                        username: refused.username,
                        outcome: BulkOutcome::Refused(refused.reason),
                    });
                    continue;
                }
            };
            if tasks.len() >= AT_ONCE {
                if let Some(done) = tasks.join_next().await {
                    report.lines.push(joined(done)?);
                }
            }
            let (this, caller, cvr, ctx) =
                (self.clone(), principal.person, cvr.clone(), ctx.clone());
            let work = async move {
                let (line, username) = (row.line, row.username.clone());
                let outcome = match this.enrol_row(&caller, &cvr, row, &ctx, now).await {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        tracing::info!(line, code = e.code.as_str(), detail = ?e.detail, "bulk row refused");
                        BulkOutcome::Refused(e.message)
                    }
                };
                BulkLine {
                    line,
                    username,
                    outcome,
                }
            };
            tasks.spawn(tracing::Instrument::instrument(
                work,
                tracing::Span::current(),
            ));
        }
        while let Some(done) = tasks.join_next().await {
            report.lines.push(joined(done)?);
        }
        report.lines.sort_by_key(|l| l.line);
        tracing::info!(
            created = report.created(),
            invited = report.invited(),
            refused = report.refused(),
            "bulk enrolment"
        );
        Ok(report)
    }

    /// One usable row: an invitation for an existing account, else a new account that joins.
    async fn enrol_row(
        &self,
        caller: &PersonId,
        cvr: &Cvr,
        row: Row,
        ctx: &Context,
        now: i64,
    ) -> Result<BulkOutcome, Error> {
        if let Some(person) = self.store.person_by_username(&row.username).await? {
            let id = PersonId::parse(&person.id).map_err(|e| Error::internal(e.to_string()))?;
            let invitation = self
                .orgs
                .invite_with_roles(caller, cvr, Some(id), row.grants, &row.roles, ctx, now)
                .await?;
            return Ok(BulkOutcome::Invited {
                invitation_code: invitation.code,
                expires_at: invitation.expires_at,
            });
        }
        let password = initial_password()?;
        let request = AccountRequest {
            username: &row.username,
            given_name: &row.given_name,
            family_name: &row.family_name,
            password: &password,
            with_totp: false,
        };
        let account = self.identity.create_account(&request, ctx, now).await?;
        let member = Owner {
            id: account.id,
            given_name: row.given_name,
            family_name: row.family_name,
        };
        self.orgs
            .enrol(caller, cvr, &member, row.grants, &row.roles, ctx, now)
            .await?;
        Ok(BulkOutcome::Created {
            enrolment_code: account.enrolment_code,
            initial_password: password,
        })
    }
}

/// A finished row's line; a row whose task failed (a panic or an abort) is an internal error.
fn joined(done: Result<BulkLine, tokio::task::JoinError>) -> Result<BulkLine, Error> {
    done.map_err(|e| Error::internal(format!("bulk enrolment worker: {e}")))
}
