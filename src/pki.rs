//! The service's own PKI: a root and an issuing CA, ETSI EN 319 412 certificate profiles, CRLs
//! (RFC 5280 §5), an OCSP responder (RFC 6960) and an RFC 3161 timestamp authority.
//!
//! Every private key is in the HSM ([`ServiceKey`]); certificates and revocation state are in
//! the store. Certificates are built with x509-cert's builder, split in two: `finalize` gives
//! the to-be-signed DER, the HSM signs its digest, `assemble` inserts the signature. CRLs, OCSP
//! responses and timestamp tokens are assembled from their ASN.1 types the same way.
//!
//! The hierarchy:
//!
//! ```text
//! root CA (P-384, self-signed)
//!   └── issuing CA (P-256): user certificates, TSA, OCSP responder, issuing CRL
//! ```
//!
//! May use `hsm`, `store` and `formats::asn1`.

mod crl;
mod ocsp;
pub mod profile;
mod short_lived;
mod signer;
mod summary;
pub mod tsa;

use std::sync::Arc;
use std::time::Duration;

use der::asn1::{BitString, GeneralizedTime, ObjectIdentifier};
use der::{Decode, Encode};
use sha2::{Digest as _, Sha256, Sha384};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

use crate::audit::{self, Audit, Context, Event};
use crate::formats::asn1::oid;
use crate::hsm::{self, ecdsa_signature_der, Digest, Hsm, ServiceKey, SignAlgorithm};
use crate::store::{self, CertificateRow, Store};

pub use profile::{Employee, LegalPerson, NaturalPerson, PseudonymousEmployee, Subject};
use profile::{Kind, Profile, Text, Urls};
pub use short_lived::{Authentication, SHORT_LIVED_ROLE};
pub use summary::{common_name, organization, summary, Summary};

/// Errors of the PKI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The HSM failed.
    #[error(transparent)]
    Hsm(#[from] hsm::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The audit record could not be written, so the action did not happen.
    #[error(transparent)]
    Audit(#[from] audit::Error),
    /// ASN.1 encoding failed.
    #[error("ASN.1 encoding failed: {0}")]
    Encoding(String),
    /// The CA certificates are not there yet.
    #[error("the CA is not initialised (run `qsign init`)")]
    NotInitialised,
    /// The CA certificate in the store does not match the key in the HSM.
    #[error("the {0} certificate in the database does not match its HSM key")]
    KeyMismatch(&'static str),
    /// Subject data that cannot go into a certificate.
    #[error("invalid certificate subject: {0}")]
    InvalidSubject(String),
    /// A public key that does not parse.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// No certificate with that serial.
    #[error("unknown certificate")]
    UnknownCertificate,
}

/// The two certificate authorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ca {
    /// The self-signed root.
    Root,
    /// The issuing CA under the root.
    Issuing,
}

impl Ca {
    /// The name used in URLs and the store.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Issuing => "issuing",
        }
    }

    /// Parses [`Ca::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Root, Self::Issuing]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    const fn key(self) -> ServiceKey {
        match self {
            Self::Root => ServiceKey::RootCa,
            Self::Issuing => ServiceKey::IssuingCa,
        }
    }
}

/// Service certificates kept in the store by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Root,
    Issuing,
    Tsa,
    Ocsp,
    /// The validation service's e-seal: made on first use ([`Pki::validation_seal`]), so it
    /// is not in [`Role::ALL`], which every installation must have.
    Validation,
}

impl Role {
    const ALL: [Self; 4] = [Self::Root, Self::Issuing, Self::Tsa, Self::Ocsp];

    const fn as_str(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Issuing => "issuing",
            Self::Tsa => "tsa",
            Self::Ocsp => "ocsp",
            Self::Validation => "validation",
        }
    }

    const fn key(self) -> ServiceKey {
        match self {
            Self::Root => ServiceKey::RootCa,
            Self::Issuing => ServiceKey::IssuingCa,
            Self::Tsa => ServiceKey::Tsa,
            Self::Ocsp => ServiceKey::Ocsp,
            Self::Validation => ServiceKey::ValidationSeal,
        }
    }
}

/// RFC 5280 §5.3.1 CRLReason values qsign uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No reason given.
    Unspecified = 0,
    /// The key was compromised.
    KeyCompromise = 1,
    /// The subject's name or affiliation changed (a right to act for a CVR was withdrawn).
    AffiliationChanged = 3,
    /// Replaced by a new certificate.
    Superseded = 4,
    /// No longer needed.
    CessationOfOperation = 5,
    /// A privilege was withdrawn.
    PrivilegeWithdrawn = 9,
}

/// Names, lifetimes, URLs and policies of the PKI.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Public base URL, without trailing slash, for AIA and CRL distribution points.
    pub base_url: String,
    /// Organisation name in the CA subjects.
    pub organization: String,
    /// Country of the CA subjects.
    pub country: String,
    /// Root CA common name.
    pub root_name: String,
    /// Issuing CA common name.
    pub issuing_name: String,
    /// Root certificate lifetime.
    pub root_validity: Duration,
    /// Issuing CA certificate lifetime.
    pub issuing_validity: Duration,
    /// TSA and OCSP responder certificate lifetime.
    pub service_validity: Duration,
    /// User certificate lifetime.
    pub user_validity: Duration,
    /// How far ahead a CRL's nextUpdate is.
    pub crl_validity: Duration,
    /// How far ahead an OCSP response's nextUpdate is.
    pub ocsp_validity: Duration,
    /// The deployment's own certificate policy, added to every certificate below the root.
    pub policy_oid: Option<ObjectIdentifier>,
    /// The TSA policy of timestamp tokens.
    pub tsa_policy_oid: ObjectIdentifier,
    /// Where the PKI disclosure statement is (QcPDS).
    pub pds_url: String,
}

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Lowercase hex of the serial number.
    pub serial: String,
    /// The certificate DER.
    pub der: Vec<u8>,
}

/// Whether `ensure_hierarchy` found or made a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// Issued now.
    Created,
    /// Already in the store, matching its HSM key.
    Existing,
}

/// The PKI: cheap to clone.
#[derive(Debug, Clone)]
pub struct Pki {
    hsm: Hsm,
    store: Store,
    audit: Audit,
    settings: Arc<Settings>,
}

impl Pki {
    /// Builds the PKI over an HSM (with the service keys) and a store.
    #[must_use]
    pub fn new(hsm: Hsm, store: Store, audit: Audit, settings: Settings) -> Self {
        Self {
            hsm,
            store,
            audit,
            settings: Arc::new(settings),
        }
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Issues the root, issuing CA, TSA and OCSP responder certificates that are missing, and
    /// checks that existing ones match their HSM keys. Idempotent.
    ///
    /// # Errors
    /// HSM and store failures; [`Error::KeyMismatch`].
    pub async fn ensure_hierarchy(
        &self,
        now: i64,
    ) -> Result<Vec<(&'static str, CertStatus)>, Error> {
        let mut report = Vec::new();
        for role in Role::ALL {
            let spki = self.hsm.public_key(role.key()).await?;
            let status = match self.store.latest_certificate(role.as_str()).await? {
                Some(row) => {
                    let cert = parse_cert(&row.der)?;
                    if cert
                        .tbs_certificate()
                        .subject_public_key_info()
                        .to_der()
                        .map_err(profile::enc)?
                        != spki
                    {
                        return Err(Error::KeyMismatch(role.as_str()));
                    }
                    CertStatus::Existing
                }
                None => {
                    self.issue_service(role, &spki, &Context::system(), now)
                        .await?;
                    CertStatus::Created
                }
            };
            report.push((role.as_str(), status));
        }
        Ok(report)
    }

    /// Issues a user certificate under the issuing CA for `spki_der` (a key made in the HSM).
    ///
    /// # Errors
    /// [`Error::InvalidSubject`], [`Error::InvalidPublicKey`], HSM and store failures.
    pub async fn issue(
        &self,
        spki_der: &[u8],
        subject: &Subject,
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        self.issue_under(spki_der, subject, None, ctx, now).await
    }

    /// [`Pki::issue`], with a signature policy's own OID added to the certificate policies.
    ///
    /// # Errors
    /// As [`Pki::issue`].
    pub async fn issue_under(
        &self,
        spki_der: &[u8],
        subject: &Subject,
        signature_policy: Option<ObjectIdentifier>,
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        let issuing = self.service_cert(Role::Issuing).await?;
        let (qc_type, mut policies) = match subject {
            Subject::NaturalPerson(p) if p.qualified => {
                (Some(oid::QC_TYPE_ESIGN), vec![oid::QCP_N_QSCD])
            }
            Subject::Employee(e) if e.person.qualified => {
                (Some(oid::QC_TYPE_ESIGN), vec![oid::QCP_N_QSCD])
            }
            Subject::PseudonymousEmployee(e) if e.qualified => {
                (Some(oid::QC_TYPE_ESIGN), vec![oid::QCP_N_QSCD])
            }
            Subject::LegalPerson(_) => (Some(oid::QC_TYPE_ESEAL), vec![oid::QCP_L_QSCD]),
            _ => (None, vec![oid::NCP_PLUS]),
        };
        policies.extend(signature_policy);
        let profile = Profile {
            kind: Kind::User {
                qc_type,
                policies,
                pds_url: self.settings.pds_url.clone(),
            },
            subject: subject.name()?,
            issuer: issuing.tbs_certificate().subject().clone(),
            urls: Some(self.urls(Ca::Issuing)),
            policy: self.settings.policy_oid,
        };
        let what = Issue {
            role: subject.role(),
            issuer: Ca::Issuing,
            validity: self.settings.user_validity,
        };
        self.build(profile, &what, spki_der, ctx, now).await
    }

    /// Revokes a certificate. Returns `false` when it was already revoked.
    ///
    /// # Errors
    /// [`Error::UnknownCertificate`]; store failures.
    pub async fn revoke(
        &self,
        serial: &str,
        reason: Reason,
        ctx: &Context,
        now: i64,
    ) -> Result<bool, Error> {
        let serial = serial.to_ascii_lowercase();
        let mut tx = self.store.begin().await?;
        let changed = match tx.revoke_certificate(&serial, now, reason as i32).await {
            Err(store::Error::NotFound) => return Err(Error::UnknownCertificate),
            other => other?,
        };
        if !changed {
            return Ok(false);
        }
        let entry = ctx.entry(
            Some(serial.clone()),
            Event::CertificateRevoked {
                serial,
                reason: reason as i32,
            },
        );
        self.audit
            .append_and_commit(tx, &entry, now.saturating_mul(1000))
            .await?;
        Ok(true)
    }

    /// The DER certificate of a CA.
    ///
    /// # Errors
    /// [`Error::NotInitialised`]; store failures.
    pub async fn ca_certificate(&self, ca: Ca) -> Result<Vec<u8>, Error> {
        let role = match ca {
            Ca::Root => Role::Root,
            Ca::Issuing => Role::Issuing,
        };
        Ok(self.service_row(role).await?.der)
    }

    /// The TSA certificate DER.
    ///
    /// # Errors
    /// [`Error::NotInitialised`]; store failures.
    pub async fn tsa_certificate(&self) -> Result<Vec<u8>, Error> {
        Ok(self.service_row(Role::Tsa).await?.der)
    }

    /// The OCSP responder's certificate (DER).
    ///
    /// # Errors
    /// [`Error::NotInitialised`]; store failures.
    pub async fn ocsp_certificate(&self) -> Result<Vec<u8>, Error> {
        Ok(self.service_row(Role::Ocsp).await?.der)
    }

    /// The validation service's e-seal certificate (DER), with its key and certificate made on
    /// first use: the key in the HSM when the token has none yet, the certificate under the
    /// issuing CA when the store has none (or one for another key), stored and audited as the
    /// OCSP responder's is.
    ///
    /// # Errors
    /// HSM and store failures; [`Error::NotInitialised`] before the CA exists.
    pub async fn validation_seal(&self, now: i64) -> Result<Vec<u8>, Error> {
        let role = Role::Validation;
        let spki = match self.hsm.public_key(role.key()).await {
            Err(hsm::Error::KeyMissing(_)) => {
                self.hsm.ensure_key(role.key()).await?;
                self.hsm.public_key(role.key()).await?
            }
            other => other?,
        };
        if let Some(row) = self.store.latest_certificate(role.as_str()).await? {
            let cert = parse_cert(&row.der)?;
            let current = cert
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(profile::enc)?
                == spki;
            if current && row.not_after > now {
                return Ok(row.der);
            }
        }
        Ok(self
            .issue_service(role, &spki, &Context::system(), now)
            .await?
            .der)
    }

    /// Signs a SHA-256 digest with the validation service's e-seal key: raw ECDSA `r || s`
    /// (as XML-DSig wants it).
    ///
    /// # Errors
    /// HSM failures.
    pub async fn seal_digest(&self, digest: [u8; 32]) -> Result<Vec<u8>, Error> {
        Ok(self
            .hsm
            .sign(
                ServiceKey::ValidationSeal,
                SignAlgorithm::Ecdsa,
                Digest::sha256(digest),
            )
            .await?)
    }

    /// The chain as PEM: the issuing CA, then the root.
    ///
    /// # Errors
    /// [`Error::NotInitialised`]; store failures.
    pub async fn chain_pem(&self) -> Result<String, Error> {
        let mut out = String::new();
        for ca in [Ca::Issuing, Ca::Root] {
            let der = self.ca_certificate(ca).await?;
            out.push_str(
                &der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der)
                    .map_err(|e| Error::Encoding(e.to_string()))?,
            );
        }
        Ok(out)
    }

    /// Whether `certificate` (DER) is one this service issued: its serial is in the
    /// certificate store with exactly these bytes. Anything else is not the service's to
    /// answer for (no OCSP response is signed for it).
    ///
    /// # Errors
    /// Store failures.
    pub async fn issued_here(&self, certificate: &[u8]) -> Result<bool, Error> {
        let Ok(cert) = parse_cert(certificate) else {
            return Ok(false);
        };
        let serial = hex::encode(cert.tbs_certificate().serial_number().as_bytes());
        match self.store.certificate(&serial).await {
            Ok(row) => Ok(row.der == certificate),
            Err(store::Error::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A stored certificate by serial (hex).
    ///
    /// # Errors
    /// [`Error::UnknownCertificate`]; store failures.
    pub async fn certificate(&self, serial: &str) -> Result<CertificateRow, Error> {
        match self.store.certificate(&serial.to_ascii_lowercase()).await {
            Err(store::Error::NotFound) => Err(Error::UnknownCertificate),
            other => Ok(other?),
        }
    }

    fn urls(&self, issuer: Ca) -> Urls {
        let base = &self.settings.base_url;
        Urls {
            ocsp: (issuer == Ca::Issuing).then(|| format!("{base}/pki/ocsp")),
            ca_issuers: format!("{base}/pki/ca/{}.crt", issuer.as_str()),
            crl: format!("{base}/pki/crl/{}.crl", issuer.as_str()),
        }
    }

    fn ca_name(&self, common_name: &str) -> Result<x509_cert::name::Name, Error> {
        profile::name(&[
            (
                oid::COUNTRY_NAME,
                Text::Printable(self.settings.country.clone()),
            ),
            (
                oid::ORGANIZATION_NAME,
                Text::Utf8(self.settings.organization.clone()),
            ),
            (oid::COMMON_NAME, Text::Utf8(common_name.to_owned())),
        ])
    }

    async fn issue_service(
        &self,
        role: Role,
        spki: &[u8],
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        let s = &self.settings;
        let (kind, subject_cn, issuer, validity) = match role {
            Role::Root => (Kind::Root, s.root_name.clone(), None, s.root_validity),
            Role::Issuing => (
                Kind::IssuingCa,
                s.issuing_name.clone(),
                Some(Ca::Root),
                s.issuing_validity,
            ),
            Role::Tsa => (
                Kind::Tsa,
                format!("{} TSA", s.organization),
                Some(Ca::Issuing),
                s.service_validity,
            ),
            Role::Ocsp => (
                Kind::OcspResponder,
                format!("{} OCSP", s.organization),
                Some(Ca::Issuing),
                s.service_validity,
            ),
            Role::Validation => (
                Kind::ValidationService,
                format!("{} Validation Service", s.organization),
                Some(Ca::Issuing),
                s.service_validity,
            ),
        };
        let subject = self.ca_name(&subject_cn)?;
        let (issuer_name, issuer_ca, urls) = match issuer {
            None => (subject.clone(), Ca::Root, None),
            Some(ca) => {
                let cert = self
                    .service_cert(if ca == Ca::Root {
                        Role::Root
                    } else {
                        Role::Issuing
                    })
                    .await?;
                let urls = match role {
                    Role::Issuing => Some(self.urls(Ca::Root)),
                    _ => Some(self.urls(Ca::Issuing)),
                };
                (cert.tbs_certificate().subject().clone(), ca, urls)
            }
        };
        let profile = Profile {
            kind,
            subject,
            issuer: issuer_name,
            urls,
            policy: s.policy_oid,
        };
        let what = Issue {
            role: role.as_str(),
            issuer: issuer_ca,
            validity,
        };
        self.build(profile, &what, spki, ctx, now).await
    }

    async fn build<P: x509_cert::builder::profile::BuilderProfile + Send>(
        &self,
        profile: P,
        what: &Issue<'_>,
        spki_der: &[u8],
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        let Issue {
            role,
            issuer,
            validity,
        } = *what;
        let spki =
            SubjectPublicKeyInfoOwned::from_der(spki_der).map_err(|_| Error::InvalidPublicKey)?;
        let serial_bytes = random_serial()?;
        let serial = SerialNumber::new(&serial_bytes).map_err(profile::enc)?;
        let not_after = now.saturating_add(i64::try_from(validity.as_secs()).unwrap_or(i64::MAX));
        let validity = Validity::new(time(now)?, time(not_after)?);
        let issuer_spki = self.hsm.public_key(issuer.key()).await?;
        let shim = signer::IssuerShim::new(issuer_spki, algorithm(issuer.key()));
        let mut builder = CertificateBuilder::new(profile, serial, validity, spki)
            .map_err(|e| Error::Encoding(e.to_string()))?;
        let tbs = builder
            .finalize(&shim)
            .map_err(|e| Error::Encoding(e.to_string()))?;
        let signature = self.sign(issuer.key(), &tbs).await?;
        let cert = builder
            .assemble(signature, &shim)
            .map_err(|e| Error::Encoding(e.to_string()))?;
        let der = cert.to_der().map_err(profile::enc)?;
        let serial = hex::encode(serial_bytes);
        let mut tx = self.store.begin().await?;
        tx.insert_certificate(&CertificateRow {
            serial: serial.clone(),
            issuer: issuer.as_str().to_owned(),
            role: role.to_owned(),
            subject: cert.tbs_certificate().subject().to_string(),
            der: der.clone(),
            not_before: now,
            not_after,
            revoked_at: None,
            revocation_reason: None,
            created_at: now,
        })
        .await?;
        let entry = ctx.entry(
            Some(serial.clone()),
            Event::CertificateIssued {
                serial: serial.clone(),
                role: role.to_owned(),
                issuer: issuer.as_str().to_owned(),
            },
        );
        self.audit
            .append_and_commit(tx, &entry, now.saturating_mul(1000))
            .await?;
        Ok(Issued { serial, der })
    }

    /// Signs `tbs` with a service key: the signature BIT STRING for X.509, CRLs and OCSP.
    async fn sign(&self, key: ServiceKey, tbs: &[u8]) -> Result<BitString, Error> {
        let der = self.sign_der(key, tbs).await?;
        BitString::from_bytes(&der).map_err(profile::enc)
    }

    /// Signs `data` with a service key: DER `ECDSA-Sig-Value` with the hash of its curve.
    async fn sign_der(&self, key: ServiceKey, data: &[u8]) -> Result<Vec<u8>, Error> {
        let digest = match key.algorithm() {
            hsm::KeyAlgorithm::EcP384 => Digest::sha384(Sha384::digest(data).into()),
            _ => Digest::sha256(Sha256::digest(data).into()),
        };
        let raw = self.hsm.sign(key, SignAlgorithm::Ecdsa, digest).await?;
        Ok(ecdsa_signature_der(&raw)?)
    }

    async fn service_row(&self, role: Role) -> Result<CertificateRow, Error> {
        self.store
            .latest_certificate(role.as_str())
            .await?
            .ok_or(Error::NotInitialised)
    }

    async fn service_cert(&self, role: Role) -> Result<Certificate, Error> {
        parse_cert(&self.service_row(role).await?.der)
    }
}

/// Which certificate `build` makes: its stored role, its issuer and its lifetime.
#[derive(Debug, Clone, Copy)]
struct Issue<'a> {
    role: &'a str,
    issuer: Ca,
    validity: Duration,
}

/// The signature algorithm of a service key (RFC 5758 §3.2: parameters absent).
fn algorithm(key: ServiceKey) -> AlgorithmIdentifierOwned {
    let oid = match key.algorithm() {
        hsm::KeyAlgorithm::EcP384 => oid::ECDSA_WITH_SHA384,
        _ => oid::ECDSA_WITH_SHA256,
    };
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

/// A positive, non-zero-leading, random 128-bit serial number (RFC 5280 §4.1.2.2).
fn random_serial() -> Result<[u8; 16], Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Encoding(format!("no randomness: {e}")))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(bytes)
}

pub(crate) fn time(unix: i64) -> Result<Time, Error> {
    Ok(Time::GeneralTime(generalized(unix)?))
}

pub(crate) fn generalized(unix: i64) -> Result<GeneralizedTime, Error> {
    let secs = u64::try_from(unix).map_err(|_| Error::Encoding("time before 1970".into()))?;
    GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).map_err(profile::enc)
}

fn parse_cert(der: &[u8]) -> Result<Certificate, Error> {
    Certificate::from_der(der).map_err(profile::enc)
}
