//! Native whole-document signing: upload a document (with PDF options), authorize its digest
//! (CSC `credentials/authorize`, any activation), sign it, download the result; and raising a
//! signed file (PAdES, CAdES, XAdES) to a higher level.

use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::extract::{Caller, Json};
use crate::service::{
    parse_level, Documents, Error, ErrorCode, Format, OnBehalf, PdfOptions, PdfVisible, Uploaded,
};

/// The query of an upload.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// `cades-attached`, `cades-detached`, `xades-enveloped`, `xades-enveloping`,
    /// `xades-detached`, `pades`.
    format: String,
    /// `B-B` (default), `B-T`, `B-LT`, `B-LTA`.
    #[serde(default)]
    level: Option<String>,
    /// PDF: `/Reason`.
    #[serde(default)]
    reason: Option<String>,
    /// PDF: `/Location`.
    #[serde(default)]
    location: Option<String>,
    /// PDF: `/ContactInfo`.
    #[serde(default)]
    contact_info: Option<String>,
    /// PDF: `true` for a certification signature (DocMDP: form filling and signing allowed).
    #[serde(default)]
    certify: Option<bool>,
    /// PDF: the page of a visible signature, from 1.
    #[serde(default)]
    page: Option<u32>,
    /// PDF: the visible signature's rectangle `x1,y1,x2,y2` in points.
    #[serde(default)]
    rect: Option<String>,
    /// Signing on behalf of an organisation: its CVR number, with `role` or `mandate`.
    #[serde(default)]
    cvr: Option<String>,
    /// A role the signer holds in the organisation `cvr`.
    #[serde(default)]
    role: Option<String>,
    /// A power of attorney (its id) from the organisation `cvr` the signer may use.
    #[serde(default)]
    mandate: Option<String>,
}

impl UploadQuery {
    fn pdf_options(&self) -> Result<PdfOptions, Error> {
        pdf_options(
            self.reason.clone(),
            self.location.clone(),
            self.contact_info.clone(),
            self.certify.unwrap_or(false),
            self.page,
            self.rect.as_deref(),
        )
    }

    fn on_behalf(&self) -> Result<Option<OnBehalf>, Error> {
        match (&self.cvr, &self.role, &self.mandate) {
            (None, None, None) => Ok(None),
            (Some(cvr), role, mandate) => Ok(Some(OnBehalf {
                cvr: cvr.clone(),
                role: role.clone(),
                mandate: mandate.clone(),
            })),
            (None, _, _) => Err(Error::new(
                ErrorCode::InvalidRequest,
                "role and mandate go with cvr, the organisation signed for",
            )),
        }
    }
}

/// PDF options from a request's parts: a visible field needs `rect` (`x1,y1,x2,y2` in points)
/// and takes `page` (1 by default).
pub(super) fn pdf_options(
    reason: Option<String>,
    location: Option<String>,
    contact_info: Option<String>,
    certify: bool,
    page: Option<u32>,
    rect: Option<&str>,
) -> Result<PdfOptions, Error> {
    let visible = match (page, rect) {
        (None, None) => None,
        (page, Some(rect)) => {
            let numbers: Vec<f64> = rect
                .split(',')
                .map(|n| n.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| bad_rect())?;
            let rect: [f64; 4] = numbers.try_into().map_err(|_| bad_rect())?;
            Some(PdfVisible {
                page: page.unwrap_or(1),
                rect,
                signer: String::new(),
                organisation: None,
                cvr: None,
            })
        }
        (Some(_), None) => return Err(bad_rect()),
    };
    Ok(PdfOptions {
        name: None,
        reason,
        location,
        contact_info,
        certify,
        visible,
        capacity: None,
    })
}

fn bad_rect() -> Error {
    Error::new(
        ErrorCode::InvalidRequest,
        "rect: four numbers x1,y1,x2,y2 (points) for a visible signature",
    )
}

/// `POST /v1/documents` reply.
#[derive(Debug, Serialize)]
pub struct UploadResponse {
    /// The document's id.
    id: String,
    /// Its SHA-256, base64.
    sha256: String,
    /// What `credentials/authorize` must cover, base64: the SHA-256, or for a PDF with options
    /// the approval digest of the document and the options.
    digest: String,
    /// The options approved with the document, as the signer reads them; `null` without.
    approval: Option<String>,
    /// The hash algorithm of `digest` (SHA-256).
    #[serde(rename = "hashAlgorithmOID")]
    hash_algorithm_oid: &'static str,
    /// When it is deleted, Unix seconds.
    expires_at: i64,
}

/// `POST /v1/documents?format=…&level=…` with the document as the body: answers its id and
/// SHA-256 (base64), which the signer authorizes next.
pub async fn upload(
    Caller(documents, principal, _): Caller<Arc<Documents>>,
    Query(query): Query<UploadQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<UploadResponse>), Error> {
    let format = Format::parse(&query.format).ok_or_else(|| {
        Error::new(
            ErrorCode::UnsupportedFormat,
            "format: cades-attached, cades-detached, xades-enveloped, xades-enveloping, xades-detached or pades",
        )
    })?;
    let level = parse_level(query.level.as_deref().unwrap_or("B-B"))
        .ok_or_else(|| Error::new(ErrorCode::InvalidRequest, "level: B-B, B-T, B-LT or B-LTA"))?;
    let pdf = query.pdf_options()?;
    let uploaded = match query.on_behalf()? {
        None => {
            documents
                .upload_document(&principal, body.to_vec(), format, level, &pdf)
                .await?
        }
        Some(on_behalf) => {
            documents
                .upload_on_behalf(&principal, body.to_vec(), format, level, &pdf, &on_behalf)
                .await?
        }
    };
    Ok((StatusCode::CREATED, UploadResponse::reply(uploaded)))
}

impl UploadResponse {
    /// The reply for a kept document.
    pub(super) fn reply(uploaded: Uploaded) -> Json<Self> {
        Json(Self {
            id: uploaded.id,
            sha256: uploaded.sha256.to_base64(),
            digest: uploaded.digest.to_base64(),
            approval: uploaded.approval_text,
            hash_algorithm_oid: "2.16.840.1.101.3.4.2.1",
            expires_at: uploaded.expires_at,
        })
    }
}

/// The body of a signing request.
#[derive(Debug, Deserialize)]
pub struct SignRequest {
    #[serde(rename = "credentialID")]
    credential_id: String,
    #[serde(default, rename = "SAD")]
    sad: Option<String>,
}

/// `POST /v1/documents/{id}/sign` reply: where the result is.
#[derive(Debug, Serialize)]
pub struct SignResponse {
    id: String,
    /// The path of the signed document or signature.
    signed: String,
}

/// `POST /v1/documents/{id}/sign` `{credentialID, SAD}`.
pub async fn sign(
    Caller(documents, principal, request_id): Caller<Arc<Documents>>,
    Path(id): Path<String>,
    Json(request): Json<SignRequest>,
) -> Result<Json<SignResponse>, Error> {
    let credential = &request.credential_id;
    documents
        .sign_uploaded(&principal, &id, credential, request.sad, request_id)
        .await?;
    let signed = format!("/v1/documents/{id}/signed");
    Ok(Json(SignResponse { id, signed }))
}

/// `GET /v1/documents/{id}/signed`: the signed document or signature.
pub async fn signed(
    Caller(documents, principal, _): Caller<Arc<Documents>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Error> {
    let (bytes, media_type) = documents.signed_document(&principal, &id).await?;
    Ok(([(header::CONTENT_TYPE, media_type)], bytes))
}

/// `DELETE /v1/documents/{id}`: forgets a document and its signed result now.
pub async fn remove(
    Caller(documents, principal, _): Caller<Arc<Documents>>,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    documents.delete_document(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query of an extension.
#[derive(Debug, Deserialize)]
pub struct ExtendQuery {
    /// `B-T`, `B-LT` or `B-LTA` (the default).
    #[serde(default)]
    level: Option<String>,
}

/// `POST /v1/extend?level=…` (and its older name `POST /v1/pdf/extend`) with a signed file as
/// the body — a PDF, a CMS (DER) or an XML signature — or, for a detached CAdES or XAdES
/// signature, JSON `{file, content}` in base64: the file raised to the level (B-LTA by
/// default; at B-LTA already, a further archive timestamp), in the media type of its kind.
/// The older name takes PDFs only (anything else is `not_pdf`).
pub async fn extend(
    Caller(documents, _, _): Caller<Arc<Documents>>,
    path: MatchedPath,
    Query(query): Query<ExtendQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, Error> {
    let level = parse_level(query.level.as_deref().unwrap_or("B-LTA"))
        .ok_or_else(|| Error::new(ErrorCode::InvalidRequest, "level: B-T, B-LT or B-LTA"))?;
    if path.as_str() == "/v1/pdf/extend" {
        let extended = documents.extend_pdf(body.to_vec(), level).await?;
        return Ok(([(header::CONTENT_TYPE, "application/pdf")], extended));
    }
    let (file, content) = super::validate::file_and_content(&headers, &body)?;
    let extended = documents.extend(file, content, level).await?;
    Ok((
        [(header::CONTENT_TYPE, extended.media_type)],
        extended.bytes,
    ))
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples};

    const SHA256: &str = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";

    request_samples! {
        SignRequest => json!({"credentialID": "0b7f0c59-31c5-4cb5-9a4c-0d6c3c6e2f1a",
            "SAD": "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"});
    }

    response_samples! {
        UploadResponse => [UploadResponse {
            id: "5f0e".into(),
            sha256: SHA256.into(),
            digest: SHA256.into(),
            approval: None,
            hash_algorithm_oid: "2.16.840.1.101.3.4.2.1",
            expires_at: 1_750_000_900,
        }];
        SignResponse => [SignResponse {
            id: "5f0e".into(),
            signed: "/v1/documents/5f0e/signed".into(),
        }];
    }
}
