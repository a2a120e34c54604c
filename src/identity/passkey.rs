//! Passkeys (WebAuthn with user verification, via webauthn-rs): enrolment, login as a second
//! factor beside a password or a TOTP code, and step-up of an existing session to High.
//!
//! Ceremony states live in the database (so any node can finish what another started), each
//! with a five-minute expiry, and are deleted in the statement that reads them: webauthn-rs
//! neither consumes nor dates a state, so finishing twice with one state would otherwise work.
//! The relying-party id is the host of the public URL, which must be a domain name
//! (`localhost` in development), not an IP address.

use std::collections::BTreeSet;

use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::loa::{Factor, Loa};
use super::{Error, Identity, Issued, Principal};
use crate::audit::{Context, Event};
use crate::store::{PasskeyRow, PersonRow};
use crate::types::PersonId;

/// How long a ceremony may take, seconds.
const STATE_LIFETIME: i64 = 300;

/// The relying party for a public URL, or `None` when passkeys cannot work there (an IP
/// address as host).
#[must_use]
pub fn relying_party(public_url: &str) -> Option<Webauthn> {
    let origin = Url::parse(public_url).ok()?;
    let host = origin.domain()?.to_owned();
    WebauthnBuilder::new(&host, &origin)
        .ok()?
        .rp_name("qsign")
        .build()
        .ok()
}

impl Identity {
    fn webauthn(&self) -> Result<&Webauthn, Error> {
        self.webauthn.as_deref().ok_or_else(|| {
            Error::InvalidAccount("passkeys need a public URL with a domain name".into())
        })
    }

    async fn person_row(&self, id: &PersonId) -> Result<PersonRow, Error> {
        self.store
            .person_by_id(&id.to_string())
            .await?
            .ok_or(Error::UnknownAccount)
    }

    /// A person's passkeys: the stored row and the parsed key. Rows whose integrity tag does
    /// not verify (a passkey moved here from another person, or edited) are left out.
    pub(super) async fn stored_passkeys(
        &self,
        person: &str,
    ) -> Result<Vec<(PasskeyRow, Passkey)>, Error> {
        let rows = self.store.passkeys(person).await?;
        let checks: Vec<(crate::hsm::Record<'_>, Option<&[u8]>)> = rows
            .iter()
            .map(|r| (passkey_record(r), r.mac.as_deref()))
            .collect();
        let intact = if checks.is_empty() {
            Vec::new()
        } else {
            self.hsm.records_intact(&checks).await?
        };
        rows.iter()
            .zip(intact)
            .filter(|(_, ok)| *ok)
            .map(|(row, _)| {
                let key = serde_json::from_str(&row.passkey)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                Ok((row.clone(), key))
            })
            .collect()
    }

    async fn keep_state<T: serde::Serialize>(
        &self,
        person: &str,
        kind: &str,
        state: &T,
        now: i64,
    ) -> Result<String, Error> {
        let id = uuid::Uuid::new_v4().to_string();
        let json = serde_json::to_string(state).map_err(|e| Error::Internal(e.to_string()))?;
        self.store
            .put_webauthn_state(&id, person, kind, &json, now + STATE_LIFETIME)
            .await?;
        Ok(id)
    }

    async fn take_state<T: serde::de::DeserializeOwned>(
        &self,
        id: &str,
        person: &str,
        kind: &str,
        now: i64,
    ) -> Result<T, Error> {
        let json = self
            .store
            .take_webauthn_state(id, person, kind, now)
            .await?
            .ok_or(Error::InvalidCredentials)?;
        serde_json::from_str(&json).map_err(|e| Error::Internal(e.to_string()))
    }

    /// Starts enrolling a passkey. A passkey yields High, so it is bound only at High: from a
    /// High session (an existing passkey), or with an enrolment code handed over out of band
    /// (`qsign user add` / `qsign user enrolment-code`), never from a Substantial session made
    /// of phishable factors. Persons of an external issuer have no local factors.
    ///
    /// # Errors
    /// [`Error::InsufficientLoa`] (High) without a High session or a code;
    /// [`Error::InvalidCredentials`] for a wrong, used or expired code; [`Error::LocalFactors`]
    /// for an external person; store failures.
    pub async fn passkey_register_start(
        &self,
        principal: &Principal,
        enrolment_code: Option<&str>,
        now: i64,
    ) -> Result<(String, CreationChallengeResponse), Error> {
        let code_hash = self.binding(principal, enrolment_code, now).await?;
        let person = self.person_row(&principal.person).await?;
        let existing = self
            .stored_passkeys(&person.id)
            .await?
            .into_iter()
            .map(|(_, p)| p.cred_id().clone())
            .collect();
        let display = format!("{} {}", person.given_name, person.family_name);
        let (challenge, state) = self
            .webauthn()?
            .start_passkey_registration(
                principal.person.as_uuid(),
                &person.username,
                &display,
                Some(existing),
            )
            .map_err(|e| Error::Internal(format!("webauthn: {e}")))?;
        let kept = RegisterState { code_hash, state };
        let id = self.keep_state(&person.id, "register", &kept, now).await?;
        Ok((id, challenge))
    }

    /// How a new factor may be bound: `None` from a High session, `Some(code hash)` with a
    /// valid enrolment code; otherwise refused.
    pub(super) async fn binding(
        &self,
        principal: &Principal,
        enrolment_code: Option<&str>,
        now: i64,
    ) -> Result<Option<String>, Error> {
        if principal.external {
            return Err(Error::LocalFactors);
        }
        match enrolment_code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => {
                let hash = enrolment_code_hash(code);
                let found = self
                    .store
                    .enrolment_code(&hash, &principal.person.to_string(), now, false)
                    .await?;
                if self.code_intact(&hash, principal, found).await? {
                    Ok(Some(hash))
                } else {
                    Err(Error::InvalidCredentials)
                }
            }
            None if principal.loa >= Loa::High => Ok(None),
            None => Err(Error::InsufficientLoa {
                required: Loa::High,
            }),
        }
    }

    /// Whether a stored enrolment code is the service's own (its tag verifies for this person):
    /// a code inserted by a database writer binds nothing.
    async fn code_intact(
        &self,
        hash: &str,
        principal: &Principal,
        found: Option<(i64, Option<Vec<u8>>)>,
    ) -> Result<bool, Error> {
        let Some((expires_at, mac)) = found else {
            return Ok(false);
        };
        Ok(self
            .hsm
            .record_intact(
                crate::hsm::Record::EnrolmentCode {
                    code_hash: hash,
                    person: &principal.person.to_string(),
                    expires_at,
                },
                mac.as_deref(),
            )
            .await?)
    }

    /// Spends the enrolment code of a binding (once, atomically) and says from when the new
    /// factor counts for High and how it was bound.
    pub(super) async fn bind(
        &self,
        principal: &Principal,
        code_hash: Option<&str>,
        now: i64,
    ) -> Result<(i64, &'static str), Error> {
        match code_hash {
            Some(hash) => {
                let spent = self
                    .store
                    .enrolment_code(hash, &principal.person.to_string(), now, true)
                    .await?;
                if !self.code_intact(hash, principal, spent).await? {
                    return Err(Error::InvalidCredentials);
                }
                let delay =
                    i64::try_from(self.settings.new_factor_delay.as_secs()).unwrap_or(i64::MAX);
                Ok((now.saturating_add(delay), "enrolment-code"))
            }
            None if principal.loa >= Loa::High => Ok((now, "high-session")),
            None => Err(Error::InsufficientLoa {
                required: Loa::High,
            }),
        }
    }

    /// Finishes enrolling a passkey.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] for an unknown, used or expired state or a bad
    /// attestation; store and audit failures.
    pub async fn passkey_register_finish(
        &self,
        principal: &Principal,
        state: &str,
        credential: &RegisterPublicKeyCredential,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        let person = principal.person.to_string();
        let kept: RegisterState = self.take_state(state, &person, "register", now).await?;
        let passkey = self
            .webauthn()?
            .finish_passkey_registration(credential, &kept.state)
            .map_err(|_| Error::InvalidCredentials)?;
        let (high_from, bound_by) = self.bind(principal, kept.code_hash.as_deref(), now).await?;
        let id = data_encoding::BASE64URL_NOPAD.encode(passkey.cred_id().as_ref());
        let json = serde_json::to_string(&passkey).map_err(|e| Error::Internal(e.to_string()))?;
        let mut row = PasskeyRow {
            credential_id: id,
            person_id: person.clone(),
            passkey: json,
            created_at: now,
            high_from,
            bound_by: bound_by.to_owned(),
            mac: None,
        };
        row.mac = Some(self.hsm.tag_record(&passkey_record(&row)).await?);
        match self.store.insert_passkey(&row).await {
            Err(crate::store::Error::Conflict) => return Err(Error::InvalidCredentials),
            other => other?,
        }
        let ctx = Context::person(principal.person, ctx.request_id.clone());
        let entry = ctx.entry(
            Some(format!("person:{person}")),
            Event::FactorEnrolled {
                factor: format!("webauthn ({bound_by})"),
            },
        );
        self.audit.record(&entry, now * 1000).await?;
        Ok(())
    }

    /// Starts a passkey login for a username. The answer has the same shape whether or not
    /// the account exists or has passkeys (a ceremony over no credentials that can never
    /// finish), so it does not tell which usernames have passkeys.
    ///
    /// # Errors
    /// Store failures.
    pub async fn passkey_login_start(
        &self,
        username: &str,
        now: i64,
    ) -> Result<(String, RequestChallengeResponse), Error> {
        let person = self
            .store
            .person_by_username(username)
            .await?
            .filter(|p| p.status == "active");
        let keys: Vec<Passkey> = match &person {
            Some(p) => self
                .stored_passkeys(&p.id)
                .await?
                .into_iter()
                .map(|(_, k)| k)
                .collect(),
            None => Vec::new(),
        };
        if keys.is_empty() {
            return self.decoy_ceremony(username, now).await;
        }
        let (challenge, state) = self
            .webauthn()?
            .start_passkey_authentication(&keys)
            .map_err(|e| Error::Internal(format!("webauthn: {e}")))?;
        let owner = person.map_or_else(String::new, |p| p.id);
        let id = self.keep_state(&owner, "login", &state, now).await?;
        Ok((id, challenge))
    }

    /// The answer for a username without passkeys: the same shape as a real one, with credential
    /// ids that webauthn-rs's fake generator derives from the username under a per-installation
    /// secret (stable, so asking twice tells nothing), and a kept state that no person owns, so
    /// the ceremony can never finish.
    async fn decoy_ceremony(
        &self,
        username: &str,
        now: i64,
    ) -> Result<(String, RequestChallengeResponse), Error> {
        use sha2::Digest as _;
        use webauthn_rs::fake::{FakePasskeyDistribution, WebauthnFakeCredentialGenerator};
        let secret = self.installation_secret("decoy_secret", now).await?;
        let key = sha2::Sha256::digest(secret.as_bytes());
        let generator = WebauthnFakeCredentialGenerator::<FakePasskeyDistribution>::new(&key)
            .map_err(|e| Error::Internal(format!("webauthn: {e}")))?;
        // The distribution sometimes draws no credential, which no real answer has (an account
        // without passkeys gets a decoy too): draw again under a derived name.
        let mut ids = Vec::new();
        for round in 0..8u8 {
            ids = generator
                .generate(&[username.as_bytes(), &[0, round]].concat())
                .map_err(|e| Error::Internal(format!("webauthn: {e}")))?;
            if !ids.is_empty() {
                break;
            }
        }
        let mut challenge = [0u8; 32];
        getrandom::fill(&mut challenge).map_err(|e| Error::Internal(e.to_string()))?;
        let b64 = |b: &[u8]| data_encoding::BASE64URL_NOPAD.encode(b);
        let rp_id = self
            .webauthn()?
            .get_allowed_origins()
            .first()
            .and_then(|o| o.host_str().map(str::to_owned))
            .unwrap_or_default();
        let options = serde_json::json!({
            "publicKey": {
                "challenge": b64(&challenge),
                "timeout": 300_000,
                "rpId": rp_id,
                "allowCredentials": ids
                    .iter()
                    .map(|id| serde_json::json!({"type": "public-key", "id": b64(id.as_ref())}))
                    .collect::<Vec<_>>(),
                "userVerification": "required",
            }
        });
        let options =
            serde_json::from_value(options).map_err(|e| Error::Internal(e.to_string()))?;
        let id = self
            .keep_state("", "login", &serde_json::Value::Null, now)
            .await?;
        Ok((id, options))
    }

    async fn authentication_start(
        &self,
        person: &str,
        kind: &str,
        now: i64,
    ) -> Result<(String, RequestChallengeResponse), Error> {
        let (challenge, state) = self.ceremony(person).await?;
        let id = self.keep_state(person, kind, &state, now).await?;
        Ok((id, challenge))
    }

    /// A new authentication ceremony over the person's passkeys.
    async fn ceremony(
        &self,
        person: &str,
    ) -> Result<(RequestChallengeResponse, PasskeyAuthentication), Error> {
        let keys: Vec<Passkey> = self
            .stored_passkeys(person)
            .await?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        if keys.is_empty() {
            return Err(Error::InvalidCredentials);
        }
        self.webauthn()?
            .start_passkey_authentication(&keys)
            .map_err(|e| Error::Internal(format!("webauthn: {e}")))
    }

    /// Checks a passkey assertion against a taken state and saves the new signature counter.
    /// Returns whether the passkey used counts for High now (see [`Identity::used`]).
    async fn authentication_finish(
        &self,
        person: &str,
        kind: &str,
        state: &str,
        credential: &PublicKeyCredential,
        now: i64,
    ) -> Result<bool, Error> {
        let authentication: PasskeyAuthentication =
            self.take_state(state, person, kind, now).await?;
        let result = self
            .webauthn()?
            .finish_passkey_authentication(credential, &authentication)
            .map_err(|_| Error::InvalidCredentials)?;
        self.used(person, &result, now).await
    }

    /// Saves the new signature counter of the passkey that was used, and says whether it counts
    /// for High now: a passkey bound by an enrolment code counts only from its `high_from`.
    async fn used(
        &self,
        person: &str,
        result: &webauthn_rs::prelude::AuthenticationResult,
        now: i64,
    ) -> Result<bool, Error> {
        let mut high = false;
        for (row, mut passkey) in self.stored_passkeys(person).await? {
            if passkey.cred_id() == result.cred_id() {
                high = row.high_from <= now;
            }
            if passkey.update_credential(result) == Some(true) {
                let json =
                    serde_json::to_string(&passkey).map_err(|e| Error::Internal(e.to_string()))?;
                let updated = PasskeyRow {
                    passkey: json,
                    ..row.clone()
                };
                let mac = self.hsm.tag_record(&passkey_record(&updated)).await?;
                self.store
                    .update_passkey(&row.credential_id, &updated.passkey, &mac)
                    .await?;
            }
        }
        Ok(high)
    }

    /// Checks the passkey assertion of a login and its second factor for the person the login
    /// names (if any, and active); returns the person, the factors and the highest level they
    /// may reach (Substantial while the passkey is in its delay).
    #[allow(clippy::too_many_arguments, reason = "one login form")]
    pub(super) async fn passkey_factors(
        &self,
        person: Option<PersonRow>,
        state: &str,
        credential: &PublicKeyCredential,
        second: SecondFactor<'_>,
        keys: &[String],
        ctx: &Context,
        now: i64,
    ) -> Result<(PersonRow, BTreeSet<Factor>, Loa), Error> {
        let Some(person) = person.filter(|p| p.status == "active") else {
            return Err(self.fail(keys, None, "invalid_credentials", ctx, now).await);
        };
        let subject = Some(format!("person:{}", person.id));
        let Ok(high) = self
            .authentication_finish(&person.id, "login", state, credential, now)
            .await
        else {
            return Err(self.fail(keys, subject, "passkey_refused", ctx, now).await);
        };
        let mut factors = BTreeSet::from([Factor::Webauthn]);
        factors.insert(
            self.check_second_factor(&person, second, keys, ctx, now)
                .await?,
        );
        let cap = if high { Loa::High } else { Loa::Substantial };
        Ok((person, factors, cap))
    }

    /// Steps a session up with a passkey: a new token whose factors are the old ones plus the
    /// passkey.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`]; store, HSM and audit failures.
    pub async fn passkey_stepup_start(
        &self,
        principal: &Principal,
        now: i64,
    ) -> Result<(String, RequestChallengeResponse), Error> {
        self.authentication_start(&principal.person.to_string(), "stepup", now)
            .await
    }

    /// Finishes a passkey step-up.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`]; store, HSM and audit failures.
    pub async fn passkey_stepup_finish(
        &self,
        principal: &Principal,
        state: &str,
        credential: &PublicKeyCredential,
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        let high = self
            .authentication_finish(
                &principal.person.to_string(),
                "stepup",
                state,
                credential,
                now,
            )
            .await?;
        let cap = if high { Loa::High } else { Loa::Substantial };
        self.step_up(principal, Factor::Webauthn, cap, ctx, now)
            .await
    }

    /// Starts a passkey assertion that activates a signature: the WebAuthn challenge is
    /// SHA-256 over a domain tag, a fresh nonce and `commitment` (which the caller derives from
    /// the credential and the exact hashes), so the authenticator signs over what is approved.
    /// Returns the state id and the request options.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] when the person has no passkey; store failures.
    pub async fn activation_start(
        &self,
        person: &PersonId,
        commitment: &[u8; 32],
        now: i64,
    ) -> Result<(String, RequestChallengeResponse), Error> {
        let (mut challenge, state) = self.ceremony(&person.to_string()).await?;
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| Error::Internal(e.to_string()))?;
        let bound = activation_challenge(&nonce, commitment);
        challenge.public_key.challenge = bound.to_vec();
        let state = with_challenge(&state, &bound)?;
        let kept = ActivationState {
            nonce: hex::encode(nonce),
            state,
        };
        let id = self
            .keep_state(&person.to_string(), "activation", &kept, now)
            .await?;
        Ok((id, challenge))
    }

    /// Checks the passkey assertion of an activation against `commitment` recomputed from the
    /// authorization request: an assertion made for other hashes or another credential fails.
    /// The state is used up. Returns whether the passkey counts for High now (a passkey still
    /// in its delay after an enrolment by code activates as SCAL1 only).
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`]; store failures.
    pub async fn activation_finish(
        &self,
        person: &PersonId,
        state: &str,
        commitment: &[u8; 32],
        credential: &PublicKeyCredential,
        now: i64,
    ) -> Result<bool, Error> {
        let person = person.to_string();
        let kept: ActivationState = self.take_state(state, &person, "activation", now).await?;
        let nonce = hex::decode(&kept.nonce).map_err(|e| Error::Internal(e.to_string()))?;
        let expected = with_challenge(&kept.state, &activation_challenge(&nonce, commitment))?;
        let result = self
            .webauthn()?
            .finish_passkey_authentication(credential, &expected)
            .map_err(|_| Error::InvalidCredentials)?;
        self.used(&person, &result, now).await
    }

    /// Checks a TOTP code as a signature activation factor: right, and not used before (not
    /// at login either).
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`], [`Error::CodeReused`], [`Error::Locked`]; store failures.
    pub async fn activation_totp(
        &self,
        person: &PersonId,
        otp: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<(), Error> {
        let person = self.person_row(person).await?;
        let keys = self.throttle_keys(&person.username, None);
        self.check_throttle(&keys, ctx, now).await?;
        self.check_second_factor(&person, SecondFactor::Totp(otp), &keys, ctx, now)
            .await?;
        for key in &keys {
            self.store.clear_throttle(key).await?;
        }
        Ok(())
    }

    /// Steps a session up with a TOTP code.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`], [`Error::CodeReused`]; store, HSM and audit failures.
    pub async fn totp_stepup(
        &self,
        principal: &Principal,
        otp: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        self.activation_totp(&principal.person, otp, ctx, now)
            .await?;
        // A TOTP code adds no passkey, so the level cannot rise above what the session's own
        // factors reached.
        let cap = principal.loa.max(Loa::Substantial);
        self.step_up(principal, Factor::Totp, cap, ctx, now).await
    }

    /// A new token with one more factor; its level is what the factors reach, but never above
    /// `cap` (a passkey still in its delay counts for Substantial only).
    async fn step_up(
        &self,
        principal: &Principal,
        added: Factor,
        cap: Loa,
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        let mut factors = principal.factors();
        factors.insert(added);
        let loa = self.policy.level(&factors).ok_or(Error::NoLevel)?.min(cap);
        let ctx = Context::person(principal.person, ctx.request_id.clone());
        let entry = ctx.entry(
            Some(format!("person:{}", principal.person)),
            Event::StepUp {
                loa: loa.uri().to_owned(),
            },
        );
        self.audit.record(&entry, now * 1000).await?;
        self.issue(principal.person, loa, &factors, now, now).await
    }
}

/// What a passkey row's integrity tag covers.
pub(super) fn passkey_record(row: &PasskeyRow) -> crate::hsm::Record<'_> {
    crate::hsm::Record::Passkey {
        person: &row.person_id,
        credential_id: &row.credential_id,
        passkey: &row.passkey,
        high_from: row.high_from,
        bound_by: &row.bound_by,
    }
}

/// A kept registration ceremony: the library's state and, when the binding is by enrolment
/// code, that code's hash (spent when the ceremony finishes).
#[derive(serde::Serialize, serde::Deserialize)]
struct RegisterState {
    code_hash: Option<String>,
    state: PasskeyRegistration,
}

/// How an enrolment code is kept: its SHA-256, hex (codes are 128 random bits).
#[must_use]
pub fn enrolment_code_hash(code: &str) -> String {
    use sha2::Digest as _;
    let normalised: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex::encode(sha2::Sha256::digest(normalised.as_bytes()))
}

/// A kept activation ceremony: the nonce of its challenge and the library's state.
#[derive(serde::Serialize, serde::Deserialize)]
struct ActivationState {
    nonce: String,
    state: PasskeyAuthentication,
}

/// The WebAuthn challenge of an activation.
fn activation_challenge(nonce: &[u8], commitment: &[u8; 32]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(b"qsign-activation-v1\0");
    h.update(nonce);
    h.update(commitment);
    h.finalize().into()
}

/// The authentication state with its challenge replaced. webauthn-rs always draws a random
/// challenge and offers no way to choose one; its serialised state keeps the challenge at
/// `ast.challenge` (base64url without padding). If a new version moves it, this fails loudly
/// instead of silently leaving the random challenge in place.
fn with_challenge(
    state: &PasskeyAuthentication,
    challenge: &[u8],
) -> Result<PasskeyAuthentication, Error> {
    use base64::Engine as _;
    let mut value = serde_json::to_value(state).map_err(|e| Error::Internal(e.to_string()))?;
    let slot = value
        .get_mut("ast")
        .and_then(|ast| ast.get_mut("challenge"))
        .filter(|c| c.is_string())
        .ok_or_else(|| Error::Internal("webauthn state has no ast.challenge".into()))?;
    *slot = serde_json::Value::String(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(challenge),
    );
    serde_json::from_value(value).map_err(|e| Error::Internal(e.to_string()))
}

/// What comes with a passkey at login.
#[derive(Debug, Clone, Copy)]
pub enum SecondFactor<'a> {
    /// The account password.
    Password(&'a str),
    /// A TOTP code.
    Totp(&'a str),
}
