//! Signing on behalf of an organisation: the capacity a signer claims (a role they hold in it,
//! or a power of attorney they may use), checked when the document is kept and again when it
//! is signed, and **signing cases**: one PDF signed by members, each as an incremental revision
//! of the same file, until the organisation's rule of representation is met.
//!
//! The capacity is part of what the signer approves (`pades::Options::capacity`, or the
//! capacity approval for CAdES and XAdES), so a signature cannot claim another role than the
//! one approved; the right to claim it is checked again just before signing, so a role, right
//! or mandate taken away stops the signature at once.

use sha2::{Digest as _, Sha256};

use super::document_types::{Format, Level, Uploaded};
use super::{person_ctx, unix_now, unix_now_ms, Documents, Error, ErrorCode};
use crate::audit::Event;
use crate::formats::pades;
use crate::formats::representation::{Capacity, Rule};
use crate::identity::Principal;
use crate::keys::{Credential, Kind};
use crate::orgs::Cvr;
use crate::store::{CaseRow, CaseSignatureRow, DocumentRow};
use crate::types::DocumentId;

/// The role a power of attorney is used in.
pub const PROXY_ROLE: &str = "proxy";
/// The longest a case stays open, days.
const MAX_CASE_DAYS: i64 = 90;
/// The most cases listed at once.
const CASES_LISTED: i64 = 200;

/// Whom a document is signed for, as the signer asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnBehalf {
    /// The organisation.
    pub cvr: String,
    /// A role the signer holds in it (`director`, `board`, ...).
    pub role: Option<String>,
    /// A power of attorney (its id) the signer may use for it; the role is then `proxy`.
    pub mandate: Option<String>,
}

/// A signing case as members see it.
#[derive(Debug, Clone)]
pub struct CaseView {
    /// The case.
    pub case: CaseRow,
    /// `open`, `complete` or `expired`.
    pub state: &'static str,
    /// Who signed, in which role.
    pub signatures: Vec<CaseSignatureRow>,
    /// What is still needed, in words (empty once complete).
    pub missing: Vec<String>,
}

/// A case to open: what the document is, for how many days, signed how (PAdES for a PDF and
/// CAdES detached otherwise, by default), and the document.
#[derive(Debug, Clone)]
pub struct NewCase {
    /// What the document is.
    pub title: String,
    /// Days it stays open (1 to 90).
    pub days: i64,
    /// `pades`, `cades-detached` or `xades-detached`; by the content when `None`.
    pub format: Option<Format>,
    /// The document.
    pub content: Vec<u8>,
}

/// What a member asks to sign a case with.
#[derive(Debug, Clone, Default)]
pub struct CaseSigning {
    /// The role or mandate signed in.
    pub role: Option<String>,
    /// A power of attorney instead of a role.
    pub mandate: Option<String>,
    /// The baseline level (B-T by default).
    pub level: Option<Level>,
    /// Reason, location, visible field: as for any PDF.
    pub pdf: pades::Options,
}

fn org_subject(cvr: &str) -> Option<String> {
    Some(format!("org:{cvr}"))
}

fn not_allowed(what: impl Into<String>) -> Error {
    Error::new(ErrorCode::RightMissing, what)
}

impl Documents {
    /// The capacity `principal` may sign in for `on_behalf` now: a role they hold in the
    /// organisation (with `sign_on_behalf`), or a power of attorney they may use; the
    /// organisation's rule of representation (or `rule`) goes with it.
    ///
    /// # Errors
    /// `invalid_cvr`, `not_found` (no such organisation), `invalid_request` (neither or both of
    /// role and mandate), `right_missing` (role not held, no `sign_on_behalf`, mandate not
    /// usable).
    pub(super) async fn capacity_for(
        &self,
        principal: &Principal,
        on_behalf: &OnBehalf,
        rule: Option<String>,
    ) -> Result<Capacity, Error> {
        let cvr = Cvr::parse(&on_behalf.cvr)?;
        let orgs = &self.signing.orgs;
        let org = orgs.organisation(&cvr).await?;
        let rule = match rule {
            Some(rule) => Some(rule),
            None => orgs.rule(&cvr).await?.map(|r| r.as_str().to_owned()),
        };
        let now = unix_now(&self.clock);
        let (role, mandate) = match (&on_behalf.role, &on_behalf.mandate) {
            (Some(role), None) => {
                let member = self
                    .store
                    .member(cvr.as_str(), &principal.person.to_string())
                    .await?
                    .ok_or_else(|| not_allowed("you are not a member of this organisation"))?;
                if !member.sign_on_behalf {
                    return Err(not_allowed(
                        "you do not hold sign_on_behalf for this organisation",
                    ));
                }
                let roles = orgs.roles_of(&cvr, &principal.person).await?;
                if !roles.iter().any(|r| r == role) {
                    return Err(not_allowed(format!(
                        "you do not hold the role {role:?} in this organisation"
                    )));
                }
                (role.clone(), None)
            }
            (None, Some(id)) => {
                let grant = orgs
                    .mandates()
                    .usable(&principal.person, id, &cvr, "sign_on_behalf", now)
                    .await?;
                (PROXY_ROLE.to_owned(), Some(grant.to_mandate()))
            }
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidRequest,
                    "on behalf of an organisation: name either a role or a mandate",
                ))
            }
        };
        let capacity = Capacity {
            role,
            organisation: org.name,
            cvr: cvr.to_string(),
            rule,
            mandate,
        };
        capacity
            .check()
            .map_err(|e| Error::new(ErrorCode::InvalidRequest, e.to_string()))?;
        Ok(capacity)
    }

    /// Checks, just before signing, that `principal` may still sign in `capacity` with
    /// `credential`: the role or mandate is still theirs, and the credential is the one that
    /// acts for the organisation (an employee credential of it, or of the mandate's holder; a
    /// personal credential for a mandate given to the person).
    ///
    /// # Errors
    /// `right_missing` as [`Self::capacity_for`], or for a credential that does not act for
    /// the organisation.
    pub(super) async fn recheck_capacity(
        &self,
        principal: &Principal,
        capacity: &Capacity,
        credential: &Credential,
    ) -> Result<(), Error> {
        let on_behalf = OnBehalf {
            cvr: capacity.cvr.clone(),
            role: capacity.mandate.is_none().then(|| capacity.role.clone()),
            mandate: capacity.mandate.as_ref().map(|m| m.id.clone()),
        };
        self.capacity_for(principal, &on_behalf, capacity.rule.clone())
            .await?;
        let fits = match (&capacity.mandate, &credential.kind) {
            (None, Kind::Employee { cvr }) => *cvr == capacity.cvr,
            (Some(m), Kind::Employee { cvr }) => m.holder_cvr.as_deref() == Some(cvr.as_str()),
            (Some(m), Kind::Personal) => m.holder_cvr.is_none(),
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(not_allowed(
                "sign on behalf of an organisation with your employee credential for it (or, \
                 under a power of attorney, the credential of the organisation holding it)",
            ))
        }
    }

    /// The native flow's step 1 for a document signed on behalf of an organisation: as
    /// [`Self::upload_document`], with the capacity checked now and covered by the approval.
    ///
    /// # Errors
    /// As [`Self::upload_document`] and [`Self::capacity_for`].
    pub async fn upload_on_behalf(
        &self,
        principal: &Principal,
        content: Vec<u8>,
        format: Format,
        level: Level,
        pdf: &pades::Options,
        on_behalf: &OnBehalf,
    ) -> Result<Uploaded, Error> {
        let capacity = self.capacity_for(principal, on_behalf, None).await?;
        self.keep_document(principal, content, format, level, pdf, Some(capacity), None)
            .await
    }

    /// The organisation's case if `principal` may see it: a member, or someone holding a
    /// usable power of attorney from it.
    async fn visible_case(
        &self,
        principal: &Principal,
        cvr: &Cvr,
        id: &str,
    ) -> Result<CaseRow, Error> {
        self.may_see_cases(principal, cvr).await?;
        self.store
            .case(cvr.as_str(), id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "no such signing case"))
    }

    async fn may_see_cases(&self, principal: &Principal, cvr: &Cvr) -> Result<(), Error> {
        let member = self
            .store
            .member(cvr.as_str(), &principal.person.to_string())
            .await?
            .is_some();
        if member {
            return Ok(());
        }
        let now = unix_now(&self.clock);
        let holds = self
            .signing
            .orgs
            .mandates()
            .usable_by(&principal.person, now)
            .await?
            .iter()
            .any(|m| m.grantor_cvr == cvr.as_str());
        if holds {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::Forbidden,
                "only members of the organisation (and holders of its powers of attorney) see its signing cases",
            ))
        }
    }

    async fn view(&self, case: CaseRow) -> Result<CaseView, Error> {
        let signatures = self.store.case_signatures(&case.id).await?;
        let roles: Vec<&str> = signatures.iter().map(|s| s.role.as_str()).collect();
        let now = unix_now(&self.clock);
        let state = match case.status.as_str() {
            "complete" => "complete",
            _ if case.expires_at <= now => "expired",
            _ => "open",
        };
        let missing = match Rule::parse(&case.rule) {
            Ok(rule) if state != "complete" => rule.missing(&roles),
            Ok(_) => Vec::new(),
            Err(e) => vec![format!("the recorded rule does not parse: {e}")],
        };
        Ok(CaseView {
            case,
            state,
            signatures,
            missing,
        })
    }

    /// Opens a signing case for a PDF on behalf of an organisation that has a rule of
    /// representation: members then sign it until the rule is met. Open for `days` (1 to 90).
    ///
    /// # Errors
    /// `invalid_request` (no rule, title, days, empty); `unsupported_format`; `forbidden` (not
    /// a member); the PDF errors of an upload (`not_pdf`, `pdf_encrypted`, `pdf_malformed`,
    /// `pdf_no_changes_allowed`).
    pub async fn open_case(
        &self,
        principal: &Principal,
        cvr: &str,
        new: NewCase,
        request_id: Option<String>,
    ) -> Result<CaseView, Error> {
        let NewCase {
            title,
            days,
            format,
            content,
        } = new;
        let cvr = Cvr::parse(cvr)?;
        if self
            .store
            .member(cvr.as_str(), &principal.person.to_string())
            .await?
            .is_none()
        {
            return Err(Error::new(
                ErrorCode::Forbidden,
                "only members of the organisation open its signing cases",
            ));
        }
        if title.trim().is_empty() || title.chars().count() > 200 {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "title: 1 to 200 characters",
            ));
        }
        if !(1..=MAX_CASE_DAYS).contains(&days) {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                format!("days: 1 to {MAX_CASE_DAYS}"),
            ));
        }
        let rule = self.signing.orgs.rule(&cvr).await?.ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidRequest,
                "the organisation has no rule of representation: an administrator sets it first",
            )
        })?;
        let format = match format {
            Some(
                f @ (Format::Pades | Format::Cades { attached: false } | Format::XadesDetached),
            ) => f,
            Some(_) => {
                return Err(Error::new(
                    ErrorCode::UnsupportedFormat,
                    "a signing case is signed as pades, cades-detached or xades-detached",
                ))
            }
            None if crate::formats::pdf::header_version(&content).is_some() => Format::Pades,
            None => Format::Cades { attached: false },
        };
        if content.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "the document is empty",
            ));
        }
        let content = if format == Format::Pades {
            self.check_pdf(content, &pades::Options::default()).await?
        } else {
            content
        };
        let now = unix_now(&self.clock);
        let case = CaseRow {
            id: DocumentId::random().to_string(),
            cvr: cvr.to_string(),
            title: title.trim().to_owned(),
            format: format.as_str().to_owned(),
            rule: rule.as_str().to_owned(),
            opened_by: principal.person.to_string(),
            sha256: hex::encode(Sha256::digest(&content)),
            status: "open".to_owned(),
            created_at: now,
            expires_at: now + days * 86_400,
            completed_at: None,
        };
        self.store.insert_case(&case, &content).await?;
        self.record_case_event(
            principal,
            &case,
            Event::CaseOpened {
                cvr: case.cvr.clone(),
                case: case.id.clone(),
                title: case.title.clone(),
                rule: case.rule.clone(),
                sha256: case.sha256.clone(),
            },
            request_id,
        )
        .await?;
        self.view(case).await
    }

    async fn record_case_event(
        &self,
        principal: &Principal,
        case: &CaseRow,
        event: Event,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let ctx = person_ctx(principal, request_id);
        self.signing
            .audit
            .record(
                &ctx.entry(org_subject(&case.cvr), event),
                unix_now_ms(&self.clock),
            )
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
        Ok(())
    }

    /// A case, with who signed and what is still needed.
    ///
    /// # Errors
    /// `invalid_cvr`, `forbidden`, `not_found`.
    pub async fn case(
        &self,
        principal: &Principal,
        cvr: &str,
        id: &str,
    ) -> Result<CaseView, Error> {
        let cvr = Cvr::parse(cvr)?;
        let case = self.visible_case(principal, &cvr, id).await?;
        self.view(case).await
    }

    /// An organisation's cases, newest first.
    ///
    /// # Errors
    /// `invalid_cvr`, `forbidden`.
    pub async fn cases(&self, principal: &Principal, cvr: &str) -> Result<Vec<CaseView>, Error> {
        let cvr = Cvr::parse(cvr)?;
        self.may_see_cases(principal, &cvr).await?;
        let mut out = Vec::new();
        for case in self.store.cases(cvr.as_str(), CASES_LISTED).await? {
            out.push(self.view(case).await?);
        }
        Ok(out)
    }

    /// The current revision of a case's PDF (with every signature made so far).
    ///
    /// # Errors
    /// `invalid_cvr`, `forbidden`, `not_found`.
    pub async fn case_document(
        &self,
        principal: &Principal,
        cvr: &str,
        id: &str,
    ) -> Result<Vec<u8>, Error> {
        let cvr = Cvr::parse(cvr)?;
        let case = self.visible_case(principal, &cvr, id).await?;
        self.store
            .case_content(&case.id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "no such signing case"))
    }

    /// The signatures of a CAdES or XAdES case (the document itself is
    /// [`Self::case_document`]): with `n` (from 1, in the order they were made) that one
    /// signature alone (a detached CAdES SignedData, or XAdES); without it, for CAdES, all of
    /// them as one SignedData with a signer each (parallel signatures), which `openssl cms
    /// -verify` and qsign's validator check signer by signer.
    ///
    /// # Errors
    /// As [`Self::case`]; `not_found` for a PDF case (its signatures are in the PDF), no
    /// signature yet, or no such `n`; `invalid_request` for an XAdES case without `n`.
    pub async fn case_signature(
        &self,
        principal: &Principal,
        cvr: &str,
        id: &str,
        n: Option<usize>,
    ) -> Result<(Vec<u8>, &'static str), Error> {
        let cvr = Cvr::parse(cvr)?;
        let case = self.visible_case(principal, &cvr, id).await?;
        let format = Format::parse(&case.format)
            .ok_or_else(|| Error::internal(format!("stored format {:?}", case.format)))?;
        if format == Format::Pades {
            return Err(Error::new(
                ErrorCode::NotFound,
                "a PDF case's signatures are in its document",
            ));
        }
        let signatures: Vec<Vec<u8>> = self
            .store
            .case_signatures(&case.id)
            .await?
            .into_iter()
            .filter_map(|s| s.signature)
            .collect();
        let none = || Error::new(ErrorCode::NotFound, "no such signature in the case");
        match (n, format) {
            (Some(n), _) => {
                let one = n
                    .checked_sub(1)
                    .and_then(|i| signatures.get(i))
                    .cloned()
                    .ok_or_else(none)?;
                Ok((one, format.media_type()))
            }
            (None, Format::Cades { .. }) => {
                if signatures.is_empty() {
                    return Err(none());
                }
                let merged = self
                    .cpu
                    .run(move || crate::formats::cms::merge_parallel(&signatures))
                    .await?
                    .map_err(|e| Error::internal(format!("parallel signatures: {e}")))?;
                Ok((merged, format.media_type()))
            }
            (None, _) => Err(Error::new(
                ErrorCode::InvalidRequest,
                "an XAdES case's signatures are separate files: name one (n, from 1)",
            )),
        }
    }

    /// The ways `principal` may sign a case now: each role they hold that the case's rule
    /// counts (with `sign_on_behalf`), then each power of attorney from the organisation they
    /// may use when the rule counts `proxy`; as (role, mandate id) pairs.
    ///
    /// # Errors
    /// As [`Self::case`].
    pub async fn case_capacities(
        &self,
        principal: &Principal,
        view: &CaseView,
    ) -> Result<Vec<(String, Option<String>)>, Error> {
        let cvr = Cvr::parse(&view.case.cvr)?;
        let counted = Rule::parse(&view.case.rule)
            .map(|r| r.roles())
            .unwrap_or_default();
        let mut out = Vec::new();
        let member = self
            .store
            .member(cvr.as_str(), &principal.person.to_string())
            .await?;
        if member.is_some_and(|m| m.sign_on_behalf) {
            for role in self.signing.orgs.roles_of(&cvr, &principal.person).await? {
                if counted.contains(&role) {
                    out.push((role, None));
                }
            }
        }
        if counted.iter().any(|r| r == PROXY_ROLE) {
            let now = unix_now(&self.clock);
            for grant in self
                .signing
                .orgs
                .mandates()
                .usable_by(&principal.person, now)
                .await?
            {
                if grant.grantor_cvr == cvr.as_str() {
                    out.push((PROXY_ROLE.to_owned(), Some(grant.id)));
                }
            }
        }
        Ok(out)
    }

    /// Prepares the case's current revision for `principal` to sign in a role (or under a
    /// power of attorney): a document of the native flow, whose approval covers the capacity
    /// with the case's rule. Signed (`/v1/documents/{id}/sign`), the signature goes back into
    /// the case.
    ///
    /// # Errors
    /// `case_closed` (complete or expired; signed by this person already), `right_missing`
    /// (no such role, no `sign_on_behalf`, mandate not usable), and the errors of an upload.
    pub async fn case_signing(
        &self,
        principal: &Principal,
        cvr: &str,
        id: &str,
        signing: &CaseSigning,
    ) -> Result<Uploaded, Error> {
        let parsed = Cvr::parse(cvr)?;
        let view = self.case(principal, parsed.as_str(), id).await?;
        if view.state != "open" {
            return Err(Error::new(
                ErrorCode::CaseClosed,
                format!("the signing case is {}", view.state),
            ));
        }
        let me = principal.person.to_string();
        if view.signatures.iter().any(|s| s.person == me) {
            return Err(Error::new(
                ErrorCode::CaseClosed,
                "you have signed this case already",
            ));
        }
        let on_behalf = OnBehalf {
            cvr: view.case.cvr.clone(),
            role: signing.role.clone(),
            mandate: signing.mandate.clone(),
        };
        let capacity = self
            .capacity_for(principal, &on_behalf, Some(view.case.rule.clone()))
            .await?;
        let counts = Rule::parse(&view.case.rule)
            .map(|r| r.roles().contains(&capacity.role))
            .unwrap_or(false);
        if !counts {
            return Err(not_allowed(format!(
                "the role {:?} does not count under the rule '{}'",
                capacity.role, view.case.rule
            )));
        }
        let content = self
            .store
            .case_content(&view.case.id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "no such signing case"))?;
        let format = Format::parse(&view.case.format)
            .ok_or_else(|| Error::internal(format!("stored format {:?}", view.case.format)))?;
        let level = signing.level.unwrap_or(Level::BT);
        // Parallel CAdES signatures go into one SignedData, which an archive timestamp of
        // one of them would not cover.
        if format != Format::Pades && level > Level::BLT {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "a CAdES or XAdES case is signed at B-B, B-T or B-LT (extend the result later)",
            ));
        }
        let pdf = if format == Format::Pades {
            signing.pdf.clone()
        } else {
            pades::Options::default()
        };
        self.keep_document(
            principal,
            content,
            format,
            level,
            &pdf,
            Some(capacity),
            Some(view.case.id.clone()),
        )
        .await
    }

    /// Records in the organisation's own audit trail that a document was signed on its
    /// behalf (the signature itself is audited under the credential's organisation).
    pub(super) async fn record_capacity_signature(
        &self,
        principal: &Principal,
        row: &DocumentRow,
        capacity: &Capacity,
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let ctx = person_ctx(principal, request_id);
        let event = Event::SignedInCapacity {
            cvr: capacity.cvr.clone(),
            role: capacity.role.clone(),
            mandate: capacity.mandate.as_ref().map(|m| m.id.clone()),
            holder_cvr: capacity.mandate.as_ref().and_then(|m| m.holder_cvr.clone()),
            document_sha256: row.sha256.clone().unwrap_or_default(),
        };
        self.signing
            .audit
            .record(
                &ctx.entry(org_subject(&capacity.cvr), event),
                unix_now_ms(&self.clock),
            )
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
        Ok(())
    }

    /// After a case document was signed: the signed revision becomes the case's, if the case
    /// is still at the revision it was made over; the case is complete once the rule holds.
    ///
    /// # Errors
    /// `case_closed` when the case moved on meanwhile (another member signed first, it
    /// completed or expired): the signature stays with the signer's document but is not the
    /// case's.
    pub(super) async fn record_in_case(
        &self,
        principal: &Principal,
        row: &DocumentRow,
        capacity: &Capacity,
        credential: &Credential,
        signed: &[u8],
        request_id: Option<String>,
    ) -> Result<(), Error> {
        let Some(case_id) = &row.case_id else {
            return Ok(());
        };
        let case = self
            .store
            .case(&capacity.cvr, case_id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "no such signing case"))?;
        let mut roles: Vec<String> = self
            .store
            .case_signatures(case_id)
            .await?
            .into_iter()
            .map(|s| s.role)
            .collect();
        roles.push(capacity.role.clone());
        let complete = Rule::parse(&case.rule).is_ok_and(|r| r.satisfied(&roles));
        let now = unix_now(&self.clock);
        let signature = CaseSignatureRow {
            case_id: case_id.clone(),
            person: principal.person.to_string(),
            name: crate::pki::common_name(&credential.certificate)
                .unwrap_or_else(|| "(no name)".to_owned()),
            role: capacity.role.clone(),
            signed_at: now,
            signature: None,
        };
        let over = row.sha256.clone().unwrap_or_default();
        let sha256 = hex::encode(Sha256::digest(signed));
        let recorded = if case.format == Format::Pades.as_str() {
            let revision = Some((signed, sha256.as_str()));
            self.store
                .record_case_signature(&signature, &over, revision, complete, now)
                .await?
        } else {
            // A parallel signature: the document stays as it is, the signature beside it.
            let signature = CaseSignatureRow {
                signature: Some(signed.to_vec()),
                ..signature
            };
            self.store
                .record_case_signature(&signature, &over, None, complete, now)
                .await?
        };
        if !recorded {
            return Err(Error::new(
                ErrorCode::CaseClosed,
                "the signing case changed while you signed (another member signed first, or it \
                 completed or expired): your signature is not part of it; sign its current version",
            ));
        }
        self.record_case_event(
            principal,
            &case,
            Event::CaseSigned {
                cvr: case.cvr.clone(),
                case: case.id.clone(),
                role: capacity.role.clone(),
                sha256,
                complete,
            },
            request_id,
        )
        .await
    }
}
