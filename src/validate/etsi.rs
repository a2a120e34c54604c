//! The validation report as ETSI TS 119 102-2 (v1.2.1) XML: one `vr:SignatureValidationReport`
//! per signature (its identifier, the policy's constraints, the validation and best signature
//! times, its attributes, the signer, the validation process reached and the status), then
//! the validation objects (certificates, CRLs, OCSP responses, timestamps) they refer to, then
//! the validator. Written as text with the escaping of [`crate::formats::xades`]; signing it
//! (enveloped XAdES) is the service's part.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::policy::{Level, Policy};
use super::report::{Constraint, Indication, Report, SignatureReport};
use crate::formats::xades::{escape, DS, XADES};

/// The report's namespace (prefix `vr`).
pub const VR: &str = "http://uri.etsi.org/19102/v1.2.1#";
/// The trusted-list namespace of `vr:DigitalId`'s content (`tsl:DigitalIdentityType`).
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

/// The URN of a main indication (TS 119 102-2 §5.1).
#[must_use]
pub const fn main_indication(i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => "urn:etsi:019102:mainindication:total-passed",
        Indication::TotalFailed => "urn:etsi:019102:mainindication:total-failed",
        Indication::Indeterminate => "urn:etsi:019102:mainindication:indeterminate",
    }
}

/// The identifier of a policy constraint in the report.
#[must_use]
pub fn constraint_uri(c: Constraint) -> String {
    format!("urn:qsign:validation-constraint:{}", c.as_str())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The kinds of validation objects (TS 119 102-2 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Certificate,
    Crl,
    Ocsp,
    Timestamp,
}

impl Kind {
    const fn urn(self) -> &'static str {
        match self {
            Self::Certificate => "urn:etsi:019102:validationObject:certificate",
            Self::Crl => "urn:etsi:019102:validationObject:CRL",
            Self::Ocsp => "urn:etsi:019102:validationObject:OCSPResponse",
            Self::Timestamp => "urn:etsi:019102:validationObject:timestamp",
        }
    }
}

/// The validation objects of a report, each once, by id.
#[derive(Default)]
struct Objects(BTreeMap<String, (Kind, Vec<u8>)>);

impl Objects {
    /// Adds an object and answers its id (`vo-` and the start of its SHA-256).
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
    out.push_str("<vr:SignatureValidationObjects>");
    for (id, (kind, der)) in &objects.0 {
        let _ = write!(
            out,
            "<vr:ValidationObject id=\"{id}\"><vr:ObjectType>{}</vr:ObjectType>\
             <vr:ValidationObjectRepresentation><vr:base64>{}</vr:base64>\
             </vr:ValidationObjectRepresentation>{}</vr:ValidationObject>",
            kind.urn(),
            b64(der),
            poe(&report.validation_time, "validation"),
        );
    }
    out.push_str("</vr:SignatureValidationObjects><vr:SignatureValidator>");
    if let Some(cert) = &validator.certificate {
        let _ = write!(
            out,
            "<vr:DigitalId><tsl:X509Certificate>{}</tsl:X509Certificate></vr:DigitalId>",
            b64(cert)
        );
    }
    let _ = writeln!(
        out,
        "<vr:DigitalId><tsl:X509SubjectName>{}</tsl:X509SubjectName></vr:DigitalId>\
         </vr:SignatureValidator></vr:ValidationReport>",
        escape(&validator.name)
    );
    out
}

/// A proof of existence: its time and how it was established (`validation`, `provided`).
fn poe(time: &str, proof: &str) -> String {
    format!(
        "<vr:POE><vr:POETime>{}</vr:POETime>\
         <vr:TypeOfProof>urn:etsi:019102:poetype:{proof}</vr:TypeOfProof></vr:POE>",
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
    let _ = write!(
        out,
        "<vr:SignatureValidationReport><vr:SignatureIdentifier id=\"{}\">\
         <vr:DigestAlgAndValue><ds:DigestMethod Algorithm=\"{SHA256_URI}\"/>\
         <ds:DigestValue>{}</ds:DigestValue></vr:DigestAlgAndValue>\
         <ds:SignatureValue>{}</ds:SignatureValue>\
         <vr:HashOnly>false</vr:HashOnly><vr:DocHashOnly>false</vr:DocHashOnly>\
         </vr:SignatureIdentifier>",
        identifier(&s.id),
        b64(&Sha256::digest(&f.signature_value)),
        b64(&f.signature_value),
    );
    if let Some(policy) = policy {
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
                let failed = f.failures.iter().find(|x| x.constraint == Some(c));
                let _ = write!(
                    out,
                    "<vr:ValidationStatus><vr:MainIndication>{}</vr:MainIndication>{}\
                     </vr:ValidationStatus>",
                    main_indication(failed.map_or(Indication::TotalPassed, |x| x.indication)),
                    failed
                        .map(|x| sub_indication(x.sub.as_str()))
                        .unwrap_or_default()
                );
            }
            out.push_str("</vr:ValidationConstraint>");
        }
        out.push_str("</vr:ValidationConstraintsEvaluationReport>");
    }
    let (best, proof) = match &s.proven_signing_time {
        Some(t) => (t.as_str(), "provided"),
        None => (report.validation_time.as_str(), "validation"),
    };
    let _ = write!(
        out,
        "<vr:ValidationTimeInfo><vr:ValidationTime>{}</vr:ValidationTime>\
         <vr:BestSignatureTime><vr:POETime>{}</vr:POETime>\
         <vr:TypeOfProof>urn:etsi:019102:poetype:{proof}</vr:TypeOfProof>\
         </vr:BestSignatureTime></vr:ValidationTimeInfo>",
        escape(&report.validation_time),
        escape(best),
    );
    attributes(out, s, report, certificates.first(), &stamps);
    if let Some(signer) = &s.signer {
        out.push_str("<vr:SignerInformation>");
        if let Some(id) = certificates.first() {
            let _ = write!(out, "<vr:SignerCertificate VOReference=\"{id}\"/>");
        }
        let _ = write!(
            out,
            "<vr:Signer>{}</vr:Signer></vr:SignerInformation>",
            escape(signer.name.as_deref().unwrap_or(signer.subject.as_str()))
        );
    }
    if let Some(level) = s.qualification_level() {
        let _ = write!(
            out,
            "<vr:SignatureQuality><vr:SignatureQualityInformation>\
             http://uri.etsi.org/19102/SigQualifier/{}</vr:SignatureQualityInformation>\
             </vr:SignatureQuality>",
            escape(level)
        );
    }
    let process = match s.level.as_deref() {
        Some("B-LTA") => "LTA",
        Some("B-LT") => "LTVM",
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

/// The `id` of a signature in the report: an XML name made from its id in the file (which
/// may be any text, a PDF field name for one).
#[must_use]
pub fn identifier(id: &str) -> String {
    let digest = hex::encode(Sha256::digest(id.as_bytes()));
    format!("S-{}", digest.get(..32).unwrap_or_default())
}

fn sub_indication(name: &str) -> String {
    format!("<vr:SubIndication>urn:etsi:019102:subindication:{name}</vr:SubIndication>")
}

/// `vr:SignatureAttributes`: signing time, signing certificate, data object format, the
/// signature timestamps and the signer's role (its capacity).
fn attributes(
    out: &mut String,
    s: &SignatureReport,
    report: &Report,
    signer: Option<&String>,
    stamps: &[String],
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
    for id in stamps {
        let _ = write!(
            out,
            "<vr:SignatureTimeStamp Signed=\"false\"><vr:AttributeObject VOReference=\"{id}\"/>\
             </vr:SignatureTimeStamp>"
        );
    }
    if let Some(c) = &s.capacity {
        let _ = write!(
            out,
            "<vr:SignerRoleV2 Signed=\"true\"><vr:RoleDetails><vr:Role>{}</vr:Role>\
             <vr:EndorsementType>urn:etsi:019102:endorsementType:claimed</vr:EndorsementType>\
             </vr:RoleDetails></vr:SignerRoleV2>",
            escape(&c.text)
        );
    }
    out.push_str("</vr:SignatureAttributes>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::xml::{self, Limits};
    use crate::validate::report::{Facts, SubIndication};
    use crate::validate::Policies;

    #[test]
    fn the_report_parses_back_with_its_namespaces_and_values() {
        let mut s = SignatureReport::new("sig-<1>".into(), "CAdES");
        s.facts = Facts {
            signature_value: b"value".to_vec(),
            certificates: vec![b"cert".to_vec(), b"ca".to_vec()],
            timestamps: vec![b"token".to_vec()],
            ..Facts::default()
        };
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
        // Three objects (two certificates, one timestamp), each once.
        assert_eq!(text.matches("<vr:ValidationObject ").count(), 3);
        assert_eq!(text.matches("validationObject:timestamp").count(), 1);
    }
}
