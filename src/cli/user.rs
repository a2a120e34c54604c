//! `qsign user add|list|disable|enable`.

use std::io::Read as _;

use zeroize::Zeroizing;

use super::UserCommand;
use crate::app::{App, HsmSetup};
use crate::audit::Context;
use crate::clock::{self, Clock as _};
use crate::config::{Config, CredentialsOn};
use crate::identity::AccountRequest;
use crate::keys::Owner;

pub(super) fn run(config: Config, command: UserCommand) -> anyhow::Result<()> {
    // Read the password before anything else touches standard input.
    let password = match &command {
        UserCommand::Add { .. } => {
            let mut text = Zeroizing::new(String::new());
            std::io::stdin().read_to_string(&mut text)?;
            Some(Zeroizing::new(
                text.trim_end_matches(['\n', '\r']).to_owned(),
            ))
        }
        _ => None,
    };
    let setup = HsmSetup::from_config(&config)?;
    super::runtime()?.block_on(async move {
        let (opened, _) = App::open(&config, setup, false, clock::system()).await?;
        let identity = opened.identity.clone();
        let now = clock::SystemClock.now().unix_timestamp();
        let ctx = Context::system();
        let result = match command {
            UserCommand::Add {
                username,
                given_name,
                family_name,
                totp,
                json,
                ..
            } => {
                let password = password.unwrap_or_default();
                let account = identity
                    .create_account(
                        &AccountRequest {
                            username: &username,
                            given_name: &given_name,
                            family_name: &family_name,
                            password: &password,
                            with_totp: totp,
                        },
                        &ctx,
                        now,
                    )
                    .await?;
                let credentials = if config.signing.credentials_on == CredentialsOn::Enrolment {
                    let owner = Owner {
                        id: account.id,
                        given_name: given_name.clone(),
                        family_name: family_name.clone(),
                    };
                    opened.keys.ensure(&owner, &ctx, now).await?
                } else {
                    Vec::new()
                };
                let listed: Vec<serde_json::Value> = credentials
                    .iter()
                    .map(|c| serde_json::json!({ "id": c.id, "policy": c.policy.name }))
                    .collect();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "id": account.id,
                            "username": username,
                            "totp_secret": account.totp_secret,
                            "enrolment_code": account.enrolment_code,
                            "credentials": listed,
                        })
                    );
                } else {
                    println!("created {username} ({})", account.id);
                    for c in &credentials {
                        println!("credential {} ({})", c.id, c.policy.name);
                    }
                    if let Some(secret) = &account.totp_secret {
                        println!("TOTP secret (shown once): {secret}");
                        println!("{}", crate::identity::totp::uri(secret, "qsign", &username));
                    }
                    println!(
                        "enrolment code for the first passkey (shown once; hand it over in person \
                         or by letter): {}",
                        account.enrolment_code
                    );
                }
                Ok(())
            }
            UserCommand::List => {
                for p in identity.accounts().await? {
                    let totp = if p.totp_secret.is_some() { "totp" } else { "-" };
                    println!(
                        "{}\t{}\t{}\t{} {}\t{totp}",
                        p.id, p.username, p.status, p.given_name, p.family_name
                    );
                }
                Ok(())
            }
            UserCommand::Disable { username } => identity
                .set_enabled(&username, false, &ctx, now)
                .await
                .map_err(Into::into),
            UserCommand::Enable { username } => identity
                .set_enabled(&username, true, &ctx, now)
                .await
                .map_err(Into::into),
            UserCommand::EnrolmentCode { username } => {
                let code = identity.new_enrolment_code(&username, &ctx, now).await?;
                println!("enrolment code for {username} (shown once): {code}");
                Ok(())
            }
        };
        opened.store.close().await;
        result
    })
}
