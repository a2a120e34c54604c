//! Start-up failures: each is one clear line on stderr and a non-zero exit, never a panic; and
//! the operator's organisation commands.

use std::path::Path;

use crate::support;

/// Runs `qsign ARGS` and returns (exit code, stdout, stderr).
fn qsign(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = support::qsign(data_dir);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = support::run(&mut cmd);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn assert_one_error_line(stderr: &str, needle: &str) {
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "expected one error line: {stderr}");
    assert!(lines[0].starts_with("qsign: error: "), "{stderr}");
    assert!(lines[0].contains(needle), "{needle:?} not in {stderr}");
}

#[test]
fn wrong_pin_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = qsign(dir.path(), &["init"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = qsign(dir.path(), &["serve"], &[("QSIGN_HSM_PIN", "wrong-pin")]);
    assert_eq!(code, 1);
    assert_one_error_line(&stderr, "wrong PIN");
    assert!(!stderr.contains("wrong-pin"), "PIN in output: {stderr}");
}

#[test]
fn missing_module_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = qsign(
        dir.path(),
        &["serve"],
        &[("QSIGN_HSM_MODULE", "/nonexistent/libp11.so")],
    );
    assert_eq!(code, 1);
    assert_one_error_line(
        &stderr,
        "PKCS#11 module not found at /nonexistent/libp11.so",
    );
}

#[test]
fn unreachable_postgres_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = qsign(
        dir.path(),
        &["serve"],
        &[
            (
                "QSIGN_DATABASE_URL",
                "postgres://postgres:hunter2@127.0.0.1:1/qsign",
            ),
            ("QSIGN_DATABASE_CONNECT_TIMEOUT_SECS", "2"),
        ],
    );
    assert_eq!(code, 1);
    assert_one_error_line(
        &stderr,
        "database unavailable (postgres://<redacted>@127.0.0.1:1/qsign)",
    );
    assert!(!stderr.contains("hunter2"));
}

#[test]
fn unknown_config_key_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("qsign.toml");
    std::fs::write(&file, "[hsm]\ntoken_lable = \"x\"\n").unwrap();
    let (code, _, stderr) = qsign(
        dir.path(),
        &["--config", file.to_str().unwrap(), "serve"],
        &[],
    );
    assert_eq!(code, 2);
    assert_one_error_line(&stderr, "unknown field `token_lable`");

    let (code, _, stderr) = qsign(dir.path(), &["serve"], &[("QSIGN_LISTN", "127.0.0.1:1")]);
    assert_eq!(code, 2);
    assert_one_error_line(&stderr, "QSIGN_LISTN");
}

#[test]
fn config_check_prints_effective_values_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = qsign(
        dir.path(),
        &["config", "check"],
        &[
            ("QSIGN_HSM_PIN", "topsecret"),
            ("QSIGN_DATABASE_URL", "postgres://u:pw123@db/q"),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("listen = \"127.0.0.1:0\""), "{stdout}");
    assert!(stdout.contains("<redacted>"), "{stdout}");
    assert!(
        !stdout.contains("topsecret") && !stdout.contains("pw123"),
        "{stdout}"
    );
    assert!(stdout.contains("sessions = 8"), "{stdout}");
}

#[test]
fn org_add_registers_an_organisation_with_its_first_administrator() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = qsign(dir.path(), &["init"], &[]);
    assert_eq!(code, 0, "{err}");
    let mut add = support::qsign(dir.path());
    add.args([
        "user",
        "add",
        "astrid",
        "--given-name",
        "Astrid",
        "--family-name",
        "Admin",
        "--password-stdin",
    ])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = add.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (code, out, err) = qsign(
        dir.path(),
        &[
            "org",
            "add",
            "--cvr",
            "35408002",
            "--name",
            "Rungstedlund A/S",
            "--admin",
            "astrid",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Rungstedlund A/S (CVR 35408002)"), "{out}");
    let (code, out, _) = qsign(dir.path(), &["org", "list"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("35408002\tactive\tRungstedlund A/S"), "{out}");
    // The operator sets the rule of representation (kept in its canonical text) and a role.
    let (code, out, err) = qsign(
        dir.path(),
        &[
            "org",
            "rule",
            "set",
            "--cvr",
            "35408002",
            "board{2}|director",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("CVR 35408002: board{2} | director"), "{out}");
    let (code, out, err) = qsign(
        dir.path(),
        &[
            "org", "role", "add", "--cvr", "35408002", "--user", "astrid", "--role", "director",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("astrid now holds the role director"), "{out}");
    let (code, _, err) = qsign(
        dir.path(),
        &["org", "rule", "set", "--cvr", "35408002", "director |"],
        &[],
    );
    assert_ne!(code, 0);
    assert_one_error_line(&err, "invalid rule of representation");
    // A bad check digit and an unknown administrator: one clear line each.
    let (code, _, err) = qsign(
        dir.path(),
        &[
            "org", "add", "--cvr", "35408003", "--name", "X", "--admin", "astrid",
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert_one_error_line(&err, "not a valid CVR number");
    let (code, _, err) = qsign(
        dir.path(),
        &[
            "org", "add", "--cvr", "25313763", "--name", "Y", "--admin", "nobody",
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert_one_error_line(&err, "no such user");
}

/// `make run` passes the Makefile's exported variables to `qsign serve`, which refuses unknown
/// `QSIGN_*` variables: the Makefile must not export any.
#[test]
fn the_makefile_exports_no_qsign_variables() {
    let makefile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Makefile")).unwrap();
    let exported: Vec<&str> = makefile
        .lines()
        .filter(|l| l.trim_start().starts_with("export QSIGN_"))
        .collect();
    assert!(exported.is_empty(), "{exported:?}");
}
