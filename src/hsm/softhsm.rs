//! SoftHSM2 as the embedded default HSM: finding the module and keeping a token in the data
//! directory.
//!
//! With the managed layout, `DATA_DIR/softhsm/` holds `softhsm2.conf`, `tokens/` and
//! `pins.toml` (the generated user and SO PINs, mode 0600, used only when no PIN is configured).
//! SoftHSM reads its configuration from `SOFTHSM2_CONF` when the module is initialised, so
//! [`point_env_at`] must run before the module is loaded and before other threads start.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::Error;

/// Where Debian, Ubuntu and source builds install the SoftHSM2 module.
pub const MODULE_CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The first SoftHSM2 module found on this machine.
#[must_use]
pub fn find_module() -> Option<PathBuf> {
    MODULE_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The files of a managed SoftHSM token.
#[derive(Debug)]
pub struct Managed {
    /// The `softhsm2.conf` to point `SOFTHSM2_CONF` at.
    pub conf: PathBuf,
    /// The user PIN kept in `pins.toml`.
    pub pin: Zeroizing<String>,
    /// The SO PIN kept in `pins.toml`.
    pub so_pin: Zeroizing<String>,
}

/// Creates (once) the managed layout under `dir` and returns it. Existing files are kept, so
/// the PINs of an existing token never change.
///
/// # Errors
/// [`Error::Setup`] when a file cannot be written or `pins.toml` is unreadable.
pub fn prepare(dir: &Path) -> Result<Managed, Error> {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).map_err(|e| setup(&tokens, &e))?;
    let tokens = tokens.canonicalize().map_err(|e| setup(&tokens, &e))?;
    let conf = dir.join("softhsm2.conf");
    if !conf.exists() {
        let text = format!(
            "# Written by qsign for its managed SoftHSM token.\n\
             directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n\
             slots.removable = false\n",
            tokens.display()
        );
        write_private(&conf, text.as_bytes())?;
    }
    let pins_path = dir.join("pins.toml");
    if !pins_path.exists() {
        let text = format!(
            "pin = \"{}\"\nso_pin = \"{}\"\n",
            *random_pin()?,
            *random_pin()?
        );
        write_private(&pins_path, text.as_bytes())?;
    }
    let text =
        Zeroizing::new(std::fs::read_to_string(&pins_path).map_err(|e| setup(&pins_path, &e))?);
    let table: toml::Table = text
        .parse()
        .map_err(|_| Error::Setup(format!("{} is not valid TOML", pins_path.display())))?;
    let field = |name: &str| {
        table
            .get(name)
            .and_then(toml::Value::as_str)
            .map(|s| Zeroizing::new(s.to_owned()))
            .ok_or_else(|| Error::Setup(format!("{} has no {name}", pins_path.display())))
    };
    Ok(Managed {
        conf,
        pin: field("pin")?,
        so_pin: field("so_pin")?,
    })
}

/// Points SoftHSM at `conf` unless `SOFTHSM2_CONF` is already set (an operator's or a test
/// harness's choice wins). Call before loading the module and before spawning threads.
pub fn point_env_at(conf: &Path) {
    if std::env::var_os("SOFTHSM2_CONF").is_none() {
        std::env::set_var("SOFTHSM2_CONF", conf);
    }
}

fn random_pin() -> Result<Zeroizing<String>, Error> {
    let mut bytes = Zeroizing::new([0u8; 16]);
    getrandom::fill(bytes.as_mut())
        .map_err(|e| Error::Setup(format!("no randomness from the OS: {e}")))?;
    Ok(Zeroizing::new(hex::encode(bytes.as_ref())))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| setup(path, &e))?;
    file.write_all(bytes).map_err(|e| setup(path, &e))?;
    file.sync_all().map_err(|e| setup(path, &e))
}

fn setup(path: &Path, e: &std::io::Error) -> Error {
    Error::Setup(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn prepare_is_stable_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = prepare(dir.path()).unwrap();
        let second = prepare(dir.path()).unwrap();
        assert_eq!(*first.pin, *second.pin);
        assert_eq!(first.pin.len(), 32);
        assert_ne!(*first.pin, *first.so_pin);
        let mode = std::fs::metadata(dir.path().join("pins.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "pins.toml readable by others: {mode:o}");
        let conf = std::fs::read_to_string(first.conf).unwrap();
        assert!(conf.contains("directories.tokendir"));
    }
}
