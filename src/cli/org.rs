//! `qsign org add|list|rule set|role add|role remove`: the operator registers an organisation
//! and its first administrator, sets its rule of representation and members' roles (audited
//! with the system as actor).

use super::{OrgCommand, RoleCommand, RuleCommand};
use crate::app::{App, HsmSetup};
use crate::audit::Context;
use crate::clock::{self, Clock as _};
use crate::config::Config;
use crate::orgs::{ChangedBy, Cvr};

pub(super) fn run(config: Config, command: OrgCommand) -> anyhow::Result<()> {
    let setup = HsmSetup::from_config(&config)?;
    super::runtime()?.block_on(async move {
        let (opened, _) = App::open(&config, setup, false, clock::system()).await?;
        let orgs = opened.orgs.clone();
        let result = match command {
            OrgCommand::Add { cvr, name, admin } => {
                let cvr = Cvr::parse(&cvr)?;
                let person = opened
                    .store
                    .person_by_username(&admin)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no such user {admin:?}"))?;
                let person = crate::types::PersonId::parse(&person.id)?;
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
                let (cvr, user, role, granted) = match command {
                    RoleCommand::Add { cvr, user, role } => (cvr, user, role, true),
                    RoleCommand::Remove { cvr, user, role } => (cvr, user, role, false),
                };
                let cvr = Cvr::parse(&cvr)?;
                let person = opened
                    .store
                    .person_by_username(&user)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no such user {user:?}"))?;
                let person = crate::types::PersonId::parse(&person.id)?;
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
