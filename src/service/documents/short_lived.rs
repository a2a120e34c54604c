//! `signatures/signDoc` with a signature qualifier: the documents are signed as for a
//! credential, with a key the SAM makes for the one operation under a short-lived certificate
//! (`sam::short_lived`).

use super::{approvals, check_count, cms_algorithms, Documents};
use crate::identity::Principal;
use crate::sam::{qualifier_subject, Derive};
use crate::service::document_types::{ShortLived, SignDoc, Signer, SigningKey};
use crate::service::{owner, person_ctx, Error, ShortLivedSigned, Signing};
use crate::types::UnixTime;

impl Documents {
    /// `signatures/signDoc` with a `signatureQualifier` and no `credentialID`: signs each
    /// document as [`Documents::sign_documents`] does, with a key the SAM makes for this
    /// operation and has certified for minutes under the qualifier's policy. The SAD (of
    /// `credentials/authorize` with the qualifier) covers what it covers for a credential:
    /// each document's approval (its SHA-256, or for a PDF with options the digest over it and
    /// the options). The signed attributes, `SignedProperties` and PDF signatures name the new
    /// certificate, which is made only once the SAD is spent; the key is destroyed after
    /// signing. Returns the signed documents (detached signatures) in order, and the chain.
    ///
    /// # Errors
    /// `invalid_request` (no SAD, a qualifier not offered, no or too many documents),
    /// `insufficient_loa`, `unsupported_algorithm`, `invalid_sad`, `sad_expired`,
    /// `sad_mismatch`, `hash_not_authorized`, `sad_used`, `sad_count_exceeded`; the document
    /// errors of [`Documents::sign_documents`].
    pub async fn sign_documents_short_lived(
        &self,
        principal: &Principal,
        qualifier: &str,
        request: &SignDoc,
        request_id: Option<String>,
    ) -> Result<ShortLivedSigned, Error> {
        let ctx = person_ctx(principal, request_id);
        let checked = async {
            let policy = self.signing.qualifier_policy(principal, qualifier)?;
            check_count(&request.documents)?;
            let algorithms =
                cms_algorithms(policy.key_algorithm.is_ec(), request.sign_algo.as_deref())?;
            let sad = Signing::qualifier_sad(request.sad.as_deref())?;
            let owner = owner(&self.store, &principal.person).await?;
            Ok::<_, Error>((policy, algorithms, sad, owner))
        }
        .await;
        let (policy, (scheme, algorithm, sign_algo), sad, owner) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                return Err(self
                    .signing
                    .refuse_signature(&ctx, &qualifier_subject(qualifier), e)
                    .await)
            }
        };
        let issuer = self.signing.identity.settings().issuer.clone();
        let short = ShortLived {
            qualifier,
            policy: &policy,
            owner: &owner,
            identity_provider: &issuer,
            keys: &self.signing.keys,
        };
        let signer = Signer {
            key: SigningKey::ShortLived(short),
            sad: &sad,
            scheme,
            algorithm,
            sign_algo,
        };
        let (digests, hashes) = approvals(&request.documents);
        // As for a credential: a forged or spent SAD is refused before any document work.
        self.sam
            .precheck_short_lived(
                &signer.short_lived_request(short, hashes.clone(), Derive::Hashes),
                &ctx,
                UnixTime::from_secs(self.now()),
            )
            .await?;
        let signed = self
            .sign_with(&signer, request, &digests, hashes, &ctx)
            .await?;
        Ok(ShortLivedSigned {
            signatures: signed.signatures,
            chain: self.signing.certificate_chain(signed.certificate).await?,
        })
    }
}
