//! The citizen's pages: log in, upload, review (pages as pictures, size, SHA-256), choose the
//! credential, approve with a passkey or (where the policy allows) a one-time code, download;
//! and the person's own history.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{multipart_error, shown_name, Chrome, Row, Session, Web};
use crate::http::extract::Json;
use crate::http::router::AppState;
use crate::http::wire::{Ceremony, Location};
use crate::service::{
    Activation, CredentialKind, CredentialStatus, DocumentInfo, Error, ErrorCode, Format,
    PasskeyLogin, PdfOptions, PdfVisible, Scal,
};

page_chrome!(IndexPage, ReviewPage, DonePage, HistoryPage);

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    chrome: Chrome<'a>,
    orgs: Vec<(String, String)>,
}

/// `GET /`: the login form, or the upload form once logged in.
pub async fn index(State(state): State<AppState>, web: Web) -> Response {
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
    })
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    otp: String,
}

/// `POST /login`: password and, optionally, a one-time code.
pub async fn login(
    State(state): State<AppState>,
    web: Web,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, Error> {
    let otp = Some(form.otp.trim()).filter(|o| !o.is_empty());
    let issued = state
        .service
        .login
        .password_grant(
            form.username.trim(),
            &form.password,
            otp,
            web.source.clone(),
            Some(web.request_id.clone()),
        )
        .await?;
    Ok(web.start_session("/", &issued.access_token, issued.expires_in))
}

/// `POST /logout`: revokes the token and clears the cookie.
pub async fn logout(State(state): State<AppState>, web: Web) -> Response {
    if let Some(token) = web.token.as_deref() {
        if let Ok(principal) = state.service.login.authenticate(token).await {
            // The cookie is cleared either way.
            let _ = state.service.login.logout(&principal).await;
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
    State(state): State<AppState>,
    Json(start): Json<PasskeyStart>,
) -> Result<Response, Error> {
    let (id, options) = state
        .service
        .login
        .passkey_login_start(start.username.trim())
        .await?;
    Ok(Json(Ceremony { state: id, options }).into_response())
}

/// `POST /web/passkey/login/finish` (JSON): the passkey with the password or a code; starts
/// a High session.
pub async fn passkey_login_finish(
    State(state): State<AppState>,
    web: Web,
    Json(login): Json<PasskeyLogin>,
) -> Result<Response, Error> {
    let issued = state
        .service
        .login
        .passkey_login_finish(login, web.source.clone(), Some(web.request_id.clone()))
        .await?;
    Ok(web.json_session(
        Location {
            location: "/".into(),
        },
        &issued.access_token,
        issued.expires_in,
    ))
}

/// `POST /sign` (multipart): keeps the document and shows it for review.
pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    mut multipart: Multipart,
) -> Result<Response, Error> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut fields = std::collections::HashMap::new();
    let bad = |m: &str| Error::new(ErrorCode::InvalidRequest, m.to_owned());
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
                return Err(bad("a form field is too long"));
            }
            fields.insert(name, value);
        }
    }
    let (file_name, content) = file.ok_or_else(|| bad("choose a file to sign"))?;
    let get = |k: &str| fields.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let format = Format::parse(get("format").unwrap_or("pades")).ok_or_else(|| {
        Error::new(
            ErrorCode::UnsupportedFormat,
            "choose one of the formats offered",
        )
    })?;
    let level = crate::service::parse_level(get("level").unwrap_or("B-T"))
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
    let uploaded = state
        .service
        .documents
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

/// `GET /sign/{id}`: what will be signed, and the approval.
pub async fn review(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<NameQuery>,
) -> Result<Response, Error> {
    let doc = state
        .service
        .documents
        .document_info(&session.principal, &id)
        .await?;
    if doc.signed {
        return Ok(Redirect::to(&done_location(&id, &q.name)).into_response());
    }
    let t = session.web.t;
    let credentials = state
        .service
        .signing
        .credentials(&session.principal, Some(session.web.request_id.clone()))
        .await?
        .into_iter()
        .filter(|c| c.status == CredentialStatus::Active)
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
    Ok(session.web.render(&ReviewPage {
        chrome: session.chrome(),
        name: shown_name(&q.name),
        doc,
        shown,
        credentials,
    }))
}

/// `GET /sign/{id}/pages/{n}`: one page as a PNG picture.
pub async fn page_image(
    State(state): State<AppState>,
    session: Session,
    Path((id, page)): Path<(String, usize)>,
) -> Result<Response, Error> {
    let png = state
        .service
        .documents
        .document_page(&session.principal, &id, page)
        .await?;
    Ok(super::private_file(png, "image/png", None))
}

/// The one-time-code approval form.
#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    credential: String,
    otp: String,
}

/// `POST /sign/{id}/approve`: approve with a one-time code (SCAL1 policies only) and sign.
pub async fn approve_totp(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<NameQuery>,
    axum::Form(form): axum::Form<ApproveForm>,
) -> Result<Response, Error> {
    state
        .service
        .documents
        .approve_document(
            &session.principal,
            &id,
            &form.credential,
            Activation::Totp(form.otp.trim().to_owned()),
            Some(session.web.request_id.clone()),
        )
        .await?;
    Ok(Redirect::to(&done_location(&id, &q.name)).into_response())
}

/// The credential a passkey approval starts for.
#[derive(Debug, Deserialize)]
pub struct PasskeyApproveStart {
    credential: String,
}

/// `POST /sign/{id}/passkey/start` (JSON): the WebAuthn challenge bound to this document's
/// hash and the credential.
pub async fn approve_passkey_start(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Json(start): Json<PasskeyApproveStart>,
) -> Result<Response, Error> {
    let (challenge, options) = state
        .service
        .documents
        .document_challenge(
            &session.principal,
            &id,
            &start.credential,
            Some(session.web.request_id.clone()),
        )
        .await?;
    Ok(Json(Ceremony {
        state: challenge,
        options,
    })
    .into_response())
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
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Json(finish): Json<PasskeyApproveFinish>,
) -> Result<Response, Error> {
    state
        .service
        .documents
        .approve_document(
            &session.principal,
            &id,
            &finish.credential,
            Activation::Passkey {
                challenge_id: finish.state,
                assertion: finish.assertion,
            },
            Some(session.web.request_id.clone()),
        )
        .await?;
    let location = done_location(&id, &finish.name);
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

/// The signed file's name: `contract.pdf` stays `contract.pdf` for PAdES (a PDF with its
/// signature inside), gets `.p7s` for a detached CAdES signature.
fn signed_name(name: &str, media_type: &str) -> String {
    let base = if name.is_empty() { "document" } else { name };
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
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
pub async fn done(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<NameQuery>,
) -> Result<Response, Error> {
    let (_, media_type) = state
        .service
        .documents
        .signed_document(&session.principal, &id)
        .await?;
    Ok(session.web.render(&DonePage {
        chrome: session.chrome(),
        name_q: super::encode(&q.name),
        download_name: signed_name(&q.name, media_type),
        id,
    }))
}

/// `GET /sign/{id}/download`: the signed file as an attachment.
pub async fn download(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<NameQuery>,
) -> Result<Response, Error> {
    let (bytes, media_type) = state
        .service
        .documents
        .signed_document(&session.principal, &id)
        .await?;
    let name = signed_name(&q.name, media_type);
    Ok(super::private_file(bytes, media_type, Some(&name)))
}

/// `POST /sign/{id}/cancel`: forgets the upload.
pub async fn cancel(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    state
        .service
        .documents
        .delete_document(&session.principal, &id)
        .await?;
    Ok(Redirect::to("/").into_response())
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage<'a> {
    chrome: Chrome<'a>,
    rows: Vec<Row>,
}

/// `GET /history`: the person's own audit history (signatures, logins, factor changes).
pub async fn history(State(state): State<AppState>, session: Session) -> Result<Response, Error> {
    let rows = state
        .service
        .account
        .my_history(&session.principal, 200)
        .await?
        .iter()
        .map(Row::from_record)
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
    fn signed_file_names_are_plain() {
        assert_eq!(
            signed_name("Aftale 1.pdf", "application/pdf"),
            "Aftale_1-signed.pdf"
        );
        assert_eq!(
            signed_name("<x>\".pdf", "application/pdf"),
            "_x__-signed.pdf"
        );
        assert_eq!(
            signed_name("", "application/pkcs7-signature"),
            "document.p7s"
        );
        assert_eq!(signed_name("a.xml", "application/xml"), "a-signed.xml");
    }
}
