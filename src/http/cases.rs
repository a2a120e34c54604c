//! Signing cases over the native API: a PDF signed on behalf of an organisation by its members
//! until its rule of representation is met.

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::documents::{pdf_options, UploadResponse};
use super::extract::{Caller, Json};
use crate::service::{
    parse_level, CaseSigning, CaseView, Documents, Error, ErrorCode, Format, NewCase,
};

/// The query of `POST /v1/orgs/{cvr}/cases`.
#[derive(Debug, Deserialize)]
pub struct OpenQuery {
    /// What the document is.
    title: String,
    /// How many days the case stays open (14 by default, at most 90).
    #[serde(default)]
    days: Option<i64>,
    /// `pades`, `cades-detached` or `xades-detached`; PAdES for a PDF, CAdES otherwise.
    #[serde(default)]
    format: Option<String>,
}

/// A signature in a case.
#[derive(Debug, Serialize)]
pub struct CaseSignature {
    /// The signer's name as their certificate shows it.
    name: String,
    /// The role signed in.
    role: String,
    /// Unix seconds.
    signed_at: i64,
    /// The signature's path, for a CAdES or XAdES case (a PDF's are in the document).
    signature: Option<String>,
}

/// A signing case.
#[derive(Debug, Serialize)]
pub struct Case {
    id: String,
    cvr: String,
    title: String,
    /// `pades`, `cades-detached` or `xades-detached`.
    format: String,
    /// The rule of representation the case must meet.
    rule: String,
    /// `open`, `complete` or `expired`.
    state: String,
    signatures: Vec<CaseSignature>,
    /// What is still needed, in words.
    missing: Vec<String>,
    /// SHA-256 (hex) of the current revision.
    sha256: String,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    expires_at: i64,
    /// The document's path (for a PDF, its current revision with every signature).
    document: String,
    /// For a CAdES case, the path of all its signatures as one SignedData.
    signatures_file: Option<String>,
}

impl From<CaseView> for Case {
    fn from(v: CaseView) -> Self {
        let base = format!("/v1/orgs/{}/cases/{}", v.case.cvr, v.case.id);
        let mut n = 0;
        Self {
            document: format!("{base}/document"),
            signatures_file: (v.case.format == "cades-detached")
                .then(|| format!("{base}/signature")),
            id: v.case.id,
            cvr: v.case.cvr,
            title: v.case.title,
            format: v.case.format,
            rule: v.case.rule,
            state: v.state.to_owned(),
            signatures: v
                .signatures
                .into_iter()
                .map(|s| CaseSignature {
                    signature: s.signature.map(|_| {
                        n += 1;
                        format!("{base}/signature?n={n}")
                    }),
                    name: s.name,
                    role: s.role,
                    signed_at: s.signed_at,
                })
                .collect(),
            missing: v.missing,
            sha256: v.case.sha256,
            created_at: v.case.created_at,
            expires_at: v.case.expires_at,
        }
    }
}

/// `GET /v1/orgs/{cvr}/cases` reply.
#[derive(Debug, Serialize)]
pub struct Cases {
    cases: Vec<Case>,
}

/// `POST /v1/orgs/{cvr}/cases/{id}/signing`: the capacity and the PDF options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningRequest {
    /// A role the signer holds.
    #[serde(default)]
    role: Option<String>,
    /// A power of attorney (its id) instead of a role.
    #[serde(default)]
    mandate: Option<String>,
    /// `B-B`, `B-T` (default), `B-LT`, `B-LTA` (B-LTA for PDF cases only).
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    location: Option<String>,
    /// The page of a visible signature, from 1.
    #[serde(default)]
    page: Option<u32>,
    /// The visible signature's rectangle `x1,y1,x2,y2` in points.
    #[serde(default)]
    rect: Option<String>,
}

/// `POST /v1/orgs/{cvr}/cases?title=…&days=…` with the PDF as the body: opens a case.
pub async fn open(
    Caller(documents, principal, request_id): Caller<Arc<Documents>>,
    Path(cvr): Path<String>,
    Query(query): Query<OpenQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<Case>), Error> {
    let format = query
        .format
        .as_deref()
        .map(|f| {
            Format::parse(f).ok_or_else(|| {
                Error::new(
                    ErrorCode::UnsupportedFormat,
                    "format: pades, cades-detached or xades-detached",
                )
            })
        })
        .transpose()?;
    let new = NewCase {
        title: query.title,
        days: query.days.unwrap_or(14),
        format,
        content: body.to_vec(),
    };
    let view = documents
        .open_case(&principal, &cvr, new, request_id)
        .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// `GET /v1/orgs/{cvr}/cases`.
pub async fn list(
    Caller(documents, principal, _): Caller<Arc<Documents>>,
    Path(cvr): Path<String>,
) -> Result<Json<Cases>, Error> {
    let cases = documents.cases(&principal, &cvr).await?;
    Ok(Json(Cases {
        cases: cases.into_iter().map(Case::from).collect(),
    }))
}

/// `GET /v1/orgs/{cvr}/cases/{id}`.
pub async fn get(
    Caller(documents, principal, _): Caller<Arc<Documents>>,
    Path((cvr, id)): Path<(String, String)>,
) -> Result<Json<Case>, Error> {
    Ok(Json(documents.case(&principal, &cvr, &id).await?.into()))
}

/// `GET /v1/orgs/{cvr}/cases/{id}/document`: the current revision (every signature so far).
pub async fn document(
    Caller(documents, principal, _): Caller<Arc<Documents>>,
    Path((cvr, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    let pdf = documents.case_document(&principal, &cvr, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf))
}

/// The query of a case's signature.
#[derive(Debug, Deserialize)]
pub struct SignatureQuery {
    /// Which signature, from 1; all of a CAdES case's as one SignedData without it.
    #[serde(default)]
    n: Option<usize>,
}

/// `GET /v1/orgs/{cvr}/cases/{id}/signature?n=…`: a CAdES or XAdES case's signatures.
pub async fn signature(
    Caller(documents, principal, _): Caller<Arc<Documents>>,
    Path((cvr, id)): Path<(String, String)>,
    Query(query): Query<SignatureQuery>,
) -> Result<impl IntoResponse, Error> {
    let (bytes, media_type) = documents
        .case_signature(&principal, &cvr, &id, query.n)
        .await?;
    Ok(([(header::CONTENT_TYPE, media_type)], bytes))
}

/// `POST /v1/orgs/{cvr}/cases/{id}/signing`: a document of the native flow for the caller to
/// sign the case in a role; the answer is that of `POST /v1/documents`.
pub async fn signing(
    Caller(documents, principal, _): Caller<Arc<Documents>>,
    Path((cvr, id)): Path<(String, String)>,
    Json(request): Json<SigningRequest>,
) -> Result<(StatusCode, Json<UploadResponse>), Error> {
    let level = request
        .level
        .as_deref()
        .map(|l| {
            parse_level(l).ok_or_else(|| {
                Error::new(ErrorCode::InvalidRequest, "level: B-B, B-T, B-LT or B-LTA")
            })
        })
        .transpose()?;
    let pdf = pdf_options(
        request.reason,
        request.location,
        None,
        false,
        request.page,
        request.rect.as_deref(),
    )?;
    let signing = CaseSigning {
        role: request.role,
        mandate: request.mandate,
        level,
        pdf,
    };
    let uploaded = documents
        .case_signing(&principal, &cvr, &id, &signing)
        .await?;
    Ok((StatusCode::CREATED, UploadResponse::reply(uploaded)))
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples};

    fn case(state: &str) -> Case {
        Case {
            id: "6f1c2d9e-3a4b-4c5d-8e9f-0a1b2c3d4e5f".into(),
            cvr: "35408002".into(),
            title: "Lease of Rungstedlund".into(),
            format: "cades-detached".into(),
            rule: "director | board{2}".into(),
            state: state.into(),
            signatures: vec![CaseSignature {
                name: "Karen Blixen".into(),
                role: "board".into(),
                signed_at: 1_750_000_100,
                signature: Some(
                    "/v1/orgs/35408002/cases/6f1c2d9e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/signature?n=1"
                        .into(),
                ),
            }],
            missing: vec!["1 more board".into(), "1 more director".into()],
            sha256: "ab".repeat(32),
            created_at: 1_750_000_000,
            expires_at: 1_751_209_600,
            document: "/v1/orgs/35408002/cases/6f1c2d9e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/document"
                .into(),
            signatures_file: Some(
                "/v1/orgs/35408002/cases/6f1c2d9e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/signature".into(),
            ),
        }
    }

    request_samples! {
        SigningRequest => json!({"role": "board", "mandate": null, "level": "B-T",
            "reason": "Approved by the board", "location": "Rungsted", "page": 1,
            "rect": "36,36,236,96"});
    }

    response_samples! {
        Case => [case("open")];
        Cases => [Cases { cases: vec![case("complete")] }];
    }
}
