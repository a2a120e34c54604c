//! The records of the log: who did what ([`Entry`]), its canonical stored form ([`Record`]),
//! the hash chain over records, and the check of one stored row against its predecessor.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::store::AuditRow;
use crate::types::PersonId;

/// Version of the record encoding.
pub const RECORD_VERSION: u16 = 1;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Actor {
    /// A person, by their random UUID.
    Person(PersonId),
    /// The service itself (start-up, scheduled work).
    System,
    /// An anonymous client of a public endpoint (TSA, OCSP, validation).
    Anonymous,
    /// An organisation's system client, by its client id (a machine using the seal).
    Client(String),
}

impl Actor {
    /// The indexed text form: `person:<uuid>`, `system`, `anonymous`, `client:<id>`.
    #[must_use]
    pub fn key(&self) -> String {
        match self {
            Self::Person(id) => format!("person:{id}"),
            Self::System => "system".to_owned(),
            Self::Anonymous => "anonymous".to_owned(),
            Self::Client(id) => format!("client:{id}"),
        }
    }
}

/// What happened. Variant names are stable: they are stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Event {
    /// The service started with a configuration (fingerprint of the redacted configuration).
    ServiceStarted {
        /// SHA-256 hex of the effective configuration, secrets redacted.
        config_sha256: String,
        /// Version of qsign.
        version: String,
    },
    /// The service stopped.
    ServiceStopped,
    /// A certificate was issued.
    CertificateIssued {
        /// Serial, hex.
        serial: String,
        /// Profile role (`natural_person`, `tsa`, ...).
        role: String,
        /// Issuing CA.
        issuer: String,
    },
    /// A certificate was revoked.
    CertificateRevoked {
        /// Serial, hex.
        serial: String,
        /// RFC 5280 CRLReason code.
        reason: i32,
    },
    /// The TSA issued a timestamp token.
    TimestampIssued {
        /// Token serial, hex.
        serial: String,
        /// Hash algorithm of the imprint.
        hash_algorithm: String,
        /// The time-stamped hash, hex.
        imprint: String,
    },
    /// A login succeeded.
    Login {
        /// Level of assurance reached (URI).
        loa: String,
        /// Factors used.
        factors: Vec<String>,
    },
    /// A login failed.
    LoginFailed {
        /// Why, as an error code.
        reason: String,
    },
    /// An account was locked after repeated failures.
    Lockout {
        /// Until when (Unix ms).
        until_ms: i64,
    },
    /// A session was stepped up to a higher level of assurance.
    StepUp {
        /// New level (URI).
        loa: String,
    },
    /// A login factor was enrolled.
    FactorEnrolled {
        /// `password`, `totp`, `webauthn`.
        factor: String,
    },
    /// A login factor was removed by its owner (a lost phone or key).
    FactorRemoved {
        /// `totp`, `webauthn`.
        factor: String,
    },
    /// A credential was created.
    CredentialCreated {
        /// Credential id.
        credential: String,
        /// Signature policy.
        policy: String,
    },
    /// A credential was suspended.
    CredentialSuspended {
        /// Credential id.
        credential: String,
    },
    /// A suspended credential was resumed.
    CredentialResumed {
        /// Credential id.
        credential: String,
    },
    /// A credential was revoked.
    CredentialRevoked {
        /// Credential id.
        credential: String,
    },
    /// A revoked credential was deleted: its key destroyed, its row marked deleted.
    CredentialDeleted {
        /// Credential id.
        credential: String,
    },
    /// Signature activation data was issued.
    SadIssued {
        /// SAD id.
        sad: String,
        /// Credential id.
        credential: String,
        /// Signature policy.
        policy: String,
        /// Hash algorithm OID.
        hash_algorithm: String,
        /// Hashes covered, hex.
        hashes: Vec<String>,
        /// Signatures allowed.
        num_signatures: u32,
        /// Level of assurance of the caller's login (URI).
        loa: String,
        /// Activation control level reached (`1` or `2`).
        scal: String,
        /// The activation factor (`webauthn`, `oauth`, `external`, `totp`).
        factor: String,
        /// What the signer was shown the hashes stand for.
        label: Option<String>,
    },
    /// An activation was refused.
    ActivationRefused {
        /// Credential id as asked.
        credential: String,
        /// Why, as an error code.
        reason: String,
    },
    /// Signature activation data was used.
    SadConsumed {
        /// SAD id.
        sad: String,
        /// Uses consumed.
        count: u32,
    },
    /// Signature activation data was renewed for the rest of its transaction
    /// (`credentials/extendTransaction`): the same id, hashes and count of uses, no later
    /// expiry.
    SadExtended {
        /// SAD id (the original's, whose uses the new SAD shares).
        sad: String,
        /// Credential id.
        credential: String,
        /// Signatures still allowed.
        remaining: u32,
        /// The expiry (the original's), Unix seconds.
        expires_at: i64,
    },
    /// The key made for one signing operation under a short-lived certificate was destroyed
    /// after signing.
    ShortLivedKeyDestroyed {
        /// The short-lived certificate's serial, hex.
        serial: String,
        /// The key's label in the HSM.
        key: String,
        /// The SAD it signed under.
        sad: String,
    },
    /// A signature was made.
    SignatureMade {
        /// Credential id.
        credential: String,
        /// Hash signed, hex.
        hash: String,
        /// Signature algorithm OID.
        algorithm: String,
        /// Signature policy.
        policy: String,
        /// Level of assurance of the activation (URI).
        loa: String,
        /// The SAD used.
        sad: String,
    },
    /// A signing request was refused.
    SignatureRefused {
        /// Credential id as asked.
        credential: String,
        /// Why, as an error code.
        reason: String,
        /// The SAD presented, when it could be read.
        sad: Option<String>,
    },
    /// A file was validated.
    ValidationRequested {
        /// SHA-256 hex of the file.
        document_sha256: String,
    },
    /// An organisation right was granted.
    RightGranted {
        /// CVR number.
        cvr: String,
        /// The right.
        right: String,
        /// To whom.
        person: PersonId,
    },
    /// An organisation right was revoked.
    RightRevoked {
        /// CVR number.
        cvr: String,
        /// The right.
        right: String,
        /// From whom.
        person: PersonId,
    },
    /// An administrative action.
    AdminAction {
        /// What was done.
        action: String,
    },
    /// An organisation was registered.
    OrganisationCreated {
        /// CVR number.
        cvr: String,
        /// Registered name.
        name: String,
    },
    /// Someone was invited into an organisation.
    MemberInvited {
        /// CVR number.
        cvr: String,
        /// The invited person, when bound to one.
        person: Option<PersonId>,
        /// Joins as administrator.
        admin: bool,
    },
    /// A person joined an organisation (accepted an invitation, or as its first administrator).
    MemberJoined {
        /// CVR number.
        cvr: String,
        /// Who.
        person: PersonId,
        /// As administrator.
        admin: bool,
    },
    /// A member was removed from an organisation.
    MemberRemoved {
        /// CVR number.
        cvr: String,
        /// Who.
        person: PersonId,
    },
    /// A signing case was opened for a document on behalf of an organisation.
    CaseOpened {
        /// CVR number.
        cvr: String,
        /// The case id.
        case: String,
        /// Its title.
        title: String,
        /// The rule of representation it must meet.
        rule: String,
        /// SHA-256 hex of the document.
        sha256: String,
    },
    /// A document was signed on behalf of an organisation (in a role, or under a power of
    /// attorney); recorded under that organisation.
    SignedInCapacity {
        /// CVR number of the organisation signed for.
        cvr: String,
        /// The role signed in (`proxy` under a power of attorney).
        role: String,
        /// The power of attorney used, if any.
        mandate: Option<String>,
        /// The organisation holding that power of attorney, if one does.
        holder_cvr: Option<String>,
        /// SHA-256 hex of the document as uploaded.
        document_sha256: String,
    },
    /// A signature became part of a signing case.
    CaseSigned {
        /// CVR number.
        cvr: String,
        /// The case id.
        case: String,
        /// The role signed in.
        role: String,
        /// SHA-256 hex of the signed revision.
        sha256: String,
        /// Whether the rule is met with it.
        complete: bool,
    },
    /// A grantor's administrator offered a power of attorney (it waits for the grantee).
    MandateOffered(NewMandate),
    /// A grantee's administrator asked for a power of attorney (it waits for the grantor).
    MandateRequested(NewMandate),
    /// The operator granted a power of attorney, active at once.
    MandateGranted(NewMandate),
    /// The grantee accepted an offered power of attorney: active.
    MandateAccepted(MandateParties),
    /// The grantor approved a requested power of attorney: active.
    MandateApproved(MandateParties),
    /// An offer or a request of a power of attorney was refused.
    MandateRefused(MandateParties),
    /// A power of attorney was revoked (by the grantor), renounced (by the grantee) or
    /// withdrawn before it was active.
    MandateRevoked(MandateParties),
    /// The holding organisation's administrator gave a power of attorney to a member.
    MandateAssigned(MandateMember),
    /// The holding organisation's administrator took a power of attorney from a member.
    MandateUnassigned(MandateMember),
    /// An organisation's rule of representation was set.
    RuleSet {
        /// CVR number.
        cvr: String,
        /// The rule, in its canonical text.
        rule: String,
    },
    /// A member was given a role.
    RoleAdded {
        /// CVR number.
        cvr: String,
        /// To whom.
        person: PersonId,
        /// The role.
        role: String,
    },
    /// A member's role was taken away.
    RoleRemoved {
        /// CVR number.
        cvr: String,
        /// From whom.
        person: PersonId,
        /// The role.
        role: String,
    },
    /// A member asked for a right or a role.
    RequestMade {
        /// CVR number.
        cvr: String,
        /// The request's id.
        request: String,
        /// Who asks.
        person: PersonId,
        /// `right` or `role`.
        kind: String,
        /// What is asked for.
        name: String,
    },
    /// An administrator approved or refused a member's request.
    RequestDecided {
        /// CVR number.
        cvr: String,
        /// The request's id.
        request: String,
        /// Who asked.
        person: PersonId,
        /// `right` or `role`.
        kind: String,
        /// What was asked for.
        name: String,
        /// Approved (and granted) or refused.
        approved: bool,
    },
    /// A member left an organisation, withdrawing their consent.
    MemberLeft {
        /// CVR number.
        cvr: String,
        /// Who.
        person: PersonId,
    },
    /// A relying party asked a person to approve hashes on their own phone (CSC
    /// `credentials/authorize` answered 202); nothing is activated yet.
    ApprovalRequested {
        /// The request's id (the CSC `handle`).
        request: String,
        /// Credential id.
        credential: String,
        /// Hash algorithm OID.
        hash_algorithm: String,
        /// The hashes asked for, hex.
        hashes: Vec<String>,
        /// Each hash's label, in the same order, when the relying party gave them.
        labels: Option<Vec<String>>,
        /// Signatures asked for.
        num_signatures: u32,
        /// What the hashes stand for (CSC `description`).
        description: Option<String>,
        /// Level of assurance of the asking login (URI).
        loa: String,
        /// Until when the person may decide, Unix seconds.
        expires_at: i64,
    },
    /// The person approved a request on their phone; its SAD waits for the relying party.
    ApprovalGranted {
        /// The request's id.
        request: String,
        /// Credential id.
        credential: String,
        /// The SAD issued.
        sad: String,
        /// The activation factor (`webauthn`).
        factor: String,
    },
    /// The person refused a request.
    ApprovalRefused {
        /// The request's id.
        request: String,
        /// Credential id.
        credential: String,
    },
    /// The relying party asked after a request that had expired undecided.
    ApprovalExpired {
        /// The request's id.
        request: String,
        /// Credential id.
        credential: String,
    },
    /// The relying party collected the SAD of an approved request (it is handed out once).
    ApprovalCollected {
        /// The request's id.
        request: String,
        /// The SAD handed out.
        sad: String,
    },
    /// The result of an asynchronous signing operation was sent to the response URI
    /// registered for the client that asked, or could not be.
    CallbackDelivery {
        /// The operation (CSC `responseID`).
        operation: String,
        /// The OAuth client whose registered URI it was sent to.
        client: String,
        /// Attempts made.
        attempts: u32,
        /// Whether the receiver answered with a 2xx status.
        delivered: bool,
        /// The last attempt's outcome (`HTTP 204`, `timed out`, `connection failed`, ...).
        outcome: String,
    },
    /// An administrator registered a system client for the organisation's seal.
    ClientRegistered {
        /// CVR number.
        cvr: String,
        /// The client id.
        client: String,
        /// The RFC 7638 thumbprint of its key.
        jkt: String,
        /// Most signatures per authorization.
        max_signatures_per_authorization: u32,
        /// Most authorizations per minute.
        authorizations_per_minute: u32,
    },
    /// An administrator removed a system client.
    ClientRemoved {
        /// CVR number.
        cvr: String,
        /// The client id.
        client: String,
    },
}

/// The parties of a power of attorney, as its events record them. In an [`Event`] its fields
/// stand beside the event's `type`, as those of any other event do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateParties {
    /// Mandate id.
    pub mandate: String,
    /// The granting organisation's CVR number.
    pub grantor: String,
    /// The holding organisation's CVR number, when an organisation holds it.
    pub grantee_cvr: Option<String>,
    /// The holding person, when a person holds it.
    pub grantee_person: Option<PersonId>,
}

/// A new power of attorney as its events record it: its parties, then what it allows and when
/// (the fields in this order, as they always were).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMandate {
    /// Who grants it and who holds it.
    #[serde(flatten)]
    pub parties: MandateParties,
    /// What it allows.
    pub scope: String,
    /// Unix seconds.
    pub valid_from: i64,
    /// Unix seconds.
    pub valid_until: i64,
}

/// A power of attorney an organisation holds and the member it is given to or taken from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateMember {
    /// Mandate id.
    pub mandate: String,
    /// The granting organisation's CVR number.
    pub grantor: String,
    /// The holding organisation's CVR number.
    pub grantee_cvr: String,
    /// The member.
    pub person: PersonId,
}

impl Event {
    /// The stored event type name.
    #[must_use]
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

/// Who is acting and under which request: passed down from the HTTP layer or the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Who acts.
    pub actor: Actor,
    /// The request id (support reference), when there is a request.
    pub request_id: Option<String>,
}

impl Context {
    /// The service itself, outside any request.
    #[must_use]
    pub fn system() -> Self {
        Self {
            actor: Actor::System,
            request_id: None,
        }
    }

    /// A person acting under a request.
    #[must_use]
    pub fn person(id: PersonId, request_id: Option<String>) -> Self {
        Self {
            actor: Actor::Person(id),
            request_id,
        }
    }

    /// An anonymous client (before a login, or of a public endpoint) under a request.
    #[must_use]
    pub fn anonymous(request_id: Option<String>) -> Self {
        Self {
            actor: Actor::Anonymous,
            request_id,
        }
    }

    /// An organisation's system client acting under a request.
    #[must_use]
    pub fn client(client_id: String, request_id: Option<String>) -> Self {
        Self {
            actor: Actor::Client(client_id),
            request_id,
        }
    }

    /// An entry about `subject` by this actor.
    #[must_use]
    pub fn entry(&self, subject: Option<String>, event: Event) -> Entry {
        Entry {
            actor: self.actor.clone(),
            subject,
            request_id: self.request_id.clone(),
            event,
        }
    }
}

/// One audit entry as the caller describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Who acted.
    pub actor: Actor,
    /// What it is about (certificate serial, credential id, ...), indexed.
    pub subject: Option<String>,
    /// The request id (support reference).
    pub request_id: Option<String>,
    /// What happened.
    pub event: Event,
}

/// The canonical record: what is hashed and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Encoding version.
    pub v: u16,
    /// Sequence number.
    pub seq: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// Who acted.
    pub actor: Actor,
    /// What it is about.
    pub subject: Option<String>,
    /// Support reference.
    pub request_id: Option<String>,
    /// What happened.
    pub event: Event,
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Sequence number.
    pub seq: i64,
    /// Record hash.
    pub hash: [u8; 32],
}

/// `SHA-256(previous hash || record)`.
#[must_use]
pub fn chain_hash(prev: &[u8], record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(record);
    h.finalize().into()
}

/// Checks one stored row against the previous hash: hash, canonical decoding, and that the
/// record's own fields match the indexed columns.
pub(super) fn check_row(row: &AuditRow, prev: &[u8]) -> Result<(), &'static str> {
    if chain_hash(prev, &row.record).as_slice() != row.hash.as_slice() {
        return Err("hash does not match the record and its predecessor");
    }
    let record: Record =
        serde_json::from_slice(&row.record).map_err(|_| "record does not decode")?;
    if record.v != RECORD_VERSION {
        return Err("unknown record version");
    }
    let canonical = serde_json::to_vec(&record).map_err(|_| "record does not encode")?;
    if canonical != row.record {
        return Err("record is not in canonical form");
    }
    if record.seq != row.seq
        || record.at != row.at
        || record.actor.key() != row.actor
        || record.event.name() != row.event
        || record.subject != row.subject
        || record.request_id != row.request_id
    {
        return Err("indexed columns differ from the record");
    }
    Ok(())
}
