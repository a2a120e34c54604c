//! Validation for verifiers. **Pure**: bytes, trust anchors and revocation data in, a report
//! out (facts first — format, digests, signature values, chains, revocation, timestamps — then
//! the indication per signature, in the spirit of ETSI TS 119 102-2, with the capacity each was
//! made in; then whether the signatures meet their organisations' rules of representation).
//!
//! [`pdf`]: every signature and document timestamp of a PDF, with its coverage and the changes
//! made after it; [`cms`]: CAdES (and the CMS inside PAdES); [`chain`]: certificates, chains
//! and revocation; [`xml`]: XAdES and XML-DSig; [`report`]: the report and the representation
//! check; [`policy`]: the validation policy applied after the checks; [`etsi`]: the report as
//! ETSI TS 119 102-2 XML; [`trusted_list`]: EU trusted lists and the qualification at signing
//! time.

pub mod chain;
pub mod cms;
pub mod etsi;
pub mod pdf;
pub mod policy;
pub mod report;
pub mod trusted_list;
pub mod xml;

use sha2::Digest as _;

pub use chain::Cert;
pub use cms::Material;
pub use policy::{Policies, Policy};
pub use report::{
    CapacityReport, Constraint, Indication, Report, RepresentationReport, SignatureReport,
    SubIndication,
};

/// Why a file cannot be validated at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Neither a PDF nor a CMS signature, or a PDF that does not parse.
    #[error("the file cannot be validated: {0}")]
    Unusable(String),
    /// A format whose validation is not built.
    #[error("{0}")]
    Unsupported(String),
    /// Larger than the limit.
    #[error("the file is larger than {0} bytes")]
    TooLarge(usize),
}

/// Validates a signed file: a PDF, or a CMS signature (attached, or detached with `content`).
///
/// # Errors
/// [`Error::Unusable`], [`Error::Unsupported`] (XML), [`Error::TooLarge`].
pub fn validate(
    file: &[u8],
    content: Option<&[u8]>,
    material: &Material,
    max_bytes: usize,
) -> Result<Report, Error> {
    if file.len() > max_bytes || content.is_some_and(|c| c.len() > max_bytes) {
        return Err(Error::TooLarge(max_bytes));
    }
    let result = validate_within(file, content, material).map(|mut report| {
        report.validated_at = material.now;
        report
    });
    if material.past_deadline() {
        return Err(Error::Unusable(
            "the validation took longer than its time budget and was stopped".into(),
        ));
    }
    let mut report = result?;
    if let Some(lists) = &material.trusted_lists {
        lists.apply(&mut report, material.now);
    }
    Ok(report)
}

/// [`validate`] after the size check.
fn validate_within(
    file: &[u8],
    content: Option<&[u8]>,
    material: &Material,
) -> Result<Report, Error> {
    let validation_time = report::rfc3339(material.now);
    if crate::formats::pdf::header_version(file).is_some() {
        let signatures =
            pdf::validate(file, material).map_err(|e| Error::Unusable(e.to_string()))?;
        return Ok(Report::new("pdf", signatures, validation_time));
    }
    if file.first() == Some(&0x30) {
        // Parallel signatures (several signers in one SignedData): each checked as if alone.
        let signers =
            crate::formats::cms::split_signers(file).map_err(|e| Error::Unusable(e.to_string()))?;
        let several = signers.len() > 1;
        let mut signatures = Vec::with_capacity(signers.len());
        for (i, one) in signers.iter().enumerate() {
            let mut report = cades(one, content, material)?;
            if several {
                report.id = format!("signature-{}", i + 1);
            }
            signatures.push(report);
        }
        return Ok(Report::new("cms", signatures, validation_time));
    }
    let text = file.get(..64).unwrap_or(file);
    let start = text.iter().find(|b| !b.is_ascii_whitespace());
    if start == Some(&b'<') || text.starts_with(b"\xef\xbb\xbf<") {
        let signatures = xml::validate(file, content, material).map_err(Error::Unusable)?;
        if signatures.is_empty() {
            return Err(Error::Unusable(
                "the XML document has no ds:Signature".into(),
            ));
        }
        return Ok(Report::new("xml", signatures, validation_time));
    }
    Err(Error::Unusable(
        "neither a PDF nor a CMS (DER) signature".into(),
    ))
}

/// Most archive timestamps of one CAdES signature checked.
const MAX_ARCHIVE_TIMESTAMPS: usize = 16;

/// Checks every archive-time-stamp-v3 of a CAdES signature, if it has any (one per renewal):
/// each token's imprint is recomputed with the ATSHashIndexV3 the token carries, every hash
/// of that index must still be found in the signature (certificates, revocation data,
/// unsigned attribute values: what the timestamp covered may be added to, never taken away),
/// and the token must verify to a trust anchor.
fn archive_timestamp(
    signed: &::cms::signed_data::SignedData,
    content: &[u8],
    material: &Material,
) -> Result<bool, String> {
    use der::Encode as _;
    let ats = crate::formats::asn1::oid::ARCHIVE_TIME_STAMP_V3;
    let Some(info) = signed.signer_infos.0.iter().next() else {
        return Ok(false);
    };
    let tokens: Vec<Vec<u8>> = info
        .unsigned_attrs
        .iter()
        .flat_map(|a| a.iter())
        .filter(|a| a.oid == ats)
        .flat_map(|a| a.values.iter())
        .filter_map(|v| v.to_der().ok())
        .collect();
    if tokens.is_empty() {
        return Ok(false);
    }
    if tokens.len() > MAX_ARCHIVE_TIMESTAMPS {
        return Err(format!(
            "more than {MAX_ARCHIVE_TIMESTAMPS} archive timestamps"
        ));
    }
    let hash = |bytes: &[u8]| sha2::Sha256::digest(bytes).to_vec();
    let mut present = std::collections::HashSet::new();
    for c in signed.certificates.iter().flat_map(|c| c.0.iter()) {
        present.insert(hash(&c.to_der().map_err(|e| e.to_string())?));
    }
    for c in signed.crls.iter().flat_map(|c| c.0.iter()) {
        present.insert(hash(&c.to_der().map_err(|e| e.to_string())?));
    }
    for a in info.unsigned_attrs.iter().flat_map(|u| u.iter()) {
        let kind = a.oid.to_der().map_err(|e| e.to_string())?;
        for value in a.values.iter() {
            let mut input = kind.clone();
            input.extend(value.to_der().map_err(|e| e.to_string())?);
            present.insert(hash(&input));
        }
    }
    let der = ::cms::content_info::ContentInfo {
        content_type: crate::formats::asn1::oid::SIGNED_DATA,
        content: der::Any::encode_from(signed).map_err(|e| e.to_string())?,
    }
    .to_der()
    .map_err(|e| e.to_string())?;
    let digest: [u8; 32] = sha2::Sha256::digest(content).into();
    for token in &tokens {
        let token_data = cms::signed_data(token)?;
        let index_der = token_data
            .signer_infos
            .0
            .iter()
            .flat_map(|s| s.unsigned_attrs.iter().flat_map(|u| u.iter()))
            .find(|a| a.oid == crate::formats::asn1::oid::ATS_HASH_INDEX_V3)
            .and_then(|a| a.values.iter().next())
            .and_then(|v| v.to_der().ok())
            .ok_or("the archive timestamp carries no ATSHashIndexV3")?;
        let index = crate::formats::asn1::etsi::AtsHashIndexV3::parse(&index_der)
            .map_err(|e| format!("ATSHashIndexV3: {e}"))?;
        if index
            .hash_ind_algorithm
            .as_ref()
            .is_some_and(|a| a.oid != crate::formats::asn1::oid::SHA256)
        {
            return Err("ATSHashIndexV3 with a hash other than SHA-256".into());
        }
        let mut covered = index
            .certificates_hash_index
            .iter()
            .chain(&index.crls_hash_index)
            .chain(&index.unsigned_attr_values_hash_index);
        if covered.any(|h| !present.contains(h.as_bytes())) {
            return Err("data the archive timestamp covers is no longer in the signature".into());
        }
        let imprint = crate::formats::cms::archive_imprint_with(&der, Some(&digest), &index_der)
            .map_err(|e| e.to_string())?;
        cms::timestamp(token, &imprint, material)?;
    }
    Ok(true)
}

fn cades(
    file: &[u8],
    content: Option<&[u8]>,
    material: &Material,
) -> Result<SignatureReport, Error> {
    let signed = cms::signed_data(file).map_err(Error::Unusable)?;
    let attached = signed
        .encap_content_info
        .econtent
        .as_ref()
        .and_then(|e| e.decode_as::<der::asn1::OctetString>().ok())
        .map(|o| o.as_bytes().to_vec());
    let Some(data) = content.map(<[u8]>::to_vec).or(attached) else {
        return Err(Error::Unusable(
            "a detached signature: send the signed content too".into(),
        ));
    };
    let mut checked = cms::check(file, &cms::Parts(vec![&data]), material);
    let embedded = !signed.crls.as_ref().is_none_or(|c| c.0.is_empty());
    let archived = checked.record_archive_timestamp(archive_timestamp(&signed, &data, material));
    let mut r = SignatureReport::new(
        format!(
            "signature-{}",
            hex::encode(sha2::Sha256::digest(&checked.signature_value))
                .get(..12)
                .unwrap_or_default()
        ),
        "CAdES",
    );
    checked.report_into(&mut r);
    r.claimed_signing_time = checked.claimed.map(report::rfc3339);
    r.level = Some(report::baseline_level(checked.proven.is_some(), embedded, archived).into());
    Ok(r)
}
