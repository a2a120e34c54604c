//! `qsign audit verify|export|query`.

use std::io::Write as _;

use super::AuditCommand;
use crate::app::{App, HsmSetup};
use crate::clock;
use crate::config::Config;
use crate::store::AuditFilter;

pub(super) fn run(config: Config, command: AuditCommand) -> anyhow::Result<()> {
    let setup = HsmSetup::from_config(&config)?;
    super::runtime()?.block_on(async move {
        let (opened, _) = App::open(&config, setup, false, clock::system()).await?;
        let audit = opened.audit;
        let result = match command {
            AuditCommand::Verify { from, anchors } => {
                // The configured (or default) anchor directory is always checked: a missing one
                // fails once checkpoints were published.
                let anchors = anchors.or_else(|| Some(config.anchor_dir()));
                match audit.verify(from, anchors.as_deref()).await {
                Ok(report) => {
                    println!(
                        "audit log OK: records {}..{}, {} checkpoint signature(s) verified and chained, last checkpoint at {}; {} published checkpoint(s) matched{}",
                        report.from,
                        report.to,
                        report.checkpoints,
                        report.last_checkpoint.map_or_else(|| "none".to_owned(), |s| s.to_string()),
                        report.anchors,
                        anchors.as_ref().map_or_else(|| " (no anchor directory)".to_owned(), |d| format!(" in {}", d.display())),
                    );
                    if report.uncovered > 0 {
                        println!(
                            "records {}..{} are not yet covered by a checkpoint (the next one, or the shutdown checkpoint, covers them)",
                            report.to - report.uncovered + 1,
                            report.to
                        );
                    }
                    Ok(())
                }
                Err(Ok(broken)) => Err(anyhow::anyhow!("{broken}")),
                Err(Err(e)) => Err(e.into()),
            }
            }
            AuditCommand::Export { from, to } => {
                let to = match to {
                    Some(to) => to,
                    None => opened.store.audit_last_seq().await?,
                };
                let mut out = std::io::stdout().lock();
                let mut seq = from;
                while seq <= to {
                    let page_end = seq.saturating_add(999).min(to);
                    for row in audit.range(seq, page_end).await? {
                        let record: serde_json::Value = serde_json::from_slice(&row.record)?;
                        let line = serde_json::json!({
                            "seq": row.seq,
                            "hash": hex::encode(&row.hash),
                            "record": record,
                        });
                        if let Err(e) = writeln!(out, "{line}") {
                            // A closed pipe (`| head`) ends the export quietly.
                            if e.kind() == std::io::ErrorKind::BrokenPipe {
                                return Ok(());
                            }
                            return Err(e.into());
                        }
                    }
                    seq = page_end + 1;
                }
                Ok(())
            }
            AuditCommand::Query { actor, subject, request_id, from_ms, to_ms, limit } => {
                let filter = AuditFilter { actor, subject, request_id, from_ms, to_ms, limit: limit.clamp(1, 10_000) };
                for row in audit.query(&filter).await? {
                    let record: serde_json::Value = serde_json::from_slice(&row.record)?;
                    println!("{record}");
                }
                Ok(())
            }
        };
        opened.store.close().await;
        result
    })
}
