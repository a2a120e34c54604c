//! Raising signatures to B-T, B-LT and B-LTA with the service's own PKI: the embedded TSA's
//! timestamps, and the certificates and fresh CRLs that long-term signatures carry.

use sha2::{Digest as _, Sha256};

use super::{format_error, Documents};
use crate::formats::cms;
use crate::pki::tsa::ImprintHash;
use crate::pki::Ca;
use crate::service::document_types::{Document, Level};
use crate::service::Error;

/// Certificates and CRLs for B-LT and above.
pub(super) type ValidationData = (Vec<Vec<u8>>, Vec<Vec<u8>>);

/// The validation data when `level` needs it.
pub(super) fn needed(
    validation: &Option<ValidationData>,
    level: Level,
) -> Result<Option<&ValidationData>, Error> {
    if level < Level::BLT {
        return Ok(None);
    }
    validation
        .as_ref()
        .map(Some)
        .ok_or_else(|| Error::internal("validation data missing"))
}

impl Documents {
    /// The certificates (TSA, issuing CA, root) and current CRLs that long-term signatures
    /// embed, once for a whole request (each CRL is freshly signed), when a document needs them.
    pub(super) async fn validation_data(
        &self,
        documents: &[Document],
    ) -> Result<Option<ValidationData>, Error> {
        if documents.iter().all(|d| d.level < Level::BLT) {
            return Ok(None);
        }
        self.own_validation_data().await.map(Some)
    }

    /// The certificates (TSA, issuing CA, root) and fresh CRLs of this service's PKI.
    pub(super) async fn own_validation_data(&self) -> Result<ValidationData, Error> {
        let now = self.now();
        Ok((
            vec![
                self.pki.tsa_certificate().await?,
                self.pki.ca_certificate(Ca::Issuing).await?,
                self.pki.ca_certificate(Ca::Root).await?,
            ],
            vec![
                self.pki.crl(Ca::Issuing, now).await?,
                self.pki.crl(Ca::Root, now).await?,
            ],
        ))
    }

    /// Raises a CAdES signature from `current` to `target` with the embedded TSA and
    /// `validation` (certificates and CRLs, needed from B-LT): a signature timestamp when it
    /// has none, the validation data, an archive timestamp; at B-LTA already, a further
    /// archive timestamp over everything before it (renewal). `content_digest` is the SHA-256
    /// of a detached signature's content.
    pub(super) async fn raise_cades(
        &self,
        mut signed: Vec<u8>,
        current: Level,
        target: Level,
        content_digest: Option<&[u8; 32]>,
        validation: Option<&ValidationData>,
    ) -> Result<Vec<u8>, Error> {
        if target >= Level::BT && current < Level::BT {
            let value = cms::signature_value(&signed).map_err(|e| format_error(&e))?;
            let token = self.timestamp_token(&Sha256::digest(&value)).await?;
            signed = cms::add_signature_timestamp(&signed, &token).map_err(|e| format_error(&e))?;
        }
        let renew = current == Level::BLTA && target == Level::BLTA;
        if target >= Level::BLT && (current < Level::BLT || renew) {
            let (certificates, crls) =
                validation.ok_or_else(|| Error::internal("validation data missing"))?;
            signed = cms::add_validation_data(&signed, certificates, crls)
                .map_err(|e| format_error(&e))?;
        }
        if target >= Level::BLTA {
            let (index, imprint) =
                cms::archive_imprint(&signed, content_digest).map_err(|e| format_error(&e))?;
            let token = self.timestamp_token(&imprint).await?;
            signed = cms::add_archive_timestamp(&signed, &token, &index)
                .map_err(|e| format_error(&e))?;
        }
        Ok(signed)
    }

    /// A timestamp token of the embedded TSA over a SHA-256 digest.
    pub(super) async fn timestamp_token(&self, digest: &[u8]) -> Result<Vec<u8>, Error> {
        self.trust.token(ImprintHash::Sha256, digest).await
    }
}
