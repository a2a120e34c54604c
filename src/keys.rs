//! Signing credentials: a key pair generated inside the HSM, wrapped under the master key, the
//! wrapped blob and the certificate in the database, under one signature policy
//! (`policies/signature.toml`).
//!
//! Nothing per-user stays in the HSM, so one HSM serves any number of credentials. This module
//! creates, lists, suspends, resumes and revokes credentials; it never makes the HSM use a user
//! key: only the `sam` module does that, after checking signature activation data.

pub mod algo;
mod ephemeral;
mod lifecycle;
mod mandates;
pub mod policy;
mod records;

use std::sync::Arc;

use crate::audit::{self, Audit, Context, Event};
use crate::hsm::{self, Hsm, KeyAlgorithm, Record, WrappedKey};
use crate::identity::credential_record;
use crate::pki::{
    self, Employee, LegalPerson, NaturalPerson, Pki, PseudonymousEmployee, Reason, Subject,
};
use crate::store::{self, CredentialRow, Store};
use crate::types::{CredentialId, PersonId};
pub use ephemeral::Approval;
pub use lifecycle::DESTROYED_KEY;
use policy::{Policies, Policy};

/// What can go wrong with credentials.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such credential for this person (also when it belongs to someone else).
    #[error("no such credential")]
    NotFound,
    /// The credential is suspended.
    #[error("the credential is suspended")]
    Suspended,
    /// The credential is revoked.
    #[error("the credential is revoked")]
    Revoked,
    /// No such signature policy.
    #[error("unknown signature policy {0:?}")]
    UnknownPolicy(String),
    /// The HSM failed.
    #[error(transparent)]
    Hsm(#[from] hsm::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The certificate could not be issued or revoked.
    #[error(transparent)]
    Pki(#[from] pki::Error),
    /// The audit record could not be written, so the change did not happen.
    #[error(transparent)]
    Audit(#[from] audit::Error),
    /// Stored data that does not decode.
    #[error("stored credential is damaged: {0}")]
    Damaged(String),
    /// More new credentials for one person in a day than allowed (each revoked one stays on
    /// the CRL that long-term signatures embed).
    #[error("at most {0} new credentials a day")]
    TooMany(i64),
}

/// New credentials one person may get in a day.
const MAX_NEW_PER_DAY: i64 = 10;

/// A credential's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Usable.
    Active,
    /// Temporarily unusable; can be resumed.
    Suspended,
    /// Unusable for good; its certificate is revoked.
    Revoked,
}

impl Status {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Suspended, Self::Revoked]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Whom a credential signs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The person, privately.
    Personal,
    /// The person on behalf of an organisation (employee certificate).
    Employee {
        /// CVR number.
        cvr: String,
    },
    /// The organisation itself (legal-person seal), used by members with the right.
    Seal {
        /// CVR number.
        cvr: String,
    },
}

impl Kind {
    const fn name(&self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::Employee { .. } => "employee",
            Self::Seal { .. } => "seal",
        }
    }

    /// The organisation's CVR for employee and seal credentials.
    #[must_use]
    pub fn cvr(&self) -> Option<&str> {
        match self {
            Self::Personal => None,
            Self::Employee { cvr } | Self::Seal { cvr } => Some(cvr),
        }
    }
}

/// What a new credential's certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum For {
    /// The person.
    Personal,
    /// The person for an organisation.
    Employee {
        /// Registered name.
        organization: String,
        /// CVR number.
        cvr: String,
    },
    /// The person for an organisation under a pseudonym: the certificate names the
    /// organisation and the pseudonym, not the person.
    AnonymousEmployee {
        /// Registered name.
        organization: String,
        /// CVR number.
        cvr: String,
        /// The membership's pseudonym (a UUID).
        pseudonym: String,
    },
    /// The organisation (its seal).
    Seal {
        /// Registered name.
        organization: String,
        /// CVR number.
        cvr: String,
    },
}

/// A credential as the rest of qsign sees it.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The CSC `credentialID`.
    pub id: CredentialId,
    /// The owner.
    pub person: PersonId,
    /// The signature policy.
    pub policy: Arc<Policy>,
    /// The key type.
    pub algorithm: KeyAlgorithm,
    /// Certificate serial, hex.
    pub serial: String,
    /// Certificate, DER.
    pub certificate: Vec<u8>,
    /// State.
    pub status: Status,
    /// Unix seconds.
    pub created_at: i64,
    /// Personal, employee or seal.
    pub kind: Kind,
    /// The wrapped key: opaque outside the HSM; only `sam` hands it back to the HSM.
    pub(crate) wrapped: WrappedKey,
}

impl Credential {
    /// The audit subject of what the credential signs: the person, or the organisation
    /// (`org:<cvr>`) for employee and seal credentials (the actor names the member).
    #[must_use]
    pub fn audit_subject(&self) -> String {
        self.kind.cvr().map_or_else(
            || format!("person:{}", self.person),
            |cvr| format!("org:{cvr}"),
        )
    }

    /// What the credential is, for people choosing one: the policy's description, and for an
    /// organisation's credential whom it acts for (the organisation's name from the
    /// certificate).
    #[must_use]
    pub fn description(&self) -> String {
        let organisation = pki::organization(&self.certificate).unwrap_or_default();
        match &self.kind {
            Kind::Personal => format!("{} (personal)", self.policy.description),
            Kind::Employee { cvr } => format!(
                "{}, on behalf of {organisation} (CVR {cvr})",
                self.policy.description
            ),
            Kind::Seal { cvr } => format!("Seal of {organisation} (CVR {cvr})"),
        }
    }

    /// Key length in bits (CSC `key/len`).
    #[must_use]
    pub const fn key_len(&self) -> u32 {
        match self.algorithm {
            KeyAlgorithm::EcP256 => 256,
            KeyAlgorithm::EcP384 => 384,
            KeyAlgorithm::Rsa3072 => 3072,
        }
    }

    /// The named curve's OID for EC keys (CSC `key/curve`).
    #[must_use]
    pub const fn curve_oid(&self) -> Option<&'static str> {
        match self.algorithm {
            KeyAlgorithm::EcP256 => Some("1.2.840.10045.3.1.7"),
            KeyAlgorithm::EcP384 => Some("1.3.132.0.34"),
            KeyAlgorithm::Rsa3072 => None,
        }
    }

    /// The signature algorithm OIDs the key can use (CSC `key/algo`).
    #[must_use]
    pub const fn sign_algos(&self) -> &'static [&'static str] {
        algo::sign_algos(self.algorithm)
    }

    /// Refuses a credential that cannot sign now.
    ///
    /// # Errors
    /// [`Error::Suspended`], [`Error::Revoked`].
    pub const fn usable(&self) -> Result<(), Error> {
        match self.status {
            Status::Active => Ok(()),
            Status::Suspended => Err(Error::Suspended),
            Status::Revoked => Err(Error::Revoked),
        }
    }
}

/// The person a credential is made for.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Person id.
    pub id: PersonId,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
}

/// Credential management.
#[derive(Debug, Clone)]
pub struct Keys {
    store: Store,
    hsm: Hsm,
    pki: Pki,
    audit: Audit,
    policies: Arc<Vec<Arc<Policy>>>,
    country: String,
}

impl Keys {
    /// Builds the credential manager; `country` is the ISO 3166 code put in certificates.
    #[must_use]
    pub fn new(
        store: Store,
        hsm: Hsm,
        pki: Pki,
        audit: Audit,
        policies: &Policies,
        country: &str,
    ) -> Self {
        Self {
            store,
            hsm,
            pki,
            audit,
            policies: Arc::new(policies.all().iter().cloned().map(Arc::new).collect()),
            country: country.to_owned(),
        }
    }

    /// A policy by name.
    #[must_use]
    pub fn policy(&self, name: &str) -> Option<Arc<Policy>> {
        self.policies.iter().find(|p| p.name == name).cloned()
    }

    fn credential(&self, row: CredentialRow) -> Result<Credential, Error> {
        let damaged = |what: &str| Error::Damaged(format!("{what} of credential {}", row.id));
        let kind = match (row.kind.as_str(), row.cvr.clone()) {
            ("personal", _) => Kind::Personal,
            ("employee", Some(cvr)) => Kind::Employee { cvr },
            ("seal", Some(cvr)) => Kind::Seal { cvr },
            _ => return Err(damaged("kind")),
        };
        Ok(Credential {
            kind,
            id: CredentialId::parse(&row.id).map_err(|_| damaged("id"))?,
            person: PersonId::parse(&row.person).map_err(|_| damaged("owner"))?,
            policy: self
                .policy(&row.policy)
                .ok_or_else(|| Error::UnknownPolicy(row.policy.clone()))?,
            algorithm: KeyAlgorithm::parse(&row.algorithm).ok_or_else(|| damaged("algorithm"))?,
            status: Status::parse(&row.status).ok_or_else(|| damaged("status"))?,
            wrapped: WrappedKey::decode(&row.wrapped).map_err(|_| damaged("wrapped key"))?,
            serial: row.serial,
            certificate: row.certificate,
            created_at: row.created_at,
        })
    }

    /// A person's own credentials (personal and employee), oldest first (credentials under a
    /// policy that is no longer configured are left out).
    ///
    /// # Errors
    /// Store failures, damaged rows.
    pub async fn list(&self, person: &PersonId) -> Result<Vec<Credential>, Error> {
        Ok(self.listed(person).await?.0)
    }

    /// Whether each credential row carries its integrity tag (one HSM round trip). A row
    /// given another owner, policy, kind or organisation by a database writer fails.
    async fn intact(&self, rows: &[CredentialRow]) -> Result<Vec<bool>, Error> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let checks: Vec<(Record<'_>, Option<&[u8]>)> = rows
            .iter()
            .map(|r| (credential_record(r), r.mac.as_deref()))
            .collect();
        Ok(self.hsm.records_intact(&checks).await?)
    }

    /// A stored credential, if its integrity tag verifies and it was not deleted
    /// ([`Error::NotFound`] otherwise).
    async fn checked(&self, row: CredentialRow) -> Result<Credential, Error> {
        if lifecycle::destroyed(&row) {
            return Err(Error::NotFound);
        }
        if self.intact(std::slice::from_ref(&row)).await?.first() != Some(&true) {
            return Err(Error::NotFound);
        }
        self.credential(row)
    }

    /// Any credential by id (the caller decides whether the person may use it).
    ///
    /// # Errors
    /// [`Error::NotFound`]; store failures.
    pub async fn by_id(&self, id: &str) -> Result<Credential, Error> {
        let Ok(id) = CredentialId::parse(id) else {
            return Err(Error::NotFound);
        };
        let row = self
            .store
            .credential(&id.to_string())
            .await?
            .ok_or(Error::NotFound)?;
        self.checked(row).await
    }

    /// A credential by id with the use count of a SAD, read in one query (what a signature
    /// request needs); without a SAD, the credential alone.
    ///
    /// # Errors
    /// [`Error::NotFound`] (also when its integrity tag fails); store failures.
    pub async fn by_id_with_sad_uses(
        &self,
        id: &str,
        sad: Option<&str>,
    ) -> Result<(Credential, Option<i64>), Error> {
        let Some(sad) = sad else {
            return Ok((self.by_id(id).await?, None));
        };
        let Ok(id) = CredentialId::parse(id) else {
            return Err(Error::NotFound);
        };
        let (row, used) = self
            .store
            .credential_and_sad_uses(&id.to_string(), sad)
            .await?
            .ok_or(Error::NotFound)?;
        Ok((self.checked(row).await?, Some(used)))
    }

    /// The live seal credential of an organisation.
    ///
    /// # Errors
    /// Store failures, damaged rows.
    pub async fn seal(&self, cvr: &str) -> Result<Option<Credential>, Error> {
        match self.store.seal_credential(cvr).await? {
            Some(row) => match self.checked(row).await {
                Ok(c) => Ok(Some(c)),
                Err(Error::NotFound) => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    /// One of `person`'s credentials. Someone else's credential is [`Error::NotFound`] too, so
    /// that ids cannot be probed.
    ///
    /// # Errors
    /// [`Error::NotFound`]; store failures.
    pub async fn owned(&self, person: &PersonId, id: &str) -> Result<Credential, Error> {
        let credential = self.by_id(id).await?;
        if credential.person != *person {
            return Err(Error::NotFound);
        }
        Ok(credential)
    }

    /// Makes sure the person has a live credential under every enabled policy, creating what
    /// is missing (but not under a policy whose credential the person deleted: they said they
    /// want none, until `credentials/create`); returns all their credentials.
    ///
    /// # Errors
    /// HSM, PKI, store and audit failures.
    pub async fn ensure(
        &self,
        owner: &Owner,
        ctx: &Context,
        now: i64,
    ) -> Result<Vec<Credential>, Error> {
        let (existing, deleted) = self.listed(&owner.id).await?;
        for policy in self
            .policies
            .iter()
            .filter(|p| p.enabled && !deleted.contains(&p.name))
        {
            let live = existing.iter().any(|c| {
                c.policy.name == policy.name
                    && c.status != Status::Revoked
                    && c.kind == Kind::Personal
            });
            if !live {
                match self
                    .create(owner, &policy.name, &For::Personal, ctx, now)
                    .await
                {
                    // Another request or node created it meanwhile.
                    Err(Error::Store(store::Error::Conflict)) => {}
                    other => {
                        other?;
                    }
                }
            }
        }
        self.list(&owner.id).await
    }

    /// Creates a credential under `policy`: a key pair generated in the HSM and wrapped, a
    /// certificate with the policy's profile (natural person, employee or legal person as
    /// `acting` says), the row and its audit record in one transaction. For a seal, `owner` is
    /// the administrator who makes it.
    ///
    /// # Errors
    /// [`Error::UnknownPolicy`]; [`Error::Store`] with `Conflict` when the person already has a
    /// live credential under it (or the organisation a live seal); HSM, PKI and audit failures.
    pub async fn create(
        &self,
        owner: &Owner,
        policy: &str,
        acting: &For,
        ctx: &Context,
        now: i64,
    ) -> Result<Credential, Error> {
        let policy = self
            .policy(policy)
            .ok_or_else(|| Error::UnknownPolicy(policy.to_owned()))?;
        // A revoke and re-create loop would grow the CRL every B-LT signature embeds.
        let recent = self
            .store
            .credentials(&owner.id.to_string())
            .await?
            .iter()
            .filter(|c| c.created_at > now - 86_400)
            .count();
        if i64::try_from(recent).unwrap_or(i64::MAX) >= MAX_NEW_PER_DAY {
            return Err(Error::TooMany(MAX_NEW_PER_DAY));
        }
        let (wrapped, spki) = self.hsm.generate_wrapped(policy.key_algorithm).await?;
        let person = self.natural_person(owner, &policy);
        let (subject, kind) = match acting {
            For::Personal => (Subject::NaturalPerson(person), Kind::Personal),
            For::Employee { organization, cvr } => (
                Subject::Employee(Employee {
                    person,
                    organization: organization.clone(),
                    cvr: cvr.clone(),
                }),
                Kind::Employee { cvr: cvr.clone() },
            ),
            For::AnonymousEmployee {
                organization,
                cvr,
                pseudonym,
            } => (
                Subject::PseudonymousEmployee(PseudonymousEmployee {
                    pseudonym: pseudonym.clone(),
                    organization: organization.clone(),
                    cvr: cvr.clone(),
                    country: self.country.clone(),
                    qualified: policy.qualified,
                }),
                Kind::Employee { cvr: cvr.clone() },
            ),
            For::Seal { organization, cvr } => (
                Subject::LegalPerson(LegalPerson {
                    organization: organization.clone(),
                    cvr: cvr.clone(),
                    country: self.country.clone(),
                }),
                Kind::Seal { cvr: cvr.clone() },
            ),
        };
        let issued = self
            .pki
            .issue_under(&spki, &subject, policy.oid, ctx, now)
            .await?;
        let id = CredentialId::random();
        let row = CredentialRow {
            id: id.to_string(),
            person: owner.id.to_string(),
            policy: policy.name.clone(),
            algorithm: policy.key_algorithm.as_str().to_owned(),
            wrapped: wrapped.encode(),
            serial: issued.serial.clone(),
            certificate: issued.der.clone(),
            status: Status::Active.as_str().to_owned(),
            created_at: now,
            updated_at: now,
            kind: kind.name().to_owned(),
            cvr: kind.cvr().map(str::to_owned),
            mac: None,
        };
        let row = CredentialRow {
            mac: Some(self.hsm.tag_record(&credential_record(&row)).await?),
            ..row
        };
        let mut tx = self.store.begin().await?;
        if let Err(e) = tx.insert_credential(&row).await {
            drop(tx);
            // The certificate names a key nobody will ever use: withdraw it.
            self.pki
                .revoke(&issued.serial, Reason::CessationOfOperation, ctx, now)
                .await?;
            return Err(e.into());
        }
        let subject = kind.cvr().map_or_else(
            || format!("person:{}", owner.id),
            |cvr| format!("org:{cvr}"),
        );
        let entry = ctx.entry(
            Some(subject),
            Event::CredentialCreated {
                credential: id.to_string(),
                policy: policy.name.clone(),
            },
        );
        self.audit
            .append_and_commit(tx, &entry, now.saturating_mul(1000))
            .await?;
        self.credential(row)
    }

    /// Suspends an active credential or resumes a suspended one; `false` when it already was
    /// in that state.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Revoked`]; store and audit failures.
    pub async fn set_suspended(
        &self,
        person: &PersonId,
        id: &str,
        suspended: bool,
        ctx: &Context,
        now: i64,
    ) -> Result<bool, Error> {
        let credential = self.owned(person, id).await?;
        self.suspend_credential(&credential, suspended, ctx, now)
            .await
    }

    /// Suspends (or resumes) a credential the caller was found entitled to change.
    ///
    /// # Errors
    /// [`Error::Revoked`]; store and audit failures.
    pub async fn suspend_credential(
        &self,
        credential: &Credential,
        suspended: bool,
        ctx: &Context,
        now: i64,
    ) -> Result<bool, Error> {
        if credential.status == Status::Revoked {
            return Err(Error::Revoked);
        }
        let (status, event) = if suspended {
            (
                Status::Suspended,
                Event::CredentialSuspended {
                    credential: credential.id.to_string(),
                },
            )
        } else {
            (
                Status::Active,
                Event::CredentialResumed {
                    credential: credential.id.to_string(),
                },
            )
        };
        self.change_status(credential, status, event, ctx, now)
            .await
    }

    /// Revokes one of a person's credentials and its certificate.
    ///
    /// # Errors
    /// [`Error::NotFound`]; PKI, store and audit failures.
    pub async fn revoke(
        &self,
        person: &PersonId,
        id: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<bool, Error> {
        let credential = self.owned(person, id).await?;
        self.revoke_credential(&credential, ctx, now).await
    }

    /// Revokes a person's live employee credentials for an organisation (the right was taken
    /// away or the member removed); answers how many.
    ///
    /// # Errors
    /// PKI, store and audit failures.
    pub async fn revoke_employee(
        &self,
        person: &PersonId,
        cvr: &str,
        ctx: &Context,
        now: i64,
    ) -> Result<usize, Error> {
        let mut revoked = 0;
        for credential in self.list(person).await? {
            let employee = matches!(&credential.kind, Kind::Employee { cvr: c } if c == cvr);
            if employee && credential.status != Status::Revoked {
                self.revoke_credential(&credential, ctx, now).await?;
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// Revokes a credential and its certificate.
    ///
    /// # Errors
    /// PKI, store and audit failures.
    pub async fn revoke_credential(
        &self,
        credential: &Credential,
        ctx: &Context,
        now: i64,
    ) -> Result<bool, Error> {
        let event = Event::CredentialRevoked {
            credential: credential.id.to_string(),
        };
        let changed = self
            .change_status(credential, Status::Revoked, event, ctx, now)
            .await?;
        // Also when the row was already revoked: a crash between the two steps is repaired by
        // revoking again.
        self.pki
            .revoke(&credential.serial, Reason::CessationOfOperation, ctx, now)
            .await?;
        Ok(changed)
    }

    async fn change_status(
        &self,
        credential: &Credential,
        status: Status,
        event: Event,
        ctx: &Context,
        now: i64,
    ) -> Result<bool, Error> {
        // The new status is covered by the row's tag too: a database writer cannot set a
        // revoked or suspended credential back to active.
        let id = credential.id.to_string();
        let mac = self
            .tag_credential(credential, &credential.wrapped.encode(), status)
            .await?;
        let mut tx = self.store.begin().await?;
        if !tx
            .set_credential_status(&id, status.as_str(), now, &mac)
            .await?
        {
            return Ok(false);
        }
        let entry = ctx.entry(Some(credential.audit_subject()), event);
        self.audit
            .append_and_commit(tx, &entry, now.saturating_mul(1000))
            .await?;
        Ok(true)
    }

    /// The certificate subject of `owner` under `policy`: their name, person id and this
    /// service's country.
    fn natural_person(&self, owner: &Owner, policy: &Policy) -> NaturalPerson {
        NaturalPerson {
            given_name: owner.given_name.clone(),
            family_name: owner.family_name.clone(),
            person_id: owner.id,
            country: self.country.clone(),
            qualified: policy.qualified,
        }
    }

    /// The integrity tag of `credential`'s row as it is to be stored, with the key blob
    /// `wrapped` and `status`: both are covered, so neither can be changed in the database.
    async fn tag_credential(
        &self,
        credential: &Credential,
        wrapped: &[u8],
        status: Status,
    ) -> Result<Vec<u8>, Error> {
        let (id, person) = (credential.id.to_string(), credential.person.to_string());
        Ok(self
            .hsm
            .tag_record(&Record::Credential {
                id: &id,
                person: &person,
                policy: &credential.policy.name,
                kind: credential.kind.name(),
                cvr: credential.kind.cvr(),
                algorithm: credential.algorithm.as_str(),
                wrapped,
                status: status.as_str(),
            })
            .await?)
    }
}
