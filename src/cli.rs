//! The `qsign` command line: one file per subcommand. The only module that prints to stdout.
//!
//! Failures end as one line on stderr (`qsign: error: ...`) and a non-zero exit code:
//! 2 for configuration and usage errors, 1 for everything else.

#![allow(
    clippy::print_stdout,
    reason = "the command line is where output belongs"
)]

mod audit;
mod ca;
mod config_check;
mod extend;
mod init;
mod org;
mod serve;
mod tl;
mod user;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

/// qsign: a remote qualified signing service.
#[derive(Debug, Parser)]
#[command(name = "qsign", version, about)]
struct Cli {
    /// Configuration file (TOML); also `QSIGN_CONFIG`. Defaults apply without one.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the service (on the embedded defaults, creates the token and keys on first run).
    Serve,
    /// Create the HSM token (managed SoftHSM) and the long-lived keys; idempotent.
    Init,
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Accounts of the embedded identity provider.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Organisations (CVR) and their first administrators.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// The certificate authority.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Validate a signed PDF or CMS file offline (exit 0 passed, 1 failed, 2 indeterminate,
    /// 3 unusable input).
    Verify {
        /// The signed file.
        file: PathBuf,
        /// The signed content of a detached CMS signature.
        #[arg(long)]
        content: Option<PathBuf>,
        /// More trust anchors (PEM or DER certificates), beside the service's own root.
        #[arg(long)]
        trust: Vec<PathBuf>,
        /// The EU list of trusted lists: fetched, verified and used for this validation (its
        /// CA/QC services as trust anchors, and the qualification at signing time).
        #[arg(long, value_name = "URL", requires = "lotl_certs")]
        lotl_url: Option<String>,
        /// PEM file of the only certificates allowed to sign the list of lists.
        #[arg(long, value_name = "PEM", requires = "lotl_url")]
        lotl_certs: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The validation policy to judge under (`default` when not given).
        #[arg(long, value_name = "NAME")]
        policy: Option<String>,
        /// A validation policy file to take the policy from (instead of the configured or
        /// built-in `policies/validation.toml`).
        #[arg(long, value_name = "FILE")]
        policy_file: Option<PathBuf>,
        /// Also write the ETSI TS 119 102-2 XML report here (sealed by this machine's qsign
        /// service when it has one, else unsigned).
        #[arg(long, value_name = "OUT.xml")]
        etsi_report: Option<PathBuf>,
    },
    /// The EU trusted lists validation uses (`validation.lotl_url`).
    Tl {
        #[command(subcommand)]
        command: TlCommand,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Raise a signed PDF, CMS or XML file to B-T, B-LT or B-LTA (a further archive timestamp
    /// at B-LTA already) with this machine's qsign service.
    Extend {
        /// The signed file.
        file: std::path::PathBuf,
        /// B-T, B-LT or B-LTA.
        #[arg(long, default_value = "B-LTA")]
        level: String,
        /// The signed content of a detached CAdES or XAdES signature.
        #[arg(long)]
        content: Option<std::path::PathBuf>,
        /// Where the extended file is written.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify the hash chain and every checkpoint signature; exit 1 naming the first bad record.
    Verify {
        /// Start at this sequence number (its predecessor's stored hash is the anchor).
        #[arg(long, value_name = "SEQ")]
        from: Option<i64>,
        /// Check the checkpoints published in this directory too (default: the configured
        /// `audit.anchor_dir`, when it exists).
        #[arg(long, value_name = "DIR")]
        anchors: Option<std::path::PathBuf>,
    },
    /// Write records as JSON lines for external archiving.
    Export {
        /// First sequence number.
        #[arg(long, default_value_t = 1)]
        from: i64,
        /// Last sequence number (default: the head).
        #[arg(long)]
        to: Option<i64>,
    },
    /// Find records by actor, subject, request id (support reference) or time.
    Query {
        /// `person:<uuid>`, `system` or `anonymous`.
        #[arg(long)]
        actor: Option<String>,
        /// A certificate serial, credential id, ...
        #[arg(long)]
        subject: Option<String>,
        /// The support reference of an error response.
        #[arg(long)]
        request_id: Option<String>,
        /// From this time, Unix milliseconds.
        #[arg(long)]
        from_ms: Option<i64>,
        /// Before this time, Unix milliseconds.
        #[arg(long)]
        to_ms: Option<i64>,
        /// At most this many records, newest first.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        /// Login name.
        username: String,
        /// Given name (for certificates).
        #[arg(long)]
        given_name: String,
        /// Family name (for certificates).
        #[arg(long)]
        family_name: String,
        /// Read the password from standard input (required: passwords never go on the
        /// command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Also enrol a TOTP secret (printed once).
        #[arg(long)]
        totp: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List accounts.
    List,
    /// Disable an account: its tokens stop working at once.
    Disable {
        /// Login name.
        username: String,
    },
    /// Enable an account again.
    Enable {
        /// Login name.
        username: String,
    },
    /// Make a new enrolment code for an account (replacing any earlier one), to hand over out
    /// of band: with it the person binds a passkey without a High session (a lost passkey).
    EnrolmentCode {
        /// Login name.
        username: String,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Register an organisation with its first administrator (an existing account).
    Add {
        /// CVR number (8 digits, valid check digit).
        #[arg(long)]
        cvr: String,
        /// Registered name.
        #[arg(long)]
        name: String,
        /// The first administrator's username.
        #[arg(long)]
        admin: String,
    },
    /// List organisations.
    List,
    /// Powers of attorney between organisations (and persons).
    Mandate {
        #[command(subcommand)]
        command: MandateCommand,
    },
    /// An organisation's rule of representation.
    Rule {
        #[command(subcommand)]
        command: RuleCommand,
    },
    /// Members' roles (`director`, `board`, ...), for the rule of representation.
    Role {
        #[command(subcommand)]
        command: RoleCommand,
    },
}

#[derive(Debug, Subcommand)]
enum MandateCommand {
    /// Grant a power of attorney, active at once (audited with the actor `system`).
    Grant {
        /// The granting organisation's CVR number.
        #[arg(long)]
        from: String,
        /// The organisation that is to hold it.
        #[arg(long, conflicts_with = "to_user", required_unless_present = "to_user")]
        to_cvr: Option<String>,
        /// The person who is to hold it (username).
        #[arg(long)]
        to_user: Option<String>,
        /// `sign_on_behalf`, `use_seal` or a theme (`accounting`).
        #[arg(long)]
        scope: String,
        /// Valid from now for this many days (at most five years).
        #[arg(long)]
        days: u32,
    },
    /// List the powers of attorney an organisation granted and holds.
    List {
        /// CVR number.
        #[arg(long)]
        cvr: String,
    },
    /// Revoke a power of attorney at once.
    Revoke {
        /// The mandate id.
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum RuleCommand {
    /// Set (or replace) the rule, e.g. "director | board{2} | chair & board{1}".
    Set {
        /// CVR number.
        #[arg(long)]
        cvr: String,
        /// The rule.
        rule: String,
    },
}

#[derive(Debug, Subcommand)]
enum RoleCommand {
    /// Give a member a role.
    Add(RoleArgs),
    /// Take a role from a member.
    Remove(RoleArgs),
}

/// The member and the role of `qsign org role add|remove`.
#[derive(Debug, Args)]
struct RoleArgs {
    /// CVR number.
    #[arg(long)]
    cvr: String,
    /// The member's username.
    #[arg(long)]
    user: String,
    /// The role.
    #[arg(long)]
    role: String,
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Print the root CA certificate as PEM (with --chain: the issuing CA first, then the root).
    Export {
        /// Print the whole chain.
        #[arg(long)]
        chain: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TlCommand {
    /// Each list: territory, sequence number, next update, verified or why not, providers and
    /// services; from the cache, fetched when nothing is cached (exit 1 when none verified).
    Show {
        /// Fetch the lists now (and cache them) rather than read the cache.
        #[arg(long)]
        refresh: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate and print the effective configuration, secrets redacted.
    Check,
}

/// Parses the command line and runs the subcommand.
#[must_use]
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let file = cli
        .config
        .clone()
        .or_else(|| std::env::var_os("QSIGN_CONFIG").map(PathBuf::from));
    let config = match Config::load(file.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("qsign: error: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&config.log);
    if let Command::Verify {
        file,
        content,
        trust,
        lotl_url,
        lotl_certs,
        json,
        policy,
        policy_file,
        etsi_report,
    } = &cli.command
    {
        let judged = verify::Judged {
            policy: policy.clone(),
            policy_file: policy_file.clone(),
            etsi_report: etsi_report.clone(),
        };
        let lotl = lotl_url.as_deref().zip(lotl_certs.as_deref());
        return verify::run(&config, file, content.as_ref(), trust, lotl, *json, &judged);
    }
    let result = match cli.command {
        Command::Config {
            command: ConfigCommand::Check,
        } => config_check::run(&config),
        Command::Init => init::run(config),
        Command::Audit { command } => audit::run(config, command),
        Command::User { command } => user::run(config, command),
        Command::Org { command } => org::run(config, command),
        Command::Ca {
            command: CaCommand::Export { chain },
        } => ca::export(config, chain),
        Command::Serve => serve::run(config),
        Command::Extend {
            file,
            level,
            content,
            out,
        } => extend::run(config, &file, &level, content.as_deref(), &out),
        Command::Tl {
            command: TlCommand::Show { refresh },
        } => tl::show(&config, refresh),
        Command::Verify { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qsign: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A multi-threaded runtime, built after the process-wide set-up (environment) is done.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
