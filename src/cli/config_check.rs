//! `qsign config check`: validate and print the effective configuration, secrets redacted.

use crate::config::Config;
use crate::hsm::softhsm;
use crate::store::redact_url;

pub(super) fn run(config: &Config) -> anyhow::Result<()> {
    println!("# effective configuration (secrets redacted)");
    print!("{}", config.to_redacted_toml()?);
    println!();
    println!("# derived values");
    println!("public_url = {:?}", config.public_url());
    println!(
        "database_url = {:?}",
        redact_url(config.database_url().expose())
    );
    let module = config.hsm.module.clone().or_else(softhsm::find_module);
    match module {
        Some(path) => println!("hsm_module = {:?}", path.display().to_string()),
        None => println!("hsm_module = \"<not found: install softhsm2 or set hsm.module>\""),
    }
    Ok(())
}
