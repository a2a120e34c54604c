//! `qsign verify FILE [--content FILE] [--trust PEM]... [--lotl-url URL --lotl-certs PEM]
//! [--json] [--policy NAME] [--policy-file FILE] [--etsi-report OUT.xml]`: validates a signed
//! file offline from the HSM, trusting the service's own root (from its data directory), any
//! `--trust` certificates and, with `--lotl-url`, the CA/QC services of the EU trusted lists,
//! fetched and verified for this validation (which then says the qualification at signing
//! time), under a validation policy; writes the ETSI TS 119 102-2 report when asked (sealed by
//! this machine's service when it has one). Exit codes: 0 all signatures passed, 1 one failed,
//! 2 indeterminate, 3 the file cannot be validated (or read).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::app::{App, HsmSetup};
use crate::clock::{self, Clock as _};
use crate::config::Config;
use crate::pki::Ca;
use crate::service::TrustedLists;
use crate::validate::etsi::{self, Validator};
use crate::validate::{self, Cert, Indication, Material, Policies, Policy, Report};

/// How the report is judged and what is written beside it.
#[derive(Debug, Clone, Default)]
pub(super) struct Judged {
    /// `--policy`: the validation policy's name.
    pub(super) policy: Option<String>,
    /// `--policy-file`: where the policies are (else the configured or built-in ones).
    pub(super) policy_file: Option<PathBuf>,
    /// `--etsi-report`: where to write the ETSI report.
    pub(super) etsi_report: Option<PathBuf>,
}

impl Judged {
    /// The policy asked for.
    fn policy(&self, config: &Config) -> anyhow::Result<Policy> {
        let policies = match self
            .policy_file
            .as_ref()
            .or(config.validation.policies.as_ref())
        {
            Some(path) => Policies::parse(&std::fs::read_to_string(path)?).map_err(|e| {
                anyhow::anyhow!("invalid validation policies in {}: {e}", path.display())
            })?,
            None => Policies::default(),
        };
        policies
            .get(self.policy.as_deref())
            .cloned()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown_policy: no validation policy {:?}",
                    self.policy
                        .as_deref()
                        .unwrap_or(validate::policy::DEFAULT_POLICY)
                )
            })
    }
}

/// Writes the ETSI report of `report` to `path`: sealed by this machine's service when there
/// is one, else unsigned (said on standard error: offline validation needs no HSM).
async fn write_etsi(
    path: &Path,
    report: &Report,
    policy: &Policy,
    service: Option<&App>,
) -> anyhow::Result<()> {
    let xml = match service {
        Some(app) => {
            app.service
                .validation
                .sealed_etsi_report(report, Some(policy))
                .await?
        }
        None => {
            eprintln!(
                "qsign: note: no qsign service with an HSM token here; the ETSI report is not signed"
            );
            let validator = Validator {
                name: "qsign verify (offline)".into(),
                certificate: None,
            };
            etsi::write(report, Some(policy), &validator).into_bytes()
        }
    };
    std::fs::write(path, xml).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

/// Exit code for input that cannot be validated.
const UNUSABLE: u8 = 3;

/// Writes to standard output; a closed pipe (`qsign verify FILE | head`) ends quietly
/// instead of panicking.
fn out(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

fn print_report(report: &Report) {
    use std::fmt::Write as _;
    let mut text = String::new();
    let _ = writeln!(text, "{}: {}", report.file, indication(report.overall()));
    text.push_str(&super::tl::describe(
        &report.trusted_lists,
        "  ",
        "trusted list ",
    ));
    for s in &report.signatures {
        let signer = s
            .signer
            .as_ref()
            .and_then(|x| x.name.clone())
            .unwrap_or_else(|| "unknown signer".into());
        let _ = writeln!(
            text,
            "  {} ({}): {}{} — {}{}",
            s.id,
            s.format,
            indication(s.indication),
            s.sub_indication
                .map(|x| format!(
                    " / {}",
                    serde_json::to_value(x)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ))
                .unwrap_or_default(),
            signer,
            s.level
                .as_deref()
                .map(|l| format!(", {l}"))
                .unwrap_or_default(),
        );
        if let Some(c) = &s.capacity {
            let _ = writeln!(text, "    signed as {}", c.text);
        }
        if let Some(level) = &s.qualification_level {
            let _ = writeln!(text, "    qualification at signing time: {level}");
        }
        if let Some(t) = &s.trusted_list {
            let _ = writeln!(
                text,
                "    trusted list {}: {}, {} ({} since {})",
                t.country,
                t.tsp,
                t.service,
                t.status.as_deref().unwrap_or("no status"),
                t.status_start.as_deref().unwrap_or("-"),
            );
        }
        for e in &s.errors {
            let _ = writeln!(text, "    {e}");
        }
    }
    for r in &report.representation {
        let _ = writeln!(
            text,
            "  representation of {} (CVR {}) under the rule '{}': {}",
            r.organisation,
            r.cvr,
            r.rule,
            if r.satisfied { "met" } else { "not met" }
        );
        if !r.signed_as.is_empty() {
            let _ = writeln!(text, "    signed: {}", r.signed_as.join(", "));
        }
        if !r.missing.is_empty() {
            let _ = writeln!(text, "    still needed: {}", r.missing.join(" or "));
        }
    }
    out(&text);
}

const fn indication(i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => "TOTAL-PASSED",
        Indication::Indeterminate => "INDETERMINATE",
        Indication::TotalFailed => "TOTAL-FAILED",
    }
}

pub(super) fn run(
    config: &Config,
    file: &Path,
    content: Option<&PathBuf>,
    trust: &[PathBuf],
    lotl: Option<(&str, &Path)>,
    json: bool,
    judged: &Judged,
) -> ExitCode {
    match check(config, file, content, trust, lotl, judged) {
        Ok(Ok(report)) => {
            if json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => out(&format!("{text}\n")),
                    Err(e) => eprintln!("qsign: error: {e}"),
                }
            } else {
                print_report(&report);
            }
            ExitCode::from(match report.overall() {
                Indication::TotalPassed => 0,
                Indication::TotalFailed => 1,
                Indication::Indeterminate => 2,
            })
        }
        Ok(Err(e)) => {
            eprintln!("qsign: error: {e}");
            ExitCode::from(UNUSABLE)
        }
        Err(e) => {
            eprintln!("qsign: error: {e:#}");
            ExitCode::from(UNUSABLE)
        }
    }
}

/// This machine's qsign service (or a step of opening it), which a verifier who named roots
/// with `--trust` can do without: then a failure is a note, and the roots are all that is
/// trusted.
fn optional_service<T>(opened: anyhow::Result<T>, trusted: bool) -> anyhow::Result<Option<T>> {
    match opened {
        Ok(service) => Ok(Some(service)),
        Err(e) if trusted => {
            eprintln!("qsign: note: no local qsign service ({e:#}); trusting the given roots only");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn check(
    config: &Config,
    file: &Path,
    content: Option<&PathBuf>,
    trust: &[PathBuf],
    lotl: Option<(&str, &Path)>,
    judged: &Judged,
) -> anyhow::Result<Result<Report, validate::Error>> {
    let policy = judged.policy(config)?;
    let bytes = std::fs::read(file)?;
    let content = content.map(std::fs::read).transpose()?;
    let mut anchors = Vec::new();
    for path in trust {
        anchors.extend(crate::app::read_pem_or_der(path)?);
    }
    let lotl_certs = lotl
        .map(|(_, pem)| crate::app::read_pem_or_der(pem))
        .transpose()?;
    let configured = super::tl::configured(config)?;
    let fetch = super::tl::fetch_settings(config)?;
    // A verifier who names the roots (or the trusted lists) they trust needs no qsign service
    // of their own: without an HSM token (or without an HSM at all), the file is validated
    // against those and what it carries. Otherwise this machine's service root is the anchor.
    let named = !trust.is_empty() || lotl.is_some();
    let setup = optional_service(HsmSetup::from_config(config), named)?;
    super::runtime()?.block_on(async move {
        let opened = match setup {
            Some(setup) => optional_service(
                App::open(config, setup, false, clock::system())
                    .await
                    .map(|(opened, _)| opened),
                named,
            )?,
            None => None,
        };
        let now = clock::SystemClock.now().unix_timestamp();
        let (mut certificates, mut crls) = (Vec::new(), Vec::new());
        if let Some(opened) = &opened {
            anchors.push(opened.pki.ca_certificate(Ca::Root).await?);
            certificates.extend(Cert::parse(&opened.pki.ca_certificate(Ca::Issuing).await?));
            crls.push(opened.pki.crl(Ca::Issuing, now).await?);
            crls.push(opened.pki.crl(Ca::Root, now).await?);
        }
        // The trusted lists: those named, fetched and verified now and cached nowhere; else
        // the configured ones as cached by the service (verified again).
        let lists = match (lotl, lotl_certs) {
            (Some((url, _)), Some(certs)) => {
                let lists =
                    TrustedLists::new(Some(url.to_owned()), &certs, None).with_fetch(&fetch);
                Some(lists.refresh(now).await)
            }
            _ => match configured {
                Some(lists) => Some(lists.load_cache(now).await),
                None => None,
            },
        };
        let mut anchors: Vec<Cert> = anchors.iter().filter_map(|d| Cert::parse(d)).collect();
        anchors.extend(lists.iter().flat_map(|set| set.anchors()));
        let material = Material {
            anchors,
            certificates,
            crls,
            ocsps: Vec::new(),
            now,
            fetch: None,
            local: None,
            // Offline, the operator's own file: no time limit.
            deadline: None,
            trusted_lists: lists,
        };
        let mut result = validate::validate(&bytes, content.as_deref(), &material, usize::MAX);
        if let Ok(report) = result.as_mut() {
            policy.apply(report);
            if let Some(path) = &judged.etsi_report {
                write_etsi(path, report, &policy, opened.as_ref()).await?;
            }
        }
        if let Some(opened) = &opened {
            opened.store.close().await;
        }
        Ok(result)
    })
}
