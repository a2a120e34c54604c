//! The citizen's pages after the upload: review (pages as pictures, size, SHA-256, text),
//! choose the credential, approve with a passkey or (where the policy allows) a one-time code
//! — a refused code shows the review again with the error summary — and download.

use askama::Template;
use axum::extract::{FromRef, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

use super::errors::on_page;
use super::{shown_name, Chrome, Problem, Session, SignedIn};
use crate::http::extract::Json;
use crate::http::router::AppState;
use crate::http::wire::{Ceremony, Location};
use crate::service::{
    Activation, CredentialKind, CredentialStatus, DocumentInfo, Documents, Error, ErrorCode, Scal,
    Signing,
};

page_chrome!(ReviewPage, TextPage, DonePage);

/// A credential offered on the review page.
#[derive(Debug, Clone)]
struct CredentialOption {
    id: String,
    label: String,
    scal: &'static str,
}

#[derive(Template)]
#[template(path = "sign.html")]
struct ReviewPage<'a> {
    chrome: Chrome<'a>,
    name: String,
    /// The file name for the approval form's action (kept for the download).
    name_q: String,
    /// The preselected credential accepts only a passkey (SCAL2): the code field is hidden.
    first_passkey_only: bool,
    doc: DocumentInfo,
    shown: Vec<usize>,
    credentials: Vec<CredentialOption>,
    /// The credential chosen in a refused approval (preselected again).
    chosen: String,
    /// A refused approval.
    problem: Option<Problem>,
}

/// Where a signed document is offered for download.
fn done_location(id: &str, name: &str) -> String {
    format!("/sign/{id}/done?name={}", super::encode(name))
}

/// The review page's query: the file name as uploaded.
#[derive(Debug, Deserialize)]
pub struct NameQuery {
    #[serde(default)]
    name: String,
}

/// One of the signed-in person's documents, as a page's path names it: the use case, the
/// session and the document's id.
#[derive(Debug)]
pub struct OwnDocument {
    documents: Arc<Documents>,
    session: Session,
    id: String,
}

impl FromRequestParts<AppState> for OwnDocument {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            documents: Arc::<Documents>::from_ref(state),
            session,
            id,
        })
    }
}

impl OwnDocument {
    /// Approves and signs the document with the credential; the name it was uploaded under is
    /// recorded with the approval (the person's history names the document by it).
    async fn approve(
        &self,
        credential: &str,
        activation: Activation,
        name: &str,
    ) -> Result<(), Error> {
        let (principal, request_id) = (&self.session.principal, self.session.request_id());
        let name = Some(shown_name(name)).filter(|n| !n.is_empty());
        self.documents
            .approve_document(
                principal,
                &self.id,
                credential,
                activation,
                request_id,
                name.as_deref(),
            )
            .await
    }

    /// The signed result: the file, its media type and the name to offer it under (from the
    /// name as uploaded).
    async fn signed_file(
        &self,
        uploaded_as: &str,
    ) -> Result<(Vec<u8>, &'static str, String), Error> {
        let principal = &self.session.principal;
        let (bytes, media_type) = self.documents.signed_document(principal, &self.id).await?;
        Ok((bytes, media_type, signed_name(uploaded_as, media_type)))
    }
}

/// `GET /sign/{id}`: what will be signed, and the approval.
pub async fn review(
    State(signing): State<Arc<Signing>>,
    own: OwnDocument,
    Query(q): Query<NameQuery>,
) -> Result<Response, Error> {
    render_review(&signing, &own, &q.name, "", None).await
}

/// The review page; after a refused approval with the credential `chosen` preselected and
/// the error summary.
async fn render_review(
    signing: &Signing,
    own: &OwnDocument,
    name: &str,
    chosen: &str,
    problem: Option<Problem>,
) -> Result<Response, Error> {
    let session = &own.session;
    let doc = own
        .documents
        .document_info(&session.principal, &own.id)
        .await?;
    if doc.signed {
        return Ok(Redirect::to(&done_location(&own.id, name)).into_response());
    }
    let t = session.web.t;
    let mut active: Vec<_> = signing
        .credentials(&session.principal, session.request_id())
        .await?
        .into_iter()
        .filter(|c| c.status == CredentialStatus::Active)
        .collect();
    // Signing for an organisation: its employee credential first (the one that may sign).
    if let Some(cvr) = &doc.credential_cvr {
        active.sort_by_key(|c| {
            let acts = matches!(&c.kind, CredentialKind::Employee { cvr: c } if c == cvr)
                || (cvr.is_empty() && c.kind == CredentialKind::Personal);
            !acts
        });
    }
    let credentials: Vec<CredentialOption> = active
        .into_iter()
        .map(|c| {
            let who = match &c.kind {
                CredentialKind::Personal => t.cred_personal.to_owned(),
                CredentialKind::Employee { cvr } => format!("{} CVR {cvr}", t.cred_employee),
                CredentialKind::Seal { cvr } => format!("{} CVR {cvr}", t.cred_seal),
            };
            CredentialOption {
                id: c.id.to_string(),
                label: format!("{who} — {}", c.policy.description),
                scal: if c.policy.scal > Scal::Scal1 {
                    "2"
                } else {
                    "1"
                },
            }
        })
        .collect();
    let shown = (1..=doc.pages.min(crate::service::PREVIEW_PAGES)).collect();
    let first_passkey_only = credentials
        .iter()
        .find(|c| c.id == chosen)
        .or_else(|| credentials.first())
        .is_some_and(|c| c.scal == "2");
    let page = ReviewPage {
        chrome: session.chrome(),
        name: shown_name(name),
        name_q: super::encode(name),
        first_passkey_only,
        doc,
        shown,
        credentials,
        chosen: chosen.to_owned(),
        problem,
    };
    Ok(session.web.render_problem(&page, page.problem.as_ref()))
}

/// `GET /sign/{id}/pages/{n}`: one page as a PNG picture.
pub async fn page_image(
    SignedIn(documents, session): SignedIn<Arc<Documents>>,
    Path((id, page)): Path<(String, usize)>,
) -> Result<Response, Error> {
    let png = documents
        .document_page(&session.principal, &id, page)
        .await?;
    Ok(super::private_file(png, "image/png", None))
}

#[derive(Template)]
#[template(path = "text.html")]
struct TextPage<'a> {
    chrome: Chrome<'a>,
    id: String,
    name: String,
    name_q: String,
    /// Each page with text: its number and its text.
    pages: Vec<(usize, String)>,
    /// More pages than the text shows.
    more: bool,
}

/// `GET /sign/{id}/text`: the document's text, page by page, for reading (with a screen
/// reader too) what is about to be signed.
pub async fn text(own: OwnDocument, Query(q): Query<NameQuery>) -> Result<Response, Error> {
    let text = own
        .documents
        .document_text(&own.session.principal, &own.id)
        .await?;
    Ok(own.session.web.render(&TextPage {
        chrome: own.session.chrome(),
        id: own.id.clone(),
        name: shown_name(&q.name),
        name_q: super::encode(&q.name),
        more: text.more,
        pages: text.pages,
    }))
}

/// `GET /sign/{id}/file`: the uploaded file itself, as an attachment (never shown inside
/// qsign's pages), for its signer to open in their own reader.
pub async fn file(own: OwnDocument, Query(q): Query<NameQuery>) -> Result<Response, Error> {
    let (bytes, media_type) = own
        .documents
        .document_file(&own.session.principal, &own.id)
        .await?;
    Ok(super::private_file(
        bytes,
        media_type,
        Some(&plain_name(&q.name)),
    ))
}

/// The one-time-code approval form.
#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    credential: String,
    otp: String,
}

/// `POST /sign/{id}/approve`: approve with a one-time code (SCAL1 policies only) and sign. A
/// refused approval (a wrong or reused code, a credential that needs the passkey) shows the
/// review page again with the error summary, the chosen credential preselected.
pub async fn approve_totp(
    State(signing): State<Arc<Signing>>,
    mut own: OwnDocument,
    Query(q): Query<NameQuery>,
    axum::Form(form): axum::Form<ApproveForm>,
) -> Result<Response, Error> {
    let activation = Activation::Totp(form.otp.trim().to_owned());
    let e = match own.approve(&form.credential, activation, &q.name).await {
        Ok(()) => return Ok(Redirect::to(&done_location(&own.id, &q.name)).into_response()),
        Err(e) if on_page(e.code) => e,
        Err(e) => return Err(e),
    };
    // A document signed meanwhile has nothing left to approve: the error page.
    let info = own.documents.document_info(&own.session.principal, &own.id);
    let unsigned = info.await.is_ok_and(|doc| !doc.signed);
    if !unsigned {
        return Err(e);
    }
    let field = match e.code {
        ErrorCode::ActivationTooWeak
        | ErrorCode::CredentialNotFound
        | ErrorCode::CredentialSuspended
        | ErrorCode::CredentialRevoked
        | ErrorCode::RightMissing
        | ErrorCode::InsufficientLoa => "credential",
        _ => "otp",
    };
    let mut problem = Problem::new(&own.session.web, &e, field);
    if e.code == ErrorCode::InsufficientLoa {
        problem = problem.linking("/account");
    }
    // The page's own place, for the language switch and a login that comes back.
    let place = format!("/sign/{}?name={}", own.id, super::encode(&q.name));
    own.session.web.back = super::encode(&place);
    render_review(&signing, &own, &q.name, &form.credential, Some(problem)).await
}

/// The credential a passkey approval starts for.
#[derive(Debug, Deserialize)]
pub struct PasskeyApproveStart {
    credential: String,
}

/// `POST /sign/{id}/passkey/start` (JSON): the WebAuthn challenge bound to this document's
/// hash and the credential.
pub async fn approve_passkey_start(
    own: OwnDocument,
    Json(start): Json<PasskeyApproveStart>,
) -> Result<Json<Ceremony>, Error> {
    let (principal, request_id) = (&own.session.principal, own.session.request_id());
    own.documents
        .document_challenge(principal, &own.id, &start.credential, request_id)
        .await
        .map(Ceremony::reply)
}

/// A passkey approval.
#[derive(Debug, Deserialize)]
pub struct PasskeyApproveFinish {
    credential: String,
    state: String,
    assertion: serde_json::Value,
    #[serde(default)]
    name: String,
}

/// `POST /sign/{id}/passkey/finish` (JSON): checks the assertion, signs, and answers where
/// the download is.
pub async fn approve_passkey_finish(
    own: OwnDocument,
    Json(finish): Json<PasskeyApproveFinish>,
) -> Result<Response, Error> {
    let activation = Activation::Passkey {
        challenge_id: finish.state,
        assertion: finish.assertion,
    };
    own.approve(&finish.credential, activation, &finish.name)
        .await?;
    let location = done_location(&own.id, &finish.name);
    Ok(Json(Location { location }).into_response())
}

#[derive(Template)]
#[template(path = "signed.html")]
struct DonePage<'a> {
    chrome: Chrome<'a>,
    id: String,
    name_q: String,
    download_name: String,
}

/// A file name safe in a header and on any disk: ASCII letters, digits, `.`, `-` and `_`;
/// `document` when there is none.
fn plain_name(name: &str) -> String {
    let base = if name.is_empty() { "document" } else { name };
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The signed file's name: `contract.pdf` stays `contract.pdf` for PAdES (a PDF with its
/// signature inside), gets `.p7s` for a detached CAdES signature.
fn signed_name(name: &str, media_type: &str) -> String {
    let clean = plain_name(name);
    match media_type {
        "application/pkcs7-signature" => format!("{clean}.p7s"),
        _ => {
            let stem = clean.rsplit_once('.').map_or(clean.as_str(), |(s, _)| s);
            let ext = if media_type == "application/pdf" {
                "pdf"
            } else {
                "xml"
            };
            format!("{stem}-signed.{ext}")
        }
    }
}

/// `GET /sign/{id}/done`: the download.
pub async fn done(own: OwnDocument, Query(q): Query<NameQuery>) -> Result<Response, Error> {
    let (_, _, download_name) = own.signed_file(&q.name).await?;
    Ok(own.session.web.render(&DonePage {
        chrome: own.session.chrome(),
        name_q: super::encode(&q.name),
        download_name,
        id: own.id,
    }))
}

/// `GET /sign/{id}/download`: the signed file as an attachment.
pub async fn download(own: OwnDocument, Query(q): Query<NameQuery>) -> Result<Response, Error> {
    let (bytes, media_type, name) = own.signed_file(&q.name).await?;
    Ok(super::private_file(bytes, media_type, Some(&name)))
}

/// `POST /sign/{id}/cancel`: forgets the upload.
pub async fn cancel(own: OwnDocument) -> Result<Response, Error> {
    let principal = &own.session.principal;
    own.documents.delete_document(principal, &own.id).await?;
    Ok(Redirect::to("/").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_file_names_are_plain() {
        for (name, media_type, signed) in [
            ("Aftale 1.pdf", "application/pdf", "Aftale_1-signed.pdf"),
            ("<x>\".pdf", "application/pdf", "_x__-signed.pdf"),
            ("", "application/pkcs7-signature", "document.p7s"),
            ("a.xml", "application/xml", "a-signed.xml"),
        ] {
            assert_eq!(signed_name(name, media_type), signed, "{name:?}");
        }
    }
}
