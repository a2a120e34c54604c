//! `qsign init`: create the managed SoftHSM token and every long-lived key; idempotent.

use super::bootstrap;
use crate::config::Config;
use crate::hsm::{KeyStatus, TokenStatus};
use crate::store::redact_url;

pub(super) fn run(config: Config) -> anyhow::Result<()> {
    let setup = bootstrap::prepare_hsm(&config)?;
    super::runtime()?.block_on(async move {
        let opened = bootstrap::open(&config, setup, true).await?;
        let mut changed = false;
        match opened.token {
            Some(TokenStatus::Created) => {
                changed = true;
                println!("token {:?}: created", config.hsm.token_label);
            }
            Some(TokenStatus::Existing) => println!("token {:?}: exists", config.hsm.token_label),
            None => println!("token {:?}: managed outside qsign", config.hsm.token_label),
        }
        for (label, status) in &opened.keys {
            changed |= *status == KeyStatus::Created;
            let word = if *status == KeyStatus::Created {
                "created"
            } else {
                "exists"
            };
            println!("key {label}: {word}");
        }
        println!(
            "root CA public key SHA-256: {}",
            bootstrap::root_fingerprint(&opened.hsm).await?
        );
        println!(
            "database {}: schema version {}",
            redact_url(config.database_url().expose()),
            opened.store.schema_version().await?
        );
        if changed {
            println!("initialised");
        } else {
            println!("nothing to do: the token and all keys already exist");
        }
        opened.store.close().await;
        Ok(())
    })
}
