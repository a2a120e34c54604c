//! `qsign org add|list|rule set|role add|role remove|mandate grant|list|revoke`: the operator
//! registers an organisation and its first administrator, sets its rule of representation and
//! members' roles, and grants powers of attorney between organisations (audited with the system
//! as actor).

use super::{MandateCommand, OrgCommand, RoleArgs, RoleCommand, RuleCommand};
use crate::app::{App, HsmSetup};
use crate::audit::Context;
use crate::clock::{self, Clock as _};
use crate::config::Config;
use crate::orgs::mandates::{Acting, Action, Grantee, Scope, Terms};
use crate::orgs::{ChangedBy, Cvr};
use crate::store::MandateRow;
use crate::types::PersonId;

pub(super) fn run(config: Config, command: OrgCommand) -> anyhow::Result<()> {
    let setup = HsmSetup::from_config(&config)?;
    super::runtime()?.block_on(async move {
        let (opened, _) = App::open(&config, setup, false, clock::system()).await?;
        let orgs = opened.orgs.clone();
        let result = match command {
            OrgCommand::Add { cvr, name, admin } => {
                let cvr = Cvr::parse(&cvr)?;
                let person = person_named(&opened, &admin).await?;
                let now = clock::SystemClock.now().unix_timestamp();
                let org = orgs
                    .create(&cvr, &name, &person, &Context::system(), now)
                    .await?;
                println!(
                    "registered {} (CVR {}), administrator {admin}",
                    org.name, org.cvr
                );
                Ok(())
            }
            OrgCommand::List => {
                for org in orgs.all().await? {
                    println!("{}\t{}\t{}", org.cvr, org.status, org.name);
                }
                Ok(())
            }
            OrgCommand::Mandate { command } => mandate(&opened, command).await,
            OrgCommand::Rule {
                command: RuleCommand::Set { cvr, rule },
            } => {
                let cvr = Cvr::parse(&cvr)?;
                let now = clock::SystemClock.now().unix_timestamp();
                let rule = orgs
                    .set_rule(ChangedBy::Operator, &cvr, &rule, &Context::system(), now)
                    .await?;
                println!("rule of representation of CVR {cvr}: {}", rule.as_str());
                Ok(())
            }
            OrgCommand::Role { command } => {
                let (RoleArgs { cvr, user, role }, granted) = match command {
                    RoleCommand::Add(args) => (args, true),
                    RoleCommand::Remove(args) => (args, false),
                };
                let cvr = Cvr::parse(&cvr)?;
                let person = person_named(&opened, &user).await?;
                let now = clock::SystemClock.now().unix_timestamp();
                let by = ChangedBy::Operator;
                let ctx = Context::system();
                let changed = orgs
                    .set_role(by, &cvr, &person, &role, granted, &ctx, now)
                    .await?;
                let what = match (granted, changed) {
                    (true, true) => "now holds",
                    (true, false) => "already held",
                    (false, true) => "no longer holds",
                    (false, false) => "did not hold",
                };
                println!("{user} {what} the role {} in CVR {cvr}", role.trim());
                Ok(())
            }
        };
        opened.store.close().await;
        result
    })
}

/// A person by username.
async fn person_named(app: &App, username: &str) -> anyhow::Result<PersonId> {
    let row = app
        .store
        .person_by_username(username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no such user {username:?}"))?;
    Ok(PersonId::parse(&row.id)?)
}

/// `qsign org mandate …`: grants (active at once), lists and revokes powers of attorney, each
/// change audited with the actor `system`.
async fn mandate(app: &App, command: MandateCommand) -> anyhow::Result<()> {
    let mandates = app.orgs.mandates();
    let now = clock::SystemClock.now().unix_timestamp();
    match command {
        MandateCommand::Grant {
            from,
            to_cvr,
            to_user,
            scope,
            days,
        } => {
            let grantor = Cvr::parse(&from)?;
            let grantee = match (to_cvr, to_user) {
                (Some(cvr), None) => Grantee::Organisation(Cvr::parse(&cvr)?),
                (None, Some(username)) => Grantee::Person(person_named(app, &username).await?),
                _ => anyhow::bail!("name the grantee: --to-cvr or --to-user, one of them"),
            };
            let terms = Terms {
                scope: Scope::parse(&scope)?,
                valid_from: now,
                valid_until: now.saturating_add(i64::from(days).saturating_mul(86_400)),
            };
            let row = mandates
                .grant(&grantor, &grantee, &terms, &Context::system(), now)
                .await?;
            println!(
                "granted {} by CVR {} to {} ({}) until {}",
                row.id,
                row.grantor_cvr,
                holder(&row),
                row.scope,
                row.valid_until
            );
        }
        MandateCommand::List { cvr } => {
            let cvr = Cvr::parse(&cvr)?;
            for m in mandates.listed(&cvr).await? {
                let direction = if m.row.grantor_cvr == cvr.as_str() {
                    "granted"
                } else {
                    "received"
                };
                println!(
                    "{}\t{}\t{direction}\t{}\t{}\t{}\t{}\t{}",
                    m.row.id,
                    m.row.state,
                    m.row.grantor_cvr,
                    holder(&m.row),
                    m.row.scope,
                    m.row.valid_from,
                    m.row.valid_until
                );
                for a in &m.assignments {
                    println!("\tassigned to {} ({})", a.username, a.person);
                }
            }
        }
        MandateCommand::Revoke { id } => {
            let row = mandates
                .change(
                    Acting::Operator,
                    &id,
                    Action::Revoke,
                    &Context::system(),
                    now,
                )
                .await?;
            println!("revoked {}", row.id);
        }
    }
    Ok(())
}

/// Who holds a mandate, for the listing.
fn holder(row: &MandateRow) -> String {
    match (&row.grantee_cvr, &row.grantee_person) {
        (Some(cvr), _) => format!("CVR {cvr}"),
        (None, Some(person)) => format!("person {person}"),
        (None, None) => String::new(),
    }
}
