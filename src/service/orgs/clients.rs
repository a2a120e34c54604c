//! An organisation's system clients, as its administrators manage them: registering one (a
//! client id and a public P-256 key for the organisation's seal, with a quota of signatures per
//! authorization and a rate of authorizations per minute) and removing one need a High login;
//! listing them a Substantial one. The clients then use the seal with no person involved
//! (`Signing`'s machine use cases).

use super::Organisations;
use crate::identity::loa::Loa;
use crate::identity::machine::{NewSystemClient, SystemClient};
use crate::identity::Principal;
use crate::service::{person_ctx, Error, ErrorCode};

/// A system client as an administrator registers it.
#[derive(Debug, Clone)]
pub struct ClientRegistration {
    /// Its client id: 1 to 64 of `[A-Za-z0-9._-]`.
    pub client_id: String,
    /// Its public key: a P-256 JWK (`kty`, `crv`, `x`, `y`).
    pub jwk: serde_json::Value,
    /// Most signatures one authorization may ask for (the seal policy's maximum applies too).
    pub max_signatures_per_authorization: u32,
    /// Most authorizations per minute.
    pub authorizations_per_minute: u32,
}

impl Organisations {
    /// Registers a system client for the organisation's seal.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found`, `forbidden` (not an
    /// administrator), `invalid_request`, `already_exists`.
    pub async fn register_client(
        &self,
        principal: &Principal,
        cvr: &str,
        registration: &ClientRegistration,
        request_id: Option<String>,
    ) -> Result<SystemClient, Error> {
        let cvr = self.administered(principal, Loa::High, cvr).await?;
        let ctx = person_ctx(principal, request_id);
        let new = NewSystemClient {
            client_id: &registration.client_id,
            cvr: cvr.as_str(),
            jwk: &registration.jwk,
            max_per_authorization: registration.max_signatures_per_authorization,
            per_minute: registration.authorizations_per_minute,
        };
        Ok(self
            .identity
            .register_system_client(&new, &principal.person, &ctx, self.now())
            .await?)
    }

    /// The organisation's system clients.
    ///
    /// # Errors
    /// `insufficient_loa` (Substantial), `invalid_cvr`, `not_found`, `forbidden`.
    pub async fn clients(
        &self,
        principal: &Principal,
        cvr: &str,
    ) -> Result<Vec<SystemClient>, Error> {
        let cvr = self.administered(principal, Loa::Substantial, cvr).await?;
        Ok(self.identity.system_clients(cvr.as_str()).await?)
    }

    /// Removes one of the organisation's system clients: its tokens stop working at once.
    ///
    /// # Errors
    /// `insufficient_loa` (High), `invalid_cvr`, `not_found` (also for no such client),
    /// `forbidden`.
    pub async fn remove_client(
        &self,
        principal: &Principal,
        cvr: &str,
        client_id: &str,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let cvr = self.administered(principal, Loa::High, cvr).await?;
        let ctx = person_ctx(principal, request_id);
        if self
            .identity
            .remove_system_client(cvr.as_str(), client_id, &ctx, self.now())
            .await?
        {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::NotFound,
                "the organisation has no system client by that id",
            ))
        }
    }
}
