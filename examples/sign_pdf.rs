//! Signs a PDF over the CSC API v2 at a chosen PAdES level: logs in with a password and a TOTP
//! code, activates the `advanced` credential for the PDF's SHA-256 with a fresh TOTP code,
//! calls `signatures/signDoc` (`signature_format` `P`), and writes the signed PDF.
//!
//! ```text
//! qsign user add --username karen --given-name Karen --family-name Blixen --totp
//! cargo run --example sign_pdf -- --url http://127.0.0.1:8080 \
//!     --username karen --password '…' --totp-secret BASE32SECRET \
//!     --level B-LTA --page 1 --rect 320,60,560,120 contract.pdf contract-signed.pdf
//! pdfsig contract-signed.pdf
//! ```

#![allow(
    clippy::print_stdout,
    clippy::disallowed_methods,
    clippy::indexing_slicing,
    reason = "an example program: it talks to its user, reads the wall clock for TOTP, and \
              indexes JSON values (a missing member reads as null, it does not panic)"
)]

#[path = "common/client.rs"]
mod client;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use base64::Engine as _;
use clap::Parser;
use client::{call, totp};
use serde_json::{json, Value};
use sha2::Digest as _;

/// Signs a PDF through the CSC API v2 of a qsign service.
#[derive(Debug, Parser)]
struct Args {
    /// The service's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Username.
    #[arg(long)]
    username: String,
    /// Password.
    #[arg(long)]
    password: String,
    /// The account's TOTP secret (base32), as `qsign user add --totp` printed it.
    #[arg(long)]
    totp_secret: String,
    /// PAdES level: B-B, B-T, B-LT or B-LTA.
    #[arg(long, default_value = "B-LT")]
    level: String,
    /// Reason shown in viewers.
    #[arg(long)]
    reason: Option<String>,
    /// A certification signature (form filling and signing stay allowed).
    #[arg(long)]
    certify: bool,
    /// Page of a visible signature (from 1); invisible without `--rect`.
    #[arg(long, default_value_t = 1)]
    page: u32,
    /// Rectangle of a visible signature: x1,y1,x2,y2 in points.
    #[arg(long)]
    rect: Option<String>,
    /// The PDF to sign.
    input: PathBuf,
    /// Where to write the signed PDF.
    output: PathBuf,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let secret = data_encoding::BASE32_NOPAD
        .decode(args.totp_secret.trim().as_bytes())
        .context("--totp-secret is not base32")?;
    let pdf = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let visible = match &args.rect {
        None => Value::Null,
        Some(rect) => {
            let numbers: Vec<f64> = rect
                .split(',')
                .map(|n| n.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .context("--rect: four numbers x1,y1,x2,y2")?;
            if numbers.len() != 4 {
                bail!("--rect: four numbers x1,y1,x2,y2");
            }
            json!({"page": args.page, "rect": numbers})
        }
    };
    let http = reqwest::Client::new();
    let base = args.url.trim_end_matches('/').to_owned();
    let csc = |method: &str| format!("{base}/csc/v2/{method}");
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);

    // 1. Log in: password and TOTP code give a Substantial access token.
    let (code, login_step) = totp(&secret);
    let form = [
        ("grant_type", "password"),
        ("username", args.username.as_str()),
        ("password", args.password.as_str()),
        ("otp", code.as_str()),
    ];
    let login: Value = http
        .post(format!("{base}/idp/token"))
        .form(&form)
        .send()
        .await?
        .json()
        .await?;
    let Some(token) = login["access_token"].as_str() else {
        bail!("login refused: {login}");
    };

    // 2. The advanced credential.
    let list = call(
        &http,
        &csc("credentials/list"),
        token,
        &json!({"credentialInfo": true}),
    )
    .await?;
    let credential = list["credentialInfos"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["policy"] == "advanced"))
        .and_then(|c| c["credentialID"].as_str())
        .context("no advanced credential")?
        .to_owned();

    // 3. Activation over what the signer approves: the PDF's SHA-256 and the options it is
    //    signed with (reason, certification, visible box), as qsign's approval digest; a code
    //    not used before.
    let mut otp = totp(&secret);
    while otp.1 <= login_step {
        println!("waiting for the next one-time code …");
        tokio::time::sleep(Duration::from_secs(2)).await;
        otp = totp(&secret);
    }
    let approved = qsign::formats::pades::Options {
        reason: args.reason.clone(),
        certify: args.certify,
        visible: serde_json::from_value::<Option<[f64; 4]>>(visible["rect"].clone())?.map(|rect| {
            qsign::formats::pades::Visible {
                page: args.page,
                rect,
                signer: String::new(),
                organisation: None,
                cvr: None,
            }
        }),
        ..Default::default()
    };
    let hash = b64(&qsign::formats::pades::approval_digest(
        &sha2::Sha256::digest(&pdf).into(),
        &approved,
    ));
    let auth = call(
        &http,
        &csc("credentials/authorize"),
        token,
        &json!({
            "credentialID": credential,
            "numSignatures": 1,
            "hashes": [hash],
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
            "description": args.input.display().to_string(),
            "authData": [{"id": "OTP", "value": otp.0}],
        }),
    )
    .await?;

    // 4. signDoc with the PAdES options.
    let mut options = json!({});
    if let Some(reason) = &args.reason {
        options["reason"] = json!(reason);
    }
    if !visible.is_null() {
        options["visible"] = visible;
    }
    let signed = call(
        &http,
        &csc("signatures/signDoc"),
        token,
        &json!({
            "credentialID": credential,
            "SAD": auth["SAD"],
            "documents": [{
                "document": b64(&pdf),
                "signature_format": "P",
                "conformance_level": format!("Ades-{}", args.level),
                "signed_envelope_property": if args.certify { "Certification" } else { "Revision" },
                "qsign_pdf": options,
            }],
        }),
    )
    .await?;
    let Some(document) = signed["DocumentWithSignature"][0].as_str() else {
        bail!("no signed document in {signed}");
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(document)
        .context("the signed document is not base64")?;
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "signed at {}: {} ({} bytes); check with: pdfsig {}",
        args.level,
        args.output.display(),
        bytes.len(),
        args.output.display()
    );
    Ok(())
}
