//! `qsign ca export [--chain]`: the CA certificates as PEM, for relying parties' trust stores.

use crate::app::{App, HsmSetup};
use crate::clock;
use crate::config::Config;
use crate::pki::Ca;

pub(super) fn export(config: Config, chain: bool) -> anyhow::Result<()> {
    let setup = HsmSetup::from_config(&config)?;
    super::runtime()?.block_on(async move {
        let (opened, _) = App::open(&config, setup, false, clock::system()).await?;
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
