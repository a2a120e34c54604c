//! Seals for machines (CSC API v2 §8.5): an organisation's system client lists and reads its
//! organisation's seal, has a SAD issued for up to its quota of hashes, and signs them, with no
//! person involved. Part of [`Signing`].
//!
//! The only credential a system client can see or use is its own organisation's live seal;
//! any other id is `credential_not_found`, as an unknown one is. An authorization asks for at
//! most the client's quota and the seal policy's maximum of signatures (`quota_exceeded`
//! above) and counts against the client's authorizations per minute (`rate_limited` over,
//! across nodes). The SAD names the client (`cli`), so only that client can spend it; the
//! activation is the client's own key (`private_key_jwt`, [`ActivationFactor::Client`]) at
//! SCAL1 with the level of its token (Substantial), so a policy that asks for more refuses it.
//! Every authorization, signature and refusal is audited with the client as the actor
//! (`client:<id>`) under the organisation (`org:<cvr>`).

use super::{
    check_label, hash_algorithm, parse_hashes, sign_parts, Hashes, SignHash, SignTarget, Signing,
    Target,
};
use crate::audit::Context;
use crate::identity::loa::Loa;
use crate::identity::machine::Machine;
use crate::keys::policy::Scal;
use crate::keys::Credential;
use crate::sam::{Grant, Sad};
use crate::service::{CredentialInfo, Error, ErrorCode};
use crate::types::{ActivationFactor, UnixTime};

/// The audit context of a system client's request.
fn machine_ctx(machine: &Machine, request_id: Option<String>) -> Context {
    Context::client(machine.client_id.clone(), request_id)
}

fn not_found() -> Error {
    crate::keys::Error::NotFound.into()
}

impl Signing {
    /// The credentials a system client may use: its organisation's live seal, if it has one.
    ///
    /// # Errors
    /// Store failures.
    pub async fn machine_credentials(&self, machine: &Machine) -> Result<Vec<Credential>, Error> {
        Ok(self.keys.seal(&machine.cvr).await?.into_iter().collect())
    }

    /// The organisation's seal with its certificate chain, when `id` is it.
    ///
    /// # Errors
    /// `credential_not_found` for any other id.
    pub async fn machine_credential_info(
        &self,
        machine: &Machine,
        id: &str,
    ) -> Result<CredentialInfo, Error> {
        let credential = self.machine_seal(machine, id).await?;
        self.info_of(credential).await
    }

    /// `credentials/authorize` by a system client: a SAD for up to its quota of the seal's
    /// signatures over these hashes, within its rate.
    ///
    /// # Errors
    /// `credential_not_found`, `credential_suspended`, `credential_revoked`,
    /// `quota_exceeded`, `rate_limited`, `invalid_request`, `unsupported_algorithm`,
    /// `activation_too_weak` (a seal policy that needs more than the client's key).
    pub async fn machine_authorize(
        &self,
        machine: &Machine,
        request: &Hashes,
        request_id: Option<String>,
    ) -> Result<Sad, Error> {
        let ctx = machine_ctx(machine, request_id);
        let result = self.machine_grant(machine, request, &ctx).await;
        self.activation_outcome(&ctx, &request.credential_id, result)
            .await
    }

    /// The checks of a system client's authorization, then the SAD.
    async fn machine_grant(
        &self,
        machine: &Machine,
        request: &Hashes,
        ctx: &Context,
    ) -> Result<Sad, Error> {
        let now = self.now();
        let credential = self.machine_seal(machine, &request.credential_id).await?;
        credential.usable()?;
        let algorithm = hash_algorithm(request.hash_algorithm.as_deref())?;
        let hashes = parse_hashes(&request.hashes, algorithm)?;
        let count = u32::try_from(hashes.len()).unwrap_or(u32::MAX);
        let asked = request.num_signatures.unwrap_or(count);
        let quota = machine
            .max_per_authorization
            .min(credential.policy.max_signatures);
        if asked > quota || count > quota {
            return Err(Error::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "this system client may authorize at most {quota} signatures at once; {} asked",
                    asked.max(count)
                ),
            ));
        }
        check_label(request.label.as_deref())?;
        let target = Target::new(credential, algorithm, hashes, request.num_signatures)?;
        if !self.identity.count_authorization(machine, now).await? {
            return Err(Error::new(
                ErrorCode::RateLimited,
                format!(
                    "this system client may authorize {} times a minute; wait for the next minute",
                    machine.per_minute
                ),
            ));
        }
        let grant = Grant {
            credential: &target.credential,
            hash_algorithm: target.algorithm,
            hashes: target.hashes,
            num_signatures: target.n,
            loa: Loa::Substantial,
            scal: Scal::Scal1,
            factor: ActivationFactor::Client,
            label: request.label.clone(),
        };
        Ok(self
            .sam
            .issue(&grant, ctx, UnixTime::from_secs(now))
            .await?)
    }

    /// `signatures/signHash` by a system client: the seal signs the hashes its SAD covers (a
    /// SAD issued to this client is required); DER signatures for ECDSA, in the order of the
    /// hashes.
    ///
    /// # Errors
    /// `credential_not_found`, `credential_suspended`, `credential_revoked`, `invalid_sad`,
    /// `sad_expired`, `sad_mismatch`, `hash_not_authorized`, `sad_used`, `sad_count_exceeded`,
    /// `unsupported_algorithm`, `invalid_request`.
    pub async fn machine_sign_hash(
        &self,
        machine: &Machine,
        request: &SignHash,
        request_id: Option<String>,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let ctx = machine_ctx(machine, request_id);
        let (target, sad) = match self.machine_sign_target(machine, request).await {
            Ok(checked) => checked,
            Err(e) => return Err(self.refuse_signature(&ctx, &request.credential_id, e).await),
        };
        self.signed_hashes(target, sad, &request.sign_algo, &ctx)
            .await
    }

    /// What a system client's signHash signs with, and its SAD.
    async fn machine_sign_target<'a>(
        &self,
        machine: &Machine,
        request: &'a SignHash,
    ) -> Result<(SignTarget, &'a str), Error> {
        let sad = request.sad.as_deref().ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidRequest,
                "SAD: a system client signs with the SAD of credentials/authorize",
            )
        })?;
        let credential = self.machine_seal(machine, &request.credential_id).await?;
        credential.usable()?;
        let (scheme, algorithm, hashes) = sign_parts(request, credential.algorithm)?;
        let target = SignTarget {
            credential,
            scheme,
            algorithm,
            hashes,
            spent: None,
        };
        Ok((target, sad))
    }

    /// The organisation's live seal when `id` is it; `credential_not_found` otherwise (another
    /// organisation's seal, someone's own credential, an unknown id alike).
    async fn machine_seal(&self, machine: &Machine, id: &str) -> Result<Credential, Error> {
        let seal = self.keys.seal(&machine.cvr).await?.ok_or_else(not_found)?;
        if seal.id.to_string() != id {
            return Err(not_found());
        }
        Ok(seal)
    }
}
