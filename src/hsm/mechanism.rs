//! Typed key and signature algorithms, and what each means in PKCS#11. Digests and their hash
//! algorithms live in [`crate::types`].
//!
//! Every signature operation takes a digest computed on the host: SoftHSM 2.6 has no
//! `CKM_ECDSA_SHA256`, and the formats hash documents in a streaming way anyway.
//! ECDSA returns raw `r || s` (PKCS#11 §2.3.1); [`ecdsa_signature_der`] turns it into the
//! `ECDSA-Sig-Value` of RFC 5480 §2.2 that X.509 and CMS carry.

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};

use super::Error;
use crate::types::{Digest, HashAlgorithm};

/// The key types qsign creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 (the default for user credentials).
    EcP256,
    /// ECDSA on NIST P-384.
    EcP384,
    /// RSA with a 3072-bit modulus and public exponent 65537.
    Rsa3072,
}

impl KeyAlgorithm {
    /// Stable name, used in the wrapped-key blob header and the database.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EcP256 => "ec-p256",
            Self::EcP384 => "ec-p384",
            Self::Rsa3072 => "rsa-3072",
        }
    }

    /// Parses [`KeyAlgorithm::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::EcP256, Self::EcP384, Self::Rsa3072]
            .into_iter()
            .find(|a| a.as_str() == s)
    }

    pub(crate) const fn code(self) -> u8 {
        match self {
            Self::EcP256 => 1,
            Self::EcP384 => 2,
            Self::Rsa3072 => 3,
        }
    }

    pub(crate) const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::EcP256),
            2 => Some(Self::EcP384),
            3 => Some(Self::Rsa3072),
            _ => None,
        }
    }

    /// Whether this is an elliptic-curve key.
    #[must_use]
    pub const fn is_ec(self) -> bool {
        matches!(self, Self::EcP256 | Self::EcP384)
    }

    /// DER of the named-curve OID for `CKA_EC_PARAMS` (RFC 5480 §2.1.1.1).
    pub(crate) const fn ec_params(self) -> Option<&'static [u8]> {
        match self {
            // 1.2.840.10045.3.1.7 secp256r1
            Self::EcP256 => Some(&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            // 1.3.132.0.34 secp384r1
            Self::EcP384 => Some(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
            Self::Rsa3072 => None,
        }
    }
}

/// The DER `DigestInfo` prefix of RFC 8017 §9.2 note 1, for PKCS#1 v1.5 over a digest.
const fn digest_info_prefix(hash: HashAlgorithm) -> &'static [u8] {
    match hash {
        HashAlgorithm::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        HashAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        HashAlgorithm::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// The PKCS#11 mechanism of a hash (the PSS parameters name it).
const fn hash_mechanism(hash: HashAlgorithm) -> MechanismType {
    match hash {
        HashAlgorithm::Sha256 => MechanismType::SHA256,
        HashAlgorithm::Sha384 => MechanismType::SHA384,
        HashAlgorithm::Sha512 => MechanismType::SHA512,
    }
}

/// MGF1 with a hash, for PSS.
const fn mgf(hash: HashAlgorithm) -> PkcsMgfType {
    match hash {
        HashAlgorithm::Sha256 => PkcsMgfType::MGF1_SHA256,
        HashAlgorithm::Sha384 => PkcsMgfType::MGF1_SHA384,
        HashAlgorithm::Sha512 => PkcsMgfType::MGF1_SHA512,
    }
}

/// Signature schemes over a precomputed digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignAlgorithm {
    /// ECDSA (`CKM_ECDSA`); the result is raw `r || s`.
    Ecdsa,
    /// RSASSA-PKCS1-v1_5 (`CKM_RSA_PKCS` over a `DigestInfo`).
    RsaPkcs1v15,
    /// RSASSA-PSS (`CKM_RSA_PKCS_PSS`), MGF1 with the same hash, salt as long as the hash.
    RsaPss,
}

/// The PKCS#11 mechanism and input for signing `digest` with `scheme` under a key of `key`.
pub(crate) fn sign_input(
    key: KeyAlgorithm,
    scheme: SignAlgorithm,
    digest: &Digest,
) -> Result<(Mechanism<'static>, Vec<u8>), Error> {
    match (key.is_ec(), scheme) {
        (true, SignAlgorithm::Ecdsa) => Ok((Mechanism::Ecdsa, digest.as_bytes().to_vec())),
        (false, SignAlgorithm::RsaPkcs1v15) => {
            let mut input = digest_info_prefix(digest.algorithm()).to_vec();
            input.extend_from_slice(digest.as_bytes());
            Ok((Mechanism::RsaPkcs, input))
        }
        (false, SignAlgorithm::RsaPss) => {
            let h = digest.algorithm();
            let params = PkcsPssParams {
                hash_alg: hash_mechanism(h),
                mgf: mgf(h),
                s_len: u64::try_from(h.len()).unwrap_or(32).into(),
            };
            Ok((Mechanism::RsaPkcsPss(params), digest.as_bytes().to_vec()))
        }
        _ => Err(Error::AlgorithmMismatch {
            key: key.as_str(),
            scheme,
        }),
    }
}

/// Converts a raw PKCS#11 ECDSA signature (`r || s`, each the curve size) to DER
/// `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 5480 §2.2).
///
/// # Errors
/// [`Error::BadSignature`] for a length that is no supported curve's.
pub fn ecdsa_signature_der(raw: &[u8]) -> Result<Vec<u8>, Error> {
    match raw.len() {
        64 => p256::ecdsa::Signature::from_slice(raw)
            .map(|s| s.to_der().as_bytes().to_vec())
            .map_err(|_| Error::BadSignature),
        96 => p384::ecdsa::Signature::from_slice(raw)
            .map(|s| s.to_der().as_bytes().to_vec())
            .map_err(|_| Error::BadSignature),
        _ => Err(Error::BadSignature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_algorithm_names_round_trip() {
        for a in [
            KeyAlgorithm::EcP256,
            KeyAlgorithm::EcP384,
            KeyAlgorithm::Rsa3072,
        ] {
            assert_eq!(KeyAlgorithm::parse(a.as_str()), Some(a));
            assert_eq!(KeyAlgorithm::from_code(a.code()), Some(a));
        }
        assert_eq!(KeyAlgorithm::parse("rsa-1024"), None);
        assert_eq!(KeyAlgorithm::from_code(0), None);
    }

    #[test]
    fn digest_info_prefix_lengths_match_rfc8017() {
        for h in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let p = digest_info_prefix(h);
            // The outer SEQUENCE length covers the rest of the prefix plus the digest.
            assert_eq!(usize::from(p[1]), p.len() - 2 + h.len());
            assert_eq!(usize::from(p[p.len() - 1]), h.len());
        }
    }

    #[test]
    fn ecdsa_and_rsa_schemes_do_not_mix() {
        let d = Digest::new(HashAlgorithm::Sha256, vec![1; 32]).unwrap();
        assert!(sign_input(KeyAlgorithm::EcP256, SignAlgorithm::RsaPss, &d).is_err());
        assert!(sign_input(KeyAlgorithm::Rsa3072, SignAlgorithm::Ecdsa, &d).is_err());
        let (_, input) = sign_input(KeyAlgorithm::Rsa3072, SignAlgorithm::RsaPkcs1v15, &d).unwrap();
        assert_eq!(input.len(), 19 + 32);
    }

    #[test]
    fn ecdsa_der_rejects_odd_lengths() {
        assert!(ecdsa_signature_der(&[1; 63]).is_err());
        let der = ecdsa_signature_der(&[1; 64]).unwrap();
        assert_eq!(der[0], 0x30);
    }
}
