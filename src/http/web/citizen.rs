//! The citizen's pages: log in, upload, review (pages as pictures, size, SHA-256), choose the
//! credential, approve with a passkey or (where the policy allows) a one-time code, download;
//! and the person's own history.

use askama::Template;
use axum::extract::{FromRef, FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

use super::{multipart_error, shown_name, Chrome, Row, Session, SignedIn, Web};
use crate::http::extract::{Json, Origin};
use crate::http::router::AppState;
use crate::http::wire::{Ceremony, Location};
use crate::service::{
    Account, Activation, CredentialKind, CredentialStatus, DocumentInfo, Documents, Error,
    ErrorCode, Format, Logins, PasskeyLogin, PdfOptions, PdfVisible, Scal, Signing,
};

page_chrome!(IndexPage, ReviewPage, TextPage, DonePage, HistoryPage);

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    chrome: Chrome<'a>,
    orgs: Vec<(String, String)>,
    /// Where the login returns to (a local path: the page whose session ended).
    next: String,
}

/// The start page's query: where to go after logging in.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// `GET /`: the login form, or the upload form once logged in.
pub async fn index(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<NextQuery>,
) -> Response {
    let (web, user, orgs) = match web.clone().session(&state).await {
        Ok(session) => {
            // Below Substantial there are no organisations to list.
            let orgs = state
                .service
                .orgs
                .my_organisations(&session.principal)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|(o, _)| (o.cvr, o.name))
                .collect();
            (session.web, Some(session.user), orgs)
        }
        Err(_) => (web, None, Vec::new()),
    };
    web.render(&IndexPage {
        chrome: web.chrome(user),
        orgs,
        next: if super::local_path(&q.next) {
            q.next
        } else {
            String::new()
        },
    })
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    otp: String,
    /// The page to return to (a local path), e.g. the review whose session ended.
    #[serde(default)]
    next: String,
}

/// `POST /login`: password and, optionally, a one-time code.
pub async fn login(
    State(login): State<Arc<Logins>>,
    web: Web,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, Error> {
    let otp = Some(form.otp.trim()).filter(|o| !o.is_empty());
    let Origin(source, request_id) = web.origin();
    let issued = login
        .password_grant(
            form.username.trim(),
            &form.password,
            otp,
            source,
            request_id,
        )
        .await?;
    let to = if super::local_path(&form.next) {
        form.next.as_str()
    } else {
        "/"
    };
    Ok(web.start_session(to, &issued.access_token, issued.expires_in))
}

/// `POST /logout`: revokes the token and clears the cookie.
pub async fn logout(State(login): State<Arc<Logins>>, web: Web) -> Response {
    if let Some(token) = web.token.as_deref() {
        if let Ok(principal) = login.authenticate(token).await {
            // The cookie is cleared either way.
            let _ = login.logout(&principal).await;
        }
    }
    web.end_session()
}

/// Starts a passkey login.
#[derive(Debug, Deserialize)]
pub struct PasskeyStart {
    username: String,
}

/// `POST /web/passkey/login/start` (JSON).
pub async fn passkey_login_start(
    State(login): State<Arc<Logins>>,
    Json(start): Json<PasskeyStart>,
) -> Result<Json<Ceremony>, Error> {
    login
        .passkey_login_start(start.username.trim())
        .await
        .map(Ceremony::reply)
}

/// `POST /web/passkey/login/finish` (JSON): the passkey with the password or a code; starts
/// a High session.
pub async fn passkey_login_finish(
    State(logins): State<Arc<Logins>>,
    web: Web,
    Json(login): Json<PasskeyLogin>,
) -> Result<Response, Error> {
    let Origin(source, request_id) = web.origin();
    let issued = logins
        .passkey_login_finish(login, source, request_id)
        .await?;
    Ok(web.json_session(
        Location {
            location: "/".into(),
        },
        &issued.access_token,
        issued.expires_in,
    ))
}

/// An uploaded file (its name as shown and its bytes) and the form's other fields (at most
/// 16, each at most 1,000 bytes), from a multipart form whose file field is `file`.
pub(super) async fn read_upload(
    multipart: &mut Multipart,
) -> Result<
    (
        Option<(String, Vec<u8>)>,
        std::collections::HashMap<String, String>,
    ),
    Error,
> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut fields = std::collections::HashMap::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e))?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            let file_name = shown_name(field.file_name().unwrap_or("document"));
            let bytes = field.bytes().await.map_err(|e| multipart_error(&e))?;
            file = Some((file_name, bytes.to_vec()));
        } else if fields.len() < 16 {
            let value = field.text().await.map_err(|e| multipart_error(&e))?;
            if value.len() > 1000 {
                return Err(Error::new(
                    ErrorCode::InvalidRequest,
                    "a form field is too long",
                ));
            }
            fields.insert(name, value);
        }
    }
    Ok((file, fields))
}

/// `POST /sign` (multipart): keeps the document and shows it for review.
pub async fn upload(
    SignedIn(documents, session): SignedIn<Arc<Documents>>,
    mut multipart: Multipart,
) -> Result<Response, Error> {
    let bad = |m: &str| Error::new(ErrorCode::InvalidRequest, m.to_owned());
    let (file, fields) = read_upload(&mut multipart).await?;
    let (file_name, content) = file.ok_or_else(|| bad("choose a file to sign"))?;
    let get = |k: &str| fields.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let format = match get("format").unwrap_or("auto") {
        "auto" => format_for(&file_name, &content),
        chosen => Format::parse(chosen).ok_or_else(|| {
            Error::new(
                ErrorCode::UnsupportedFormat,
                "choose one of the formats offered",
            )
        })?,
    };
    let level = crate::service::parse_level(get("level").unwrap_or("B-LT"))
        .ok_or_else(|| bad("choose one of the levels offered"))?;
    let mut pdf = PdfOptions {
        reason: get("reason").map(str::to_owned),
        location: get("location").map(str::to_owned),
        ..PdfOptions::default()
    };
    if format == Format::Pades && get("visible") == Some("1") {
        let page: u32 = get("page")
            .unwrap_or("1")
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| bad("the page of the visible signature is a number from 1"))?;
        pdf.visible = Some(PdfVisible {
            page,
            rect: corner(get("corner").unwrap_or("bottom-left")),
            // Filled from the certificate when signing.
            signer: String::new(),
            organisation: None,
            cvr: None,
        });
    }
    let uploaded = documents
        .upload_document(&session.principal, content, format, level, &pdf)
        .await?;
    Ok(Redirect::to(&format!(
        "/sign/{}?name={}",
        uploaded.id,
        super::encode(&file_name)
    ))
    .into_response())
}

/// The visible signature's rectangle (points on an A4 page) for a corner.
fn corner(which: &str) -> [f64; 4] {
    let (x, y) = match which {
        "bottom-right" => (355.0, 36.0),
        "top-left" => (36.0, 736.0),
        "top-right" => (355.0, 736.0),
        _ => (36.0, 36.0),
    };
    [x, y, x + 204.0, y + 70.0]
}

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
    /// Approves and signs the document with the credential.
    async fn approve(&self, credential: &str, activation: Activation) -> Result<(), Error> {
        let (principal, request_id) = (&self.session.principal, self.session.request_id());
        self.documents
            .approve_document(principal, &self.id, credential, activation, request_id)
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
    let session = &own.session;
    let doc = own
        .documents
        .document_info(&session.principal, &own.id)
        .await?;
    if doc.signed {
        return Ok(Redirect::to(&done_location(&own.id, &q.name)).into_response());
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
    let first_passkey_only = credentials.first().is_some_and(|c| c.scal == "2");
    Ok(session.web.render(&ReviewPage {
        chrome: session.chrome(),
        name: shown_name(&q.name),
        name_q: super::encode(&q.name),
        first_passkey_only,
        doc,
        shown,
        credentials,
    }))
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

/// `POST /sign/{id}/approve`: approve with a one-time code (SCAL1 policies only) and sign.
pub async fn approve_totp(
    own: OwnDocument,
    Query(q): Query<NameQuery>,
    axum::Form(form): axum::Form<ApproveForm>,
) -> Result<Response, Error> {
    let activation = Activation::Totp(form.otp.trim().to_owned());
    own.approve(&form.credential, activation).await?;
    Ok(Redirect::to(&done_location(&own.id, &q.name)).into_response())
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
    own.approve(&finish.credential, activation).await?;
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

/// The format a file asks for by its name and what it is: a PDF is signed inside (PAdES), an
/// XML document inside (XAdES enveloped), anything else beside it (CAdES, a `.p7s`). A file
/// named `.pdf` that is no PDF is refused as one (`not_pdf`) rather than signed otherwise.
fn format_for(name: &str, content: &[u8]) -> Format {
    let named = |ext: &str| {
        name.rsplit_once('.')
            .is_some_and(|(_, e)| e.eq_ignore_ascii_case(ext))
    };
    let start = content
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(content);
    let start = start.trim_ascii_start();
    if named("pdf") || content.starts_with(b"%PDF-") {
        Format::Pades
    } else if named("xml")
        || start.starts_with(b"<?xml")
        || (start.starts_with(b"<") && !start.starts_with(b"<!"))
    {
        Format::XadesEnveloped
    } else {
        Format::Cades { attached: false }
    }
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

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage<'a> {
    chrome: Chrome<'a>,
    rows: Vec<Row>,
}

/// `GET /history`: the person's own audit history (signatures, logins, factor changes).
pub async fn history(
    SignedIn(account, session): SignedIn<Arc<Account>>,
) -> Result<Response, Error> {
    let rows = account
        .my_history(&session.principal, 200)
        .await?
        .iter()
        .map(|r| Row::from_record(session.web.t, r))
        .collect();
    Ok(session.web.render(&HistoryPage {
        chrome: session.chrome(),
        rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_file() {
        assert_eq!(format_for("a", b"%PDF-1.7\n"), Format::Pades);
        assert_eq!(format_for("invoice.PDF", b"MZ\x90\x00"), Format::Pades);
        assert_eq!(
            format_for("a", b"<?xml version=\"1.0\"?><a/>"),
            Format::XadesEnveloped
        );
        assert_eq!(
            format_for("a", b"\xef\xbb\xbf\n  <lease/>"),
            Format::XadesEnveloped
        );
        assert_eq!(format_for("lease.xml", b"text"), Format::XadesEnveloped);
        assert_eq!(
            format_for("a", b"<!DOCTYPE x><x/>"),
            Format::Cades { attached: false }
        );
        assert_eq!(
            format_for("a.exe", b"MZ\x90\x00"),
            Format::Cades { attached: false }
        );
        assert_eq!(format_for("", b""), Format::Cades { attached: false });
    }

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
