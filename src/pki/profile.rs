//! Certificate profiles as types (ETSI EN 319 412-1/-2/-3, RFC 5280): each decides its subject
//! and its extensions, and plugs into x509-cert's certificate builder.

use der::asn1::{
    Ia5String, Null, ObjectIdentifier, OctetString, PrintableStringRef, SetOfVec, Utf8StringRef,
};
use der::{Any, Decode, Encode};
use sha1::{Digest as _, Sha1};
use spki::SubjectPublicKeyInfoRef;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;

use super::Error;
use crate::formats::asn1::etsi::{PdsLocation, QcStatement};
use crate::formats::asn1::oid;

/// A natural person signing for themselves (EN 319 412-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaturalPerson {
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// The person's random UUID: the pseudonymous `serialNumber` (`UUID:<uuid>`); never a
    /// national identity number.
    pub person_id: crate::types::PersonId,
    /// ISO 3166 country code of the person's identity.
    pub country: String,
    /// Qualified certificate (QCStatements, QCP-n-qscd) or an advanced one (neither).
    pub qualified: bool,
}

/// A natural person acting for an organisation: the natural-person profile plus the
/// organisation's name and `organizationIdentifier` `NTRDK-<CVR>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    /// The person.
    pub person: NaturalPerson,
    /// The organisation's registered name.
    pub organization: String,
    /// The CVR number (8 digits).
    pub cvr: String,
}

/// A natural person acting for an organisation under a pseudonym (an anonymous member): the
/// organisation's name and `organizationIdentifier` as for [`Employee`], and in place of the
/// person's names the pseudonym (EN 319 412-2 §4.2.4: `pseudonym` instead of `givenName` and
/// `surname`). EN 319 412-2 also asks for a `commonName`, which then carries the pseudonym;
/// `serialNumber` is `UUID:<pseudonym>`, so nothing links the certificate to the person's own
/// (whose `serialNumber` is their person id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PseudonymousEmployee {
    /// The membership's pseudonym (a UUID).
    pub pseudonym: String,
    /// The organisation's registered name.
    pub organization: String,
    /// The CVR number (8 digits).
    pub cvr: String,
    /// ISO 3166 country code.
    pub country: String,
    /// Qualified certificate (QCStatements, QCP-n-qscd) or an advanced one (neither).
    pub qualified: bool,
}

/// An organisation's seal (EN 319 412-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalPerson {
    /// The organisation's registered name.
    pub organization: String,
    /// The CVR number (8 digits).
    pub cvr: String,
    /// ISO 3166 country code.
    pub country: String,
}

/// Whom a user certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A citizen.
    NaturalPerson(NaturalPerson),
    /// An employee signing on behalf of a CVR.
    Employee(Employee),
    /// An anonymous employee signing on behalf of a CVR under a pseudonym.
    PseudonymousEmployee(PseudonymousEmployee),
    /// An organisation seal.
    LegalPerson(LegalPerson),
}

impl Subject {
    /// The stored role name.
    #[must_use]
    pub const fn role(&self) -> &'static str {
        match self {
            Self::NaturalPerson(_) => "natural_person",
            Self::Employee(_) | Self::PseudonymousEmployee(_) => "employee",
            Self::LegalPerson(_) => "legal_person",
        }
    }

    pub(super) fn name(&self) -> Result<Name, Error> {
        let person_attrs = |p: &NaturalPerson| {
            check_country(&p.country)?;
            Ok::<_, Error>(vec![
                (oid::GIVEN_NAME, Text::Utf8(p.given_name.clone())),
                (oid::SURNAME, Text::Utf8(p.family_name.clone())),
                (
                    oid::SERIAL_NUMBER,
                    Text::Printable(format!("UUID:{}", p.person_id)),
                ),
                (
                    oid::COMMON_NAME,
                    Text::Utf8(format!("{} {}", p.given_name, p.family_name)),
                ),
            ])
        };
        let attrs = match self {
            Self::NaturalPerson(p) => {
                let mut v = vec![(oid::COUNTRY_NAME, Text::Printable(p.country.clone()))];
                v.extend(person_attrs(p)?);
                v
            }
            Self::Employee(e) => {
                check_cvr(&e.cvr)?;
                let mut v = vec![
                    (oid::COUNTRY_NAME, Text::Printable(e.person.country.clone())),
                    (oid::ORGANIZATION_NAME, Text::Utf8(e.organization.clone())),
                    (
                        oid::ORGANIZATION_IDENTIFIER,
                        Text::Utf8(format!("NTRDK-{}", e.cvr)),
                    ),
                ];
                v.extend(person_attrs(&e.person)?);
                v
            }
            Self::PseudonymousEmployee(e) => {
                check_cvr(&e.cvr)?;
                check_country(&e.country)?;
                vec![
                    (oid::COUNTRY_NAME, Text::Printable(e.country.clone())),
                    (oid::ORGANIZATION_NAME, Text::Utf8(e.organization.clone())),
                    (
                        oid::ORGANIZATION_IDENTIFIER,
                        Text::Utf8(format!("NTRDK-{}", e.cvr)),
                    ),
                    (oid::PSEUDONYM, Text::Utf8(e.pseudonym.clone())),
                    (
                        oid::SERIAL_NUMBER,
                        Text::Printable(format!("UUID:{}", e.pseudonym)),
                    ),
                    (oid::COMMON_NAME, Text::Utf8(e.pseudonym.clone())),
                ]
            }
            Self::LegalPerson(l) => {
                check_cvr(&l.cvr)?;
                check_country(&l.country)?;
                vec![
                    (oid::COUNTRY_NAME, Text::Printable(l.country.clone())),
                    (oid::ORGANIZATION_NAME, Text::Utf8(l.organization.clone())),
                    (
                        oid::ORGANIZATION_IDENTIFIER,
                        Text::Utf8(format!("NTRDK-{}", l.cvr)),
                    ),
                    (oid::COMMON_NAME, Text::Utf8(l.organization.clone())),
                ]
            }
        };
        name(&attrs)
    }
}

/// The URLs end-entity certificates point at (RFC 5280 §4.2.2.1, §4.2.1.13).
#[derive(Debug, Clone)]
pub(super) struct Urls {
    pub ocsp: Option<String>,
    pub ca_issuers: String,
    pub crl: String,
}

/// What kind of certificate the builder makes.
#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// Self-signed root CA.
    Root,
    /// Issuing CA under the root.
    IssuingCa,
    /// A user certificate.
    User {
        qc_type: Option<ObjectIdentifier>,
        policies: Vec<ObjectIdentifier>,
        pds_url: String,
    },
    /// The timestamp authority (EKU timeStamping, critical).
    Tsa,
    /// The OCSP responder (EKU OCSPSigning, ocsp-nocheck).
    OcspResponder,
    /// The validation service's e-seal over its validation reports (digital signature and
    /// non-repudiation).
    ValidationService,
}

/// A profile ready for the builder: subject, issuer and the extensions of its kind.
#[derive(Debug, Clone)]
pub(super) struct Profile {
    pub kind: Kind,
    pub subject: Name,
    pub issuer: Name,
    pub urls: Option<Urls>,
    pub policy: Option<ObjectIdentifier>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        self.extensions(
            spk.subject_public_key.raw_bytes(),
            issuer_spk.subject_public_key.raw_bytes(),
        )
        .map_err(|_| x509_cert::builder::Error::Asn1(der::ErrorKind::Failed.into()))
    }
}

impl Profile {
    fn extensions(&self, key: &[u8], issuer_key: &[u8]) -> Result<Vec<Extension>, Error> {
        let mut out = Vec::new();
        let (basic, usage): (BasicConstraints, KeyUsage) = match &self.kind {
            Kind::Root => (
                BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(1),
                },
                KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            ),
            Kind::IssuingCa => (
                BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
                KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            ),
            Kind::User { .. } => (
                BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                KeyUsage(KeyUsages::NonRepudiation.into()),
            ),
            Kind::Tsa | Kind::OcspResponder => (
                BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                KeyUsage(KeyUsages::DigitalSignature.into()),
            ),
            Kind::ValidationService => (
                BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            ),
        };
        out.push(extension(true, &basic)?);
        out.push(extension(true, &usage)?);
        out.push(extension(false, &SubjectKeyIdentifier(key_id(key)?))?);
        if !matches!(self.kind, Kind::Root) {
            out.push(extension(
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(key_id(issuer_key)?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
            )?);
        }
        let mut policies: Vec<ObjectIdentifier> = self.policy.into_iter().collect();
        match &self.kind {
            Kind::User {
                qc_type,
                policies: extra,
                pds_url,
            } => {
                policies.extend(extra.iter().copied());
                if let Some(qc_type) = qc_type {
                    out.push(qc_statements(*qc_type, pds_url)?);
                }
            }
            Kind::Tsa => out.push(extension(
                true,
                &ExtendedKeyUsage(vec![oid::KP_TIME_STAMPING]),
            )?),
            Kind::OcspResponder => {
                out.push(extension(
                    false,
                    &ExtendedKeyUsage(vec![oid::KP_OCSP_SIGNING]),
                )?);
                out.push(Extension {
                    extn_id: oid::OCSP_NOCHECK,
                    critical: false,
                    extn_value: OctetString::new(Null.to_der().map_err(enc)?).map_err(enc)?,
                });
            }
            // anyPolicy (RFC 5280 §4.2.1.4): the issuing CA may issue under every policy.
            Kind::IssuingCa => policies.push(oid::ANY_POLICY),
            Kind::Root | Kind::ValidationService => {}
        }
        if !matches!(self.kind, Kind::Root) && !policies.is_empty() {
            let info = policies
                .into_iter()
                .map(|policy_identifier| PolicyInformation {
                    policy_identifier,
                    policy_qualifiers: None,
                })
                .collect();
            out.push(extension(false, &CertificatePolicies(info))?);
        }
        if let Some(urls) = &self.urls {
            let mut access = Vec::new();
            if let Some(ocsp) = &urls.ocsp {
                access.push(AccessDescription {
                    access_method: oid::AD_OCSP,
                    access_location: uri(ocsp)?,
                });
            }
            access.push(AccessDescription {
                access_method: oid::AD_CA_ISSUERS,
                access_location: uri(&urls.ca_issuers)?,
            });
            out.push(extension(false, &AuthorityInfoAccessSyntax(access))?);
            out.push(extension(
                false,
                &CrlDistributionPoints(vec![DistributionPoint {
                    distribution_point: Some(DistributionPointName::FullName(vec![
                        uri(&urls.crl)?,
                    ])),
                    reasons: None,
                    crl_issuer: None,
                }]),
            )?);
        }
        Ok(out)
    }
}

/// QCStatements for a qualified certificate (EN 319 412-5 §4): compliance, key in a QSCD, the
/// type (esign or eseal) and where the PKI disclosure statement is.
fn qc_statements(qc_type: ObjectIdentifier, pds_url: &str) -> Result<Extension, Error> {
    let types = Any::encode_from(&vec![qc_type]).map_err(enc)?;
    let pds = Any::encode_from(&vec![PdsLocation {
        url: Ia5String::new(pds_url).map_err(enc)?,
        language: der::asn1::PrintableString::new("en").map_err(enc)?,
    }])
    .map_err(enc)?;
    let statements = vec![
        QcStatement {
            statement_id: oid::QC_COMPLIANCE,
            statement_info: None,
        },
        QcStatement {
            statement_id: oid::QC_SSCD,
            statement_info: None,
        },
        QcStatement {
            statement_id: oid::QC_TYPE,
            statement_info: Some(types),
        },
        QcStatement {
            statement_id: oid::QC_PDS,
            statement_info: Some(pds),
        },
    ];
    Ok(Extension {
        extn_id: oid::QC_STATEMENTS,
        critical: false,
        extn_value: OctetString::new(statements.to_der().map_err(enc)?).map_err(enc)?,
    })
}

/// An extension from a value type with a known OID.
pub(super) fn extension<T: Encode + const_oid::AssociatedOid>(
    critical: bool,
    value: &T,
) -> Result<Extension, Error> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(enc)?).map_err(enc)?,
    })
}

/// Key identifier: SHA-1 of the subjectPublicKey BIT STRING value (RFC 5280 §4.2.1.2 (1)).
pub(super) fn key_id(key: &[u8]) -> Result<OctetString, Error> {
    OctetString::new(Sha1::digest(key).to_vec()).map_err(enc)
}

fn uri(s: &str) -> Result<GeneralName, Error> {
    Ok(GeneralName::UniformResourceIdentifier(
        Ia5String::new(s).map_err(enc)?,
    ))
}

/// A directory string of a name attribute.
#[derive(Debug, Clone)]
pub(super) enum Text {
    /// PrintableString (country, serialNumber).
    Printable(String),
    /// UTF8String.
    Utf8(String),
}

/// A distinguished name from attributes in order (most significant first), one per RDN.
pub(super) fn name(attrs: &[(ObjectIdentifier, Text)]) -> Result<Name, Error> {
    let mut rdns: Vec<SetOfVec<AttributeTypeAndValue>> = Vec::with_capacity(attrs.len());
    for (oid, text) in attrs {
        let value = match text {
            Text::Printable(s) => {
                Any::encode_from(&PrintableStringRef::new(s).map_err(|_| {
                    Error::InvalidSubject(format!("{s:?} is not a PrintableString"))
                })?)
            }
            Text::Utf8(s) => {
                if s.is_empty() || s.len() > 128 {
                    return Err(Error::InvalidSubject("names must be 1 to 128 bytes".into()));
                }
                Any::encode_from(&Utf8StringRef::new(s).map_err(enc)?)
            }
        }
        .map_err(enc)?;
        let mut set = SetOfVec::new();
        set.insert(AttributeTypeAndValue { oid: *oid, value })
            .map_err(enc)?;
        rdns.push(set);
    }
    Name::from_der(&rdns.to_der().map_err(enc)?).map_err(enc)
}

fn check_cvr(cvr: &str) -> Result<(), Error> {
    check_code(cvr, 8, u8::is_ascii_digit, "CVR must be 8 digits")
}

fn check_country(country: &str) -> Result<(), Error> {
    check_code(
        country,
        2,
        u8::is_ascii_uppercase,
        "country must be two capital letters",
    )
}

/// Checks a code of `len` ASCII characters, each of a `class`; `rule` says which in the error.
fn check_code(code: &str, len: usize, class: fn(&u8) -> bool, rule: &str) -> Result<(), Error> {
    if code.len() == len && code.bytes().all(|b| class(&b)) {
        Ok(())
    } else {
        Err(Error::InvalidSubject(format!("{rule}, got {code:?}")))
    }
}

pub(super) fn enc(e: der::Error) -> Error {
    Error::Encoding(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> NaturalPerson {
        NaturalPerson {
            given_name: "Karen".into(),
            family_name: "Blixen".into(),
            person_id: crate::types::PersonId::from(uuid::Uuid::nil()),
            country: "DK".into(),
            qualified: true,
        }
    }

    #[test]
    fn natural_person_name_is_pseudonymous() {
        let n = Subject::NaturalPerson(person()).name().unwrap().to_string();
        assert!(n.contains("CN=Karen Blixen"), "{n}");
        assert!(
            n.contains("SERIALNUMBER=UUID:00000000-0000-0000-0000-000000000000")
                || n.contains("2.5.4.5="),
            "{n}"
        );
        assert!(n.contains("C=DK"), "{n}");
    }

    #[test]
    fn bad_cvr_and_country_are_rejected() {
        let e = Subject::Employee(Employee {
            person: person(),
            organization: "A/S".into(),
            cvr: "1234".into(),
        });
        assert!(matches!(e.name(), Err(Error::InvalidSubject(_))));
        let mut p = person();
        p.country = "dk".into();
        assert!(matches!(
            Subject::NaturalPerson(p).name(),
            Err(Error::InvalidSubject(_))
        ));
    }

    #[test]
    fn a_pseudonymous_employee_is_named_by_the_pseudonym_and_the_organisation_only() {
        let n = Subject::PseudonymousEmployee(PseudonymousEmployee {
            pseudonym: "6a1f0c2e-55b1-4c1e-9d0a-1d2e3f405162".into(),
            organization: "Rungstedlund A/S".into(),
            cvr: "35408002".into(),
            country: "DK".into(),
            qualified: false,
        })
        .name()
        .unwrap()
        .to_string();
        assert!(n.contains("O=Rungstedlund A/S"), "{n}");
        assert!(n.contains("6a1f0c2e-55b1-4c1e-9d0a-1d2e3f405162"), "{n}");
        assert!(!n.contains("Karen") && !n.contains("Blixen"), "{n}");
    }

    #[test]
    fn empty_names_are_rejected() {
        let mut p = person();
        p.given_name = String::new();
        assert!(Subject::NaturalPerson(p).name().is_err());
    }
}
