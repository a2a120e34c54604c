//! Certificate revocation lists (RFC 5280 §5), signed by the CA that issued the certificates.
//!
//! Built from `TbsCertList` directly: x509-cert's `CrlBuilder` copies the issuer certificate's
//! own authorityKeyIdentifier, which is wrong for an issuing CA. Each request gets a freshly
//! signed CRL with the next CRL number (monotonic across nodes, from the store).

use der::asn1::Uint;
use der::{Decode, Encode};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber, CrlReason};
use x509_cert::serial_number::SerialNumber;
use x509_cert::Version;

use super::profile::{enc, extension, key_id};
use super::{algorithm, parse_cert, time, Ca, Error, Pki};

impl Pki {
    /// A freshly signed CRL of `ca`, valid until now + the configured CRL validity.
    ///
    /// # Errors
    /// [`Error::NotInitialised`]; HSM and store failures.
    pub async fn crl(&self, ca: Ca, now: i64) -> Result<Vec<u8>, Error> {
        let issuer = parse_cert(&self.ca_certificate(ca).await?)?;
        let issuer_key = issuer
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes()
            .to_vec();
        let mut revoked = Vec::new();
        for row in self.store.revoked_certificates(ca.as_str()).await? {
            let serial = SerialNumber::<x509_cert::certificate::Rfc5280>::new(
                &hex::decode(&row.serial).map_err(|_| Error::Encoding("stored serial".into()))?,
            )
            .map_err(enc)?;
            let reason = crl_reason(row.revocation_reason.unwrap_or(0));
            revoked.push(RevokedCert {
                serial_number: serial,
                revocation_date: time(row.revoked_at.unwrap_or(now))?,
                crl_entry_extensions: Some(vec![extension(false, &reason)?]),
            });
        }
        let number = self.store.next_crl_number(ca.as_str()).await?;
        let number = CrlNumber(Uint::new(&number.to_be_bytes()).map_err(enc)?);
        let next = now.saturating_add(
            i64::try_from(self.settings.crl_validity.as_secs()).unwrap_or(i64::MAX),
        );
        let tbs = TbsCertList {
            version: Version::V2,
            signature: algorithm(ca.key()),
            issuer: issuer.tbs_certificate().subject().clone(),
            this_update: time(now)?,
            next_update: Some(time(next)?),
            revoked_certificates: (!revoked.is_empty()).then_some(revoked),
            crl_extensions: Some(vec![
                extension(
                    false,
                    &AuthorityKeyIdentifier {
                        key_identifier: Some(key_id(&issuer_key)?),
                        authority_cert_issuer: None,
                        authority_cert_serial_number: None,
                    },
                )?,
                extension(false, &number)?,
            ]),
        };
        let signature = self.sign(ca.key(), &tbs.to_der().map_err(enc)?).await?;
        let crl = CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: algorithm(ca.key()),
            signature,
        };
        let der = crl.to_der().map_err(enc)?;
        // Round-trip once: what we serve must parse.
        CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der).map_err(enc)?;
        Ok(der)
    }
}

pub(super) fn crl_reason(code: i32) -> CrlReason {
    match code {
        1 => CrlReason::KeyCompromise,
        3 => CrlReason::AffiliationChanged,
        4 => CrlReason::Superseded,
        5 => CrlReason::CessationOfOperation,
        9 => CrlReason::PrivilegeWithdrawn,
        _ => CrlReason::Unspecified,
    }
}
