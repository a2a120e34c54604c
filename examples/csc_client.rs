//! A scripted CSC API v2 client: logs in with a password and a TOTP code (Substantial), lists
//! its credentials, activates the `advanced` credential for two document hashes with a new
//! TOTP code, signs both with `signatures/signHash`, and writes the documents, the signatures
//! and the certificate chain to a folder, with the openssl commands that check them.
//!
//! ```text
//! qsign user add --username karen --given-name Karen --family-name Blixen --totp
//! cargo run --example csc_client -- --url http://127.0.0.1:8080 \
//!     --username karen --password '…' --totp-secret BASE32SECRET --out signed
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

/// Signs two documents through the CSC API v2 of a qsign service.
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
    /// Where to write documents, signatures and certificates.
    #[arg(long, default_value = "signed")]
    out: PathBuf,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let secret = data_encoding::BASE32_NOPAD
        .decode(args.totp_secret.trim().as_bytes())
        .context("--totp-secret is not base32")?;
    let http = reqwest::Client::new();
    let csc = |method: &str| format!("{}/csc/v2/{method}", args.url.trim_end_matches('/'));
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
        .post(format!("{}/idp/token", args.url.trim_end_matches('/')))
        .form(&form)
        .send()
        .await?
        .json()
        .await?;
    let Some(token) = login["access_token"].as_str() else {
        bail!("login refused: {login}");
    };
    println!("logged in at {}", login["acr"]);

    // 2. The credentials (made on first use); take the advanced one.
    let list = call(
        &http,
        &csc("credentials/list"),
        token,
        &json!({"credentialInfo": true, "certificates": "chain"}),
    )
    .await?;
    let infos = list["credentialInfos"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in &infos {
        println!(
            "credential {} ({}, SCAL {})",
            c["credentialID"], c["policy"], c["SCAL"]
        );
    }
    let Some(advanced) = infos.iter().find(|c| c["policy"] == "advanced") else {
        bail!("no advanced credential");
    };
    let credential = advanced["credentialID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // 3. Two documents and their SHA-256 hashes.
    let documents: [(&str, &[u8]); 2] = [
        (
            "contract.txt",
            b"Tenancy agreement between Karen Blixen and Isak Dinesen.\n",
        ),
        ("annex.txt", b"Annex 1: inventory of the furnished rooms.\n"),
    ];
    let hashes: Vec<String> = documents
        .iter()
        .map(|(_, d)| b64(&sha2::Sha256::digest(d)))
        .collect();

    // 4. Activation needs a code not used before: wait for the next TOTP step.
    let mut otp = totp(&secret);
    if otp.1 <= login_step {
        println!("waiting for the next one-time code …");
        while otp.1 <= login_step {
            tokio::time::sleep(Duration::from_secs(1)).await;
            otp = totp(&secret);
        }
    }
    let auth = call(
        &http,
        &csc("credentials/authorize"),
        token,
        &json!({
            "credentialID": credential,
            "numSignatures": 2,
            "hashes": hashes,
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
            "description": "contract and annex",
            "authData": [{"id": "OTP", "value": otp.0}],
        }),
    )
    .await?;
    println!("SAD issued, valid {} s", auth["expiresIn"]);

    // 5. Sign both hashes.
    let signed = call(
        &http,
        &csc("signatures/signHash"),
        token,
        &json!({
            "credentialID": credential,
            "SAD": auth["SAD"],
            "hashes": hashes,
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
            "signAlgo": "1.2.840.10045.4.3.2",
        }),
    )
    .await?;

    // 6. Write everything out.
    std::fs::create_dir_all(&args.out)?;
    let pem = |der: &[u8]| {
        let body = b64(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    };
    let chain: Vec<Vec<u8>> = advanced["cert"]["certificates"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| {
            base64::engine::general_purpose::STANDARD
                .decode(c.as_str()?)
                .ok()
        })
        .collect();
    if chain.len() < 3 {
        bail!("credentials/list did not return the chain");
    }
    std::fs::write(args.out.join("signer.pem"), pem(&chain[0]))?;
    std::fs::write(
        args.out.join("ca.pem"),
        format!("{}{}", pem(&chain[1]), pem(&chain[2])),
    )?;
    let signatures = signed["signatures"].as_array().cloned().unwrap_or_default();
    for ((name, data), signature) in documents.iter().zip(&signatures) {
        std::fs::write(args.out.join(name), data)?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(signature.as_str().unwrap_or_default())?;
        std::fs::write(args.out.join(format!("{name}.sig")), der)?;
    }
    let out = args.out.display();
    println!("wrote {out}/: the documents, their signatures (DER ECDSA), signer.pem, ca.pem");
    println!("check them with openssl:");
    println!("  openssl verify -CAfile {out}/ca.pem {out}/signer.pem");
    println!("  openssl x509 -in {out}/signer.pem -pubkey -noout > {out}/signer.pub");
    for (name, _) in &documents {
        println!("  openssl dgst -sha256 -verify {out}/signer.pub -signature {out}/{name}.sig {out}/{name}");
    }
    Ok(())
}
