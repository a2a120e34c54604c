//! Signing cases on the web: an organisation's cases (members open one by uploading a PDF),
//! a case's page (who signed in which role, what the rule still needs, the current PDF) and
//! signing it in a role the member holds, through the ordinary review and approval pages.

use askama::Template;
use axum::extract::{Multipart, Path};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

use super::{Chrome, SignedIn};
use crate::service::{
    rfc3339, CaseSigning, CaseView, Documents, Error, ErrorCode, Format, NewCase,
};

page_chrome!(CasesPage, CasePage);

/// A case in the list.
#[derive(Debug, Clone)]
struct CaseItem {
    id: String,
    title: String,
    state: &'static str,
    signed: usize,
    missing: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage<'a> {
    chrome: Chrome<'a>,
    cvr: String,
    cases: Vec<CaseItem>,
}

/// One way to sign the case: the form's value and its label.
#[derive(Debug, Clone)]
struct Way {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage<'a> {
    chrome: Chrome<'a>,
    view: CaseView,
    /// Each signature: name, role, time (RFC 3339).
    signatures: Vec<(String, String, String)>,
    missing: String,
    ways: Vec<Way>,
    expires: String,
}

/// A file name for a case's PDF: its title with letters, digits, space, `-`, `_` and `.` kept
/// (anything else, quotes included, becomes `_`).
fn file_name(title: &str) -> String {
    let kept: String = title
        .chars()
        .take(100)
        .map(|c| {
            if c.is_alphanumeric() || " -_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{kept}.pdf")
}

fn words(missing: &[String], or: &str) -> String {
    missing.join(&format!(" {or} "))
}

/// `GET /org/{cvr}/cases`: the organisation's cases and opening one.
pub async fn list(
    SignedIn(documents, session): SignedIn<Arc<Documents>>,
    Path(cvr): Path<String>,
) -> Result<Response, Error> {
    let t = session.web.t;
    let cases = documents
        .cases(&session.principal, &cvr)
        .await?
        .into_iter()
        .map(|v| CaseItem {
            missing: words(&v.missing, t.or),
            signed: v.signatures.len(),
            state: v.state,
            expires: rfc3339(v.case.expires_at),
            id: v.case.id,
            title: v.case.title,
        })
        .collect();
    Ok(session.web.render(&CasesPage {
        chrome: session.chrome(),
        cvr,
        cases,
    }))
}

/// `POST /org/{cvr}/cases` (multipart: `title`, `days`, `file`): opens a case.
pub async fn open(
    SignedIn(documents, session): SignedIn<Arc<Documents>>,
    Path(cvr): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, Error> {
    let (file, fields) = super::start::read_upload(&mut multipart).await?;
    let bad = |m: &str| Error::new(ErrorCode::InvalidRequest, m.to_owned());
    let (file_name, content) = file.ok_or_else(|| bad("choose the PDF to be signed"))?;
    let get = |k: &str| fields.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let title = get("title").unwrap_or(&file_name).to_owned();
    let days = get("days")
        .unwrap_or("14")
        .parse::<i64>()
        .map_err(|_| bad("days: a number from 1 to 90"))?;
    let format = match get("format") {
        None | Some("auto") => None,
        Some(f) => Some(Format::parse(f).ok_or_else(|| {
            Error::new(
                ErrorCode::UnsupportedFormat,
                "choose one of the formats offered",
            )
        })?),
    };
    let new = NewCase {
        title,
        days,
        format,
        content,
    };
    let view = documents
        .open_case(&session.principal, &cvr, new, session.request_id())
        .await?;
    Ok(Redirect::to(&format!("/org/{cvr}/cases/{}", view.case.id)).into_response())
}

/// `GET /org/{cvr}/cases/{id}`: the case, and signing it.
pub async fn page(
    SignedIn(documents, session): SignedIn<Arc<Documents>>,
    Path((cvr, id)): Path<(String, String)>,
) -> Result<Response, Error> {
    let t = session.web.t;
    let view = documents.case(&session.principal, &cvr, &id).await?;
    let ways = if view.state == "open" {
        documents
            .case_capacities(&session.principal, &view)
            .await?
            .into_iter()
            .map(|(role, mandate)| match mandate {
                Some(m) => Way {
                    label: format!("{role} ({} {m})", t.mandate_word),
                    value: format!("mandate:{m}"),
                },
                None => Way {
                    label: role.clone(),
                    value: format!("role:{role}"),
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    let signatures = view
        .signatures
        .iter()
        .map(|s| (s.name.clone(), s.role.clone(), rfc3339(s.signed_at)))
        .collect();
    Ok(session.web.render(&CasePage {
        chrome: session.chrome(),
        missing: words(&view.missing, t.or),
        expires: rfc3339(view.case.expires_at),
        signatures,
        ways,
        view,
    }))
}

/// The role (or power of attorney) chosen.
#[derive(Debug, Deserialize)]
pub struct SignForm {
    way: String,
}

/// `POST /org/{cvr}/cases/{id}/sign`: the case's current revision for the member to review
/// and approve in the chosen role, on the ordinary review page.
pub async fn sign(
    SignedIn(documents, session): SignedIn<Arc<Documents>>,
    Path((cvr, id)): Path<(String, String)>,
    axum::Form(form): axum::Form<SignForm>,
) -> Result<Response, Error> {
    let mut signing = CaseSigning::default();
    match form.way.split_once(':') {
        Some(("role", role)) => signing.role = Some(role.to_owned()),
        Some(("mandate", m)) => signing.mandate = Some(m.to_owned()),
        _ => {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "choose the role you sign in",
            ))
        }
    }
    let view = documents.case(&session.principal, &cvr, &id).await?;
    let uploaded = documents
        .case_signing(&session.principal, &cvr, &id, &signing)
        .await?;
    let name = file_name(&view.case.title);
    Ok(Redirect::to(&format!(
        "/sign/{}?name={}",
        uploaded.id,
        super::encode(&name)
    ))
    .into_response())
}

/// Which signature of a case.
#[derive(Debug, Deserialize)]
pub struct Which {
    #[serde(default)]
    n: Option<usize>,
}

/// `GET /org/{cvr}/cases/{id}/signature?n=…`: a CAdES or XAdES case's signature (all of a
/// CAdES case's as one `.p7s` without `n`), as an attachment.
pub async fn signature(
    SignedIn(documents, session): SignedIn<Arc<Documents>>,
    Path((cvr, id)): Path<(String, String)>,
    axum::extract::Query(which): axum::extract::Query<Which>,
) -> Result<Response, Error> {
    let view = documents.case(&session.principal, &cvr, &id).await?;
    let (bytes, media_type) = documents
        .case_signature(&session.principal, &cvr, &id, which.n)
        .await?;
    let stem = file_name(&view.case.title);
    let stem = stem.trim_end_matches(".pdf");
    let name = match (which.n, media_type) {
        (Some(n), "application/xml") => format!("{stem}-signature-{n}.xml"),
        (Some(n), _) => format!("{stem}-signature-{n}.p7s"),
        (None, _) => format!("{stem}.p7s"),
    };
    Ok(super::private_file(bytes, media_type, Some(&name)))
}

/// `GET /org/{cvr}/cases/{id}/document`: the document (a PDF case's current revision), as
/// an attachment.
pub async fn document(
    SignedIn(documents, session): SignedIn<Arc<Documents>>,
    Path((cvr, id)): Path<(String, String)>,
) -> Result<Response, Error> {
    let view = documents.case(&session.principal, &cvr, &id).await?;
    let pdf = documents
        .case_document(&session.principal, &cvr, &id)
        .await?;
    if view.case.format == "pades" {
        return Ok(super::private_file(
            pdf,
            "application/pdf",
            Some(&file_name(&view.case.title)),
        ));
    }
    let name = file_name(&view.case.title);
    let name = name.trim_end_matches(".pdf");
    Ok(super::private_file(
        pdf,
        "application/octet-stream",
        Some(name),
    ))
}
