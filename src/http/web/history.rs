//! "My signatures": the person's own audit records as a person reads them. Each signature
//! names the document (the file name its approval recorded), what it was signed as (the
//! person, or an organisation by name and CVR), the signature policy and the result in words,
//! at the reader's local time; digests and ids stay behind a "technical details" disclosure.

use askama::Template;
use axum::response::Response;
use std::collections::HashMap;

use super::{Chrome, SignedIn, Texts};
use crate::http::router::AppState;
use crate::service::{document_name, rfc3339, Error};

page_chrome!(HistoryPage);

/// One audit record as "My signatures" shows it.
#[derive(Debug, Clone)]
struct Entry {
    /// UTC time (RFC 3339; the page's script shows it in the reader's time zone).
    when: String,
    /// What happened, in the reader's language (empty for an event without words yet).
    label: &'static str,
    /// The event type (its code, beside the words).
    what: String,
    /// The document, by the file name its approval recorded ("a document" when none was).
    document: Option<String>,
    /// What the certificate signs as, in words: the person, or an organisation.
    signed_as: Option<String>,
    /// The signature policy, in words (its name when it has no words).
    policy: Option<String>,
    /// The result, in words (empty for events without one).
    result: &'static str,
    /// A refusal's error code (linked to `/help`).
    reason: Option<String>,
    /// The record's fields for those who want them: ids, digests.
    details: String,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage<'a> {
    chrome: Chrome<'a>,
    rows: Vec<Entry>,
}

/// `GET /history`: the person's own audit history (signatures, logins, factor changes).
pub async fn history(SignedIn(state, session): SignedIn<AppState>) -> Result<Response, Error> {
    let t = session.web.t;
    let records = state
        .service
        .account
        .my_history(&session.principal, 200)
        .await?;
    // The person's organisations by CVR, to name the one a signature was made for (none below
    // Substantial: then the CVR alone).
    let orgs: HashMap<String, String> = super::start::organisations(&state, &session)
        .await
        .into_iter()
        .collect();
    // The file each approval was for, by its SAD id: its signature names the same file.
    let names: HashMap<String, String> = records
        .iter()
        .filter_map(|r| {
            let event = r.get("event")?;
            if event.get("type")?.as_str()? != "sad_issued" {
                return None;
            }
            let name = document_name(event.get("label")?.as_str()?)?;
            Some((event.get("sad")?.as_str()?.to_owned(), name.to_owned()))
        })
        .collect();
    let rows = records.iter().map(|r| entry(t, r, &names, &orgs)).collect();
    Ok(session.web.render(&HistoryPage {
        chrome: session.chrome(),
        rows,
    }))
}

/// A record in words.
fn entry(
    t: &'static Texts,
    record: &serde_json::Value,
    names: &HashMap<String, String>,
    orgs: &HashMap<String, String>,
) -> Entry {
    let at = record["at"].as_i64().unwrap_or(0);
    let event = &record["event"];
    let what = event["type"].as_str().unwrap_or("").to_owned();
    let field = |k: &str| event[k].as_str().map(str::to_owned);
    let signature = matches!(what.as_str(), "sad_issued" | "signature_made");
    let document = match what.as_str() {
        "sad_issued" => event["label"]
            .as_str()
            .and_then(document_name)
            .map(str::to_owned),
        "signature_made" | "sad_consumed" => field("sad").and_then(|sad| names.get(&sad).cloned()),
        _ => None,
    }
    .or_else(|| signature.then(|| t.history_no_name.to_owned()));
    let signed_as = signature
        .then(|| record["subject"].as_str())
        .flatten()
        .map(|subject| match subject.strip_prefix("org:") {
            Some(cvr) => match orgs.get(cvr) {
                Some(name) => format!("{} {name} (CVR {cvr})", t.history_for_org),
                None => format!("{} CVR {cvr}", t.history_for_org),
            },
            None => t.history_personal.to_owned(),
        });
    let policy = field("policy").map(|p| policy_words(t, &p).map_or(p, str::to_owned));
    let (result, reason) = match what.as_str() {
        "signature_made" => (t.history_signed, None),
        "sad_issued" => (t.history_approved, None),
        "activation_refused" | "signature_refused" => (t.history_refused, field("reason")),
        "login_failed" => (t.history_refused, None),
        _ => ("", None),
    };
    let details = super::event_details(event);
    Entry {
        when: rfc3339(at.div_euclid(1000)),
        label: super::i18n::event_label(t, &what),
        what,
        document,
        signed_as,
        policy,
        result,
        reason,
        details,
    }
}

/// A signature policy in words, for the policies qsign ships (`policies/signature.toml`);
/// `None` for an operator's own policy (its name is shown).
fn policy_words(t: &Texts, name: &str) -> Option<&'static str> {
    let (en, da) = match name {
        "qualified" => (
            "Qualified electronic signature (same legal effect as a handwritten one)",
            "Kvalificeret elektronisk underskrift (samme retsvirkning som en håndskreven)",
        ),
        "advanced" => (
            "Advanced electronic signature",
            "Avanceret elektronisk underskrift",
        ),
        _ => return None,
    };
    Some(if t.lang == "da" { da } else { en })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::web::i18n::{DA, EN};

    #[test]
    fn a_signature_reads_as_the_file_the_certificate_and_the_result() {
        let approved = serde_json::json!({
            "at": 1_700_000_000_000_i64, "subject": "org:35408002",
            "event": {"type": "sad_issued", "sad": "s-1", "policy": "qualified",
                "label": "file: Lejekontrakt.pdf\npades (955 bytes)",
                "hashes": ["ab12"]}
        });
        let made = serde_json::json!({
            "at": 1_700_000_001_000_i64, "subject": "person:p",
            "event": {"type": "signature_made", "sad": "s-1", "policy": "advanced",
                "hash": "cd34"}
        });
        let names = HashMap::from([("s-1".to_owned(), "Lejekontrakt.pdf".to_owned())]);
        let orgs = HashMap::from([("35408002".to_owned(), "Andersen ApS".to_owned())]);
        let a = entry(&DA, &approved, &names, &orgs);
        assert_eq!(a.document.as_deref(), Some("Lejekontrakt.pdf"));
        assert_eq!(
            a.signed_as.as_deref(),
            Some("For virksomheden Andersen ApS (CVR 35408002)")
        );
        assert!(a.policy.unwrap().starts_with("Kvalificeret"));
        assert_eq!(a.result, DA.history_approved);
        assert!(a.details.contains("ab12"));
        let m = entry(&EN, &made, &names, &orgs);
        assert_eq!(m.document.as_deref(), Some("Lejekontrakt.pdf"));
        assert_eq!(m.signed_as.as_deref(), Some(EN.history_personal));
        assert_eq!(m.policy.as_deref(), Some("Advanced electronic signature"));
        assert_eq!(m.result, EN.history_signed);
        let refused = serde_json::json!({"at": 0, "event": {"type": "activation_refused",
            "credential": "c", "reason": "activation_too_weak"}});
        let r = entry(&EN, &refused, &names, &orgs);
        assert_eq!(r.reason.as_deref(), Some("activation_too_weak"));
        assert_eq!(r.document, None);
    }
}
