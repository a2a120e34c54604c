//! `qsign org add|list`: the operator registers an organisation and its first administrator.

use super::OrgCommand;
use crate::app::{App, HsmSetup};
use crate::audit::Context;
use crate::clock::{self, Clock as _};
use crate::config::Config;
use crate::orgs::Cvr;

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
        };
        opened.store.close().await;
        result
    })
}
