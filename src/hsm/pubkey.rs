//! Public keys read from the HSM, as DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
//!
//! EC keys: `CKA_EC_POINT` is a DER OCTET STRING around the SEC1 uncompressed point
//! (PKCS#11 §2.3.3); the SPKI carries id-ecPublicKey with the named curve (RFC 5480 §2).
//! RSA keys: `CKA_MODULUS` and `CKA_PUBLIC_EXPONENT` become `RSAPublicKey` (RFC 8017 A.1.1)
//! under rsaEncryption with NULL parameters (RFC 3279 §2.3.1).

use der::asn1::{BitString, OctetString, Uint};
use der::{Any, Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

use super::mechanism::KeyAlgorithm;
use super::Error;

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
#[derive(Sequence)]
struct RsaPublicKey {
    modulus: Uint,
    public_exponent: Uint,
}

/// SPKI DER for an EC key from its `CKA_EC_POINT` value.
pub(crate) fn ec_spki(algorithm: KeyAlgorithm, ec_point: &[u8]) -> Result<Vec<u8>, Error> {
    let params = algorithm
        .ec_params()
        .ok_or(Error::BadPublicKey("not an EC algorithm"))?;
    let point_len = match algorithm {
        KeyAlgorithm::EcP256 => 65,
        _ => 97,
    };
    // Some modules return the bare point instead of the OCTET STRING PKCS#11 asks for.
    let point = if ec_point.len() == point_len && ec_point.first() == Some(&0x04) {
        ec_point.to_vec()
    } else {
        OctetString::from_der(ec_point)
            .map_err(|_| Error::BadPublicKey("CKA_EC_POINT is not an OCTET STRING"))?
            .into_bytes()
            .into_vec()
    };
    if point.len() != point_len || point.first() != Some(&0x04) {
        return Err(Error::BadPublicKey(
            "EC point is not an uncompressed point on the curve",
        ));
    }
    let parameters = Any::from_der(params).map_err(|_| Error::BadPublicKey("curve parameters"))?;
    spki_der(ID_EC_PUBLIC_KEY, Some(parameters), &point)
}

/// SPKI DER for an RSA key from its modulus and public exponent (big-endian bytes).
pub(crate) fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, Error> {
    let key = RsaPublicKey {
        modulus: Uint::new(modulus).map_err(|_| Error::BadPublicKey("modulus"))?,
        public_exponent: Uint::new(exponent).map_err(|_| Error::BadPublicKey("exponent"))?,
    };
    let der = key
        .to_der()
        .map_err(|_| Error::BadPublicKey("RSAPublicKey encoding"))?;
    let null = Any::from_der(&[0x05, 0x00]).map_err(|_| Error::BadPublicKey("NULL"))?;
    spki_der(RSA_ENCRYPTION, Some(null), &der)
}

fn spki_der(oid: ObjectIdentifier, parameters: Option<Any>, key: &[u8]) -> Result<Vec<u8>, Error> {
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned { oid, parameters },
        subject_public_key: BitString::from_bytes(key)
            .map_err(|_| Error::BadPublicKey("BIT STRING"))?,
    };
    spki.to_der()
        .map_err(|_| Error::BadPublicKey("SubjectPublicKeyInfo encoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_is_accepted_wrapped_or_bare() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[9; 64]);
        let mut wrapped = vec![0x04, 65];
        wrapped.extend_from_slice(&point);
        let a = ec_spki(KeyAlgorithm::EcP256, &wrapped).unwrap();
        let b = ec_spki(KeyAlgorithm::EcP256, &point).unwrap();
        assert_eq!(a, b);
        // SEQUENCE { SEQUENCE { ecPublicKey, prime256v1 }, BIT STRING (66 bytes) }
        assert_eq!(a.len(), 91);
    }

    #[test]
    fn ec_point_of_wrong_size_is_rejected() {
        assert!(ec_spki(KeyAlgorithm::EcP384, &[0x04, 3, 4, 1, 2]).is_err());
        assert!(ec_spki(KeyAlgorithm::Rsa3072, &[0x04]).is_err());
    }
}
