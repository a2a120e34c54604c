//! Self-service help — every stable error code explained, generated from the one error enum so
//! it cannot drift — and the operators' support lookup of a support reference.

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;

use super::{Chrome, Row, SignedIn, Web};
use crate::service::{Account, Error, ErrorCode};

page_chrome!(HelpPage, SupportPage);

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
#[template(path = "support.html")]
struct SupportPage<'a> {
    chrome: Chrome<'a>,
    reference: String,
    searched: bool,
    rows: Vec<Row>,
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
    let rows = if searched {
        account
            .support_lookup(&session.principal, &q.reference)
            .await?
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
    Ok(session.web.render(&SupportPage {
        chrome: session.chrome(),
        reference: q.reference.trim().to_owned(),
        searched,
        rows,
    }))
}
