//! Trust: the PKI's public side. The CA certificates (for AIA caIssuers), CRLs, the OCSP
//! responder and the RFC 3161 time-stamping authority, and the time-stamp tokens the other use
//! cases embed in signatures.

use super::{unix_now, Error, ErrorCode};
use crate::audit::Context;
use crate::clock::SharedClock;
use crate::pki::tsa::{ImprintHash, Source};
use crate::pki::{Ca, Pki};

/// The PKI's and the TSA's use cases.
#[derive(Debug, Clone)]
pub struct Trust {
    pub(super) pki: Pki,
    pub(super) clock: SharedClock,
}

impl Trust {
    /// The DER certificate of a CA by name (`root`, `issuing`) for the AIA caIssuers URL.
    ///
    /// # Errors
    /// `not_found` for another name; `not_ready` before `qsign init`.
    pub async fn ca_certificate(&self, name: &str) -> Result<Vec<u8>, Error> {
        let ca = Ca::parse(name).ok_or_else(|| Error::new(ErrorCode::NotFound, "no such CA"))?;
        Ok(self.pki.ca_certificate(ca).await?)
    }

    /// A freshly signed CRL of a CA by name.
    ///
    /// # Errors
    /// `not_found` for another name; HSM and database failures.
    pub async fn crl(&self, name: &str) -> Result<Vec<u8>, Error> {
        let ca = Ca::parse(name).ok_or_else(|| Error::new(ErrorCode::NotFound, "no such CA"))?;
        Ok(self.pki.crl(ca, self.now()).await?)
    }

    /// An OCSP response (DER) to a DER request; protocol errors are in the response itself.
    pub async fn ocsp(&self, request: &[u8]) -> Vec<u8> {
        self.pki.ocsp(request, self.now()).await
    }

    /// A time-stamp response (DER) to a DER request; protocol errors are in the response. A
    /// token is returned only after its audit record is committed.
    pub async fn timestamp(&self, request: &[u8], request_id: Option<String>) -> Vec<u8> {
        let ctx = Context::anonymous(request_id);
        self.pki.timestamp(request, &ctx, self.now()).await
    }

    /// A timestamp token of the embedded TSA over a digest.
    ///
    /// # Errors
    /// `temporarily_unavailable` when the TSA does not answer.
    pub(super) async fn token(&self, hash: ImprintHash, digest: &[u8]) -> Result<Vec<u8>, Error> {
        Source::Embedded(self.pki.clone())
            .token(hash, digest, self.now())
            .await
            .map_err(|e| Error {
                code: ErrorCode::TemporarilyUnavailable,
                message: "the time-stamping authority did not answer".into(),
                detail: Some(e.to_string()),
            })
    }

    fn now(&self) -> i64 {
        unix_now(&self.clock)
    }
}
