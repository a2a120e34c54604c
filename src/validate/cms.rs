//! One CMS signature (CAdES, or the CMS inside a PAdES signature): format, signing
//! certificate, message digest, signature value, signature timestamp, chain, validity and
//! revocation.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::revocation::RevocationInfoChoice;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use sha2::Digest as _;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::KeyUsages;

use super::chain::{self, Cert, Status};
use super::report::{
    rfc3339, CapacityReport, Constraint, Facts, Failure, Indication, Qualification,
    SignatureReport, Signer, SubIndication,
};
use crate::formats::asn1::etsi::SigningCertificateV2;
use crate::formats::asn1::tsp::TstInfo;
use crate::formats::asn1::{oid, signer_attributes};

mod names;

pub use names::{qualification, signer_of};

/// What validation may use besides the signature itself.
#[derive(Debug, Clone, Default)]
pub struct Material {
    /// Trust anchors.
    pub anchors: Vec<Cert>,
    /// More certificates (a PDF's DSS, the caller's).
    pub certificates: Vec<Cert>,
    /// CRLs (DER).
    pub crls: Vec<Vec<u8>>,
    /// OCSP responses (DER).
    pub ocsps: Vec<Vec<u8>>,
    /// Validation time, Unix seconds.
    pub now: i64,
    /// Fetching online when the data at hand says nothing: OCSP from the responders a
    /// certificate names, CRLs from its distribution points, missing issuers from caIssuers.
    pub fetch: Option<std::sync::Arc<dyn chain::Fetch>>,
    /// The validating service's own CA's first-hand knowledge.
    pub local: Option<std::sync::Arc<dyn chain::Local>>,
    /// When the work must stop: checked between signatures and references, so a time limit
    /// ends the work itself, not only the wait for it.
    pub deadline: Option<std::time::Instant>,
    /// The EU trusted lists in use: the qualification at signing time is decided from them
    /// (their CA/QC services must be among `anchors` too).
    pub trusted_lists: Option<std::sync::Arc<super::trusted_list::Set>>,
}

impl Material {
    /// Whether the time budget is spent.
    #[must_use]
    pub fn past_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
    }
}

/// A digest of the signed content with the algorithm the signature names.
pub trait Content {
    /// The digest, or `None` for an algorithm not supported.
    fn digest(&self, algorithm: &ObjectIdentifier) -> Option<Vec<u8>>;
}

/// Content given as slices (a detached document, or a PDF's byte ranges).
#[derive(Debug)]
pub struct Parts<'a>(pub Vec<&'a [u8]>);

impl Content for Parts<'_> {
    fn digest(&self, algorithm: &ObjectIdentifier) -> Option<Vec<u8>> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        }
        match *algorithm {
            a if a == oid::SHA1 => Some(run::<sha1::Sha1>(&self.0)),
            a if a == oid::SHA256 => Some(run::<sha2::Sha256>(&self.0)),
            a if a == oid::SHA384 => Some(run::<sha2::Sha384>(&self.0)),
            a if a == oid::SHA512 => Some(run::<sha2::Sha512>(&self.0)),
            _ => None,
        }
    }
}

/// [`Content`] that keeps the digest it answered: the signed data's digest, for the report.
struct Recorded<'a> {
    content: &'a dyn Content,
    digest: std::cell::RefCell<Option<Vec<u8>>>,
}

impl Content for Recorded<'_> {
    fn digest(&self, algorithm: &ObjectIdentifier) -> Option<Vec<u8>> {
        let digest = self.content.digest(algorithm);
        *self.digest.borrow_mut() = digest.clone();
        digest
    }
}

/// What the checks found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The indication.
    pub indication: Indication,
    /// The sub-indication.
    pub sub_indication: Option<SubIndication>,
    /// Findings in words.
    pub errors: Vec<String>,
    /// The signer.
    pub signer: Option<Signer>,
    /// The signing-time attribute, Unix seconds.
    pub claimed: Option<i64>,
    /// The signature timestamp's time, Unix seconds.
    pub proven: Option<i64>,
    /// Subject DNs from the signer to the anchor.
    pub chain: Vec<String>,
    /// The signer certificate's revocation status.
    pub revocation: Status,
    /// Where that status came from.
    pub revocation_source: chain::Source,
    /// The chain, from the signer to the anchor.
    pub certificates: Vec<Cert>,
    /// QCStatements.
    pub qualification: Qualification,
    /// The signature value (what a signature timestamp covers).
    pub signature_value: Vec<u8>,
    /// The capacity claimed in the signed attributes (or XAdES `SignerRoleV2`).
    pub capacity: Option<CapacityReport>,
    /// Every failure in order, the algorithms, the revocation data and the timestamps, for
    /// the validation policy and the ETSI report.
    pub facts: Facts,
}

impl Checked {
    /// A result with nothing found wrong yet.
    #[must_use]
    pub fn new_passed() -> Self {
        Self::new()
    }

    fn new() -> Self {
        Self {
            indication: Indication::TotalPassed,
            sub_indication: None,
            errors: Vec::new(),
            signer: None,
            claimed: None,
            proven: None,
            chain: Vec::new(),
            revocation: Status::Unknown,
            revocation_source: chain::Source::Nowhere,
            certificates: Vec::new(),
            qualification: Qualification::default(),
            signature_value: Vec::new(),
            capacity: None,
            facts: Facts::default(),
        }
    }

    /// Records a failure; the first failure decides the indication.
    pub fn fail(&mut self, indication: Indication, sub: SubIndication, why: impl Into<String>) {
        self.fail_on(None, indication, sub, why);
    }

    /// [`Checked::fail`] for a failure that a validation policy's `constraint` governs.
    pub fn fail_on(
        &mut self,
        constraint: Option<Constraint>,
        indication: Indication,
        sub: SubIndication,
        why: impl Into<String>,
    ) {
        let failure = Failure {
            indication,
            sub,
            why: why.into(),
            constraint,
        };
        failure.record(
            &mut self.facts,
            &mut self.errors,
            &mut self.indication,
            &mut self.sub_indication,
        );
    }

    /// Records the check of the signature timestamp: the time it proves, or why it failed
    /// (indeterminate, `TIMESTAMP_FAILURE`).
    pub(super) fn record_signature_timestamp(&mut self, checked: Result<i64, String>) {
        match checked {
            Ok(at) => self.proven = Some(at),
            Err(why) => self.fail(
                Indication::Indeterminate,
                SubIndication::TimestampFailure,
                format!("signature timestamp: {why}"),
            ),
        }
    }

    /// Records the check of an archive timestamp and answers whether one verified; a failure
    /// is indeterminate (`TIMESTAMP_FAILURE`).
    pub(super) fn record_archive_timestamp(&mut self, checked: Result<bool, String>) -> bool {
        checked.unwrap_or_else(|why| {
            self.fail(
                Indication::Indeterminate,
                SubIndication::TimestampFailure,
                format!("archive timestamp: {why}"),
            );
            false
        })
    }

    /// Copies what the checks found into a signature's report: the findings (after those the
    /// report has already, whose failure came first and so still decides, unless a later
    /// total failure overrides an indeterminate one), the signer, the chain, the
    /// qualification, the signer certificate's revocation status, the proven signing time and
    /// the capacity.
    pub(super) fn report_into(&self, r: &mut SignatureReport) {
        // An XML signature's report may hold a failure already (a reference it could not
        // check): the checks after it must not turn it back into a pass.
        if self.indication != Indication::TotalPassed && r.indication.yields_to(self.indication) {
            r.indication = self.indication;
            r.sub_indication = self.sub_indication;
        }
        r.errors.extend(self.errors.iter().cloned());
        let mut facts = self.facts.clone();
        let mut failures = std::mem::take(&mut r.facts.failures);
        failures.append(&mut facts.failures);
        facts.failures = failures;
        facts.signature_value.clone_from(&self.signature_value);
        facts.certificates = self.certificates.iter().map(|c| c.der.clone()).collect();
        facts.proven = self.proven;
        r.facts = facts;
        r.signer.clone_from(&self.signer);
        r.capacity.clone_from(&self.capacity);
        r.chain.clone_from(&self.chain);
        r.qualification = self.qualification.clone();
        r.revocation = match self.revocation {
            Status::Good => "good",
            Status::Revoked(_) => "revoked",
            Status::Unknown => "unknown",
        }
        .into();
        r.revocation_source = Some(self.revocation_source.as_str().to_owned());
        r.proven_signing_time = self.proven.map(rfc3339);
        r.chain_certificates.clone_from(&self.certificates);
    }
}

fn attribute<'a>(attrs: &'a [Attribute], id: &ObjectIdentifier) -> Option<&'a der::Any> {
    attrs.iter().find(|a| a.oid == *id)?.values.iter().next()
}

/// Parses a DER `ContentInfo` holding `SignedData`.
///
/// # Errors
/// A description of what does not parse.
pub fn signed_data(der: &[u8]) -> Result<SignedData, String> {
    let info = ContentInfo::from_der(der).map_err(|e| format!("not a CMS ContentInfo: {e}"))?;
    if info.content_type != oid::SIGNED_DATA {
        return Err("the CMS is not SignedData".into());
    }
    info.content
        .decode_as::<SignedData>()
        .map_err(|e| format!("SignedData does not parse: {e}"))
}

/// The certificates a `SignedData` carries, in order (entries of other kinds left out).
pub fn certificates(signed: &SignedData) -> impl Iterator<Item = Cert> + '_ {
    signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => c.to_der().ok().and_then(|d| Cert::parse(&d)),
            CertificateChoices::Other(_) => None,
        })
}

fn only_signer(signed: &SignedData) -> Result<&SignerInfo, String> {
    let mut infos = signed.signer_infos.0.iter();
    match (infos.next(), infos.next()) {
        (Some(one), None) => Ok(one),
        _ => Err("the CMS has not exactly one signer".into()),
    }
}

fn signer_cert<'a>(info: &SignerInfo, pool: &'a [Cert]) -> Option<&'a Cert> {
    let SignerIdentifier::IssuerAndSerialNumber(id) = &info.sid else {
        return None;
    };
    pool.iter().find(|c| {
        let tbs = c.cert.tbs_certificate();
        tbs.issuer() == &id.issuer && tbs.serial_number() == &id.serial_number
    })
}

/// The signature algorithm to verify with: `rsaEncryption` in a signer info means PKCS#1 v1.5
/// with its digest.
fn signature_algorithm(info: &SignerInfo) -> ObjectIdentifier {
    let alg = info.signature_algorithm.oid;
    if alg == const_oid::db::rfc5912::RSA_ENCRYPTION {
        match info.digest_alg.oid {
            d if d == oid::SHA1 => const_oid::db::rfc5912::SHA_1_WITH_RSA_ENCRYPTION,
            d if d == oid::SHA384 => const_oid::db::rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
            _ => oid::RSA_WITH_SHA256,
        }
    } else {
        alg
    }
}

/// The names validation policies give a signer info's digest and signature algorithms.
fn algorithm_names(info: &SignerInfo) -> (Option<&'static str>, Option<&'static str>) {
    let digest = match info.digest_alg.oid {
        d if d == oid::SHA1 => Some("SHA-1"),
        d if d == oid::SHA256 => Some("SHA-256"),
        d if d == oid::SHA384 => Some("SHA-384"),
        d if d == oid::SHA512 => Some("SHA-512"),
        _ => None,
    };
    let signature = match signature_algorithm(info) {
        a if a == oid::RSA_PSS => Some("RSA-PSS"),
        a if a == oid::ECDSA_WITH_SHA256 || a == oid::ECDSA_WITH_SHA384 => Some("ECDSA"),
        a if a == oid::RSA_WITH_SHA256
            || a == const_oid::db::rfc5912::SHA_384_WITH_RSA_ENCRYPTION
            || a == const_oid::db::rfc5912::SHA_1_WITH_RSA_ENCRYPTION =>
        {
            Some("RSA")
        }
        _ => None,
    };
    (digest, signature)
}

/// Verifies a signer info against `content`: message digest, signature over the signed
/// attributes. Answers the signer certificate. `legacy_sha1` admits RSA with SHA-1 (a
/// document signature, which the validation policy then judges; never a timestamp).
fn verify_signer<'a>(
    info: &SignerInfo,
    pool: &'a [Cert],
    content: &dyn Content,
    legacy_sha1: bool,
) -> Result<&'a Cert, (Indication, SubIndication, String)> {
    let cert = signer_cert(info, pool).ok_or((
        Indication::Indeterminate,
        SubIndication::NoSigningCertificateFound,
        "the signer's certificate is not in the signature".to_owned(),
    ))?;
    let attrs = info.signed_attrs.as_ref().ok_or((
        Indication::TotalFailed,
        SubIndication::FormatFailure,
        "no signed attributes".to_owned(),
    ))?;
    let list: Vec<Attribute> = attrs.iter().cloned().collect();
    let digest = attribute(&list, &oid::MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or((
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "no message-digest attribute".to_owned(),
        ))?;
    let computed = content.digest(&info.digest_alg.oid).ok_or((
        Indication::Indeterminate,
        SubIndication::SigConstraintsFailure,
        "digest algorithm not supported".to_owned(),
    ))?;
    if digest.as_bytes() != computed.as_slice() {
        return Err((
            Indication::TotalFailed,
            SubIndication::HashFailure,
            "the signed data does not match the message digest".to_owned(),
        ));
    }
    if let Some(ess) = attribute(&list, &oid::SIGNING_CERTIFICATE_V2)
        .and_then(|v| v.decode_as::<SigningCertificateV2>().ok())
    {
        let hash = sha2::Sha256::digest(&cert.der);
        let named = ess.certs.first().is_some_and(|id| {
            id.hash_algorithm
                .as_ref()
                .is_none_or(|a| a.oid == oid::SHA256)
                && id.cert_hash.as_bytes() == hash.as_slice()
        });
        if !named {
            return Err((
                Indication::Indeterminate,
                SubIndication::NoSigningCertificateFound,
                "signing-certificate-v2 names another certificate".to_owned(),
            ));
        }
    }
    let signed = attrs.to_der().map_err(|e| {
        (
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            e.to_string(),
        )
    })?;
    let algorithm = signature_algorithm(info);
    let verified = if algorithm == const_oid::db::rfc5912::SHA_1_WITH_RSA_ENCRYPTION {
        legacy_sha1 && cert.verifies_rsa_sha1(&signed, info.signature.as_bytes())
    } else {
        cert.verifies(&algorithm, &signed, info.signature.as_bytes())
    };
    if !verified {
        return Err((
            Indication::TotalFailed,
            SubIndication::SigCryptoFailure,
            "the signature value does not verify".to_owned(),
        ));
    }
    Ok(cert)
}

/// A checked timestamp token: its time and whether its TSA chains to an anchor.
///
/// # Errors
/// What does not verify.
pub fn timestamp(token: &[u8], imprint: &[u8], m: &Material) -> Result<i64, String> {
    let signed = signed_data(token)?;
    if signed.encap_content_info.econtent_type != oid::TST_INFO {
        return Err("the token does not hold TSTInfo".into());
    }
    let econtent = signed
        .encap_content_info
        .econtent
        .as_ref()
        .and_then(|e| e.decode_as::<OctetString>().ok())
        .ok_or("the token has no content")?;
    let info = TstInfo::from_der(econtent.as_bytes()).map_err(|e| format!("TSTInfo: {e}"))?;
    if info.message_imprint.hashed_message.as_bytes() != imprint {
        return Err("the timestamp covers something else".into());
    }
    let mut pool: Vec<Cert> = certificates(&signed).collect();
    pool.extend(m.certificates.iter().cloned());
    let signer = only_signer(&signed)?;
    let tsa = verify_signer(signer, &pool, &Parts(vec![econtent.as_bytes()]), false)
        .map_err(|(_, _, why)| format!("timestamp token: {why}"))?;
    chain::build(tsa, &pool, &m.anchors)
        .map_err(|s| format!("the TSA certificate does not chain to a trust anchor ({s:?})"))?;
    let at = i64::try_from(info.gen_time.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    let (from, to) = tsa.validity();
    if at < from || at > to {
        return Err("the TSA certificate was not valid at the timestamp's time".into());
    }
    Ok(at)
}

/// The capacity claimed in the signer-attributes-v2 signed attribute, if there is one in
/// qsign's encoding ([`signer_attributes::capacity`]).
///
/// # Errors
/// What is wrong with the attribute, in words.
fn signer_capacity(
    attrs: &[Attribute],
) -> Result<Option<crate::formats::representation::Capacity>, String> {
    let mut found = attrs.iter().filter(|a| a.oid == oid::SIGNER_ATTRIBUTES_V2);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    let mut values = attr.values.iter();
    let (None, Some(value), None) = (found.next(), values.next(), values.next()) else {
        return Err("signer-attributes-v2 must be one attribute with one value".into());
    };
    signer_attributes::capacity(value).map_err(|e| e.to_string())
}

/// Checks one CMS signature over `content`.
#[must_use]
pub fn check(cms_der: &[u8], content: &dyn Content, m: &Material) -> Checked {
    let mut out = Checked::new();
    let signed = match signed_data(cms_der) {
        Ok(s) => s,
        Err(why) => {
            out.fail(Indication::TotalFailed, SubIndication::FormatFailure, why);
            return out;
        }
    };
    let info = match only_signer(&signed) {
        Ok(i) => i,
        Err(why) => {
            out.fail(Indication::TotalFailed, SubIndication::FormatFailure, why);
            return out;
        }
    };
    out.signature_value = info.signature.as_bytes().to_vec();
    (out.facts.digest_algorithm, out.facts.signature_algorithm) = algorithm_names(info);
    let mut pool: Vec<Cert> = certificates(&signed).collect();
    pool.extend(m.certificates.iter().cloned());
    let recorded = Recorded {
        content,
        digest: std::cell::RefCell::new(None),
    };
    let verified = verify_signer(info, &pool, &recorded, true);
    out.facts.signed_data = out
        .facts
        .digest_algorithm
        .zip(recorded.digest.into_inner())
        .map(|(algorithm, digest)| super::report::SignedData { algorithm, digest });
    let cert = match verified {
        Ok(c) => c.clone(),
        Err((indication, sub, why)) => {
            if let Some(c) = signer_cert(info, &pool) {
                out.signer = Some(signer_of(c));
                out.certificates = vec![c.clone()];
            }
            out.fail(indication, sub, why);
            return out;
        }
    };
    out.signer = Some(signer_of(&cert));
    out.qualification = qualification(&cert);
    out.facts.rsa_bits = cert.rsa_bits();
    let attrs: Vec<Attribute> = info
        .signed_attrs
        .iter()
        .flat_map(|a| a.iter().cloned())
        .collect();
    out.claimed = attribute(&attrs, &oid::SIGNING_TIME)
        .and_then(|v| v.decode_as::<x509_cert::time::Time>().ok())
        .map(|t| i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX));
    // The capacity: a signed claim that does not parse, or whose two forms disagree, fails
    // the signature (the signer signed something that cannot be read as meant).
    match signer_capacity(&attrs) {
        Ok(Some(capacity)) => out.capacity = Some(CapacityReport::from(&capacity)),
        Ok(None) if attrs.iter().any(|a| a.oid == oid::SIGNER_ATTRIBUTES_V2) => {
            out.errors.push(
                "signer-attributes-v2 claims attributes this validator does not read; \
                 they were ignored"
                    .into(),
            );
        }
        Ok(None) => {}
        Err(why) => out.fail(Indication::TotalFailed, SubIndication::FormatFailure, why),
    }
    // The signature timestamp.
    let unsigned: Vec<Attribute> = info
        .unsigned_attrs
        .iter()
        .flat_map(|a| a.iter().cloned())
        .collect();
    // Unsigned attributes this validator does not understand are said, not passed over in
    // silence (an archive timestamp under a changed OID would otherwise just vanish).
    for a in &unsigned {
        if a.oid != oid::SIGNATURE_TIME_STAMP && a.oid != oid::ARCHIVE_TIME_STAMP_V3 {
            out.errors.push(format!(
                "unsigned attribute {} is not understood and was ignored",
                a.oid
            ));
        }
    }
    if let Some(token) = attribute(&unsigned, &oid::SIGNATURE_TIME_STAMP) {
        let imprint = sha2::Sha256::digest(&out.signature_value);
        let token = token.to_der().map_err(|e| e.to_string());
        if let Ok(der) = &token {
            out.facts.timestamps.push(der.clone());
        }
        out.record_signature_timestamp(token.and_then(|t| timestamp(&t, &imprint, m)));
    }
    let embedded: Vec<Vec<u8>> = signed
        .crls
        .iter()
        .flat_map(|c| c.0.iter())
        .filter_map(|r| match r {
            RevocationInfoChoice::Crl(crl) => crl.to_der().ok(),
            RevocationInfoChoice::Other(_) => None,
        })
        .collect();
    assess(&mut out, &cert, &pool, &embedded, m);
    out
}

/// The checks of a verified signer's certificate: key usage, chain, validity at the best
/// signature time (`out.proven`, else now) and revocation (`embedded_crls` and the material's).
pub fn assess(
    out: &mut Checked,
    cert: &Cert,
    pool: &[Cert],
    embedded_crls: &[Vec<u8>],
    m: &Material,
) {
    if !cert.key_usage(KeyUsages::NonRepudiation) {
        out.fail(
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            "the signer's certificate does not allow non-repudiation",
        );
    }
    // A missing intermediate is fetched from the caIssuers URLs, when fetching is on.
    let mut pool = pool.to_vec();
    if let Some(fetch) = m.fetch.as_deref() {
        if matches!(
            chain::build(cert, &pool, &m.anchors),
            Err(SubIndication::NoCertificateChainFound)
        ) {
            pool.extend(chain::path(cert, &pool, &m.anchors, Some(fetch)).1);
        }
    }
    let built = match chain::build(cert, &pool, &m.anchors) {
        Ok(c) => c,
        Err(sub) => {
            let untrusted = sub == SubIndication::NoCertificateChainFound;
            out.fail_on(
                untrusted.then_some(Constraint::ChainNotTrusted),
                Indication::Indeterminate,
                sub,
                "the signer's certificate does not chain to a trust anchor",
            );
            return;
        }
    };
    out.chain = built
        .certificates
        .iter()
        .map(|c| c.cert.tbs_certificate().subject().to_string())
        .collect();
    // Validity at the best signature time: a timestamp's, else now.
    let best = out.proven.unwrap_or(m.now);
    for c in &built.certificates {
        let (from, to) = c.validity();
        if best < from {
            out.fail(
                Indication::Indeterminate,
                SubIndication::NotYetValid,
                format!("{} was not yet valid", c.cert.tbs_certificate().subject()),
            );
        } else if best > to {
            out.fail_on(
                Some(Constraint::CertificateExpired),
                Indication::Indeterminate,
                SubIndication::OutOfBoundsNoPoe,
                format!(
                    "{} has expired and no timestamp proves the signature existed before",
                    c.cert.tbs_certificate().subject()
                ),
            );
        }
    }
    // Revocation of every certificate below the anchor.
    let mut embedded_crls = embedded_crls.to_vec();
    embedded_crls.extend(m.crls.iter().cloned());
    out.certificates = built.certificates.clone();
    for pair in built.certificates.windows(2) {
        let [c, issuer] = pair else { continue };
        let found = chain::revocation_or_fetch(
            c,
            issuer,
            &embedded_crls,
            &m.ocsps,
            m.local.as_deref(),
            m.fetch.as_deref(),
            m.now,
        );
        out.errors.extend(found.notes);
        if c.der == cert.der {
            out.revocation = found.status;
            out.revocation_source = found.source;
            // When the status was known: the data at hand's thisUpdate, else (the service's
            // own store, a CRL fetched now) the validation time.
            match found.data {
                Some(data) => {
                    out.facts.revocation_issued = Some(data.issued);
                    out.facts.revocation_data.push(data);
                }
                None if found.status != Status::Unknown => {
                    out.facts.revocation_issued = Some(m.now)
                }
                None => {}
            }
        }
        match found.status {
            Status::Good => {}
            Status::Revoked(at) if at > best => {}
            Status::Revoked(_) => out.fail(
                Indication::TotalFailed,
                SubIndication::Revoked,
                format!("{} is revoked", c.cert.tbs_certificate().subject()),
            ),
            Status::Unknown => {
                out.fail_on(
                    Some(Constraint::RevocationMissing),
                    Indication::Indeterminate,
                    SubIndication::TryLater,
                    format!(
                        "no revocation information for {}",
                        c.cert.tbs_certificate().subject()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_already_in_the_report_is_not_turned_into_a_pass() {
        let mut r = SignatureReport::new("s".into(), "XAdES");
        r.fail(
            Indication::Indeterminate,
            SubIndication::SigConstraintsFailure,
            "only SHA-256 digests are supported".into(),
        );
        Checked::new_passed().report_into(&mut r);
        assert_eq!(r.indication, Indication::Indeterminate);
        assert_eq!(r.sub_indication, Some(SubIndication::SigConstraintsFailure));
        assert_eq!(r.errors, ["only SHA-256 digests are supported"]);
        // A later total failure still decides over it, and every finding is kept.
        let mut failed = Checked::new_passed();
        failed.fail(
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "signer-attributes-v2: does not parse",
        );
        failed.report_into(&mut r);
        assert_eq!(r.indication, Indication::TotalFailed);
        assert_eq!(r.sub_indication, Some(SubIndication::FormatFailure));
        assert_eq!(r.errors.len(), 2);
        // A fresh report takes the checks' verdict.
        let mut fresh = SignatureReport::new("t".into(), "CAdES");
        failed.report_into(&mut fresh);
        assert_eq!(fresh.indication, Indication::TotalFailed);
    }

    #[test]
    fn a_capacity_attribute_that_does_not_parse_is_an_error_never_a_panic() {
        assert_eq!(signer_capacity(&[]), Ok(None));
        let garbage = Attribute {
            oid: oid::SIGNER_ATTRIBUTES_V2,
            values: der::asn1::SetOfVec::try_from(vec![
                der::Any::from_der(b"\x02\x01\x05").unwrap()
            ])
            .unwrap(),
        };
        let why = signer_capacity(std::slice::from_ref(&garbage)).unwrap_err();
        assert!(why.contains("signer-attributes-v2"), "{why}");
        assert!(signer_capacity(&[garbage.clone(), garbage]).is_err());
    }
}
