//! Key objects made in the token: the templates and generation of service and user key
//! pairs and of the data and records secrets, the unwrap template of user keys, reading a
//! public key back as SPKI, and destroying temporary objects.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use super::{pubkey, Error, KeyAlgorithm, DATA_KEY_LABEL, RECORDS_KEY_LABEL};

pub(super) fn destroy(session: &Session, handle: ObjectHandle) -> Result<(), Error> {
    session
        .destroy_object(handle)
        .map_err(|e| Error::DestroyFailed(format!("{e}")))
}

/// The template every unwrap must use; the master key's `CKA_UNWRAP_TEMPLATE` enforces the
/// token, sensitive and extractable attributes.
pub(super) fn unwrap_template(algorithm: KeyAlgorithm) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(if algorithm.is_ec() {
            KeyType::EC
        } else {
            KeyType::RSA
        }),
        Attribute::Token(false),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Copyable(false),
        Attribute::Derive(false),
        Attribute::Decrypt(false),
        Attribute::Unwrap(false),
        Attribute::Private(true),
        Attribute::Sign(true),
        // Last: SoftHSM applies the template in order and refuses any attribute after this.
        Attribute::Modifiable(false),
    ]
}

/// Generates the records key: a 256-bit generic secret, a token object that can compute and
/// check HMAC-SHA256 and nothing else.
pub(super) fn generate_records_key(session: &Session) -> Result<ObjectHandle, Error> {
    generate_secret(session, RECORDS_KEY_LABEL, KeyType::GENERIC_SECRET, false)
}

/// Generates the data key: AES-256, a token object that can encrypt and decrypt but never
/// wrap, unwrap, sign or leave the token.
pub(super) fn generate_data_key(session: &Session) -> Result<ObjectHandle, Error> {
    generate_secret(session, DATA_KEY_LABEL, KeyType::AES, true)
}

/// A 256-bit secret token object labelled `label`, sensitive, never extractable, modifiable
/// or copyable, never wrapping or deriving: for encryption (`encrypts`) or for MACs.
fn generate_secret(
    session: &Session,
    label: &str,
    key_type: KeyType,
    encrypts: bool,
) -> Result<ObjectHandle, Error> {
    let label = label.as_bytes().to_vec();
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(key_type),
        Attribute::ValueLen(32.into()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Modifiable(false),
        Attribute::Copyable(false),
        Attribute::Encrypt(encrypts),
        Attribute::Decrypt(encrypts),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Sign(!encrypts),
        Attribute::Verify(!encrypts),
        Attribute::Derive(false),
        Attribute::Label(label.clone()),
        Attribute::Id(label),
    ];
    let mechanism = if encrypts {
        Mechanism::AesKeyGen
    } else {
        Mechanism::GenericSecretKeyGen
    };
    session
        .generate_key(&mechanism, &template)
        .map_err(|e| Error::from_ck("C_GenerateKey(secret)", e))
}

/// Generates a key pair. With a label, both halves are token objects (service keys, never
/// extractable); without, session objects whose private half can be wrapped once.
pub(super) fn generate_pair(
    session: &Session,
    algorithm: KeyAlgorithm,
    label: Option<&str>,
) -> Result<(ObjectHandle, ObjectHandle), Error> {
    let token = label.is_some();
    let mut public = vec![
        Attribute::Token(token),
        Attribute::Private(false),
        Attribute::Verify(true),
    ];
    let mut private = vec![
        Attribute::Token(token),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(!token),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
    ];
    if let Some(label) = label {
        for t in [&mut public, &mut private] {
            t.push(Attribute::Label(label.as_bytes().to_vec()));
            t.push(Attribute::Id(label.as_bytes().to_vec()));
        }
        private.push(Attribute::Modifiable(false));
    }
    generate_pair_with(session, algorithm, public, &private)
}

/// Generates a key pair from the two templates, adding the algorithm's parameters to the
/// public one: the curve for EC, 3072 bits and exponent 65537 for RSA.
pub(super) fn generate_pair_with(
    session: &Session,
    algorithm: KeyAlgorithm,
    mut public: Vec<Attribute>,
    private: &[Attribute],
) -> Result<(ObjectHandle, ObjectHandle), Error> {
    let mechanism = match algorithm.ec_params() {
        Some(params) => {
            public.push(Attribute::EcParams(params.to_vec()));
            Mechanism::EccKeyPairGen
        }
        None => {
            public.push(Attribute::ModulusBits(3072.into()));
            public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
            Mechanism::RsaPkcsKeyPairGen
        }
    };
    session
        .generate_key_pair(&mechanism, &public, private)
        .map_err(|e| Error::from_ck("C_GenerateKeyPair", e))
}

pub(super) fn public_key_der(
    session: &Session,
    algorithm: KeyAlgorithm,
    handle: ObjectHandle,
) -> Result<Vec<u8>, Error> {
    if algorithm.is_ec() {
        let attrs = session
            .get_attributes(handle, &[AttributeType::EcPoint])
            .map_err(|e| Error::from_ck("C_GetAttributeValue", e))?;
        let point = attrs.iter().find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p.as_slice()),
            _ => None,
        });
        pubkey::ec_spki(
            algorithm,
            point.ok_or(Error::BadPublicKey("no CKA_EC_POINT"))?,
        )
    } else {
        let attrs = session
            .get_attributes(
                handle,
                &[AttributeType::Modulus, AttributeType::PublicExponent],
            )
            .map_err(|e| Error::from_ck("C_GetAttributeValue", e))?;
        let mut modulus = None;
        let mut exponent = None;
        for a in &attrs {
            match a {
                Attribute::Modulus(m) => modulus = Some(m.as_slice()),
                Attribute::PublicExponent(e) => exponent = Some(e.as_slice()),
                _ => {}
            }
        }
        pubkey::rsa_spki(
            modulus.ok_or(Error::BadPublicKey("no CKA_MODULUS"))?,
            exponent.ok_or(Error::BadPublicKey("no CKA_PUBLIC_EXPONENT"))?,
        )
    }
}
