//! `qsign init`: create the managed SoftHSM token and every long-lived key; idempotent.

use std::fmt::Display;

use crate::app::{App, HsmSetup};
use crate::clock;
use crate::config::Config;
use crate::hsm::{KeyStatus, TokenStatus};
use crate::pki::CertStatus;
use crate::store::redact_url;

pub(super) fn run(config: Config) -> anyhow::Result<()> {
    let setup = HsmSetup::from_config(&config)?;
    super::runtime()?.block_on(async move {
        let (opened, provisioned) = App::open(&config, setup, true, clock::system()).await?;
        let mut changed = false;
        match provisioned.token {
            Some(TokenStatus::Created) => {
                changed = true;
                println!("token {:?}: created", config.hsm.token_label);
            }
            Some(TokenStatus::Existing) => println!("token {:?}: exists", config.hsm.token_label),
            None => println!("token {:?}: managed outside qsign", config.hsm.token_label),
        }
        let keys = provisioned.keys.iter();
        changed |= created_or_exists("key", keys.map(|(l, s)| (l, *s == KeyStatus::Created)));
        let certificates = opened.certificates.iter();
        changed |= created_or_exists(
            "certificate",
            certificates.map(|(r, s)| (r, *s == CertStatus::Created)),
        );
        println!(
            "root CA public key SHA-256: {}",
            opened.root_fingerprint().await?
        );
        println!(
            "database {}: schema version {}",
            redact_url(config.database_url().expose()),
            opened.store.schema_version().await?
        );
        if changed {
            println!("initialised");
        } else {
            println!("nothing to do: the token, all keys and certificates already exist");
        }
        opened.store.close().await;
        Ok(())
    })
}

/// Prints `what name: created` or `what name: exists` for each `(name, created)`; whether any
/// was created.
fn created_or_exists<N: Display>(what: &str, found: impl Iterator<Item = (N, bool)>) -> bool {
    let mut changed = false;
    for (name, created) in found {
        changed |= created;
        let word = if created { "created" } else { "exists" };
        println!("{what} {name}: {word}");
    }
    changed
}
