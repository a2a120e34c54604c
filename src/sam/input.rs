//! What the SAM signs for each hash a SAD covers: the hash itself (`signHash`), or for
//! `signDoc` the CAdES signed attributes, the XAdES `SignedInfo` or the CAdES signed attributes
//! over a prepared PDF revision, each derived by the SAM and checked against the hash the
//! signer approved.

use sha2::Digest as _;

use super::Error;
use crate::formats::representation::{capacity_approval, Capacity};
use crate::formats::{cms, pades, xades};
use crate::types::{Digest, UnixTime};

/// A CAdES document signed in a capacity: its SHA-256 and the capacity. The hash the signer
/// approved for it is [`capacity_approval`] of the two.
#[derive(Debug, Clone, Copy)]
pub struct InCapacity<'a> {
    /// The document's SHA-256 (the CMS message digest).
    pub sha256: [u8; 32],
    /// The capacity (signer-attributes-v2).
    pub capacity: &'a Capacity,
}

/// How the SAM derives what it signs from the hashes the SAD covers.
#[derive(Debug, Clone, Copy)]
pub enum Derive<'a> {
    /// The hashes themselves (`signHash`).
    Hashes,
    /// `signDoc`, CAdES: each hash is a document's SHA-256, or for a document signed in a
    /// capacity the approval of its SHA-256 and the capacity ([`capacity_approval`]), which
    /// the SAM checks. The SAM builds the CAdES signed attributes (with signer-attributes-v2
    /// for a capacity) with the credential's certificate at this signing time and signs their
    /// digest.
    Cades {
        /// Signing time.
        time: UnixTime,
        /// For each hash, in order, the document and capacity it approves, when the document
        /// is signed in a capacity; a hash without an entry (or `None`) is a document's
        /// SHA-256 itself.
        capacities: &'a [Option<InCapacity<'a>>],
    },
    /// The hashes are the SHA-256 digests of these documents (`signDoc`, XAdES), or for a
    /// document signed in a capacity the approval of that digest and the capacity
    /// ([`capacity_approval`]): the SAM checks each document against its hash, builds the
    /// signature as packaged (with `SignerRoleV2` for a capacity) and signs its `SignedInfo`;
    /// [`Sam::sign`](super::Sam::sign) then returns the signed documents.
    Xades {
        /// The documents, in the order of the hashes.
        documents: &'a [Vec<u8>],
        /// The packaging of each document.
        packagings: &'a [xades::Packaging<'a>],
        /// `DataObjectFormat` MIME type.
        mime: &'a str,
        /// Signing time.
        signing_time: UnixTime,
        /// The key's XML signature algorithm.
        algorithm: xades::SignatureAlgorithm,
        /// The CA certificates of the credential's certificate, without the root, for
        /// `ds:KeyInfo`.
        chain: &'a [Vec<u8>],
        /// The capacity each document is signed in, in the order of the hashes; a document
        /// without an entry (or `None`) is signed in none.
        capacities: &'a [Option<&'a Capacity>],
    },
    /// The hashes are the approvals of PDF documents (`signDoc`, PAdES: the document's SHA-256,
    /// or with options `pades::approval_digest` of it and the options), here prepared with their
    /// signature placeholders, in the order of the hashes: the SAM checks that each prepared
    /// revision was made over exactly the covered document with exactly the approved options
    /// (`Prepared::approval`) and signs the digest of the
    /// CAdES signed attributes over its byte ranges' digest (computed by `pades` when the
    /// revision was appended; no signing-time attribute; signer-attributes-v2 with the
    /// capacity of the options, which the approval covers).
    Pades(&'a [pades::Prepared]),
}

/// What the SAM signs for one covered hash, once the hash is found to approve it: everything
/// but the signer's certificate, which a short-lived key gets only after the SAD is spent.
#[derive(Debug, Clone, Copy)]
pub(super) enum Input<'a> {
    /// The hash itself.
    Hash,
    /// CAdES signed attributes over a document's SHA-256, at a signing time, claiming a
    /// capacity when the document is signed in one.
    Cades {
        digest: [u8; 32],
        time: UnixTime,
        capacity: Option<&'a Capacity>,
    },
    /// CAdES signed attributes over a prepared PDF revision's byte ranges (no signing time;
    /// the capacity of its options).
    Pades(&'a pades::Prepared),
    /// A XAdES signature over a document.
    Xades(XadesInput<'a>),
}

/// A XAdES signature to build over one document, as packaged, in a capacity when it has one.
#[derive(Debug, Clone, Copy)]
pub(super) struct XadesInput<'a> {
    document: &'a [u8],
    packaging: xades::Packaging<'a>,
    mime: &'a str,
    signing_time: UnixTime,
    algorithm: xades::SignatureAlgorithm,
    chain: &'a [Vec<u8>],
    capacity: Option<&'a Capacity>,
}

/// What `derive` makes of each hash, checked against it: the SAM signs nothing the signer did
/// not approve, and refuses ([`Error::HashNotCovered`]) before anything is spent.
pub(super) fn inputs<'a>(hashes: &[Digest], derive: Derive<'a>) -> Result<Vec<Input<'a>>, Error> {
    hashes
        .iter()
        .enumerate()
        .map(|(i, hash)| input(i, hash, derive))
        .collect()
}

/// What `derive` makes of the `i`th hash, if the hash approves it.
fn input<'a>(i: usize, hash: &Digest, derive: Derive<'a>) -> Result<Input<'a>, Error> {
    match derive {
        Derive::Hashes => Ok(Input::Hash),
        Derive::Cades { time, capacities } => {
            let (digest, capacity) = match capacities.get(i).copied().flatten() {
                // The signer approved this document in exactly this capacity.
                Some(claim) => {
                    if capacity_approval(&claim.sha256, claim.capacity).as_slice()
                        != hash.as_bytes()
                    {
                        return Err(Error::HashNotCovered);
                    }
                    (claim.sha256, Some(claim.capacity))
                }
                None => (
                    <[u8; 32]>::try_from(hash.as_bytes()).map_err(|_| Error::HashNotCovered)?,
                    None,
                ),
            };
            Ok(Input::Cades {
                digest,
                time,
                capacity,
            })
        }
        Derive::Pades(prepared) => {
            let prepared = prepared.get(i).ok_or(Error::HashNotCovered)?;
            // The approval covers the document and every option the revision was made with
            // (reason, location, contact, certification, the visible box, the capacity).
            if prepared.approval().as_slice() != hash.as_bytes() {
                return Err(Error::HashNotCovered);
            }
            Ok(Input::Pades(prepared))
        }
        Derive::Xades {
            documents,
            packagings,
            mime,
            signing_time,
            algorithm,
            chain,
            capacities,
        } => {
            let document = documents.get(i).ok_or(Error::HashNotCovered)?;
            let packaging = *packagings.get(i).ok_or(Error::HashNotCovered)?;
            let capacity = capacities.get(i).copied().flatten();
            let sha256: [u8; 32] = sha2::Sha256::digest(document).into();
            let approved = capacity.map_or(sha256, |c| capacity_approval(&sha256, c));
            if approved.as_slice() != hash.as_bytes() {
                return Err(Error::HashNotCovered);
            }
            let mime = match packaging {
                xades::Packaging::Detached { .. } => "application/octet-stream",
                _ => mime,
            };
            Ok(Input::Xades(XadesInput {
                document,
                packaging,
                mime,
                signing_time,
                algorithm,
                chain,
                capacity,
            }))
        }
    }
}

/// The digests the HSM signs for the checked inputs of `hashes` with `certificate` as the
/// signer's, and the XAdES signatures waiting for their values.
pub(super) fn to_sign(
    inputs: &[Input<'_>],
    hashes: &[Digest],
    certificate: &[u8],
) -> Result<(Vec<Digest>, Vec<xades::Prepared>), Error> {
    let format = |e: &dyn std::fmt::Display| Error::Format(e.to_string());
    let mut digests = Vec::with_capacity(hashes.len());
    let mut pending = Vec::new();
    for (input, hash) in inputs.iter().zip(hashes) {
        let to_be_signed = match *input {
            Input::Hash => {
                digests.push(hash.clone());
                continue;
            }
            Input::Cades {
                digest,
                time,
                capacity,
            } => {
                cms::prepare(&digest, certificate, Some(time.as_secs()), capacity)
                    .map_err(|e| format(&e))?
                    .to_be_signed
            }
            Input::Pades(prepared) => {
                cms::prepare(&prepared.digest(), certificate, None, prepared.capacity())
                    .map_err(|e| format(&e))?
                    .to_be_signed
            }
            Input::Xades(x) => {
                let prepared = xades::prepare(
                    x.document,
                    x.packaging,
                    certificate,
                    x.chain,
                    x.algorithm,
                    x.mime,
                    x.signing_time.as_secs(),
                    x.capacity,
                )
                .map_err(|e| format(&e))?;
                let to_be_signed = prepared.to_be_signed;
                pending.push(prepared);
                to_be_signed
            }
        };
        digests.push(Digest::sha256(to_be_signed));
    }
    Ok((digests, pending))
}

/// What leaves the SAM: the signatures, or for XAdES the documents they complete.
pub(super) fn signed_output(pending: &[xades::Prepared], signatures: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if pending.is_empty() {
        signatures
    } else {
        pending
            .iter()
            .zip(&signatures)
            .map(|(p, s)| xades::assemble(p, s))
            .collect()
    }
}

/// The mode a SAD is spent in: `hash` (signHash) or `doc` (a document flow). A SAD is spent in
/// one mode and on each approved hash at most once.
pub(super) const fn mode(derive: &Derive<'_>) -> &'static str {
    if matches!(derive, Derive::Hashes) {
        "hash"
    } else {
        "doc"
    }
}
