//! `credentials/extendTransaction`: a new SAD for the further signatures of an approved
//! transaction, sharing the original's count of uses and expiring with it. Part of
//! [`Signing`].

use super::Signing;
use crate::identity::Principal;
use crate::sam::Sad;
use crate::service::{person_ctx, Error};
use crate::types::UnixTime;

impl Signing {
    /// A new SAD for the rest of the transaction `sad` approved for `credential_id`: the same
    /// hashes and uses (a signature made under either SAD counts for both), no later expiry.
    /// The credential must still be able to sign, with the caller's login at its policy's
    /// level. A refusal is recorded as a refused activation.
    ///
    /// # Errors
    /// `credential_not_found`, `credential_suspended`, `credential_revoked`,
    /// `insufficient_loa`, `invalid_sad`, `sad_expired` (past the original's lifetime),
    /// `sad_mismatch`, `sad_count_exceeded` (every approved signature made).
    pub async fn extend_transaction(
        &self,
        principal: &Principal,
        credential_id: &str,
        sad: &str,
        request_id: Option<String>,
    ) -> Result<Sad, Error> {
        let ctx = person_ctx(principal, request_id);
        let result = async {
            let credential = self.signing_credential(principal, credential_id).await?;
            let now = UnixTime::from_secs(self.now());
            Ok(self.sam.extend(&credential, sad, &ctx, now).await?)
        }
        .await;
        self.activation_outcome(&ctx, credential_id, result).await
    }
}
