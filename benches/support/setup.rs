//! Set-up shared by the benchmarks: a private SoftHSM token directory and a token in it.

use std::path::PathBuf;

/// Points SoftHSM at a new temporary token directory and creates token `label`; returns the
/// module path and the directory guard.
pub fn softhsm_token(label: &str, pin: &str) -> (PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tokens")).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.path().join("tokens").display()
        ),
    )
    .unwrap();
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let module = qsign::hsm::softhsm::find_module().expect("install softhsm2");
    qsign::hsm::init_token(&module, label, "bench-so", pin).unwrap();
    (module, dir)
}
