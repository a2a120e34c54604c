//! `qsign ca export [--chain]`: the CA certificates as PEM, for relying parties' trust stores.

use super::bootstrap;
use crate::clock;
use crate::config::Config;
use crate::pki::Ca;

pub(super) fn export(config: Config, chain: bool) -> anyhow::Result<()> {
    let setup = bootstrap::prepare_hsm(&config)?;
    super::runtime()?.block_on(async move {
        let opened = bootstrap::open(&config, setup, false, &clock::system()).await?;
        if chain {
            print!("{}", opened.pki.chain_pem().await?);
        } else {
            let der = opened.pki.ca_certificate(Ca::Root).await?;
            print!(
                "{}",
                der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der)?
            );
        }
        opened.store.close().await;
        Ok(())
    })
}
