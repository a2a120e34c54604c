//! The transport of asynchronous signing's callbacks: one HTTP/1.1 `POST` over TCP, or over
//! TLS for an https URI, through the service's one outgoing client ([`crate::service::tls`]),
//! trusting the system's roots and the CA certificates of `async_signing.callback_ca`. No
//! redirect is followed (its location is not even read), the receiver's answer is read only as
//! far as its status, and the caller bounds each attempt in time.

use std::net::SocketAddr;

pub(super) use crate::service::tls::Failure;
use crate::service::tls::{self, Client};

/// Sends callbacks. The TLS client settings are made once, when the first https callback
/// goes out.
#[derive(Debug, Clone, Default)]
pub(super) struct Transport {
    tls: Client,
}

impl Transport {
    /// A transport whose https callbacks also trust `roots` (DER).
    pub(super) fn new(roots: Vec<Vec<u8>>) -> Self {
        Self {
            tls: Client::new(roots, "async_signing.callback_ca"),
        }
    }

    /// POSTs `body` (JSON) to `uri`; answers the receiver's status code.
    pub(super) async fn post(&self, uri: &str, body: Vec<u8>) -> Result<u16, Failure> {
        let uri: hyper::Uri = uri.parse().map_err(|_| Failure::Request)?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(Failure::Request),
        };
        let authority = uri.authority().ok_or(Failure::Request)?.as_str();
        let host = uri
            .host()
            .ok_or(Failure::Request)?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| Failure::Connect)?
            .collect();
        let tls = if https {
            Some(self.tls.config().await.map_err(|e| e.kind)?)
        } else {
            None
        };
        let request = tls::Request {
            addresses: &addresses,
            host,
            authority,
            path: uri.path_and_query().map_or("/", |p| p.as_str()),
            tls,
            body: Some(("application/json", body)),
            timeout: None,
            max_body: None,
        };
        tls::send(request)
            .await
            .map(|answer| answer.status)
            .map_err(|e| e.kind)
    }
}
