//! Algorithm identifiers of the CSC API: hash algorithm OIDs, and the signature algorithm OIDs
//! each key type can use (`signAlgo`).

use crate::hsm::{HashAlgorithm, KeyAlgorithm, SignAlgorithm};

const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const RSA_PSS: &str = "1.2.840.113549.1.1.10";
const RSA_SHA256: &str = "1.2.840.113549.1.1.11";
const RSA_SHA384: &str = "1.2.840.113549.1.1.12";
const RSA_SHA512: &str = "1.2.840.113549.1.1.13";

/// A hash algorithm by OID; also accepts the names `SHA256`, `SHA-256` and so on that some
/// clients send.
#[must_use]
pub fn hash_from_oid(oid: &str) -> Option<HashAlgorithm> {
    match oid.trim().to_ascii_uppercase().replace('-', "").as_str() {
        SHA256 | "SHA256" => Some(HashAlgorithm::Sha256),
        SHA384 | "SHA384" => Some(HashAlgorithm::Sha384),
        SHA512 | "SHA512" => Some(HashAlgorithm::Sha512),
        _ => None,
    }
}

/// The OID of a hash algorithm.
#[must_use]
pub const fn hash_oid(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => SHA256,
        HashAlgorithm::Sha384 => SHA384,
        HashAlgorithm::Sha512 => SHA512,
    }
}

/// The `signAlgo` OIDs a key can use, the preferred one first (CSC `key/algo`).
#[must_use]
pub const fn sign_algos(key: KeyAlgorithm) -> &'static [&'static str] {
    match key {
        KeyAlgorithm::EcP256 | KeyAlgorithm::EcP384 => {
            &[ECDSA_SHA256, ECDSA_SHA384, ECDSA_SHA512, EC_PUBLIC_KEY]
        }
        KeyAlgorithm::Rsa3072 => &[RSA_SHA256, RSA_SHA384, RSA_SHA512, RSA_PSS, RSA_ENCRYPTION],
    }
}

/// The signature scheme and hash for a `signAlgo` on a key. A `signAlgo` that names a hash
/// (`ecdsa-with-SHA256`, `sha256WithRSAEncryption`) decides it and must agree with
/// `hashAlgorithmOID` when both are given; a bare one (`id-ecPublicKey`, `rsaEncryption`,
/// `RSASSA-PSS`) takes the hash from `hashAlgorithmOID`. `None` when the combination is not
/// possible.
#[must_use]
pub fn scheme(
    sign_algo: &str,
    hash: Option<HashAlgorithm>,
    key: KeyAlgorithm,
) -> Option<(SignAlgorithm, HashAlgorithm)> {
    let named = |h: HashAlgorithm| (hash.is_none() || hash == Some(h)).then_some(h);
    let (scheme, hash) = match sign_algo.trim() {
        ECDSA_SHA256 => (SignAlgorithm::Ecdsa, named(HashAlgorithm::Sha256)?),
        ECDSA_SHA384 => (SignAlgorithm::Ecdsa, named(HashAlgorithm::Sha384)?),
        ECDSA_SHA512 => (SignAlgorithm::Ecdsa, named(HashAlgorithm::Sha512)?),
        EC_PUBLIC_KEY => (SignAlgorithm::Ecdsa, hash?),
        RSA_SHA256 => (SignAlgorithm::RsaPkcs1v15, named(HashAlgorithm::Sha256)?),
        RSA_SHA384 => (SignAlgorithm::RsaPkcs1v15, named(HashAlgorithm::Sha384)?),
        RSA_SHA512 => (SignAlgorithm::RsaPkcs1v15, named(HashAlgorithm::Sha512)?),
        RSA_ENCRYPTION => (SignAlgorithm::RsaPkcs1v15, hash?),
        RSA_PSS => (SignAlgorithm::RsaPss, hash?),
        _ => return None,
    };
    (key.is_ec() == (scheme == SignAlgorithm::Ecdsa)).then_some((scheme, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_by_oid_and_name() {
        assert_eq!(hash_from_oid(SHA256), Some(HashAlgorithm::Sha256));
        assert_eq!(hash_from_oid("sha-384"), Some(HashAlgorithm::Sha384));
        assert_eq!(hash_from_oid("1.3.14.3.2.26"), None);
        for h in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            assert_eq!(hash_from_oid(hash_oid(h)), Some(h));
        }
    }

    #[test]
    fn schemes_fit_keys_and_hashes() {
        let p256 = KeyAlgorithm::EcP256;
        assert_eq!(
            scheme(ECDSA_SHA256, None, p256),
            Some((SignAlgorithm::Ecdsa, HashAlgorithm::Sha256))
        );
        assert_eq!(
            scheme(EC_PUBLIC_KEY, Some(HashAlgorithm::Sha384), p256),
            Some((SignAlgorithm::Ecdsa, HashAlgorithm::Sha384))
        );
        // A hash named twice must agree.
        assert_eq!(
            scheme(ECDSA_SHA256, Some(HashAlgorithm::Sha512), p256),
            None
        );
        // A bare algorithm needs the hash.
        assert_eq!(scheme(EC_PUBLIC_KEY, None, p256), None);
        // RSA schemes on an EC key, and the reverse, are refused.
        assert_eq!(scheme(RSA_SHA256, None, p256), None);
        assert_eq!(scheme(ECDSA_SHA256, None, KeyAlgorithm::Rsa3072), None);
        assert_eq!(
            scheme(RSA_PSS, Some(HashAlgorithm::Sha256), KeyAlgorithm::Rsa3072),
            Some((SignAlgorithm::RsaPss, HashAlgorithm::Sha256))
        );
        for key in [KeyAlgorithm::EcP256, KeyAlgorithm::Rsa3072] {
            for algo in sign_algos(key) {
                let fits = scheme(algo, None, key).is_some()
                    || scheme(algo, Some(HashAlgorithm::Sha256), key).is_some();
                assert!(fits, "{algo}");
            }
        }
        assert_eq!(scheme("1.2.3", Some(HashAlgorithm::Sha256), p256), None);
    }
}
