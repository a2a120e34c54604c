//! The bounded fetcher of the service's downloads: for online validation
//! ([`crate::validate::chain::Fetch`]: CRLs, OCSP responses and CA certificates, for one
//! validation or one extension) and for the EU trusted lists (one refresh).
//!
//! Every fetch is bounded: only `http` and `https` URLs; the host resolved once, every address
//! checked against the private ranges (loopback, RFC 1918, link-local, unique-local, CGNAT,
//! `0.0.0.0/8`, multicast) unless allowed, and the connection made to exactly the checked
//! addresses (no second resolution), over TLS for https with the URL's host as the server name
//! ([`super::tls`]: the system's roots and `validation.tls_ca`); no proxy; redirects followed
//! by hand, at most [`MAX_REDIRECTS`], each one checked as a new fetch (a POST is never
//! redirected); a time limit per request (the connection, the answer and the body); a size
//! limit on the body, checked as it arrives; and at most a budget of requests per fetcher
//! ([`MAX_FETCHES`] for a validation), which is made anew for each validation or refresh.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::tls;
use super::validation::ValidationSettings;

/// Most requests one validation (or extension) makes.
pub(super) const MAX_FETCHES: usize = 16;

/// Most redirects followed for one URL.
const MAX_REDIRECTS: usize = 3;

/// Most addresses of one host used.
const MAX_ADDRESSES: usize = 16;

/// The setting that names the extra TLS roots of fetches.
const TLS_SETTING: &str = "validation.tls_ca";

/// What one fetcher may do.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Per request: connection, answer and body.
    pub(super) timeout: Duration,
    /// Largest body read.
    pub(super) max_bytes: usize,
    /// Most requests (every redirect counts).
    pub(super) requests: usize,
    /// Whether private, loopback and link-local addresses may be reached (tests, closed
    /// networks).
    pub(super) allow_private: bool,
}

/// Why a fetch brought nothing back.
#[derive(Debug, thiserror::Error)]
pub(super) enum Error {
    /// The URL does not parse, or has no host.
    #[error("not a URL that can be fetched")]
    NotUrl,
    /// Neither http nor https.
    #[error("only http and https are fetched, not {0}")]
    Scheme(String),
    /// The fetcher's budget of requests is spent.
    #[error("the budget of {0} requests is spent")]
    Spent(usize),
    /// The host's name has no address (in time).
    #[error("the host {0} does not resolve")]
    Unresolved(String),
    /// The host has an address in a private or local range, and those are not allowed.
    #[error("the host {0} has a private or local address (validation.fetch_allow_private is off)")]
    Private(String),
    /// The connection, the TLS handshake, the exchange, the size or the time limit failed.
    #[error("{0}")]
    Transport(tls::Error),
    /// The server answered with an error (or a redirect without a location).
    #[error("answered HTTP {0}")]
    Status(u16),
    /// More redirects than [`MAX_REDIRECTS`].
    #[error("too many redirects")]
    Redirects,
}

/// Fetches with the limits it was made with; from a validation's blocking thread through the
/// service's runtime, or directly from async code.
#[derive(Debug)]
pub(super) struct Fetcher {
    handle: tokio::runtime::Handle,
    limits: Limits,
    /// The TLS client settings of https fetches.
    tls: tls::Client,
    /// How old an OCSP response without the request's nonce may be, seconds.
    max_age: i64,
    /// Requests made so far (every redirect counts).
    used: AtomicUsize,
}

impl Fetcher {
    /// A fetcher for one validation, with the limits of `settings`, on the current runtime.
    pub(super) fn new(settings: &ValidationSettings) -> Self {
        let limits = Limits {
            timeout: Duration::from_secs(settings.fetch_timeout_secs.max(1)),
            max_bytes: settings.fetch_max_bytes,
            requests: MAX_FETCHES,
            allow_private: settings.fetch_allow_private,
        };
        Self {
            max_age: i64::try_from(settings.revocation_max_age_secs).unwrap_or(i64::MAX),
            ..Self::with_limits(limits, Self::tls_client(settings.tls_roots.clone()))
        }
    }

    /// A fetcher with `limits`, whose https fetches use `tls`, on the current runtime.
    pub(super) fn with_limits(limits: Limits, tls: tls::Client) -> Self {
        Self {
            handle: tokio::runtime::Handle::current(),
            limits,
            tls,
            max_age: 0,
            used: AtomicUsize::new(0),
        }
    }

    /// The TLS client of fetches: the system's roots and `roots` (DER, `validation.tls_ca`).
    pub(super) fn tls_client(roots: Vec<Vec<u8>>) -> tls::Client {
        tls::Client::new(roots, TLS_SETTING)
    }

    /// Fetches `url` (a GET, or a POST of `body`), following redirects of a GET by hand.
    ///
    /// # Errors
    /// Why nothing came back.
    pub(super) async fn fetch(
        &self,
        url: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<Vec<u8>, Error> {
        let mut url = reqwest::Url::parse(url).map_err(|_| Error::NotUrl)?;
        for _ in 0..=MAX_REDIRECTS {
            let answer = self.once(&url, body).await?;
            if (300..400).contains(&answer.status) && body.is_none() {
                let location = answer
                    .headers
                    .get(hyper::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or(Error::Status(answer.status))?;
                url = url.join(location).map_err(|_| Error::NotUrl)?;
                continue;
            }
            if !(200..300).contains(&answer.status) {
                return Err(Error::Status(answer.status));
            }
            return Ok(answer.body);
        }
        Err(Error::Redirects)
    }

    /// One request to `url`, after the checks of scheme, budget and addresses.
    async fn once(
        &self,
        url: &reqwest::Url,
        body: Option<(&str, &[u8])>,
    ) -> Result<tls::Answer, Error> {
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(Error::Scheme(other.to_owned())),
        };
        if self.used.fetch_add(1, Ordering::SeqCst) >= self.limits.requests {
            return Err(Error::Spent(self.limits.requests));
        }
        let host = url.host_str().ok_or(Error::NotUrl)?;
        let port = url.port_or_known_default().ok_or(Error::NotUrl)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<IpAddr>() {
            vec![SocketAddr::new(ip, port)]
        } else {
            tokio::time::timeout(self.limits.timeout, tokio::net::lookup_host((bare, port)))
                .await
                .ok()
                .and_then(Result::ok)
                .ok_or_else(|| Error::Unresolved(bare.to_owned()))?
                .take(MAX_ADDRESSES)
                .collect()
        };
        if addresses.is_empty() {
            return Err(Error::Unresolved(bare.to_owned()));
        }
        if !self.limits.allow_private && addresses.iter().any(|a| private(a.ip())) {
            return Err(Error::Private(bare.to_owned()));
        }
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let tls = if https {
            Some(self.tls.config().await.map_err(Error::Transport)?)
        } else {
            None
        };
        // The connection goes to the addresses just checked, not to a second answer.
        tls::send(tls::Request {
            addresses: &addresses,
            host: bare,
            authority: &authority,
            path: &path,
            tls,
            body: body.map(|(content_type, bytes)| (content_type, bytes.to_vec())),
            timeout: Some(self.limits.timeout),
            max_body: Some(self.limits.max_bytes),
        })
        .await
        .map_err(Error::Transport)
    }

    /// [`Self::fetch`] from a blocking thread, its failure logged.
    fn blocking(&self, url: &str, body: Option<(&str, &[u8])>) -> Option<Vec<u8>> {
        self.handle
            .block_on(self.fetch(url, body))
            .inspect_err(|e| match e {
                Error::Transport(_) | Error::Status(_) | Error::Unresolved(_) => {
                    tracing::debug!(error = %e, "fetch failed");
                }
                _ => tracing::warn!(error = %e, "fetch refused"),
            })
            .ok()
    }
}

impl crate::validate::chain::Fetch for Fetcher {
    fn get(&self, url: &str) -> Option<Vec<u8>> {
        self.blocking(url, None)
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Option<Vec<u8>> {
        self.blocking(url, Some((content_type, body)))
    }

    fn nonce(&self) -> Vec<u8> {
        let mut nonce = vec![0; 16];
        if getrandom::fill(&mut nonce).is_err() {
            // Without randomness no nonce can be trusted: an empty one never matches what
            // a responder echoes from another request, and freshness decides alone.
            nonce.clear();
        }
        nonce
    }

    fn max_age(&self) -> i64 {
        self.max_age
    }
}

/// Whether `ip` is in a range a validator must not be made to reach: loopback, RFC 1918,
/// link-local, unique-local, shared (CGNAT), "this network", broadcast, multicast or
/// unspecified (IPv4-mapped IPv6 addresses as their IPv4).
pub(super) fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            a == 0
                || a == 10
                || a == 127
                || (a == 169 && b == 254)
                || (a == 172 && (16..=31).contains(&b))
                || (a == 192 && b == 168)
                || (a == 100 && (64..=127).contains(&b))
                || v4.is_broadcast()
                || v4.is_multicast()
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private(IpAddr::V4(v4));
            }
            let [first, ..] = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_refused_and_public_ones_pass() {
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(private(refused.parse().unwrap()), "{refused}");
        }
        for allowed in [
            "8.8.8.8",
            "172.15.0.1",
            "172.32.0.1",
            "100.63.0.1",
            "100.128.0.1",
            "193.0.0.1",
            "2001:db8::1",
            "fec0::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!private(allowed.parse().unwrap()), "{allowed}");
        }
    }
}
