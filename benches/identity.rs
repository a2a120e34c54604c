//! Identity throughput: access-token verifications per second on one core (ES256 signature and
//! claim checks, as every authenticated request does), and password verifications per second
//! at the production argon2id cost.
//!
//! Run: `cargo bench --bench identity`. Figures go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs,
    reason = "benchmark harness"
)]

#[allow(dead_code, reason = "shared with the other benchmarks")]
#[path = "support/setup.rs"]
mod support;

use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use qsign::hsm::{Digest, HashAlgorithm, ServiceKey, SignAlgorithm};
use qsign::identity::loa::Loa;
use qsign::identity::token::{self, Claims, Verifier};

const RUN: Duration = Duration::from_secs(3);

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (hsm, _module, _dir) = support::hsm_with_keys(&rt, 1);
    let spki = rt.block_on(hsm.public_key(ServiceKey::Idp)).unwrap();
    let kid = token::key_id(&spki);
    let claims = Claims {
        iss: "http://localhost:8080/idp".into(),
        sub: uuid::Uuid::new_v4().to_string(),
        aud: "qsign".into(),
        exp: 4_000_000_000,
        iat: 1_700_000_000,
        nbf: Some(1_700_000_000),
        auth_time: 1_700_000_000,
        acr: Some(Loa::High.uri().into()),
        amr: vec!["pwd".into(), "hwk".into()],
        jti: uuid::Uuid::new_v4().to_string(),
        authorization_details: None,
        cnf: None,
        scope: None,
        client_id: None,
    };
    let (input, digest) = token::signing_input(&kid, &claims).unwrap();
    let raw = rt
        .block_on(hsm.sign(
            ServiceKey::Idp,
            SignAlgorithm::Ecdsa,
            Digest::new(HashAlgorithm::Sha256, digest.to_vec()).unwrap(),
        ))
        .unwrap();
    let jwt = token::assemble(&input, &raw);
    let point = &spki[spki.len() - 65..];
    let verifier = Verifier {
        issuer: claims.iss.clone(),
        audience: "qsign".into(),
        keys: vec![(kid, token::VerifyKey::from_sec1(point).unwrap())],
    };
    assert!(verifier.verify(&jwt, 1_800_000_000).is_ok());

    println!(
        "qsign identity benchmark (one thread, {} s per row)\n",
        RUN.as_secs()
    );
    println!("| operation | per second | p50 | p99 |");
    println!("|---|---:|---:|---:|");
    let f = measure(|| {
        verifier.verify(&jwt, 1_800_000_000).unwrap();
    });
    println!(
        "| access token verification, first time (ES256 + claims) | {:.0} | {} |",
        f.rate,
        f.latency_cells()
    );
    let cache = token::VerifiedCache::default();
    let f = measure(|| {
        cache.verify(&verifier, &jwt, 1_800_000_000).unwrap();
    });
    println!(
        "| access token verification, token seen before (cache) | {:.0} | {} |",
        f.rate,
        f.latency_cells()
    );

    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(19_456, 2, 1, None).unwrap(),
    );
    let hash = argon
        .hash_password_with_salt(b"correct horse battery staple", b"0123456789abcdef")
        .unwrap()
        .to_string();
    let f = measure(|| {
        argon
            .verify_password(b"correct horse battery staple", hash.as_str())
            .unwrap();
    });
    println!(
        "| password verification (argon2id, 19 MiB, 2 passes, 1 lane) | {:.1} | {} |",
        f.rate,
        f.latency_cells()
    );
}

fn measure(mut op: impl FnMut()) -> support::Figures {
    let start = Instant::now();
    let mut latencies = Vec::new();
    while start.elapsed() < RUN {
        let t = Instant::now();
        op();
        latencies.push(t.elapsed());
    }
    support::figures(latencies, start.elapsed())
}
