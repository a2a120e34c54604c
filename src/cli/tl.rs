//! `qsign tl show [--refresh]`: the EU trusted lists validation uses (`validation.lotl_url`):
//! for each list its territory, address, sequence number, next update, whether it verified
//! (or why not) and its providers and services. Read from the cache in the data directory; with
//! `--refresh`, or when nothing is cached, fetched (and cached). Exit 1 when no list verified.

use anyhow::Context as _;

use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::service::{TrustedLists, ValidationSettings};
use crate::validate::report::TrustedListStatus;

pub(super) fn show(config: &Config, refresh: bool) -> anyhow::Result<()> {
    let Some(lists) = configured(config)? else {
        anyhow::bail!(
            "validation.lotl_url is not set (QSIGN_VALIDATION_LOTL_URL): no trusted lists are used"
        );
    };
    let now = SystemClock.now().unix_timestamp();
    let set = super::runtime()?.block_on(async {
        let cached = lists.load_cache(now).await;
        if refresh || !cached.statuses.iter().any(|s| s.verified) {
            lists.refresh(now).await
        } else {
            cached
        }
    });
    print!("{}", describe(&set.statuses, "", ""));
    if !set.statuses.iter().any(|s| s.verified) {
        anyhow::bail!("no trusted list verified");
    }
    Ok(())
}

/// The trusted lists of the configuration (cached in its data directory), or `None` when
/// `validation.lotl_url` is not set.
///
/// # Errors
/// `validation.lotl_certs` cannot be read.
pub(super) fn configured(config: &Config) -> anyhow::Result<Option<TrustedLists>> {
    let Some(url) = &config.validation.lotl_url else {
        return Ok(None);
    };
    let certs = match &config.validation.lotl_certs {
        Some(path) => crate::app::read_pem_or_der(path)
            .with_context(|| format!("validation.lotl_certs: cannot read {}", path.display()))?,
        None => Vec::new(),
    };
    Ok(Some(
        TrustedLists::new(Some(url.clone()), &certs, Some(config.trusted_list_dir()))
            .with_fetch(&fetch_settings(config)?),
    ))
}

/// How the configuration fetches: its limits, the private-address rule and the extra TLS roots
/// of `validation.tls_ca`.
///
/// # Errors
/// `validation.tls_ca` cannot be read.
pub(super) fn fetch_settings(config: &Config) -> anyhow::Result<ValidationSettings> {
    Ok(ValidationSettings {
        tls_roots: crate::app::fetch_roots(config)?,
        ..ValidationSettings::new(&config.validation, Vec::new())
    })
}

/// The lists' statuses in words: a line each (`label` first), then its details, all indented
/// by `indent`.
pub(super) fn describe(statuses: &[TrustedListStatus], indent: &str, label: &str) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    for s in statuses {
        let _ = writeln!(
            text,
            "{indent}{label}{} {}: {}",
            s.territory.as_deref().unwrap_or("(territory unknown)"),
            s.location,
            if s.verified { "verified" } else { "not used" }
        );
        if s.verified {
            let _ = writeln!(
                text,
                "{indent}  sequence number {}, next update {}, {} providers, {} services",
                s.sequence_number
                    .map_or_else(|| "-".to_owned(), |n| n.to_string()),
                s.next_update.as_deref().unwrap_or("none (closed)"),
                s.providers,
                s.services
            );
        }
        if let Some(problem) = &s.problem {
            let _ = writeln!(text, "{indent}  {problem}");
        }
    }
    text
}
