//! The validation report as ETSI TS 119 102-2 XML (schema namespace v1.2.1): one
//! `vr:SignatureValidationReport` per signature, its children in the schema's order (its
//! identifier, the policy's constraints, the validation and best signature times, the signer's
//! document, its attributes, the signer, the quality, the validation process reached and the
//! status), then the validation objects (certificates, CRLs, OCSP responses, timestamps, the
//! signed data) they refer to, then the validator. Written as text with the escaping of
//! [`crate::formats::xades`]; signing it (enveloped XAdES) is the service's part.
//!
//! Clause numbers below are those of TS 119 102-2 V1.4.1, whose report keeps the v1.2.1 schema
//! and the URIs of V1.2.1.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use der::Decode as _;
use sha2::{Digest as _, Sha256};

use super::policy::{Level, Policy};
use super::report::{Constraint, Indication, Report, SignatureReport};
use crate::formats::xades::{escape, DS, XADES};

/// The report's namespace (prefix `vr`): the target namespace of the TS 119 102-2 schema
/// (`19102xmlSchema.xsd`, v1.2.1).
pub const VR: &str = "http://uri.etsi.org/19102/v1.2.1#";
/// The trusted-list namespace of `vr:DigitalId`'s content (`tsl:DigitalIdentityType`, ETSI TS
/// 119 612).
pub const TSL: &str = "http://uri.etsi.org/02231/v2#";
/// The media type of the report.
pub const MEDIA_TYPE: &str = "application/vnd.etsi.validationreport+xml";

const SHA256_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// Who validated: the service's name and, when it seals its reports, its certificate.
#[derive(Debug, Clone, Default)]
pub struct Validator {
    /// The validation service's name.
    pub name: String,
    /// Its e-seal certificate (DER).
    pub certificate: Option<Vec<u8>>,
}

/// The URI of a signature's main indication (clause 4.3.4.2: `urn:etsi:019102:mainindication:`
/// and the EN 319 102-1 indication in lower case).
#[must_use]
pub const fn main_indication(i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => "urn:etsi:019102:mainindication:total-passed",
        Indication::TotalFailed => "urn:etsi:019102:mainindication:total-failed",
        Indication::Indeterminate => "urn:etsi:019102:mainindication:indeterminate",
    }
}

/// The URI of an individual constraint's main indication (clause 4.3.4.2: a constraint
/// passes or fails, it is not "total").
#[must_use]
pub const fn constraint_indication(i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => "urn:etsi:019102:mainindication:passed",
        Indication::TotalFailed => "urn:etsi:019102:mainindication:failed",
        Indication::Indeterminate => "urn:etsi:019102:mainindication:indeterminate",
    }
}

/// The URI of a signature's qualification (ETSI TS 119 615) in `vr:SignatureQualityInformation`.
/// TS 119 102-2 (clause 4.3.10) leaves the values to the validation policy; these are the URIs
/// of the EU's reference validator (DSS, `urn:cef:dss:signatureQualification:`), which trusted
/// list based policies and readers of such reports know.
#[must_use]
pub fn quality_uri(level: &str) -> Option<&'static str> {
    Some(match level {
        "QESig" => "urn:cef:dss:signatureQualification:QESig",
        "QESeal" => "urn:cef:dss:signatureQualification:QESeal",
        "AdESig-QC" => "urn:cef:dss:signatureQualification:AdESigQC",
        "AdESeal-QC" => "urn:cef:dss:signatureQualification:AdESealQC",
        "AdESig" => "urn:cef:dss:signatureQualification:AdESig",
        "AdESeal" => "urn:cef:dss:signatureQualification:AdESeal",
        "Indeterminate-QESig" => "urn:cef:dss:signatureQualification:indeterminateQESig",
        "Indeterminate-QESeal" => "urn:cef:dss:signatureQualification:indeterminateQESeal",
        "N/A" => "urn:cef:dss:signatureQualification:notApplicable",
        _ => return None,
    })
}

/// The identifier of a policy constraint in the report.
#[must_use]
pub fn constraint_uri(c: Constraint) -> String {
    format!("urn:qsign:validation-constraint:{}", c.as_str())
}

/// The XML digest method URI of a digest algorithm as validation policies name it (XML-DSig
/// and RFC 6931).
fn digest_uri(name: &str) -> Option<&'static str> {
    match name {
        "SHA-1" => Some("http://www.w3.org/2000/09/xmldsig#sha1"),
        "SHA-256" => Some(SHA256_URI),
        "SHA-384" => Some("http://www.w3.org/2001/04/xmldsig-more#sha384"),
        "SHA-512" => Some("http://www.w3.org/2001/04/xmlenc#sha512"),
        _ => None,
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `vr:DigestAlgAndValue` (`XAdES:DigestAlgAndValueType`).
fn digest_alg_and_value(method: &str, value: &[u8]) -> String {
    format!(
        "<vr:DigestAlgAndValue><ds:DigestMethod Algorithm=\"{method}\"/>\
         <ds:DigestValue>{}</ds:DigestValue></vr:DigestAlgAndValue>",
        b64(value)
    )
}

/// The kinds of validation objects (clause 4.4.4: `urn:etsi:019102:validationObject:` and the
/// type's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Certificate,
    Crl,
    Ocsp,
    Timestamp,
    /// The signer's document, represented by its digest.
    SignedData(&'static str),
}

impl Kind {
    const fn urn(self) -> &'static str {
        match self {
            Self::Certificate => "urn:etsi:019102:validationObject:certificate",
            Self::Crl => "urn:etsi:019102:validationObject:CRL",
            Self::Ocsp => "urn:etsi:019102:validationObject:OCSPResponse",
            Self::Timestamp => "urn:etsi:019102:validationObject:timestamp",
            Self::SignedData(_) => "urn:etsi:019102:validationObject:signedData",
        }
    }
}

/// The validation objects of a report, each once, by id.
#[derive(Default)]
struct Objects(BTreeMap<String, (Kind, Vec<u8>)>);

impl Objects {
    /// Adds an object (its DER, or the signed data's digest) and answers its id (`vo-` and the
    /// start of its SHA-256).
    fn add(&mut self, kind: Kind, der: &[u8]) -> String {
        let digest = hex::encode(Sha256::digest(der));
        let id = format!("vo-{}", digest.get(..24).unwrap_or_default());
        self.0
            .entry(id.clone())
            .or_insert_with(|| (kind, der.to_vec()));
        id
    }
}

/// Writes the report (without signature) under `policy`, as `validator` made it.
#[must_use]
pub fn write(report: &Report, policy: Option<&Policy>, validator: &Validator) -> String {
    let mut objects = Objects::default();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <vr:ValidationReport xmlns:vr=\"{VR}\" xmlns:ds=\"{DS}\" xmlns:xades=\"{XADES}\" \
         xmlns:tsl=\"{TSL}\">"
    );
    for s in &report.signatures {
        signature(&mut out, s, report, policy, &mut objects);
    }
    // The list, when there is one, holds at least one object (the schema's minOccurs).
    if !objects.0.is_empty() {
        out.push_str("<vr:SignatureValidationObjects>");
    }
    for (id, (kind, bytes)) in &objects.0 {
        let representation = match kind {
            Kind::SignedData(method) => digest_alg_and_value(method, bytes),
            _ => format!("<vr:base64>{}</vr:base64>", b64(bytes)),
        };
        let _ = write!(
            out,
            "<vr:ValidationObject id=\"{id}\"><vr:ObjectType>{}</vr:ObjectType>\
             <vr:ValidationObjectRepresentation>{representation}\
             </vr:ValidationObjectRepresentation>{}</vr:ValidationObject>",
            kind.urn(),
            poe("POE", &report.validation_time, None),
        );
    }
    if !objects.0.is_empty() {
        out.push_str("</vr:SignatureValidationObjects>");
    }
    out.push_str("<vr:SignatureValidator>");
    // `tsl:X509SubjectName` is a distinguished name (RFC 4514): the seal's subject, else the
    // validator's name as a common name.
    let subject = validator.certificate.as_deref().and_then(|der| {
        x509_cert::Certificate::from_der(der)
            .ok()
            .map(|c| c.tbs_certificate().subject().to_string())
    });
    if let Some(cert) = &validator.certificate {
        let _ = write!(
            out,
            "<vr:DigitalId><tsl:X509Certificate>{}</tsl:X509Certificate></vr:DigitalId>",
            b64(cert)
        );
    }
    let subject = subject.unwrap_or_else(|| format!("CN={}", dn_value(&validator.name)));
    let _ = writeln!(
        out,
        "<vr:DigitalId><tsl:X509SubjectName>{}</tsl:X509SubjectName></vr:DigitalId>\
         </vr:SignatureValidator></vr:ValidationReport>",
        escape(&subject)
    );
    out
}

/// A string as an RFC 4514 attribute value: `,+"\<>;` escaped, and a leading `#` or space or
/// a trailing space.
fn dn_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        let edge = (i == 0 && (c == '#' || c == ' ')) || (i == last && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A proof of existence (`vr:POEType`, as the element `name`) at `time`, derived during
/// validation (clause 4.4.6.2: `urn:etsi:019102:poetype:validation`; `provided` is for proofs
/// the caller gives the validator, `policy` for those a policy sets), with the object that
/// proves it when one does.
fn poe(name: &str, time: &str, object: Option<&str>) -> String {
    let object = object
        .map(|id| format!("<vr:POEObject VOReference=\"{id}\"/>"))
        .unwrap_or_default();
    format!(
        "<vr:{name}><vr:POETime>{}</vr:POETime>\
         <vr:TypeOfProof>urn:etsi:019102:poetype:validation</vr:TypeOfProof>{object}</vr:{name}>",
        escape(time)
    )
}

fn signature(
    out: &mut String,
    s: &SignatureReport,
    report: &Report,
    policy: Option<&Policy>,
    objects: &mut Objects,
) {
    let f = &s.facts;
    let certificates: Vec<String> = f
        .certificates
        .iter()
        .map(|c| objects.add(Kind::Certificate, c))
        .collect();
    for r in &f.revocation_data {
        objects.add(if r.ocsp { Kind::Ocsp } else { Kind::Crl }, &r.der);
    }
    let stamps: Vec<String> = f
        .timestamps
        .iter()
        .map(|t| objects.add(Kind::Timestamp, t))
        .collect();
    // Clause 4.3.2: the signature's identifier (its digest, its value) and that the
    // signature covers the document itself, not only its hash.
    let _ = write!(
        out,
        "<vr:SignatureValidationReport><vr:SignatureIdentifier id=\"{}\">{}\
         <ds:SignatureValue>{}</ds:SignatureValue>\
         <vr:HashOnly>false</vr:HashOnly><vr:DocHashOnly>false</vr:DocHashOnly>\
         </vr:SignatureIdentifier>",
        identifier(&s.id),
        digest_alg_and_value(SHA256_URI, &Sha256::digest(&f.signature_value)),
        b64(&f.signature_value),
    );
    if let Some(policy) = policy {
        constraints(out, s, policy);
    }
    // Clause 4.3.6: the best signature time is the time a signature timestamp proves, with
    // that timestamp as its proof, else the validation time.
    let best = match &s.proven_signing_time {
        Some(t) => poe("BestSignatureTime", t, stamps.first().map(String::as_str)),
        None => poe("BestSignatureTime", &report.validation_time, None),
    };
    let _ = write!(
        out,
        "<vr:ValidationTimeInfo><vr:ValidationTime>{}</vr:ValidationTime>{best}\
         </vr:ValidationTimeInfo>",
        escape(&report.validation_time),
    );
    // Clause 4.3.7: the signer's document, by the digest the validator computed, and the
    // validation object that stands for it.
    if let Some(data) = &f.signed_data {
        if let Some(method) = digest_uri(data.algorithm) {
            let id = objects.add(Kind::SignedData(method), &data.digest);
            let _ = write!(
                out,
                "<vr:SignersDocument>{}<vr:SignersDocumentRef VOReference=\"{id}\"/>\
                 </vr:SignersDocument>",
                digest_alg_and_value(method, &data.digest)
            );
        }
    }
    attributes(out, s, report, certificates.first(), stamps.first());
    // Clause 4.3.9: the signer's certificate is required, the name optional.
    if let (Some(signer), Some(id)) = (&s.signer, certificates.first()) {
        let _ = write!(
            out,
            "<vr:SignerInformation><vr:SignerCertificate VOReference=\"{id}\"/>\
             <vr:Signer>{}</vr:Signer></vr:SignerInformation>",
            escape(signer.name.as_deref().unwrap_or(signer.subject.as_str()))
        );
    }
    if let Some(uri) = s.qualification_level().and_then(quality_uri) {
        let _ = write!(
            out,
            "<vr:SignatureQuality><vr:SignatureQualityInformation>{uri}\
             </vr:SignatureQualityInformation></vr:SignatureQuality>"
        );
    }
    // Clause 4.3.11.1: the process of EN 319 102-1 that was run: clause 5.3 (basic), 5.5 (with
    // time and long-term validation material: a signature timestamp gives the time), 5.6
    // (long-term availability: an archive timestamp).
    let process = match s.level.as_deref() {
        Some("B-LTA") => "LTA",
        Some("B-T" | "B-LT") => "LTVM",
        _ => "Basic",
    };
    let _ = write!(
        out,
        "<vr:SignatureValidationProcess><vr:SignatureValidationProcessID>\
         urn:etsi:019102:validationprocess:{process}</vr:SignatureValidationProcessID>\
         </vr:SignatureValidationProcess>\
         <vr:SignatureValidationStatus><vr:MainIndication>{}</vr:MainIndication>{}",
        main_indication(s.indication),
        s.sub_indication
            .map(|x| sub_indication(x.as_str()))
            .unwrap_or_default()
    );
    for why in s.errors.iter().chain(&s.warnings) {
        let _ = write!(
            out,
            "<vr:AssociatedValidationReportData><vr:AdditionalValidationReportData>\
             <vr:ReportData><vr:Type>urn:qsign:finding</vr:Type><vr:Value>{}</vr:Value>\
             </vr:ReportData></vr:AdditionalValidationReportData>\
             </vr:AssociatedValidationReportData>",
            escape(why)
        );
    }
    out.push_str("</vr:SignatureValidationStatus></vr:SignatureValidationReport>");
}

/// `vr:ValidationConstraintsEvaluationReport` (clause 4.3.5): each constraint of the policy,
/// applied or disabled (clause 4.3.5.4.2: `urn:etsi:019102:constraintStatus:`), and for an
/// applied one whether the signature met it.
fn constraints(out: &mut String, s: &SignatureReport, policy: &Policy) {
    out.push_str("<vr:ValidationConstraintsEvaluationReport>");
    for c in Constraint::ALL {
        let applied = policy.level(c) != Level::Ignore;
        let _ = write!(
            out,
            "<vr:ValidationConstraint>\
             <vr:ValidationConstraintIdentifier>{}</vr:ValidationConstraintIdentifier>\
             <vr:ConstraintStatus><vr:Status>urn:etsi:019102:constraintStatus:{}\
             </vr:Status></vr:ConstraintStatus>",
            constraint_uri(c),
            if applied { "applied" } else { "disabled" }
        );
        if applied {
            let failed = s.facts.failures.iter().find(|x| x.constraint == Some(c));
            let _ = write!(
                out,
                "<vr:ValidationStatus><vr:MainIndication>{}</vr:MainIndication>{}\
                 </vr:ValidationStatus>",
                constraint_indication(failed.map_or(Indication::TotalPassed, |x| x.indication)),
                failed
                    .map(|x| sub_indication(x.sub.as_str()))
                    .unwrap_or_default()
            );
        }
        out.push_str("</vr:ValidationConstraint>");
    }
    out.push_str("</vr:ValidationConstraintsEvaluationReport>");
}

/// The `id` of a signature in the report: an XML name made from its id in the file (which
/// may be any text, a PDF field name for one).
#[must_use]
pub fn identifier(id: &str) -> String {
    let digest = hex::encode(Sha256::digest(id.as_bytes()));
    format!("S-{}", digest.get(..32).unwrap_or_default())
}

/// A sub-indication (clause 4.3.4.3: `urn:etsi:019102:subindication:` and the EN 319 102-1
/// name).
fn sub_indication(name: &str) -> String {
    format!("<vr:SubIndication>urn:etsi:019102:subindication:{name}</vr:SubIndication>")
}

/// `vr:SignatureAttributes` (clause 4.3.8), in the schema's order: signing time, signing
/// certificate, data object format, the signer's role (its capacity, claimed: the
/// `EndorsementType` values are `certified`, `claimed` and `signed`) and the signature
/// timestamp with the time it proves.
fn attributes(
    out: &mut String,
    s: &SignatureReport,
    report: &Report,
    signer: Option<&String>,
    stamp: Option<&String>,
) {
    out.push_str("<vr:SignatureAttributes>");
    if let Some(t) = &s.claimed_signing_time {
        let _ = write!(
            out,
            "<vr:SigningTime Signed=\"true\"><vr:Time>{}</vr:Time></vr:SigningTime>",
            escape(t)
        );
    }
    if let Some(id) = signer {
        let _ = write!(
            out,
            "<vr:SigningCertificate Signed=\"true\"><vr:AttributeObject VOReference=\"{id}\"/>\
             </vr:SigningCertificate>"
        );
    }
    let mime = match report.file.as_str() {
        "pdf" => "application/pdf",
        "xml" => "text/xml",
        _ => "application/octet-stream",
    };
    let _ = write!(
        out,
        "<vr:DataObjectFormat Signed=\"true\"><vr:MimeType>{mime}</vr:MimeType>\
         </vr:DataObjectFormat>"
    );
    if let Some(c) = &s.capacity {
        let _ = write!(
            out,
            "<vr:SignerRole Signed=\"true\"><vr:RoleDetails><vr:Role>{}</vr:Role>\
             <vr:EndorsementType>claimed</vr:EndorsementType></vr:RoleDetails></vr:SignerRole>",
            escape(&c.text)
        );
    }
    // `TimeStampValue` is required: a timestamp whose time was not established (it failed)
    // is listed among the validation objects only.
    if let (Some(id), Some(at)) = (stamp, &s.proven_signing_time) {
        let _ = write!(
            out,
            "<vr:SignatureTimeStamp Signed=\"false\"><vr:AttributeObject VOReference=\"{id}\"/>\
             <vr:TimeStampValue>{}</vr:TimeStampValue></vr:SignatureTimeStamp>",
            escape(at)
        );
    }
    out.push_str("</vr:SignatureAttributes>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::xml::{self, Limits};
    use crate::validate::report::{Facts, SignedData, SubIndication};
    use crate::validate::Policies;

    #[test]
    fn the_report_parses_back_with_its_namespaces_and_values() {
        let mut s = SignatureReport::new("sig-<1>".into(), "CAdES");
        s.facts = Facts {
            signature_value: b"value".to_vec(),
            certificates: vec![b"cert".to_vec(), b"ca".to_vec()],
            timestamps: vec![b"token".to_vec()],
            signed_data: Some(SignedData {
                algorithm: "SHA-256",
                digest: Sha256::digest(b"the document").to_vec(),
            }),
            ..Facts::default()
        };
        s.proven_signing_time = Some("2025-12-31T23:00:00Z".into());
        s.fail(
            Indication::TotalFailed,
            SubIndication::HashFailure,
            "a & b".into(),
        );
        let mut report = Report::new("cms", vec![s], "2026-01-01T00:00:00Z".into());
        let policies = Policies::default();
        let policy = policies.get(None);
        if let Some(p) = policy {
            p.apply(&mut report);
        }
        let text = write(
            &report,
            policy,
            &Validator {
                name: "qsign validation".into(),
                certificate: Some(b"seal".to_vec()),
            },
        );
        let doc = xml::parse(text.as_bytes(), Limits::default()).unwrap();
        assert_eq!(doc.root.ns.as_deref(), Some(VR));
        assert_eq!(doc.root.local, "ValidationReport");
        let names: Vec<&str> = doc.root.elements().map(|e| e.local.as_str()).collect();
        assert_eq!(
            names,
            [
                "SignatureValidationReport",
                "SignatureValidationObjects",
                "SignatureValidator"
            ]
        );
        assert!(text.contains(&format!("id=\"{}\"", identifier("sig-<1>"))));
        assert!(text.contains("urn:etsi:019102:mainindication:total-failed"));
        assert!(text.contains("urn:etsi:019102:subindication:HASH_FAILURE"));
        assert!(text.contains("<vr:Value>a &amp; b</vr:Value>"));
        let digest = b64(&Sha256::digest(b"value"));
        assert!(text.contains(&format!("<ds:DigestValue>{digest}</ds:DigestValue>")));
        // Four objects (two certificates, one timestamp, the signed data), each once.
        assert_eq!(text.matches("<vr:ValidationObject ").count(), 4);
        assert_eq!(text.matches("validationObject:timestamp").count(), 1);
        // The signature report's children in the schema's order.
        let report_element = doc.root.elements().next().unwrap();
        let names: Vec<&str> = report_element
            .elements()
            .map(|e| e.local.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "SignatureIdentifier",
                "ValidationConstraintsEvaluationReport",
                "ValidationTimeInfo",
                "SignersDocument",
                "SignatureAttributes",
                "SignatureValidationProcess",
                "SignatureValidationStatus"
            ]
        );
        let document = b64(&Sha256::digest(b"the document"));
        let value = format!("<ds:DigestValue>{document}</ds:DigestValue>");
        // In SignersDocument and in its validation object.
        assert_eq!(text.matches(&value).count(), 2);
        assert!(text.contains("validationObject:signedData"));
        // A constraint passes or fails; only the signature is "total".
        assert!(text.contains("urn:etsi:019102:mainindication:passed"));
        assert!(!text.contains("urn:etsi:019102:mainindication:total-passed"));
        assert!(text.contains("<vr:TimeStampValue>2025-12-31T23:00:00Z</vr:TimeStampValue>"));
        assert!(text.contains("urn:etsi:019102:validationprocess:Basic"));
        // A certificate that does not parse: the validator is named by a DN of its name.
        assert!(text.contains("<tsl:X509SubjectName>CN=qsign validation</tsl:X509SubjectName>"));
    }

    #[test]
    fn a_known_qualification_is_written_as_signature_quality() {
        let mut s = SignatureReport::new("s".into(), "PAdES");
        s.qualification_level = Some("QESig".into());
        let report = Report::new("pdf", vec![s], "2026-01-01T00:00:00Z".into());
        let text = write(&report, None, &Validator::default());
        let quality = "<vr:SignatureQuality><vr:SignatureQualityInformation>\
                       urn:cef:dss:signatureQualification:QESig</vr:SignatureQualityInformation>";
        assert!(text.contains(quality), "{text}");
        // Nothing to list: no empty object list (the schema wants at least one object).
        assert!(!text.contains("SignatureValidationObjects"), "{text}");
        // An unknown name is left out rather than given a made-up URI.
        let mut s = SignatureReport::new("s".into(), "PAdES");
        s.qualification_level = Some("QES?".into());
        let report = Report::new("pdf", vec![s], "2026-01-01T00:00:00Z".into());
        let text = write(&report, None, &Validator::default());
        assert!(!text.contains("SignatureQuality"), "{text}");
    }

    #[test]
    fn qualification_levels_have_quality_uris() {
        assert_eq!(
            quality_uri("QESig"),
            Some("urn:cef:dss:signatureQualification:QESig")
        );
        assert_eq!(
            quality_uri("AdESeal-QC"),
            Some("urn:cef:dss:signatureQualification:AdESealQC")
        );
        assert_eq!(
            quality_uri("N/A"),
            Some("urn:cef:dss:signatureQualification:notApplicable")
        );
        assert_eq!(quality_uri("QES?"), None);
        assert_eq!(dn_value(" a,b#"), "\\ a\\,b#");
    }
}
