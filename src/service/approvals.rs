//! Approval on the person's phone (CSC API v2.0.0.2: `credentials/authorize` answered 202 with
//! a `handle`, then `credentials/authorizeCheck`), as [`Signing`]. A relying party asks; the
//! person sees the request on qsign's approvals page, on any device where they are logged in,
//! and approves it with a passkey assertion over the hashes or refuses it; the relying party
//! collects the SAD.
//!
//! Security:
//! - Asking activates nothing: the request keeps the credential, the hashes with their labels,
//!   the asking token (`jti`) and its level.
//! - The approval is [`Signing::authorize`] with the passkey activation, so every check of a
//!   direct activation applies unchanged (credential state, policy, level, activation strength,
//!   `numSignatures`, the audit record of the SAD). It acts at the lower of the two logins'
//!   levels, the asking token's and the approving session's: a level is never raised by the
//!   other device.
//! - Only the person asked sees or decides a request, and only once; another person's request
//!   is `not_found`. Only the token that asked collects the SAD, once. Every change of state is
//!   a conditional update in the transaction of its audit record.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use super::{audit_error, person_ctx, unix_now_ms, Activation, Error, ErrorCode, Hashes, Signing};
use crate::audit::{Context, Event, Guard};
use crate::identity::loa::Loa;
use crate::identity::Principal;
use crate::keys::algo;
use crate::sam::Sad;
use crate::store::ApprovalRow;
use crate::types::{ActivationFactor, Digest, HashAlgorithm};

/// The longest label of a hash, in characters.
const LABEL_MAX: usize = 200;

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    /// Waiting for the person's decision.
    Pending,
    /// Approved; the SAD waits for the relying party.
    Approved,
    /// Refused by the person.
    Refused,
    /// Not decided in time.
    Expired,
    /// Approved, and the SAD handed out.
    Collected,
}

impl ApprovalState {
    /// The stored form.
    const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Refused => "refused",
            Self::Expired => "expired",
            Self::Collected => "collected",
        }
    }

    /// The state of a row at `now`: a pending request past its time has expired.
    fn of(row: &ApprovalRow, now: i64) -> Result<Self, Error> {
        let stored = match row.status.as_str() {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "refused" => Self::Refused,
            "expired" => Self::Expired,
            "collected" => Self::Collected,
            other => return Err(Error::internal(format!("approval status {other:?}"))),
        };
        Ok(if stored == Self::Pending && row.expires_at <= now {
            Self::Expired
        } else {
            stored
        })
    }
}

/// A request waiting for the person: its id and how long they have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingApproval {
    /// The id: the CSC `handle`, and the page `/approvals/{id}`.
    pub id: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// What `credentials/authorizeCheck` finds.
#[derive(Debug, Clone)]
pub enum ApprovalCheck {
    /// Not decided yet.
    Pending(PendingApproval),
    /// Approved: the SAD, handed out this once.
    Approved(Sad),
}

/// One hash of a request as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalHash {
    /// What it stands for, when the relying party said.
    pub label: Option<String>,
    /// The hash, hex.
    pub hex: String,
}

/// An approval request as its person sees it.
#[derive(Debug, Clone)]
pub struct Approval {
    /// Its id.
    pub id: String,
    /// Where it stands now.
    pub state: ApprovalState,
    /// The credential asked for, by id.
    pub credential_id: String,
    /// What the credential is (its policy, and whom it acts for).
    pub credential: String,
    /// The hash algorithm's name (`SHA-256`, ...).
    pub hash_name: &'static str,
    /// The hashes, in the order asked.
    pub hashes: Vec<ApprovalHash>,
    /// Signatures asked for.
    pub num_signatures: i64,
    /// What the hashes stand for (CSC `description`).
    pub description: Option<String>,
    /// The level of the asking login.
    pub loa: Loa,
    /// The factors of the asking login (RFC 8176 values).
    pub factors: Vec<String>,
    /// When it was asked, Unix seconds.
    pub created_at: i64,
    /// Until when the person may decide, Unix seconds.
    pub expires_at: i64,
}

/// One hash as kept: base64 and its label.
#[derive(Debug, Serialize, Deserialize)]
struct Item {
    hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

fn refused(code: ErrorCode) -> Error {
    Error::new(code, code.description())
}

fn not_found() -> Error {
    Error::new(ErrorCode::NotFound, "no such approval request")
}

/// Checks the labels of a request: as many as the hashes, each 1 to [`LABEL_MAX`]
/// characters without control characters.
fn checked_labels(labels: Option<Vec<String>>, count: usize) -> Result<Option<Vec<String>>, Error> {
    let Some(labels) = labels else {
        return Ok(None);
    };
    let bad = |m: String| Error::new(ErrorCode::InvalidRequest, m);
    if labels.len() != count {
        return Err(bad(format!("labels: one label per hash ({count})")));
    }
    for label in &labels {
        if label.trim().is_empty()
            || label.chars().count() > LABEL_MAX
            || label.chars().any(char::is_control)
        {
            return Err(bad(format!(
                "labels: each 1 to {LABEL_MAX} characters, without control characters"
            )));
        }
    }
    Ok(Some(labels))
}

/// The activation request of a kept approval request: its credential, hash algorithm, hashes,
/// number of signatures and description, exactly as asked.
fn hashes_of(row: &ApprovalRow) -> Result<Hashes, Error> {
    let items: Vec<Item> =
        serde_json::from_str(&row.hashes).map_err(|e| Error::internal(e.to_string()))?;
    let n = u32::try_from(row.num_signatures)
        .map_err(|_| Error::internal("approval num_signatures out of range"))?;
    Ok(Hashes {
        credential_id: row.credential.clone(),
        hash_algorithm: Some(row.hash_algorithm.clone()),
        hashes: items.into_iter().map(|i| i.hash).collect(),
        num_signatures: Some(n),
        label: row.description.clone(),
    })
}

const fn hash_name(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Sha256 => "SHA-256",
        HashAlgorithm::Sha384 => "SHA-384",
        HashAlgorithm::Sha512 => "SHA-512",
    }
}

impl Signing {
    /// `credentials/authorize` with `authMode` `oob`: checks the request as a direct
    /// activation does before its factor (credential, level, hashes, `numSignatures`,
    /// description) and keeps it for the person to decide on their phone. `labels`, when
    /// given, name each hash (one per hash, each at most 200 characters). The request expires
    /// after `signing.approval_lifetime_secs`, and never after the asking token.
    ///
    /// # Errors
    /// As [`Signing::authorize`] before the factor (each recorded as a refused activation);
    /// `invalid_request` for labels that do not fit.
    pub async fn ask_approval(
        &self,
        principal: &Principal,
        request: &Hashes,
        labels: Option<Vec<String>>,
        request_id: Option<String>,
    ) -> Result<PendingApproval, Error> {
        let ctx = person_ctx(principal, request_id);
        let result = self.ask_checked(principal, request, labels, &ctx).await;
        self.activation_outcome(&ctx, &request.credential_id, result)
            .await
    }

    async fn ask_checked(
        &self,
        principal: &Principal,
        request: &Hashes,
        labels: Option<Vec<String>>,
        ctx: &Context,
    ) -> Result<PendingApproval, Error> {
        let target = self.activation_target(principal, request).await?;
        let labels = checked_labels(labels, target.hashes.len())?;
        let now = self.now();
        // The request never outlives the token that may collect its SAD.
        let expires_at = now
            .saturating_add(self.approval_lifetime)
            .min(principal.exp);
        if expires_at <= now {
            return Err(Error::new(
                ErrorCode::InvalidToken,
                "the access token expires before the person could approve; log in again",
            ));
        }
        let items: Vec<Item> = target
            .hashes
            .iter()
            .enumerate()
            .map(|(i, h)| Item {
                hash: h.to_base64(),
                label: labels.as_ref().and_then(|l| l.get(i).cloned()),
            })
            .collect();
        let id = uuid::Uuid::new_v4().to_string();
        let hash_algorithm = algo::hash_oid(target.algorithm).to_owned();
        let row = ApprovalRow {
            id: id.clone(),
            person: principal.person.to_string(),
            token_id: principal.jti.clone(),
            loa: principal.loa.uri().to_owned(),
            amr: principal.amr.join(","),
            credential: target.credential.id.to_string(),
            hash_algorithm: hash_algorithm.clone(),
            hashes: serde_json::to_string(&items).map_err(|e| Error::internal(e.to_string()))?,
            num_signatures: i64::from(target.n),
            description: request.label.clone(),
            status: ApprovalState::Pending.as_str().to_owned(),
            sad: None,
            sad_expires_at: None,
            created_at: now,
            expires_at,
            decided_at: None,
        };
        let event = Event::ApprovalRequested {
            request: id.clone(),
            credential: row.credential.clone(),
            hash_algorithm,
            hashes: target
                .hashes
                .iter()
                .map(|h| hex::encode(h.as_bytes()))
                .collect(),
            labels,
            num_signatures: target.n,
            description: request.label.clone(),
            loa: row.loa.clone(),
            expires_at,
        };
        let subject = Some(target.credential.audit_subject());
        let guard: Guard =
            Box::new(move |tx| Box::pin(async move { tx.insert_approval(&row).await }));
        if !self.record_guarded(ctx, subject, guard, event).await? {
            return Err(Error::internal("a new approval request's id was taken"));
        }
        tracing::info!(credential = %target.credential.id, "approval asked on the person's phone");
        Ok(PendingApproval {
            id,
            expires_in: expires_at.saturating_sub(now),
        })
    }

    /// `credentials/authorizeCheck`: where the caller's request stands. The SAD of an approved
    /// request is handed out once, to the token that asked.
    ///
    /// # Errors
    /// `not_found` (an unknown id, or one another person or another token asked for),
    /// `authorization_refused`, `authorization_expired` (recorded the first time),
    /// `authorization_closed` (the SAD was collected already), `sad_expired` (approved, but
    /// the SAD expired before it was collected).
    pub async fn collect_approval(
        &self,
        principal: &Principal,
        id: &str,
        request_id: Option<String>,
    ) -> Result<ApprovalCheck, Error> {
        let ctx = person_ctx(principal, request_id);
        let now = self.now();
        let person = principal.person.to_string();
        let row = self
            .store
            .approval(id, &person)
            .await?
            .filter(|r| bool::from(r.token_id.as_bytes().ct_eq(principal.jti.as_bytes())))
            .ok_or_else(not_found)?;
        let subject = Some(format!("person:{person}"));
        match ApprovalState::of(&row, now)? {
            ApprovalState::Pending => Ok(ApprovalCheck::Pending(PendingApproval {
                expires_in: row.expires_at.saturating_sub(now),
                id: row.id,
            })),
            ApprovalState::Expired => {
                if row.status == ApprovalState::Pending.as_str() {
                    let event = Event::ApprovalExpired {
                        request: row.id.clone(),
                        credential: row.credential.clone(),
                    };
                    let (rid, p) = (row.id.clone(), person);
                    let guard: Guard = Box::new(move |tx| {
                        Box::pin(async move { tx.expire_approval(&rid, &p, now).await })
                    });
                    self.record_guarded(&ctx, subject, guard, event).await?;
                }
                Err(refused(ErrorCode::AuthorizationExpired))
            }
            ApprovalState::Refused => Err(refused(ErrorCode::AuthorizationRefused)),
            ApprovalState::Collected => Err(refused(ErrorCode::AuthorizationClosed)),
            ApprovalState::Approved => {
                let (Some(sad), Some(sad_expires_at)) = (row.sad.clone(), row.sad_expires_at)
                else {
                    return Err(Error::internal("an approved request without its SAD"));
                };
                if sad_expires_at <= now {
                    return Err(refused(ErrorCode::SadExpired));
                }
                let event = Event::ApprovalCollected {
                    request: row.id.clone(),
                    sad: crate::sam::unverified_sad_id(&sad)
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                };
                let (rid, p, token) = (row.id.clone(), person, principal.jti.clone());
                let guard: Guard = Box::new(move |tx| {
                    Box::pin(async move { tx.collect_approval(&rid, &p, &token, now).await })
                });
                if self.record_guarded(&ctx, subject, guard, event).await? {
                    tracing::info!(credential = %row.credential, "approved SAD handed out");
                    Ok(ApprovalCheck::Approved(Sad {
                        token: sad,
                        expires_in: sad_expires_at.saturating_sub(now),
                    }))
                } else {
                    Err(refused(ErrorCode::AuthorizationClosed))
                }
            }
        }
    }

    /// The person's requests that wait for their decision, oldest first.
    ///
    /// # Errors
    /// Store and HSM failures.
    pub async fn pending_approvals(&self, principal: &Principal) -> Result<Vec<Approval>, Error> {
        let now = self.now();
        let rows = self
            .store
            .pending_approvals(&principal.person.to_string(), now)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.view(row, now).await?);
        }
        Ok(out)
    }

    /// One of the person's requests, whatever its state.
    ///
    /// # Errors
    /// `not_found`, also for another person's request.
    pub async fn approval(&self, principal: &Principal, id: &str) -> Result<Approval, Error> {
        let row = self.own_approval(principal, id).await?;
        self.view(row, self.now()).await
    }

    /// Starts the passkey approval of one of the person's pending requests: the WebAuthn
    /// challenge commits to its credential and exact hashes (as
    /// [`Signing::activation_challenge`]). Returns the challenge id and the options for
    /// `navigator.credentials.get`.
    ///
    /// # Errors
    /// `not_found`, `authorization_expired`, `authorization_closed`, and those of
    /// [`Signing::activation_challenge`].
    pub async fn approval_challenge(
        &self,
        principal: &Principal,
        id: &str,
        request_id: Option<String>,
    ) -> Result<(String, serde_json::Value), Error> {
        let (row, acting) = self.decidable(principal, id).await?;
        self.activation_challenge(&acting, &hashes_of(&row)?, request_id)
            .await
    }

    /// Approves one of the person's pending requests with a passkey assertion over its
    /// hashes: the passkey activation of [`Signing::authorize`], at the lower level of the
    /// asking token and this session. The SAD waits for the relying party.
    ///
    /// # Errors
    /// `not_found`, `authorization_expired`, `authorization_closed` (decided already), and
    /// those of [`Signing::authorize`] (`activation_failed` for an assertion over other hashes).
    pub async fn approve(
        &self,
        principal: &Principal,
        id: &str,
        challenge_id: String,
        assertion: serde_json::Value,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let (row, acting) = self.decidable(principal, id).await?;
        let activation = Activation::Passkey {
            challenge_id,
            assertion,
        };
        let sad = self
            .authorize(&acting, &hashes_of(&row)?, activation, request_id.clone())
            .await?;
        let now = self.now();
        let ctx = person_ctx(principal, request_id);
        let event = Event::ApprovalGranted {
            request: row.id.clone(),
            credential: row.credential.clone(),
            sad: crate::sam::unverified_sad_id(&sad.token)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            factor: ActivationFactor::Webauthn.as_str().to_owned(),
        };
        let sad_expires_at = now.saturating_add(sad.expires_in);
        let (rid, p, token) = (row.id.clone(), row.person.clone(), sad.token);
        let guard: Guard = Box::new(move |tx| {
            Box::pin(async move {
                tx.grant_approval(&rid, &p, &token, sad_expires_at, now)
                    .await
            })
        });
        let subject = Some(format!("person:{}", row.person));
        if self.record_guarded(&ctx, subject, guard, event).await? {
            tracing::info!(credential = %row.credential, "approval granted on the person's phone");
            Ok(())
        } else {
            // Decided on another device meanwhile, or expired: the SAD just issued is dropped.
            Err(self.why_not(principal, id).await)
        }
    }

    /// Refuses one of the person's pending requests.
    ///
    /// # Errors
    /// `not_found`, `authorization_expired`, `authorization_closed` (decided already).
    pub async fn refuse_approval(
        &self,
        principal: &Principal,
        id: &str,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let (row, _) = self.decidable(principal, id).await?;
        let now = self.now();
        let ctx = person_ctx(principal, request_id);
        let event = Event::ApprovalRefused {
            request: row.id.clone(),
            credential: row.credential.clone(),
        };
        let (rid, p) = (row.id.clone(), row.person.clone());
        let guard: Guard =
            Box::new(move |tx| Box::pin(async move { tx.refuse_approval(&rid, &p, now).await }));
        let subject = Some(format!("person:{}", row.person));
        if self.record_guarded(&ctx, subject, guard, event).await? {
            Ok(())
        } else {
            Err(self.why_not(principal, id).await)
        }
    }

    /// One of the person's requests that waits for their decision, and whom its approval acts
    /// as: the person, at the lower level of the asking token and this session.
    async fn decidable(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(ApprovalRow, Principal), Error> {
        let row = self.own_approval(principal, id).await?;
        match ApprovalState::of(&row, self.now())? {
            ApprovalState::Pending => {}
            ApprovalState::Expired => return Err(refused(ErrorCode::AuthorizationExpired)),
            ApprovalState::Approved | ApprovalState::Refused | ApprovalState::Collected => {
                return Err(refused(ErrorCode::AuthorizationClosed))
            }
        }
        let asked = Loa::parse(&row.loa)
            .ok_or_else(|| Error::internal(format!("approval level {:?}", row.loa)))?;
        let acting = Principal {
            loa: principal.loa.min(asked),
            authorization_details: None,
            ..principal.clone()
        };
        Ok((row, acting))
    }

    /// Why a decision did not land: the request's state now.
    async fn why_not(&self, principal: &Principal, id: &str) -> Error {
        match self.decidable(principal, id).await {
            Err(e) => e,
            Ok(_) => refused(ErrorCode::AuthorizationClosed),
        }
    }

    async fn own_approval(&self, principal: &Principal, id: &str) -> Result<ApprovalRow, Error> {
        self.store
            .approval(id, &principal.person.to_string())
            .await?
            .ok_or_else(not_found)
    }

    /// A kept request as its person sees it.
    async fn view(&self, row: ApprovalRow, now: i64) -> Result<Approval, Error> {
        let state = ApprovalState::of(&row, now)?;
        let credential = match self.keys.by_id(&row.credential).await {
            Ok(c) => c.description(),
            // Revoked and gone, or no longer intact: the id is all there is to show.
            Err(crate::keys::Error::NotFound) => row.credential.clone(),
            Err(e) => return Err(e.into()),
        };
        let algorithm = algo::hash_from_oid(&row.hash_algorithm)
            .ok_or_else(|| Error::internal(format!("approval hash {:?}", row.hash_algorithm)))?;
        let items: Vec<Item> =
            serde_json::from_str(&row.hashes).map_err(|e| Error::internal(e.to_string()))?;
        let hashes = items
            .into_iter()
            .map(|i| -> Result<ApprovalHash, Error> {
                let digest = Digest::parse_base64(&i.hash, algorithm)
                    .map_err(|_| Error::internal("a kept hash does not parse"))?;
                Ok(ApprovalHash {
                    label: i.label,
                    hex: hex::encode(digest.as_bytes()),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Approval {
            state,
            credential,
            hash_name: hash_name(algorithm),
            hashes,
            num_signatures: row.num_signatures,
            loa: Loa::parse(&row.loa)
                .ok_or_else(|| Error::internal(format!("approval level {:?}", row.loa)))?,
            factors: row
                .amr
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: row.created_at,
            expires_at: row.expires_at,
            credential_id: row.credential,
            description: row.description,
            id: row.id,
        })
    }

    /// Appends `event` in the transaction where `guard` changes the request, if it says yes;
    /// answers the guard's answer once both are committed.
    async fn record_guarded(
        &self,
        ctx: &Context,
        subject: Option<String>,
        guard: Guard,
        event: Event,
    ) -> Result<bool, Error> {
        let entry = ctx.entry(subject, event);
        self.audit
            .record_if(guard, vec![entry], Vec::new(), unix_now_ms(&self.clock))
            .await
            .map_err(audit_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_one_per_hash_short_and_plain() {
        assert_eq!(checked_labels(None, 2).unwrap(), None);
        let two = vec!["Lease.pdf".to_owned(), "Annex.pdf".to_owned()];
        assert_eq!(checked_labels(Some(two.clone()), 2).unwrap(), Some(two));
        for bad in [
            vec!["only one".to_owned()],
            vec!["a".to_owned(), " ".to_owned()],
            vec!["a".to_owned(), "x".repeat(201)],
            vec!["a".to_owned(), "line\nbreak".to_owned()],
        ] {
            let e = checked_labels(Some(bad), 2).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest);
        }
    }

    #[test]
    fn a_pending_request_past_its_time_has_expired() {
        let row = ApprovalRow {
            id: "r".into(),
            person: "p".into(),
            token_id: "t".into(),
            loa: Loa::High.uri().into(),
            amr: "pwd,hwk".into(),
            credential: "c".into(),
            hash_algorithm: algo::hash_oid(HashAlgorithm::Sha256).into(),
            hashes: "[]".into(),
            num_signatures: 1,
            description: None,
            status: "pending".into(),
            sad: None,
            sad_expires_at: None,
            created_at: 100,
            expires_at: 400,
            decided_at: None,
        };
        assert_eq!(
            ApprovalState::of(&row, 399).unwrap(),
            ApprovalState::Pending
        );
        assert_eq!(
            ApprovalState::of(&row, 400).unwrap(),
            ApprovalState::Expired
        );
        let refused = ApprovalRow {
            status: "refused".into(),
            ..row.clone()
        };
        assert_eq!(
            ApprovalState::of(&refused, 500).unwrap(),
            ApprovalState::Refused
        );
        let odd = ApprovalRow {
            status: "lost".into(),
            ..row
        };
        assert!(ApprovalState::of(&odd, 0).is_err());
    }
}
