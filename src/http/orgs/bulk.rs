//! Bulk enrolment over the native API: `POST /v1/orgs/{cvr}/members/bulk` with a CSV body
//! (`Content-Type: text/csv`), answered with a report line per row and the totals.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::Path;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use serde::Serialize;

use crate::http::extract::{unreadable, Caller, Json};
use crate::service::{BulkOutcome, BulkReport, Error, ErrorCode, Organisations as Orgs};

/// How long a bulk enrolment may take, seconds (its own timeout, at least the usual one):
/// thousands of rows each make an account or an invitation, some a key and a certificate.
pub const TIMEOUT_SECS: u64 = 300;

/// `POST /v1/orgs/{cvr}/members/bulk` reply.
#[derive(Debug, Serialize)]
pub struct BulkReply {
    /// One line per row, by line.
    rows: Vec<BulkRow>,
    totals: Totals,
}

/// What became of one row.
#[derive(Debug, Serialize)]
pub struct BulkRow {
    /// The line the row starts on (the header is line 1).
    line: usize,
    username: String,
    /// `created`, `invited` or `error`.
    outcome: &'static str,
    /// A new account's enrolment code for its first passkey (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    enrolment_code: Option<String>,
    /// A new account's initial password (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_password: Option<String>,
    /// An existing account's invitation code (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    invitation_code: Option<String>,
    /// When the invitation expires, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    /// Why the row was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// How many rows there were and what became of them.
#[derive(Debug, Serialize)]
pub struct Totals {
    rows: usize,
    created: usize,
    invited: usize,
    errors: usize,
}

impl From<BulkReport> for BulkReply {
    fn from(report: BulkReport) -> Self {
        let totals = Totals {
            rows: report.lines.len(),
            created: report.created(),
            invited: report.invited(),
            errors: report.refused(),
        };
        let rows = report
            .lines
            .into_iter()
            .map(|l| {
                let mut row = BulkRow {
                    line: l.line,
                    username: l.username,
                    outcome: "error",
                    enrolment_code: None,
                    initial_password: None,
                    invitation_code: None,
                    expires_at: None,
                    error: None,
                };
                match l.outcome {
                    BulkOutcome::Created {
                        enrolment_code,
                        initial_password,
                    } => {
                        row.outcome = "created";
                        row.enrolment_code = Some(enrolment_code);
                        row.initial_password = Some(initial_password);
                    }
                    BulkOutcome::Invited {
                        invitation_code,
                        expires_at,
                    } => {
                        row.outcome = "invited";
                        row.invitation_code = Some(invitation_code);
                        row.expires_at = Some(expires_at);
                    }
                    BulkOutcome::Refused(reason) => row.error = Some(reason),
                }
                row
            })
            .collect();
        Self { rows, totals }
    }
}

/// Whether the body is CSV (`text/csv`, parameters such as `charset` aside).
fn is_csv(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/csv"))
}

/// `POST /v1/orgs/{cvr}/members/bulk` (administrators, High): the report.
pub async fn enrol(
    Caller(orgs, principal, request_id): Caller<Arc<Orgs>>,
    Path(cvr): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BulkReply>, Error> {
    if !is_csv(&headers) {
        return Err(Error::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be CSV, sent with Content-Type: text/csv",
        ));
    }
    let body = body.map_err(|rejection| unreadable(&rejection))?;
    let report = orgs.bulk_enrol(&principal, &cvr, &body, request_id).await?;
    Ok(Json(report.into()))
}

#[cfg(test)]
mod samples {
    use super::*;
    use crate::http::wire::response_samples;
    use crate::service::BulkLine;

    fn report() -> BulkReport {
        let line = |line: usize, username: &str, outcome: BulkOutcome| BulkLine {
            line,
            username: username.into(),
            outcome,
        };
        BulkReport {
            lines: vec![
                line(
                    2,
                    "karen",
                    BulkOutcome::Created {
                        enrolment_code: "7KQ2-XM4P-…".into(),
                        initial_password: "Q3VZ…".into(),
                    },
                ),
                line(
                    3,
                    "bror",
                    BulkOutcome::Invited {
                        invitation_code: "QX7T2K9M…".into(),
                        expires_at: 1_750_604_800,
                    },
                ),
                line(4, "", BulkOutcome::Refused("the username is empty".into())),
            ],
        }
    }

    #[test]
    fn csv_is_text_csv_with_or_without_parameters() {
        let mut headers = HeaderMap::new();
        assert!(!is_csv(&headers));
        for (value, csv) in [
            ("text/csv", true),
            ("text/csv; charset=utf-8", true),
            ("Text/CSV", true),
            ("text/plain", false),
            ("application/json", false),
        ] {
            headers.insert(CONTENT_TYPE, axum::http::HeaderValue::from_static(value));
            assert_eq!(is_csv(&headers), csv, "{value}");
        }
        let reply = BulkReply::from(report());
        assert_eq!(
            (
                reply.totals.rows,
                reply.totals.created,
                reply.totals.invited
            ),
            (3, 1, 1)
        );
        assert_eq!(reply.totals.errors, 1);
    }

    response_samples! {
        BulkReply => [BulkReply::from(report())];
    }
}
