//! The transport of asynchronous signing's callbacks: one HTTP/1.1 `POST` over TCP, or over
//! TLS for an https URI (rustls with ring, the crypto the service already uses), trusting the
//! system's roots and the CA certificates of `async_signing.callback_ca`. No redirect is
//! followed (its location is not even read), the receiver's answer is read only as far as its
//! status, and the caller bounds each attempt in time.

use std::sync::{Arc, OnceLock};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Why an attempt failed, as the audit record of the delivery says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// No connection to the receiver.
    Connect,
    /// The TLS handshake failed: most often a certificate the trusted roots do not vouch for,
    /// or one for another name.
    Tls,
    /// The request could not be sent, or its answer not read.
    Request,
}

impl Failure {
    /// The outcome as recorded.
    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connection failed",
            Self::Tls => "TLS handshake failed",
            Self::Request => "request failed",
        }
    }
}

/// Sends callbacks. The TLS client settings are made once, when the first https callback
/// goes out.
#[derive(Debug, Clone, Default)]
pub(super) struct Transport {
    /// CA certificates (DER) trusted beside the system's roots.
    roots: Arc<Vec<Vec<u8>>>,
    /// The TLS client settings once made; `None` when they could not be.
    tls: Arc<OnceLock<Option<Arc<rustls::ClientConfig>>>>,
}

impl Transport {
    /// A transport whose https callbacks also trust `roots` (DER).
    pub(super) fn new(roots: Vec<Vec<u8>>) -> Self {
        Self {
            roots: Arc::new(roots),
            tls: Arc::default(),
        }
    }

    /// POSTs `body` (JSON) to `uri`; answers the receiver's status code.
    pub(super) async fn post(&self, uri: &str, body: Vec<u8>) -> Result<u16, Failure> {
        let uri: hyper::Uri = uri.parse().map_err(|_| Failure::Request)?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(Failure::Request),
        };
        let authority = uri.authority().ok_or(Failure::Request)?.as_str().to_owned();
        let host = uri
            .host()
            .ok_or(Failure::Request)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let request = hyper::Request::post(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| Failure::Request)?;
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|_| Failure::Connect)?;
        if !tls {
            return exchange(tcp, request).await;
        }
        let name = ServerName::try_from(host).map_err(|_| Failure::Tls)?;
        let connector = tokio_rustls::TlsConnector::from(self.tls_config().await?);
        let stream = connector
            .connect(name, tcp)
            .await
            .map_err(|_| Failure::Tls)?;
        exchange(stream, request).await
    }

    /// The TLS client settings, made on first use off the async runtime (the system's roots
    /// are read from disk).
    async fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, Failure> {
        let made = match self.tls.get() {
            Some(made) => made.clone(),
            None => {
                let (cell, roots) = (Arc::clone(&self.tls), Arc::clone(&self.roots));
                tokio::task::spawn_blocking(move || {
                    cell.get_or_init(|| client_config(&roots)).clone()
                })
                .await
                .map_err(|_| Failure::Tls)?
            }
        };
        made.ok_or(Failure::Tls)
    }
}

/// TLS client settings that trust the system's roots and `roots` (DER), with ring as the
/// crypto provider and rustls's safe default protocol versions; `None` (logged) when they
/// cannot be made.
fn client_config(roots: &[Vec<u8>]) -> Option<Arc<rustls::ClientConfig>> {
    let mut store = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for e in &system.errors {
        tracing::warn!(error = %e, "a system root certificate could not be read");
    }
    let (_, unusable) = store.add_parsable_certificates(system.certs);
    if unusable > 0 {
        tracing::debug!(unusable, "system root certificates rustls cannot use");
    }
    let configured = roots.iter().map(|der| CertificateDer::from(der.as_slice()));
    let (_, refused) = store.add_parsable_certificates(configured);
    if refused > 0 {
        tracing::error!(
            refused,
            "async_signing.callback_ca: certificates that cannot serve as roots"
        );
    }
    // ring is already the project's crypto library; its provider lacks only the post-quantum
    // key exchange, which callbacks to relying parties do not need.
    #[allow(
        deprecated,
        reason = "ring's provider, without post-quantum key exchange"
    )]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => Some(Arc::new(
            builder.with_root_certificates(store).with_no_client_auth(),
        )),
        Err(e) => {
            tracing::error!(error = %e, "no TLS client settings for callbacks");
            None
        }
    }
}

/// One request over a connection; answers the status code of the answer.
async fn exchange<T>(io: T, request: hyper::Request<Full<Bytes>>) -> Result<u16, Failure>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|_| Failure::Request)?;
    let _driver = Driver(tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "a callback connection ended");
        }
    }));
    let response = sender
        .send_request(request)
        .await
        .map_err(|_| Failure::Request)?;
    Ok(response.status().as_u16())
}

/// Stops the task driving a connection when dropped: once the status is known (the answer's
/// body is never read), or when the caller's time limit drops the attempt.
struct Driver(tokio::task::JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}
