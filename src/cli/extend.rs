//! `qsign extend FILE [--level B-LTA] [--content FILE] --out OUT`: raises a signed PDF, CMS
//! (CAdES) or XML (XAdES) file to a higher level with this machine's qsign service (its TSA,
//! CA and OCSP responder, and, as the configuration's `validation` section allows, validation
//! data of other CAs fetched online), as `POST /v1/extend` does. `--content` is the signed
//! content of a detached signature.

use std::path::Path;

use anyhow::{anyhow, Context as _};

use crate::app::{App, HsmSetup};
use crate::clock;
use crate::config::Config;
use crate::service::parse_level;

pub(super) fn run(
    config: Config,
    file: &Path,
    level: &str,
    content: Option<&Path>,
    out: &Path,
) -> anyhow::Result<()> {
    let level = parse_level(level).ok_or_else(|| anyhow!("--level: B-T, B-LT or B-LTA"))?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let content = content
        .map(|path| std::fs::read(path).with_context(|| format!("cannot read {}", path.display())))
        .transpose()?;
    let setup = HsmSetup::from_config(&config)?;
    super::runtime()?.block_on(async move {
        let (opened, _) = App::open(&config, setup, false, clock::system()).await?;
        let result = opened.service.documents.extend(bytes, content, level).await;
        opened.close().await;
        let extended = result.map_err(|e| anyhow!("{} ({})", e.message, e.code.as_str()))?;
        std::fs::write(out, &extended.bytes)
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!(
            "{}: {} bytes, {}",
            out.display(),
            extended.bytes.len(),
            extended.media_type
        );
        Ok(())
    })
}
