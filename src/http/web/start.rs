//! The start page: log in (password and code, or passkey), then upload a document to sign. A
//! refused login or upload shows the start page again with the error summary above the form
//! and the choices made so far (the file itself must be chosen again: browsers never fill in
//! a file field).

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

use super::errors::on_page;
use super::{local_target, multipart_error, shown_name, Chrome, Problem, Session, SignedIn, Web};
use crate::http::extract::{Json, Origin};
use crate::http::router::AppState;
use crate::http::wire::{Ceremony, Location};
use crate::service::{Error, ErrorCode, Format, Logins, PasskeyLogin, PdfOptions, PdfVisible};

page_chrome!(IndexPage);

/// The upload form's choices, kept when the page is shown again.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UploadForm {
    format: String,
    level: String,
    reason: String,
    location: String,
    visible: bool,
    page: String,
    corner: String,
    /// "More options" starts unfolded (a choice in it was refused or made).
    open: bool,
}

impl Default for UploadForm {
    fn default() -> Self {
        Self {
            format: "auto".into(),
            level: "B-LT".into(),
            reason: String::new(),
            location: String::new(),
            visible: false,
            page: "1".into(),
            corner: "bottom-left".into(),
            open: false,
        }
    }
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    chrome: Chrome<'a>,
    orgs: Vec<(String, String)>,
    /// Where the login returns to (a local place: the page whose session ended).
    next: String,
    /// A refused login or upload.
    problem: Option<Problem>,
    /// The username of a refused login.
    username: String,
    /// The upload form's choices.
    form: UploadForm,
}

/// The start page's query: where to go after logging in.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// `next` when it is a place on this site to return to, else nothing.
fn local_next(next: String) -> String {
    if local_target(&next) {
        next
    } else {
        String::new()
    }
}

/// The organisations on the start page (none below Substantial).
pub(super) async fn organisations(state: &AppState, session: &Session) -> Vec<(String, String)> {
    state
        .service
        .orgs
        .my_organisations(&session.principal)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(o, _)| (o.cvr, o.name))
        .collect()
}

/// `GET /`: the login form, or the upload form once logged in.
pub async fn index(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<NextQuery>,
) -> Response {
    let (web, user, orgs) = match web.clone().session(&state).await {
        Ok(session) => {
            let orgs = organisations(&state, &session).await;
            (session.web, Some(session.user), orgs)
        }
        Err(_) => (web, None, Vec::new()),
    };
    web.render(&IndexPage {
        chrome: web.chrome(user),
        orgs,
        next: local_next(q.next),
        problem: None,
        username: String::new(),
        form: UploadForm::default(),
    })
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    otp: String,
    /// The page to return to (a local place), e.g. the review whose session ended.
    #[serde(default)]
    next: String,
}

/// `POST /login`: password and, optionally, a one-time code. A refused login shows the login
/// form again with the error summary.
pub async fn login(
    State(login): State<Arc<Logins>>,
    mut web: Web,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, Error> {
    let otp = Some(form.otp.trim()).filter(|o| !o.is_empty());
    let Origin(source, request_id) = web.origin();
    let username = form.username.trim();
    let issued = login
        .password_grant(username, &form.password, otp, source, request_id)
        .await;
    let next = local_next(form.next);
    let e = match issued {
        Ok(issued) => {
            let to = if next.is_empty() { "/" } else { next.as_str() };
            return Ok(web.start_session(to, &issued.access_token, issued.expires_in));
        }
        Err(e) if on_page(e.code) => e,
        Err(e) => return Err(e),
    };
    let field = match e.code {
        ErrorCode::CodeReused => "otp",
        ErrorCode::TooManyAttempts => "username",
        _ => "password",
    };
    let problem = Problem::new(&web, &e, field);
    "/".clone_into(&mut web.back);
    let page = IndexPage {
        chrome: web.chrome(None),
        orgs: Vec::new(),
        next,
        username: shown_name(username),
        form: UploadForm::default(),
        problem: Some(problem),
    };
    Ok(web.render_problem(&page, page.problem.as_ref()))
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

/// `POST /web/passkey/login/finish?next=…` (JSON): the passkey with the password or a code;
/// starts a High session and answers where to go: `next` (a local place, the page whose
/// session ended) or the start page.
pub async fn passkey_login_finish(
    State(logins): State<Arc<Logins>>,
    web: Web,
    Query(q): Query<NextQuery>,
    Json(login): Json<PasskeyLogin>,
) -> Result<Response, Error> {
    let Origin(source, request_id) = web.origin();
    let issued = logins
        .passkey_login_finish(login, source, request_id)
        .await?;
    let next = local_next(q.next);
    let location = if next.is_empty() { "/".into() } else { next };
    Ok(web.json_session(
        Location { location },
        &issued.access_token,
        issued.expires_in,
    ))
}

/// An uploaded file (its name as shown and its bytes) and the form's other fields (at most
/// 16, each at most 1,000 bytes), from a multipart form whose file field is `file`.
pub(super) async fn read_upload(
    multipart: &mut Multipart,
) -> Result<(Option<(String, Vec<u8>)>, HashMap<String, String>), Error> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut fields = HashMap::new();
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

/// `POST /sign` (multipart): keeps the document and shows it for review; a refused upload
/// shows the upload form again with the error summary and the choices made.
pub async fn upload(
    SignedIn(state, mut session): SignedIn<AppState>,
    mut multipart: Multipart,
) -> Result<Response, Error> {
    let mut form = UploadForm::default();
    let (e, field) = match keep_upload(&state, &session, &mut multipart, &mut form).await {
        Ok(review) => return Ok(Redirect::to(&review).into_response()),
        Err((e, field)) if on_page(e.code) => (e, field),
        Err((e, _)) => return Err(e),
    };
    let mut problem = Problem::new(&session.web, &e, field);
    if e.code == ErrorCode::InsufficientLoa {
        problem = problem.linking("/account");
    }
    form.open |= matches!(field, "format" | "level" | "page");
    "/".clone_into(&mut session.web.back);
    let page = IndexPage {
        chrome: session.chrome(),
        orgs: organisations(&state, &session).await,
        next: String::new(),
        problem: Some(problem),
        username: String::new(),
        form,
    };
    Ok(session.web.render_problem(&page, page.problem.as_ref()))
}

/// Reads and keeps an upload; answers the review page's place, or the error with the id of
/// the field it is about. `form` gets the choices made.
async fn keep_upload(
    state: &AppState,
    session: &Session,
    multipart: &mut Multipart,
    form: &mut UploadForm,
) -> Result<String, (Error, &'static str)> {
    let bad = |m: &str| Error::new(ErrorCode::InvalidRequest, m.to_owned());
    let (file, fields) = read_upload(multipart).await.map_err(|e| (e, "file"))?;
    let get = |k: &str| fields.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let chosen = |k: &str, default: &'static str| -> String {
        get(k).unwrap_or(default).chars().take(200).collect()
    };
    *form = UploadForm {
        format: chosen("format", "auto"),
        level: chosen("level", "B-LT"),
        reason: chosen("reason", ""),
        location: chosen("location", ""),
        visible: get("visible") == Some("1"),
        page: chosen("page", "1"),
        corner: chosen("corner", "bottom-left"),
        open: false,
    };
    form.open = *form != UploadForm::default();
    let (file_name, content) = file.ok_or_else(|| (bad("choose a file to sign"), "file"))?;
    let format = match get("format").unwrap_or("auto") {
        "auto" => format_for(&file_name, &content),
        chosen => Format::parse(chosen).ok_or_else(|| {
            let e = Error::new(
                ErrorCode::UnsupportedFormat,
                "choose one of the formats offered",
            );
            (e, "format")
        })?,
    };
    let level = crate::service::parse_level(get("level").unwrap_or("B-LT"))
        .ok_or_else(|| (bad("choose one of the levels offered"), "level"))?;
    let mut pdf = PdfOptions {
        reason: get("reason").map(str::to_owned),
        location: get("location").map(str::to_owned),
        ..PdfOptions::default()
    };
    if format == Format::Pades && form.visible {
        let page: u32 = get("page")
            .unwrap_or("1")
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| {
                let e = bad("the page of the visible signature is a number from 1");
                (e, "page")
            })?;
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
        .await
        .map_err(|e| {
            let field = match e.code {
                ErrorCode::UnsupportedFormat => "format",
                ErrorCode::InvalidRequest if e.message.contains("page") => "page",
                _ => "file",
            };
            (e, field)
        })?;
    Ok(format!(
        "/sign/{}?name={}",
        uploaded.id,
        super::encode(&file_name)
    ))
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
    fn the_upload_form_unfolds_only_for_choices_made() {
        let mut chosen = UploadForm::default();
        assert_eq!(chosen, UploadForm::default());
        chosen.level = "B-T".into();
        assert_ne!(chosen, UploadForm::default());
    }
}
