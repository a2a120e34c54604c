//! The issuer as x509-cert's builder wants to see it: its public key and signature
//! algorithm. The private half stays in the HSM; signing happens between `finalize` and
//! `assemble`.

use spki::{AlgorithmIdentifierOwned, Document, DynSignatureAlgorithmIdentifier, EncodePublicKey};

#[derive(Debug, Clone)]
pub(super) struct SpkiKey(Vec<u8>);

impl EncodePublicKey for SpkiKey {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        Ok(Document::try_from(self.0.as_slice())?)
    }
}

#[derive(Debug)]
pub(super) struct IssuerShim {
    key: SpkiKey,
    algorithm: AlgorithmIdentifierOwned,
}

impl IssuerShim {
    pub(super) fn new(spki: Vec<u8>, algorithm: AlgorithmIdentifierOwned) -> Self {
        Self {
            key: SpkiKey(spki),
            algorithm,
        }
    }
}

impl signature::Keypair for IssuerShim {
    type VerifyingKey = SpkiKey;

    fn verifying_key(&self) -> SpkiKey {
        self.key.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for IssuerShim {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.algorithm.clone())
    }
}
