//! The service error and the catalogue of stable error codes.
//!
//! A code is part of the public contract: never renamed or reused once released. The unit test
//! at the bottom pins the whole list; `http::error` is the only place that turns an [`Error`]
//! into a response.

use crate::identity::{self, token::TokenError};
use crate::{hsm, pki, store};

/// Stable, machine-readable error codes (snake_case, in the style of OAuth 2.0 and CSC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is malformed or misses a parameter.
    InvalidRequest,
    /// No such resource.
    NotFound,
    /// The resource exists but not with this HTTP method.
    MethodNotAllowed,
    /// The request body is larger than the configured limit.
    PayloadTooLarge,
    /// The body's media type is not accepted here.
    UnsupportedMediaType,
    /// The request took longer than the configured limit.
    RequestTimeout,
    /// A dependency (database, HSM) is not available right now; try again later.
    TemporarilyUnavailable,
    /// The service is not ready to take traffic.
    NotReady,
    /// An unexpected failure; the support reference finds the log line.
    InternalError,
    /// Unknown user, wrong password or wrong one-time code (deliberately one code for all).
    InvalidGrant,
    /// A `grant_type` this token endpoint does not offer.
    UnsupportedGrantType,
    /// A one-time code that was already used.
    CodeReused,
    /// Too many failed logins for this username or address: locked for a while.
    TooManyAttempts,
    /// No bearer token, or one that is malformed, forged, expired or revoked.
    InvalidToken,
    /// The thing to create exists already.
    AlreadyExists,
    /// The login's level of assurance is too low for this; step up first.
    InsufficientLoa,
    /// The caller has no credential with that id.
    CredentialNotFound,
    /// The credential is suspended.
    CredentialSuspended,
    /// The credential is revoked.
    CredentialRevoked,
    /// The SAD does not verify or does not decode.
    InvalidSad,
    /// The SAD has expired.
    SadExpired,
    /// The SAD belongs to another person or credential.
    SadMismatch,
    /// A hash is not covered by the SAD.
    HashNotAuthorized,
    /// Every use of the SAD is spent.
    SadUsed,
    /// More hashes than the SAD has uses left.
    SadCountExceeded,
    /// The activation factor did not verify.
    ActivationFailed,
    /// The activation is weaker than the policy asks.
    ActivationTooWeak,
    /// An algorithm that does not fit.
    UnsupportedAlgorithm,
    /// A signature format not offered.
    UnsupportedFormat,
    /// An XML document refused as hostile or malformed (DTD, entities, nesting, size).
    InvalidXml,
    /// The input is not a PDF file.
    NotPdf,
    /// An encrypted PDF.
    PdfEncrypted,
    /// A PDF that does not parse (broken cross-reference, bad syntax).
    PdfMalformed,
    /// A PDF certified with no changes allowed.
    PdfNoChangesAllowed,
    /// Not a valid CVR number.
    InvalidCvr,
    /// The caller may not do this (not an administrator of the organisation).
    Forbidden,
    /// The member does not hold the right (`sign_on_behalf`, `use_seal`).
    RightMissing,
    /// A file that cannot be validated (neither a PDF nor a CMS signature, or broken).
    UnusableInput,
    /// A page's form without its anti-forgery token, or sent from another site.
    FormRejected,
    /// The account holds as many documents waiting for a signature as it may.
    QuotaExceeded,
    /// Too many requests from one address to a public endpoint: slow down.
    RateLimited,
    /// A signing case that takes no (further) signature: complete, expired, or signed by
    /// someone else while this signature was made.
    CaseClosed,
    /// A change that does not fit the state of what it changes (accepting a revoked power of
    /// attorney, approving one's own request).
    InvalidState,
    /// A power of attorney that cannot be used for this (revoked, expired, another scope, not
    /// assigned to the signer).
    MandateInvalid,
    /// A rule of representation outside the rule language or its bounds.
    InvalidRule,
    /// The person refused the approval request on their phone.
    AuthorizationRefused,
    /// The approval request expired before the person decided.
    AuthorizationExpired,
    /// The approval request is decided already, and the SAD of an approved one was handed
    /// out (once).
    AuthorizationClosed,
    /// The client did not authenticate as it is registered (OAuth 2.0 `invalid_client`): an
    /// unknown client, a missing, forged, expired or replayed `private_key_jwt` assertion.
    InvalidClient,
    /// A DPoP proof (RFC 9449) that is missing where needed, malformed, for another request,
    /// stale, replayed, or signed by another key than the token is bound to.
    InvalidDpopProof,
    /// A validation policy that is not defined.
    UnknownPolicy,
}

impl ErrorCode {
    /// Every code, in catalogue order.
    pub const ALL: &'static [Self] = &[
        Self::InvalidRequest,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::RequestTimeout,
        Self::TemporarilyUnavailable,
        Self::NotReady,
        Self::InternalError,
        Self::InvalidGrant,
        Self::UnsupportedGrantType,
        Self::CodeReused,
        Self::TooManyAttempts,
        Self::InvalidToken,
        Self::AlreadyExists,
        Self::InsufficientLoa,
        Self::CredentialNotFound,
        Self::CredentialSuspended,
        Self::CredentialRevoked,
        Self::InvalidSad,
        Self::SadExpired,
        Self::SadMismatch,
        Self::HashNotAuthorized,
        Self::SadUsed,
        Self::SadCountExceeded,
        Self::ActivationFailed,
        Self::ActivationTooWeak,
        Self::UnsupportedAlgorithm,
        Self::UnsupportedFormat,
        Self::InvalidXml,
        Self::NotPdf,
        Self::PdfEncrypted,
        Self::PdfMalformed,
        Self::PdfNoChangesAllowed,
        Self::InvalidCvr,
        Self::Forbidden,
        Self::RightMissing,
        Self::UnusableInput,
        Self::FormRejected,
        Self::QuotaExceeded,
        Self::RateLimited,
        Self::CaseClosed,
        Self::InvalidState,
        Self::MandateInvalid,
        Self::InvalidRule,
        Self::AuthorizationRefused,
        Self::AuthorizationExpired,
        Self::AuthorizationClosed,
        Self::InvalidClient,
        Self::InvalidDpopProof,
        Self::UnknownPolicy,
    ];

    /// The wire form.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RequestTimeout => "request_timeout",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::NotReady => "not_ready",
            Self::InternalError => "internal_error",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::CodeReused => "code_reused",
            Self::TooManyAttempts => "too_many_attempts",
            Self::InvalidToken => "invalid_token",
            Self::AlreadyExists => "already_exists",
            Self::InsufficientLoa => "insufficient_loa",
            Self::CredentialNotFound => "credential_not_found",
            Self::CredentialSuspended => "credential_suspended",
            Self::CredentialRevoked => "credential_revoked",
            Self::InvalidSad => "invalid_sad",
            Self::SadExpired => "sad_expired",
            Self::SadMismatch => "sad_mismatch",
            Self::HashNotAuthorized => "hash_not_authorized",
            Self::SadUsed => "sad_used",
            Self::SadCountExceeded => "sad_count_exceeded",
            Self::ActivationFailed => "activation_failed",
            Self::ActivationTooWeak => "activation_too_weak",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnsupportedFormat => "unsupported_format",
            Self::InvalidXml => "invalid_xml",
            Self::NotPdf => "not_pdf",
            Self::PdfEncrypted => "pdf_encrypted",
            Self::PdfMalformed => "pdf_malformed",
            Self::PdfNoChangesAllowed => "pdf_no_changes_allowed",
            Self::InvalidCvr => "invalid_cvr",
            Self::Forbidden => "forbidden",
            Self::RightMissing => "right_missing",
            Self::UnusableInput => "unusable_input",
            Self::FormRejected => "form_rejected",
            Self::QuotaExceeded => "quota_exceeded",
            Self::RateLimited => "rate_limited",
            Self::CaseClosed => "case_closed",
            Self::InvalidState => "invalid_state",
            Self::MandateInvalid => "mandate_invalid",
            Self::InvalidRule => "invalid_rule",
            Self::AuthorizationRefused => "authorization_refused",
            Self::AuthorizationExpired => "authorization_expired",
            Self::AuthorizationClosed => "authorization_closed",
            Self::InvalidClient => "invalid_client",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UnknownPolicy => "unknown_policy",
        }
    }

    /// What a person can do about it, in plain words (the help page and error pages).
    #[must_use]
    pub const fn advice(self) -> &'static str {
        match self {
            Self::InvalidRequest => "Check the form or request: a field is missing or has a value that is not accepted, as the message says.",
            Self::NotFound => "The page, document or item does not exist (any more). Uploaded documents are deleted after a while: upload the file again.",
            Self::MethodNotAllowed => "Open the page from qsign's own links rather than typing the address.",
            Self::PayloadTooLarge => "The file is larger than this service accepts. Make the file smaller (for example by reducing images) and try again.",
            Self::UnsupportedMediaType => "Send the file in a format this page accepts.",
            Self::RequestTimeout => "It took too long. Try again; with a very large file, try a smaller one.",
            Self::TemporarilyUnavailable | Self::NotReady => "The service is busy or being maintained. Try again in a few minutes.",
            Self::InternalError => "Something went wrong on our side. Try again; if it happens again, contact support with the support reference.",
            Self::InvalidGrant => "Check your username, password and the one-time code from your app (codes change every 30 seconds).",
            Self::UnsupportedGrantType => "The application uses a login method this service does not offer; contact the application's supplier.",
            Self::CodeReused => "Each one-time code works once. Wait for your app to show the next code and use that.",
            Self::TooManyAttempts => "After several failed attempts logins are paused for a while. Wait and try again; if it was not you, contact support.",
            Self::InvalidToken => "Your session has ended or is not valid. Log in again.",
            Self::AlreadyExists => "It exists already (for example, the document is signed already). Go on from where it is.",
            Self::InsufficientLoa => "This needs a stronger login. Step up on the account page: a one-time code gives Substantial, a passkey gives High.",
            Self::CredentialNotFound => "Choose one of your own signing credentials; an employee credential disappears when the right to sign for the organisation is revoked.",
            Self::CredentialSuspended => "Your signing credential is suspended. Resume it, or contact support if you did not suspend it.",
            Self::CredentialRevoked => "This signing credential is revoked for good and cannot sign again.",
            Self::InvalidSad | Self::SadMismatch | Self::HashNotAuthorized => "The approval does not match this signature. Start the signing again and approve it anew.",
            Self::SadExpired => "The approval expired before the signature was made. Approve again.",
            Self::SadUsed | Self::SadCountExceeded => "Each approval covers only the documents shown when it was given. Approve again for new documents.",
            Self::ActivationFailed => "The passkey or code did not verify. Try again with the passkey or app enrolled on your account.",
            Self::ActivationTooWeak => "A qualified signature must be approved with your passkey, not a one-time code. Enrol a passkey on the account page.",
            Self::UnsupportedAlgorithm | Self::UnsupportedFormat => "Choose one of the formats and algorithms offered on the signing page.",
            Self::InvalidXml => "The XML file was refused: it is broken, or uses DTDs or entities, which are not accepted for safety. Save it as plain XML and try again.",
            Self::NotPdf => "The file is not a PDF even if its name ends in .pdf. Export it as PDF, or sign it as 'any file' (CAdES).",
            Self::PdfEncrypted => "Password-protected PDFs cannot be signed. Save a copy without the password and upload that.",
            Self::PdfMalformed => "The PDF is damaged. Open it in a PDF reader and save or print it to a new PDF, then try again.",
            Self::PdfNoChangesAllowed => "The PDF was certified so that no further signatures are allowed. Ask its author for a copy that allows signing.",
            Self::InvalidCvr => "A CVR number has 8 digits with a valid check digit. Check the number in the CVR register.",
            Self::Forbidden => "Only an administrator of the organisation (or a support operator) may do this.",
            Self::RightMissing => "You do not hold the right for this organisation (sign_on_behalf or use_seal). Ask an administrator to grant it.",
            Self::UnusableInput => "The file cannot be checked: it is not a signed PDF, XML or CMS file, or it is damaged. Upload the signed file itself (and for a .p7s file also the signed content).",
            Self::FormRejected => "Go back, reload the page and send the form again. If it keeps happening, allow cookies for this site; never send a qsign form from another site's page.",
            Self::QuotaExceeded => "Sign or cancel one of the documents waiting for you, or wait until they expire, then upload again.",
            Self::RateLimited => "Wait a moment and send the request again; a client that needs more should use its own time-stamping or validation.",
            Self::CaseClosed => "Open the case again: if another member signed meanwhile, sign its current version; a complete or expired case takes no further signature.",
            Self::InvalidState => "Reload the power of attorney to see where it stands: an offer is accepted by the other side, a request approved by the organisation asked, and a refused or revoked one is over for good.",
            Self::MandateInvalid => "Ask the organisation that granted the power of attorney, or your own administrator, for a current one that covers this and is assigned to you.",
            Self::InvalidRule => "Write the rule with role names joined by | (either) and & (together), a count in braces for several signers, e.g. director | board{2} | chair & board{1}.",
            Self::AuthorizationRefused => "The signer refused the request on their phone. Ask again only if they mean to sign after all.",
            Self::AuthorizationExpired => "Nobody approved the request in time. Ask for the approval again and approve it on the approvals page soon after.",
            Self::AuthorizationClosed => "The request was approved or refused already, and an approval is handed to the application once. Ask again for a new approval.",
            Self::InvalidClient => "The application did not prove which application it is. Its supplier must register its key with qsign (or with the organisation's administrator) and sign a fresh client assertion for each request.",
            Self::InvalidDpopProof => "The application must prove, on every request, that it holds the key its access token is bound to: a fresh DPoP proof for this address and method, used once. Contact the application's supplier.",
            Self::UnknownPolicy => "Name one of the validation policies this service offers (the message lists them), or none for the default.",
        }
    }

    /// What a person can read about the code (also the basis of the help page).
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::InvalidRequest => "The request is malformed or misses a required parameter.",
            Self::NotFound => "Nothing exists at this address.",
            Self::MethodNotAllowed => "This address does not accept this HTTP method.",
            Self::PayloadTooLarge => "The request body is larger than this service accepts.",
            Self::UnsupportedMediaType => "The body's content type is not accepted here.",
            Self::RequestTimeout => "The request took too long and was stopped.",
            Self::TemporarilyUnavailable => {
                "A component of the service is busy or unreachable; try again shortly."
            }
            Self::NotReady => "The service is starting or has lost a dependency.",
            Self::InternalError => "Something went wrong on our side; quote the support reference.",
            Self::InvalidGrant => "The username, password or one-time code is not right.",
            Self::UnsupportedGrantType => "This kind of login is not offered here.",
            Self::CodeReused => "That one-time code was used already; wait for the next one.",
            Self::TooManyAttempts => {
                "Too many failed logins; wait a while and try again, or contact support."
            }
            Self::InvalidToken => "Log in again: the access token is missing, expired or invalid.",
            Self::AlreadyExists => "That name is taken already.",
            Self::InsufficientLoa => {
                "This needs a stronger login: add a one-time code or a passkey (step up)."
            }
            Self::CredentialNotFound => "No such credential for this account.",
            Self::CredentialSuspended => "The credential is suspended; resume it before signing.",
            Self::CredentialRevoked => "The credential is revoked and can no longer sign.",
            Self::InvalidSad => "The signature activation data is not valid; authorize again.",
            Self::SadExpired => "The signature activation data has expired; authorize again.",
            Self::SadMismatch => "The signature activation data was issued to another person or for another credential.",
            Self::HashNotAuthorized => "A hash or the hash algorithm is not among those the signer approved.",
            Self::SadUsed => "The signature activation data has been used; authorize again.",
            Self::SadCountExceeded => "More hashes than the signature activation data allows.",
            Self::ActivationFailed => "The activation factor (one-time code or passkey) did not verify.",
            Self::ActivationTooWeak => "This credential's policy needs a stronger activation (a passkey or the web approval).",
            Self::UnsupportedAlgorithm => "The hash or signature algorithm is not supported for this key.",
            Self::UnsupportedFormat => "This signature format or packaging is not offered.",
            Self::InvalidXml => {
                "The XML document is refused: no DTDs or entities, bounded nesting and size."
            }
            Self::NotPdf => "The document is not a PDF file.",
            Self::PdfEncrypted => "The PDF is encrypted; remove the password protection before signing.",
            Self::PdfMalformed => {
                "The PDF is damaged (for example its cross-reference table); repair or re-save it."
            }
            Self::PdfNoChangesAllowed => {
                "The PDF is certified with no changes allowed, so it cannot be signed again."
            }
            Self::InvalidCvr => "A CVR number has 8 digits and a valid check digit.",
            Self::Forbidden => {
                "Only the organisation's administrators may do that; ask one of them."
            }
            Self::RightMissing => {
                "Your organisation has not given you that right (or has taken it away); ask an administrator."
            }
            Self::UnusableInput => {
                "The file cannot be validated: send a signed PDF or a CMS signature (with its content when detached)."
            }
            Self::FormRejected => {
                "The form was not sent from qsign's own page, or the page is too old (anti-forgery check)."
            }
            Self::QuotaExceeded => "Too many documents are waiting for a signature on this account.",
            Self::RateLimited => "Too many requests from this address; slow down.",
            Self::CaseClosed => "The signing case is complete, expired, or changed while you signed.",
            Self::InvalidState => {
                "That change does not fit where the power of attorney stands now (or is the other side's to make)."
            }
            Self::MandateInvalid => {
                "The power of attorney is not valid for this: revoked, expired, of another scope, or not yours to use."
            }
            Self::InvalidRule => "The rule of representation is not in the rule language (or is too large).",
            Self::AuthorizationRefused => "The signer refused the approval request.",
            Self::AuthorizationExpired => {
                "The approval request expired before the signer decided; ask again."
            }
            Self::AuthorizationClosed => {
                "The approval request is decided already, and its SAD was handed out once; ask again."
            }
            Self::InvalidClient => "The client's authentication failed: unknown client, or a missing, invalid or reused client assertion.",
            Self::InvalidDpopProof => "The DPoP proof is missing, invalid, for another request, stale or reused, or signed by another key than the token is bound to.",
            Self::UnknownPolicy => "There is no validation policy of that name.",
        }
    }
}

/// A service failure: a stable code, a message safe to show the caller, and (for internal
/// failures) a detail that goes to the log only.
#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct Error {
    /// The stable code.
    pub code: ErrorCode,
    /// What the caller is told.
    pub message: String,
    /// What only the log sees.
    pub detail: Option<String>,
}

impl Error {
    /// An error with a code and a caller-facing message.
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// An internal failure: the caller sees a generic message, the log the detail.
    #[must_use]
    pub fn internal(detail: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InternalError,
            message: ErrorCode::InternalError.description().to_owned(),
            detail: Some(detail.into()),
        }
    }
}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::NotFound => Self::new(ErrorCode::NotFound, "not found"),
            store::Error::Unavailable { .. } => Self {
                code: ErrorCode::TemporarilyUnavailable,
                message: "the database is unavailable".into(),
                detail: Some(e.to_string()),
            },
            other => Self::internal(other.to_string()),
        }
    }
}

impl From<pki::Error> for Error {
    fn from(e: pki::Error) -> Self {
        match e {
            pki::Error::Hsm(e) => e.into(),
            pki::Error::Store(e) => e.into(),
            pki::Error::Audit(crate::audit::Error::Store(e)) => e.into(),
            pki::Error::NotInitialised => {
                Self::new(ErrorCode::NotReady, "the CA is not initialised")
            }
            pki::Error::UnknownCertificate => Self::new(ErrorCode::NotFound, "unknown certificate"),
            pki::Error::InvalidSubject(m) => Self::new(ErrorCode::InvalidRequest, m),
            pki::Error::InvalidPublicKey => {
                Self::new(ErrorCode::InvalidRequest, "invalid public key")
            }
            other => Self::internal(other.to_string()),
        }
    }
}

impl From<identity::Error> for Error {
    fn from(e: identity::Error) -> Self {
        use identity::Error as I;
        match e {
            I::InvalidCredentials | I::NoLevel => Self::new(
                ErrorCode::InvalidGrant,
                ErrorCode::InvalidGrant.description(),
            ),
            I::Locked { .. } => Self::new(
                ErrorCode::TooManyAttempts,
                ErrorCode::TooManyAttempts.description(),
            ),
            I::CodeReused => Self::new(ErrorCode::CodeReused, ErrorCode::CodeReused.description()),
            I::UsernameTaken => Self::new(ErrorCode::AlreadyExists, "the username is taken"),
            I::InvalidAccount(m) => Self::new(ErrorCode::InvalidRequest, m),
            I::UnknownAccount => Self::new(ErrorCode::NotFound, "no such account"),
            I::LocalFactors => Self::new(ErrorCode::Forbidden, I::LocalFactors.to_string()),
            I::InsufficientLoa { required } => Self::new(
                ErrorCode::InsufficientLoa,
                format!("this needs a login at {} or higher", required.uri()),
            ),
            I::Token(t) => Self {
                code: ErrorCode::InvalidToken,
                message: t.to_string(),
                detail: Some(format!("{t:?}")),
            },
            I::Dpop(p) => Self {
                code: ErrorCode::InvalidDpopProof,
                message: p.to_string(),
                detail: Some(format!("{p:?}")),
            },
            I::Client(c) => Self {
                code: ErrorCode::InvalidClient,
                message: c.to_string(),
                detail: Some(format!("{c:?}")),
            },
            I::InvalidRequest(m) => Self::new(ErrorCode::InvalidRequest, m),
            I::ClientExists => Self::new(ErrorCode::AlreadyExists, I::ClientExists.to_string()),
            I::Store(e) => e.into(),
            I::Hsm(e) => e.into(),
            other => Self::internal(other.to_string()),
        }
    }
}

impl From<TokenError> for Error {
    fn from(e: TokenError) -> Self {
        identity::Error::Token(e).into()
    }
}

impl From<hsm::Error> for Error {
    fn from(e: hsm::Error) -> Self {
        match e {
            hsm::Error::Busy(_) | hsm::Error::SessionLost { .. } => Self {
                code: ErrorCode::TemporarilyUnavailable,
                message: "the HSM is busy or unreachable".into(),
                detail: Some(e.to_string()),
            },
            other => Self::internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The released catalogue. Adding a code appends here; changing a line breaks clients.
    #[test]
    fn error_code_catalogue_is_stable() {
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "invalid_request",
                "not_found",
                "method_not_allowed",
                "payload_too_large",
                "unsupported_media_type",
                "request_timeout",
                "temporarily_unavailable",
                "not_ready",
                "internal_error",
                "invalid_grant",
                "unsupported_grant_type",
                "code_reused",
                "too_many_attempts",
                "invalid_token",
                "already_exists",
                "insufficient_loa",
                "credential_not_found",
                "credential_suspended",
                "credential_revoked",
                "invalid_sad",
                "sad_expired",
                "sad_mismatch",
                "hash_not_authorized",
                "sad_used",
                "sad_count_exceeded",
                "activation_failed",
                "activation_too_weak",
                "unsupported_algorithm",
                "unsupported_format",
                "invalid_xml",
                "not_pdf",
                "pdf_encrypted",
                "pdf_malformed",
                "pdf_no_changes_allowed",
                "invalid_cvr",
                "forbidden",
                "right_missing",
                "unusable_input",
                "form_rejected",
                "quota_exceeded",
                "rate_limited",
                "case_closed",
                "invalid_state",
                "mandate_invalid",
                "invalid_rule",
                "authorization_refused",
                "authorization_expired",
                "authorization_closed",
                "invalid_client",
                "invalid_dpop_proof",
                "unknown_policy",
            ]
        );
    }

    #[test]
    fn every_code_is_described_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert!(code.description().ends_with('.'), "{}", code.as_str());
        }
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let e = Error::from(store::Error::Query("syntax error near secret_table".into()));
        assert_eq!(e.code, ErrorCode::InternalError);
        assert!(!e.message.contains("secret_table"));
        assert!(e.detail.unwrap().contains("secret_table"));
    }
}
