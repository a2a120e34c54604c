//! `[async_signing]`: asynchronous signing (CSC v2 `operationMode: "A"`), its bounds and its
//! callbacks. Which URIs a client's results may be sent to is set per client
//! (`[[identity.clients]] response_uris`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Error;

/// Asynchronous signing: how many operations wait, how long results are kept, how callbacks
/// are delivered.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AsyncSigningConfig {
    /// Most operations one person may have accepted and not yet finished, on all nodes
    /// together (`QSIGN_ASYNC_SIGNING_MAX_PENDING`); more are refused `quota_exceeded`.
    pub max_pending: u32,
    /// Seconds a result is kept after the operation ends when the request names no
    /// `validity_period` (`QSIGN_ASYNC_SIGNING_VALIDITY_SECS`).
    pub validity_secs: u32,
    /// Longest `validity_period` a request may ask for, seconds
    /// (`QSIGN_ASYNC_SIGNING_MAX_VALIDITY_SECS`).
    pub max_validity_secs: u32,
    /// Longest an operation may take from its acceptance, waiting for a worker included,
    /// seconds (`QSIGN_ASYNC_SIGNING_TIMEOUT_SECS`); then it ends as `request_timeout`.
    pub timeout_secs: u32,
    /// Operations signing at once on this node (`QSIGN_ASYNC_SIGNING_WORKERS`).
    pub workers: u32,
    /// Operations accepted and not yet finished on this node, for all persons
    /// (`QSIGN_ASYNC_SIGNING_BACKLOG`); more are answered `temporarily_unavailable`.
    pub backlog: u32,
    /// Longest wait for one callback delivery (connection and answer), seconds
    /// (`QSIGN_ASYNC_SIGNING_CALLBACK_TIMEOUT_SECS`).
    pub callback_timeout_secs: u32,
    /// Delivery attempts of one callback, the first included
    /// (`QSIGN_ASYNC_SIGNING_CALLBACK_ATTEMPTS`); one second, then two, ... between them.
    pub callback_attempts: u32,
    /// A PEM file of CA certificates that https callbacks trust beside the system's roots
    /// (`QSIGN_ASYNC_SIGNING_CALLBACK_CA`): for receivers whose certificates a private CA
    /// issues. Unset: the system's roots only.
    pub callback_ca: Option<PathBuf>,
}

impl Default for AsyncSigningConfig {
    fn default() -> Self {
        Self {
            max_pending: 10,
            validity_secs: 600,
            max_validity_secs: 3600,
            timeout_secs: 60,
            workers: 8,
            backlog: 256,
            callback_timeout_secs: 10,
            callback_attempts: 3,
            callback_ca: None,
        }
    }
}

impl AsyncSigningConfig {
    /// Checks the bounds: every value at least 1, the default validity within the maximum
    /// (at most a day), an operation within an hour, a callback within a minute and at most
    /// ten attempts.
    pub(super) fn validate(&self) -> Result<(), Error> {
        if [
            self.max_pending,
            self.validity_secs,
            self.max_validity_secs,
            self.timeout_secs,
            self.workers,
            self.backlog,
            self.callback_timeout_secs,
            self.callback_attempts,
        ]
        .contains(&0)
        {
            return Err(Error::Invalid(
                "async_signing values must be at least 1".into(),
            ));
        }
        if self.validity_secs > self.max_validity_secs || self.max_validity_secs > 86_400 {
            return Err(Error::Invalid(
                "async_signing.validity_secs must be at most max_validity_secs, which is at most 86400"
                    .into(),
            ));
        }
        if self.timeout_secs > 3600
            || self.callback_timeout_secs > 60
            || self.callback_attempts > 10
        {
            return Err(Error::Invalid(
                "async_signing.timeout_secs is at most 3600, callback_timeout_secs at most 60, callback_attempts at most 10"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    fn load(text: &str) -> Result<Config, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path), Vec::<(String, String)>::new())
    }

    fn client(response_uri: &str) -> String {
        format!(
            "[[identity.clients]]\nclient_id = \"app\"\nredirect_uris = [\"https://app.example/cb\"]\nresponse_uris = [\"{response_uri}\"]\n"
        )
    }

    /// Response URIs are https, or http on loopback, without fragments: a callback never
    /// carries signed documents in clear over a network.
    #[test]
    fn response_uris_are_https_or_loopback() {
        for good in ["https://app.example/signed", "http://127.0.0.1:9000/cb"] {
            let c = load(&client(good)).unwrap();
            assert_eq!(c.identity.clients[0].response_uris, [good]);
        }
        for bad in [
            "http://app.example/signed",
            "http://169.254.169.254/latest",
            "https://app.example/signed#x",
            "ftp://app.example/",
        ] {
            assert!(
                matches!(load(&client(bad)), Err(Error::Invalid(_))),
                "{bad}"
            );
        }
        let c = load("[[identity.clients]]\nclient_id = \"app\"\nredirect_uris = [\"https://app.example/cb\"]\n").unwrap();
        assert!(
            c.identity.clients[0].response_uris.is_empty(),
            "none by default"
        );
    }

    #[test]
    fn the_bounds_are_checked() {
        assert!(load("[async_signing]\nmax_pending = 3\n").is_ok());
        for bad in [
            "max_pending = 0",
            "workers = 0",
            "validity_secs = 4000",
            "max_validity_secs = 90000",
            "timeout_secs = 4000",
            "callback_timeout_secs = 61",
            "callback_attempts = 11",
        ] {
            assert!(
                matches!(
                    load(&format!("[async_signing]\n{bad}\n")),
                    Err(Error::Invalid(_))
                ),
                "{bad}"
            );
        }
    }
}
