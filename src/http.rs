//! The HTTP interface (axum). Holds no business logic: handlers extract, call one `service`
//! function and convert the result; [`error`] is the single error-to-response mapping.
//!
//! May use `service`, `config` and `telemetry`.

mod cases;
mod credentials;
mod csc;
mod documents;
pub mod error;
mod extract;
mod idp;
mod mandates;
mod oauth;
mod ops;
mod orgs;
mod page;
mod pki;
mod router;
mod serve;
mod validate;
mod web;
mod wire;

pub use router::{router, AppState};
pub use serve::serve;

/// The source a client's address counts as for per-source limits and login throttling: an
/// IPv4 address itself, an IPv6 address's /64 (one host is usually given a whole /64, so each
/// of its addresses must not count as another source).
#[must_use]
pub fn source_of(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let mut segments = v6.segments();
            for s in segments.iter_mut().skip(4) {
                *s = 0;
            }
            std::net::IpAddr::V6(std::net::Ipv6Addr::from(segments))
        }
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::source_of;

    #[test]
    fn an_ipv6_host_counts_as_its_64_and_ipv4_as_itself() {
        let a: std::net::IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let other: std::net::IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_of(a), source_of(b));
        assert_ne!(source_of(a), source_of(other));
        let v4: std::net::IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(source_of(v4), v4);
        let mapped: std::net::IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(source_of(mapped), v4);
    }
}
