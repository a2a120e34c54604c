//! Self-service help — the common tasks step by step (sign, add a passkey, a lost phone or key,
//! contact support) and every stable error code explained, generated from the one error enum
//! so it cannot drift — and the operators' support lookup of a support reference, whole or in
//! its 8-character short form.

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;

use super::{Chrome, Row, SignedIn, Web};
use crate::service::{Account, Error, ErrorCode};

page_chrome!(HelpPage, SupportPage, AccessibilityPage);

/// One code on the help page.
#[derive(Debug, Clone)]
struct CodeHelp {
    code: &'static str,
    description: &'static str,
    advice: &'static str,
}

#[derive(Template)]
#[template(path = "help.html")]
struct HelpPage<'a> {
    chrome: Chrome<'a>,
    codes: Vec<CodeHelp>,
}

/// `GET /help`
pub async fn help(web: Web) -> Response {
    let codes = ErrorCode::ALL
        .iter()
        .map(|c| {
            let (description, advice) = super::i18n::explain(web.t, *c);
            CodeHelp {
                code: c.as_str(),
                description,
                advice,
            }
        })
        .collect();
    web.render(&HelpPage {
        chrome: web.chrome(None),
        codes,
    })
}

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage<'a> {
    chrome: Chrome<'a>,
}

/// `GET /accessibility`: the accessibility statement, in the sections of the Danish
/// statement (status, how it is tested, what is not accessible, its preparation, feedback,
/// enforcement).
pub async fn accessibility(web: Web) -> Response {
    web.render(&AccessibilityPage {
        chrome: web.chrome(None),
    })
}

#[derive(Template)]
#[template(path = "support.html")]
struct SupportPage<'a> {
    chrome: Chrome<'a>,
    reference: String,
    searched: bool,
    rows: Vec<Row>,
    /// The whole references the records carry (a short reference names its request's), for
    /// the search in the service's log.
    full: Vec<String>,
    /// The short form of what was searched (the log's `short_ref` field).
    short: String,
}

/// The reference to look up.
#[derive(Debug, Deserialize)]
pub struct SupportQuery {
    #[serde(default, rename = "ref")]
    reference: String,
}

/// `GET /support?ref=…` (support operators, High session).
pub async fn support(
    SignedIn(account, session): SignedIn<Arc<Account>>,
    Query(q): Query<SupportQuery>,
) -> Result<Response, Error> {
    let searched = !q.reference.trim().is_empty();
    let mut full: Vec<String> = Vec::new();
    let rows = if searched {
        let records = account
            .support_lookup(&session.principal, &q.reference)
            .await?;
        for id in records.iter().filter_map(|r| r["request_id"].as_str()) {
            if !full.iter().any(|f| f == id) {
                full.push(id.to_owned());
            }
        }
        records
            .iter()
            .map(|r| Row::from_record(session.web.t, r))
            .collect()
    } else {
        // The empty form is for operators only too.
        if !account.is_operator(&session.principal).await? {
            return Err(Error::new(
                ErrorCode::Forbidden,
                "only support operators may use this page",
            ));
        }
        Vec::new()
    };
    let reference = q.reference.trim().to_owned();
    let short = if crate::service::short_reference_range(&reference).is_some() {
        reference.to_uppercase()
    } else {
        crate::service::short_reference(&reference)
    };
    Ok(session.web.render(&SupportPage {
        chrome: session.chrome(),
        reference,
        searched,
        rows,
        full,
        short,
    }))
}
