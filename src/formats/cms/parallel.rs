//! Parallel signatures: several signers' detached SignedData over the same content, as one
//! SignedData with one SignerInfo each (RFC 5652 §5: a SignedData may carry any number of
//! signers), and back.

use cms::cert::CertificateChoices;
use cms::revocation::RevocationInfoChoice;
use cms::signed_data::{CertificateSet, SignedData, SignerInfos};
use der::asn1::SetOfVec;
use der::Encode;
use spki::AlgorithmIdentifierOwned;

use super::{enc, signed_data, wrap, Error};

/// The most signers one SignedData is made of or split into.
pub const MAX_PARALLEL: usize = 100;

/// Adds `item` to `list` unless an item with the same DER is there already.
fn push_unique<T: Encode + Clone>(list: &mut Vec<T>, item: &T) -> Result<(), Error> {
    let der = item.to_der().map_err(enc)?;
    for existing in list.iter() {
        if existing.to_der().map_err(enc)? == der {
            return Ok(());
        }
    }
    list.push(item.clone());
    Ok(())
}

/// One SignedData carrying the signers of `signatures` (each a detached CAdES SignedData over
/// the same content type, as DER ContentInfo), in order, with the union of their digest
/// algorithms, certificates and revocation data. Each SignerInfo is left as it was, so each
/// signature verifies as before; an archive timestamp (B-LTA) covers its own SignedData's
/// certificates and would not, so signatures with one are refused.
///
/// # Errors
/// [`Error::Malformed`] for no signature, more than [`MAX_PARALLEL`], an attached one,
/// different content types, or one with an archive timestamp; encoding failures.
pub fn merge_parallel(signatures: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    if signatures.is_empty() || signatures.len() > MAX_PARALLEL {
        return Err(Error::Malformed("parallel signatures: 1 to 100 signatures"));
    }
    let mut merged: Option<SignedData> = None;
    let mut digests: Vec<AlgorithmIdentifierOwned> = Vec::new();
    let mut certificates: Vec<CertificateChoices> = Vec::new();
    let mut crls: Vec<RevocationInfoChoice> = Vec::new();
    let mut infos = Vec::new();
    for cms in signatures {
        let signed = signed_data(cms)?;
        if signed.encap_content_info.econtent.is_some() {
            return Err(Error::Malformed(
                "parallel signatures: only detached signatures",
            ));
        }
        let archived = signed.signer_infos.0.iter().any(|i| {
            i.unsigned_attrs
                .iter()
                .flat_map(|a| a.iter())
                .any(|a| a.oid == crate::formats::asn1::oid::ARCHIVE_TIME_STAMP_V3)
        });
        if archived {
            return Err(Error::Malformed(
                "parallel signatures: an archive timestamp covers its own SignedData",
            ));
        }
        if let Some(first) = &merged {
            if first.encap_content_info.econtent_type != signed.encap_content_info.econtent_type {
                return Err(Error::Malformed(
                    "parallel signatures: different content types",
                ));
            }
        }
        for d in signed.digest_algorithms.iter() {
            push_unique(&mut digests, d)?;
        }
        for c in signed.certificates.iter().flat_map(|s| s.0.iter()) {
            push_unique(&mut certificates, c)?;
        }
        for r in signed.crls.iter().flat_map(|s| s.0.iter()) {
            push_unique(&mut crls, r)?;
        }
        infos.extend(signed.signer_infos.0.iter().cloned());
        if infos.len() > MAX_PARALLEL {
            return Err(Error::Malformed("parallel signatures: 1 to 100 signatures"));
        }
        merged.get_or_insert(signed);
    }
    let mut merged = merged.ok_or(Error::Malformed("parallel signatures: none"))?;
    merged.digest_algorithms = SetOfVec::try_from(digests).map_err(enc)?;
    merged.certificates = if certificates.is_empty() {
        None
    } else {
        Some(CertificateSet(
            SetOfVec::try_from(certificates).map_err(enc)?,
        ))
    };
    merged.crls = if crls.is_empty() {
        None
    } else {
        Some(cms::revocation::RevocationInfoChoices(
            SetOfVec::try_from(crls).map_err(enc)?,
        ))
    };
    merged.signer_infos = SignerInfos(SetOfVec::try_from(infos).map_err(enc)?);
    wrap(&merged)
}

/// Each signer of a SignedData as a SignedData of its own (the same content, certificates and
/// revocation data, that one SignerInfo): what a single-signer check takes. A SignedData with
/// one signer comes back as it is.
///
/// # Errors
/// [`Error::Malformed`] for what is not a SignedData, no signer or more than
/// [`MAX_PARALLEL`]; encoding failures.
pub fn split_signers(cms: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let signed = signed_data(cms)?;
    let infos: Vec<_> = signed.signer_infos.0.iter().cloned().collect();
    if infos.is_empty() || infos.len() > MAX_PARALLEL {
        return Err(Error::Malformed("CMS: 1 to 100 signers"));
    }
    if infos.len() == 1 {
        return Ok(vec![cms.to_vec()]);
    }
    infos
        .into_iter()
        .map(|info| {
            let mut one = signed.clone();
            one.signer_infos = SignerInfos(SetOfVec::try_from(vec![info]).map_err(enc)?);
            wrap(&one)
        })
        .collect()
}
