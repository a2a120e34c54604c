//! An organisation's system clients: machines that use the organisation's seal with no person
//! involved (CSC API v2 §8.5, OAuth 2.0 `client_credentials`, RFC 6749 §4.4).
//!
//! An administrator of the organisation registers a client id with a public P-256 key, a quota
//! of signatures per authorization and a rate of authorizations per minute. The row is tagged
//! under the HSM's records key (it decides who may sign), and a client removed stops working
//! at once: every call reads its row again.
//!
//! The client authenticates at the token endpoint with `private_key_jwt` (an assertion signed
//! by its key, single use, [`super::client_auth`]) and gets an access token for no person:
//! `sub` and `client_id` name the client, `scope` is `service`, `acr` Substantial (one
//! possession factor, its key, registered from a High login), and it is bound to a DPoP key
//! when a proof came with the request. Such a token is refused wherever a person acts
//! ([`Identity::authenticate_request`]); the CSC seal calls accept it
//! ([`Identity::authenticate_machine`]).

use super::client_auth::{ClientAssertion, ClientError};
use super::dpop::{public_jwk, Presented};
use super::loa::Loa;
use super::token::{self, Claims, Confirmation, TokenError};
use super::{Error, Identity, Issued};
use crate::audit::{Context, Event};
use crate::hsm;
use crate::store::{self, SystemClientRow};
use crate::types::PersonId;

/// Most signatures one authorization of a system client may be given (the seal policy's own
/// maximum applies too).
pub const MAX_QUOTA: u32 = 1000;

/// Most authorizations per minute a system client may be given.
pub const MAX_RATE: u32 = 10_000;

/// A registered system client, as its administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemClient {
    /// Its client id.
    pub client_id: String,
    /// The organisation whose seal it uses.
    pub cvr: String,
    /// Its public key (JWK: `kty`, `crv`, `x`, `y`).
    pub jwk: serde_json::Value,
    /// The key's RFC 7638 thumbprint.
    pub jkt: String,
    /// Most signatures per authorization.
    pub max_per_authorization: u32,
    /// Most authorizations per minute.
    pub per_minute: u32,
    /// Unix seconds.
    pub created_at: i64,
}

/// A system client authenticated by its access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Its client id (the audit records' actor, `client:<id>`).
    pub client_id: String,
    /// The organisation whose seal it may use.
    pub cvr: String,
    /// The token's id (for revocation).
    pub jti: String,
    /// The token's expiry.
    pub exp: i64,
    /// Most signatures per authorization.
    pub max_per_authorization: u32,
    /// Most authorizations per minute.
    pub per_minute: u32,
}

/// A system client as an administrator registers it.
#[derive(Debug, Clone, Copy)]
pub struct NewSystemClient<'a> {
    /// Its client id: 1 to 64 of `[A-Za-z0-9._-]`.
    pub client_id: &'a str,
    /// The organisation (checked by the caller to be the administrator's).
    pub cvr: &'a str,
    /// Its public key: a P-256 JWK.
    pub jwk: &'a serde_json::Value,
    /// Most signatures per authorization, 1 to [`MAX_QUOTA`].
    pub max_per_authorization: u32,
    /// Most authorizations per minute, 1 to [`MAX_RATE`].
    pub per_minute: u32,
}

/// What a system client's tag covers.
fn record(row: &SystemClientRow) -> hsm::Record<'_> {
    hsm::Record::SystemClient {
        client_id: &row.client_id,
        cvr: &row.cvr,
        jwk: &row.jwk,
        max_per_authorization: row.max_per_authorization,
        per_minute: row.per_minute,
    }
}

/// A row as its administrators see it.
fn system_client(row: &SystemClientRow) -> SystemClient {
    SystemClient {
        client_id: row.client_id.clone(),
        cvr: row.cvr.clone(),
        jwk: serde_json::from_str(&row.jwk).unwrap_or(serde_json::Value::Null),
        jkt: row.jkt.clone(),
        max_per_authorization: u32::try_from(row.max_per_authorization).unwrap_or(0),
        per_minute: u32::try_from(row.per_minute).unwrap_or(0),
        created_at: row.created_at,
    }
}

/// Whether a client id is 1 to 64 of `[A-Za-z0-9._-]`.
fn valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl Identity {
    /// Registers a system client of an organisation (whose administrator `by` is, as the
    /// caller checked) and records it.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an id, key, quota or rate that does not fit;
    /// [`Error::ClientExists`] for an id taken (also by a configured client); store, HSM and
    /// audit failures.
    pub async fn register_system_client(
        &self,
        new: &NewSystemClient<'_>,
        by: &PersonId,
        ctx: &Context,
        now: i64,
    ) -> Result<SystemClient, Error> {
        if !valid_client_id(new.client_id) {
            return Err(Error::InvalidRequest(
                "client_id: 1 to 64 of [A-Za-z0-9._-]".into(),
            ));
        }
        if !(1..=MAX_QUOTA).contains(&new.max_per_authorization)
            || !(1..=MAX_RATE).contains(&new.per_minute)
        {
            return Err(Error::InvalidRequest(format!(
                "max_signatures_per_authorization: 1 to {MAX_QUOTA}; authorizations_per_minute: 1 to {MAX_RATE}"
            )));
        }
        if self.client(new.client_id).is_some() {
            return Err(Error::ClientExists);
        }
        let (_, jkt) = public_jwk(new.jwk).map_err(|_| {
            Error::InvalidRequest(
                "jwk: a public P-256 key (kty EC, crv P-256, x, y; no private member)".into(),
            )
        })?;
        // Kept in its canonical members only.
        let jwk = serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": new.jwk.get("x"),
            "y": new.jwk.get("y"),
        });
        let mut row = SystemClientRow {
            client_id: new.client_id.to_owned(),
            cvr: new.cvr.to_owned(),
            jwk: jwk.to_string(),
            jkt: jkt.clone(),
            max_per_authorization: i64::from(new.max_per_authorization),
            per_minute: i64::from(new.per_minute),
            created_by: by.to_string(),
            created_at: now,
            mac: None,
        };
        row.mac = Some(self.hsm.tag_record(&record(&row)).await?);
        match self.store.insert_system_client(&row).await {
            Err(store::Error::Conflict) => return Err(Error::ClientExists),
            other => other?,
        }
        let event = Event::ClientRegistered {
            cvr: new.cvr.to_owned(),
            client: new.client_id.to_owned(),
            jkt,
            max_signatures_per_authorization: new.max_per_authorization,
            authorizations_per_minute: new.per_minute,
        };
        self.audit
            .record(
                &ctx.entry(Some(format!("org:{}", new.cvr)), event),
                now.saturating_mul(1000),
            )
            .await?;
        Ok(system_client(&row))
    }

    /// An organisation's system clients whose rows are intact.
    ///
    /// # Errors
    /// Store and HSM failures.
    pub async fn system_clients(&self, cvr: &str) -> Result<Vec<SystemClient>, Error> {
        let rows = self.store.system_clients(cvr).await?;
        let checks: Vec<(hsm::Record<'_>, Option<&[u8]>)> = rows
            .iter()
            .map(|row| (record(row), row.mac.as_deref()))
            .collect();
        let intact = self.hsm.records_intact(&checks).await?;
        Ok(rows
            .iter()
            .zip(intact)
            .filter(|(_, ok)| *ok)
            .map(|(row, _)| system_client(row))
            .collect())
    }

    /// Removes an organisation's system client and records it; `false` when it has none by
    /// that id. Its tokens stop working at once.
    ///
    /// # Errors
    /// Store and audit failures.
    pub async fn remove_system_client(
        &self,
        cvr: &str,
        client_id: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<bool, Error> {
        if !self.store.delete_system_client(cvr, client_id).await? {
            return Ok(false);
        }
        let event = Event::ClientRemoved {
            cvr: cvr.to_owned(),
            client: client_id.to_owned(),
        };
        self.audit
            .record(
                &ctx.entry(Some(format!("org:{cvr}")), event),
                now.saturating_mul(1000),
            )
            .await?;
        Ok(true)
    }

    /// The `client_credentials` grant of a system client: its assertion (the client is
    /// `client_id`, or the assertion's issuer) verified with its registered key, then a token
    /// for the client, bound to the DPoP key `jkt` when a proof came with the request.
    ///
    /// # Errors
    /// [`Error::Client`]; store and HSM failures.
    pub async fn client_credentials(
        &self,
        client_id: Option<&str>,
        assertion: ClientAssertion<'_>,
        audiences: &[&str],
        jkt: Option<String>,
        now: i64,
    ) -> Result<Issued, Error> {
        let id = match client_id {
            Some(id) => id.to_owned(),
            None => token::unverified_issuer(assertion.assertion).ok_or(ClientError::Malformed)?,
        };
        let row = self
            .live_system_client(&id)
            .await?
            .ok_or(ClientError::Unknown)?;
        let jwk: serde_json::Value =
            serde_json::from_str(&row.jwk).map_err(|e| Error::Internal(e.to_string()))?;
        let (key, _) = public_jwk(&jwk).map_err(|e| Error::Internal(e.to_string()))?;
        self.check_assertion(assertion, &row.client_id, &[key], audiences, now)
            .await?;
        let lifetime = i64::try_from(self.settings.token_lifetime.as_secs()).unwrap_or(600);
        let loa = Loa::Substantial;
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub: row.client_id.clone(),
            aud: self.settings.audience.clone(),
            exp: now.saturating_add(lifetime),
            iat: now,
            nbf: Some(now),
            auth_time: now,
            acr: Some(loa.uri().to_owned()),
            // RFC 8176: proof of possession of a key.
            amr: vec!["pop".to_owned()],
            jti: uuid::Uuid::new_v4().to_string(),
            authorization_details: None,
            cnf: jkt.map(|jkt| Confirmation { jkt }),
            scope: Some("service".to_owned()),
            client_id: Some(row.client_id.clone()),
        };
        tracing::info!(client = %row.client_id, "system client token issued");
        self.sign_token(&claims, loa).await
    }

    /// Verifies a system client's access token as a request presents it: this issuer's,
    /// naming a client, its DPoP binding ([`super::dpop`]), not revoked, and the client still
    /// registered with an intact row.
    ///
    /// # Errors
    /// [`Error::Token`], [`Error::Dpop`]; store and HSM failures.
    pub async fn authenticate_machine(
        &self,
        presented: &Presented<'_>,
        now: i64,
    ) -> Result<Machine, Error> {
        let token = presented.token;
        if token::unverified_issuer(token).as_deref() != Some(self.settings.issuer.as_str()) {
            return Err(TokenError::Issuer.into());
        }
        let verifier = self.verifier().await?;
        let (claims, _) = self.verified.verify(&verifier, token, now)?;
        let client_id = claims.client_id.clone().ok_or(TokenError::NotAClient)?;
        if claims.sub != client_id {
            return Err(TokenError::Malformed.into());
        }
        let jkt = claims.cnf.as_ref().map(|c| c.jkt.as_str());
        self.check_binding(jkt, presented, now).await?;
        if self.store.token_revoked(&claims.jti).await? {
            return Err(TokenError::Revoked.into());
        }
        let row = self
            .live_system_client(&client_id)
            .await?
            .ok_or(TokenError::Revoked)?;
        let client = system_client(&row);
        Ok(Machine {
            client_id,
            cvr: client.cvr,
            jti: claims.jti,
            exp: claims.exp,
            max_per_authorization: client.max_per_authorization,
            per_minute: client.per_minute,
        })
    }

    /// Ends a system client's access token (CSC `auth/revoke`).
    ///
    /// # Errors
    /// Store failures.
    pub async fn revoke_machine(&self, machine: &Machine) -> Result<(), Error> {
        Ok(self.store.revoke_token(&machine.jti, machine.exp).await?)
    }

    /// Counts one authorization of a system client in the current minute (across nodes);
    /// `false`, counting nothing, when the client has had its rate in this minute.
    ///
    /// # Errors
    /// Store failures.
    pub async fn count_authorization(&self, machine: &Machine, now: i64) -> Result<bool, Error> {
        let window = now.saturating_sub(now.rem_euclid(60));
        Ok(self
            .store
            .count_client_use(&machine.client_id, window, i64::from(machine.per_minute))
            .await?)
    }

    /// A registered system client whose row is intact; `None` for one unknown, removed or
    /// written by someone without the HSM.
    async fn live_system_client(&self, id: &str) -> Result<Option<SystemClientRow>, Error> {
        let Some(row) = self.store.system_client(id).await? else {
            return Ok(None);
        };
        if !self
            .hsm
            .record_intact(record(&row), row.mac.as_deref())
            .await?
        {
            return Ok(None);
        }
        Ok(Some(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_short_plain_names() {
        assert!(valid_client_id("invoicing-1.prod_a"));
        let long = "a".repeat(65);
        for bad in ["", "a b", "é", "x/y", long.as_str()] {
            assert!(!valid_client_id(bad), "{bad}");
        }
    }
}
