//! The bounded fetcher behind online validation ([`crate::validate::chain::Fetch`]): CRLs,
//! OCSP responses and CA certificates over HTTP, for one validation or one extension.
//!
//! Every fetch is bounded: only `http` and `https` URLs; the host resolved once, every address
//! checked against the private ranges (loopback, RFC 1918, link-local, unique-local, CGNAT,
//! `0.0.0.0/8`, multicast) unless allowed, and the connection made to exactly the checked
//! addresses (no second resolution); no proxy; redirects followed by hand, at most
//! [`MAX_REDIRECTS`], each one checked as a new fetch (a POST is never redirected); a time
//! limit per request (the connection, the answer and the body); a size limit on the body,
//! checked as it arrives; and at most [`MAX_FETCHES`] requests per fetcher, which is made
//! anew for each validation.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::validation::ValidationSettings;

/// Most requests one validation (or extension) makes.
pub(super) const MAX_FETCHES: usize = 16;

/// Most redirects followed for one URL.
const MAX_REDIRECTS: usize = 3;

/// Most addresses of one host used.
const MAX_ADDRESSES: usize = 16;

/// Fetches from the validation's blocking thread, through the service's runtime.
#[derive(Debug)]
pub(super) struct Fetcher {
    handle: tokio::runtime::Handle,
    /// Per request: connection, answer and body.
    timeout: Duration,
    /// Largest body read.
    max_bytes: usize,
    /// Whether private, loopback and link-local addresses may be reached (tests, closed
    /// networks).
    allow_private: bool,
    /// How old an OCSP response without the request's nonce may be, seconds.
    max_age: i64,
    /// Requests made so far (every redirect counts).
    used: AtomicUsize,
}

impl Fetcher {
    /// A fetcher with the limits of `settings`, on the current runtime.
    pub(super) fn new(settings: &ValidationSettings) -> Self {
        Self {
            handle: tokio::runtime::Handle::current(),
            timeout: Duration::from_secs(settings.fetch_timeout_secs.max(1)),
            max_bytes: settings.fetch_max_bytes,
            allow_private: settings.fetch_allow_private,
            max_age: i64::try_from(settings.revocation_max_age_secs).unwrap_or(i64::MAX),
            used: AtomicUsize::new(0),
        }
    }

    /// Fetches `url` (a GET, or a POST of `body`), following redirects of a GET by hand.
    async fn fetch(&self, url: &str, body: Option<(&str, &[u8])>) -> Option<Vec<u8>> {
        let mut url = reqwest::Url::parse(url).ok()?;
        for _ in 0..=MAX_REDIRECTS {
            let response = self.once(&url, body).await?;
            let status = response.status();
            if status.is_redirection() && body.is_none() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)?
                    .to_str()
                    .ok()?;
                url = url.join(location).ok()?;
                continue;
            }
            if !status.is_success() {
                tracing::debug!(status = status.as_u16(), "fetch answered with an error");
                return None;
            }
            return self.read(response).await;
        }
        tracing::warn!("fetch: too many redirects");
        None
    }

    /// One request to `url`, after the checks of scheme, budget and addresses.
    async fn once(
        &self,
        url: &reqwest::Url,
        body: Option<(&str, &[u8])>,
    ) -> Option<reqwest::Response> {
        if !matches!(url.scheme(), "http" | "https") {
            tracing::warn!(scheme = url.scheme(), "fetch refused: not HTTP");
            return None;
        }
        if self.used.fetch_add(1, Ordering::SeqCst) >= MAX_FETCHES {
            tracing::warn!("fetch refused: the validation's budget of fetches is spent");
            return None;
        }
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let (domain, addresses) = if let Ok(ip) = bare.parse::<IpAddr>() {
            (None, vec![SocketAddr::new(ip, port)])
        } else {
            let found = tokio::time::timeout(self.timeout, tokio::net::lookup_host((bare, port)))
                .await
                .ok()?
                .ok()?;
            (Some(bare), found.take(MAX_ADDRESSES).collect::<Vec<_>>())
        };
        if addresses.is_empty() {
            return None;
        }
        if !self.allow_private && addresses.iter().any(|a| private(a.ip())) {
            tracing::warn!(
                host,
                "fetch refused: the host has a private or local address"
            );
            return None;
        }
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout);
        if let Some(domain) = domain {
            // The connection goes to the addresses just checked, not to a second answer.
            builder = builder.resolve_to_addrs(domain, &addresses);
        }
        let client = builder.build().ok()?;
        let request = match body {
            Some((content_type, bytes)) => client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes.to_vec()),
            None => client.get(url.clone()),
        };
        match request.send().await {
            Ok(response) => Some(response),
            Err(e) => {
                tracing::debug!(error = %e, "fetch failed");
                None
            }
        }
    }

    /// The body, if it is no larger than the limit (checked as it arrives).
    async fn read(&self, mut response: reqwest::Response) -> Option<Vec<u8>> {
        let limit = u64::try_from(self.max_bytes).unwrap_or(u64::MAX);
        if response.content_length().is_some_and(|l| l > limit) {
            tracing::warn!("fetch refused: the answer is larger than the limit");
            return None;
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.ok()? {
            if body.len().saturating_add(chunk.len()) > self.max_bytes {
                tracing::warn!("fetch stopped: the answer is larger than the limit");
                return None;
            }
            body.extend_from_slice(&chunk);
        }
        Some(body)
    }
}

impl crate::validate::chain::Fetch for Fetcher {
    fn get(&self, url: &str) -> Option<Vec<u8>> {
        self.handle.block_on(self.fetch(url, None))
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Option<Vec<u8>> {
        self.handle
            .block_on(self.fetch(url, Some((content_type, body))))
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
