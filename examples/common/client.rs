//! What the example clients share: the wall clock, TOTP codes, and JSON calls with a bearer
//! token.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use serde_json::Value;

/// Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The TOTP code of the current 30-second step, and the step.
pub fn totp(secret: &[u8]) -> (String, i64) {
    let step = now().div_euclid(qsign::identity::totp::STEP);
    (
        format!("{:06}", qsign::identity::totp::code_at(secret, step)),
        step,
    )
}

/// POSTs `body` as JSON with the bearer token; the answer's JSON, or an error with it.
pub async fn call(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = http.post(url).bearer_auth(token).json(body).send().await?;
    let status = response.status();
    let value: Value = response.json().await.context("the answer is not JSON")?;
    if !status.is_success() {
        bail!("{url}: {status}: {value}");
    }
    Ok(value)
}
