//! Outgoing HTTP/1.1 for the service's own requests (asynchronous signing's callbacks, the
//! fetches of online validation, the EU trusted lists): one request over TCP, or over TLS for
//! https, to addresses the caller has already resolved (and, for fetches, checked), with a Host
//! header, an optional time limit, an optional limit on the answer's body, and no redirect
//! followed.
//!
//! TLS is rustls with ring, the crypto the service already uses, as the only provider (no
//! process-wide provider is installed), trusting the system's roots (read once per process)
//! and the extra CA certificates a setting names (`async_signing.callback_ca`,
//! `validation.tls_ca`). The server's name is the URL's host: a DNS name or an IP address the
//! certificate must carry.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body as _, Bytes};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The system's root certificates, read once: they are the same for every request.
static SYSTEM_ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();

/// What went wrong with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// No connection to the server.
    Connect,
    /// The TLS handshake failed: most often a certificate the trusted roots do not vouch for,
    /// or one for another name.
    Tls,
    /// The request could not be sent, or its answer not read.
    Request,
    /// The answer's body is larger than the limit.
    TooLarge,
    /// No complete answer within the time limit.
    Timeout,
}

impl Failure {
    /// The failure in a few words (also what an audit record of a callback says).
    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connection failed",
            Self::Tls => "TLS handshake failed",
            Self::Request => "request failed",
            Self::TooLarge => "the answer is larger than the limit",
            Self::Timeout => "timed out",
        }
    }
}

/// A failed request: the kind, and the underlying error in words (for logs and the trusted
/// lists' statuses; never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Error {
    /// What failed.
    pub(super) kind: Failure,
    /// Why, as the failing layer said it.
    pub(super) detail: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.as_str())?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl Error {
    fn new(kind: Failure, detail: impl std::fmt::Display) -> Self {
        Self {
            kind,
            detail: detail.to_string(),
        }
    }
}

impl From<Failure> for Error {
    fn from(kind: Failure) -> Self {
        Self {
            kind,
            detail: String::new(),
        }
    }
}

/// TLS client settings trusting the system's roots and `extra` (DER), made once on first use
/// and shared by clones.
#[derive(Debug, Clone, Default)]
pub(super) struct Client {
    /// CA certificates (DER) trusted beside the system's roots.
    extra: Arc<Vec<Vec<u8>>>,
    /// The setting that names them, for the log.
    setting: &'static str,
    /// The settings once made; `None` when they could not be.
    made: Arc<OnceLock<Option<Arc<rustls::ClientConfig>>>>,
}

impl Client {
    /// A client that also trusts `extra` (DER), which the setting `setting` names.
    pub(super) fn new(extra: Vec<Vec<u8>>, setting: &'static str) -> Self {
        Self {
            extra: Arc::new(extra),
            setting,
            made: Arc::default(),
        }
    }

    /// The TLS client settings, made on first use off the async runtime (the system's roots
    /// are read from disk).
    ///
    /// # Errors
    /// [`Failure::Tls`] when they cannot be made.
    pub(super) async fn config(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        let made = match self.made.get() {
            Some(made) => made.clone(),
            None => {
                let (cell, extra, setting) = (
                    Arc::clone(&self.made),
                    Arc::clone(&self.extra),
                    self.setting,
                );
                tokio::task::spawn_blocking(move || {
                    cell.get_or_init(|| client_config(&extra, setting)).clone()
                })
                .await
                .map_err(|e| Error::new(Failure::Tls, e))?
            }
        };
        made.ok_or_else(|| Error::new(Failure::Tls, "no TLS client settings"))
    }
}

/// One request, to addresses already resolved.
#[derive(Debug)]
pub(super) struct Request<'a> {
    /// Where to connect, tried in order.
    pub(super) addresses: &'a [SocketAddr],
    /// The URL's host (no brackets): over TLS, the name the server's certificate must carry.
    pub(super) host: &'a str,
    /// The Host header: the host, and the port when it is not the scheme's default.
    pub(super) authority: &'a str,
    /// The path and query.
    pub(super) path: &'a str,
    /// `Some` for https.
    pub(super) tls: Option<Arc<rustls::ClientConfig>>,
    /// A POST of this content type and body; `None`: a GET.
    pub(super) body: Option<(&'a str, Vec<u8>)>,
    /// Longest time for the whole exchange (the body included); `None`: the caller bounds it.
    pub(super) timeout: Option<Duration>,
    /// Largest body read; `None`: the body is not read (the status and headers are enough).
    pub(super) max_body: Option<usize>,
}

/// An answer: its status, headers and (when asked for) body.
#[derive(Debug)]
pub(super) struct Answer {
    /// The status code.
    pub(super) status: u16,
    /// The headers (a redirect's `Location`).
    pub(super) headers: hyper::HeaderMap,
    /// The body, within the limit; empty when it was not read.
    pub(super) body: Vec<u8>,
}

/// Sends one request and reads its answer; no redirect is followed.
///
/// # Errors
/// What failed: the connection, the TLS handshake, the exchange, the size or the time limit.
pub(super) async fn send(request: Request<'_>) -> Result<Answer, Error> {
    match request.timeout {
        Some(limit) => tokio::time::timeout(limit, exchange(request))
            .await
            .map_err(|_| Error::from(Failure::Timeout))?,
        None => exchange(request).await,
    }
}

async fn exchange(request: Request<'_>) -> Result<Answer, Error> {
    let builder = match &request.body {
        Some((content_type, _)) => {
            hyper::Request::post(request.path).header(hyper::header::CONTENT_TYPE, *content_type)
        }
        None => hyper::Request::get(request.path),
    };
    let body = request.body.map(|(_, bytes)| bytes).unwrap_or_default();
    let message = builder
        .header(hyper::header::HOST, request.authority)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| Error::new(Failure::Request, e))?;
    let tcp = TcpStream::connect(request.addresses)
        .await
        .map_err(|e| Error::new(Failure::Connect, e))?;
    let Some(config) = request.tls else {
        return over(tcp, message, request.max_body).await;
    };
    let name =
        ServerName::try_from(request.host.to_owned()).map_err(|e| Error::new(Failure::Tls, e))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| Error::new(Failure::Tls, e))?;
    over(stream, message, request.max_body).await
}

/// One request over a connection, and its answer (the body within `max_body`).
async fn over<T>(
    io: T,
    message: hyper::Request<Full<Bytes>>,
    max_body: Option<usize>,
) -> Result<Answer, Error>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| Error::new(Failure::Request, e))?;
    let _driver = Driver(tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "an outgoing connection ended");
        }
    }));
    let response = sender
        .send_request(message)
        .await
        .map_err(|e| Error::new(Failure::Request, e))?;
    let (parts, mut incoming) = response.into_parts();
    let mut body = Vec::new();
    if let Some(limit) = max_body {
        let announced = usize::try_from(incoming.size_hint().lower()).unwrap_or(usize::MAX);
        if announced > limit {
            return Err(Failure::TooLarge.into());
        }
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| Error::new(Failure::Request, e))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if body.len().saturating_add(data.len()) > limit {
                return Err(Failure::TooLarge.into());
            }
            body.extend_from_slice(&data);
        }
    }
    Ok(Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// Stops the task driving a connection when dropped: once the answer is read (or only its
/// status, when the body is not wanted), or when a time limit drops the exchange.
struct Driver(tokio::task::JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// TLS client settings that trust the system's roots and `extra` (DER), with ring as the
/// crypto provider and rustls's safe default protocol versions; `None` (logged) when they
/// cannot be made.
fn client_config(extra: &[Vec<u8>], setting: &str) -> Option<Arc<rustls::ClientConfig>> {
    let mut store = rustls::RootCertStore::empty();
    let system = SYSTEM_ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "a system root certificate could not be read");
        }
        found.certs
    });
    let (_, unusable) = store.add_parsable_certificates(system.iter().cloned());
    if unusable > 0 {
        tracing::debug!(unusable, "system root certificates rustls cannot use");
    }
    let configured = extra.iter().map(|der| CertificateDer::from(der.as_slice()));
    let (_, refused) = store.add_parsable_certificates(configured);
    if refused > 0 {
        tracing::error!(
            refused,
            setting,
            "certificates that cannot serve as TLS roots"
        );
    }
    // ring is already the project's crypto library; its provider lacks only the post-quantum
    // key exchange, which the service's own requests do not need.
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
            tracing::error!(error = %e, setting, "no TLS client settings");
            None
        }
    }
}
