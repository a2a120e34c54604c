//! PKI throughput: RFC 3161 timestamps and OCSP responses per second, in-process through
//! `Pki` (request parsing, database lookup, HSM signature, encoding), from 1 and 32 tasks.
//! Both are signed per request: OCSP responses echo the request nonce, so they are not
//! pre-signed or cached.
//!
//! Run: `cargo bench --bench pki`. Figures go to `docs/performance.md`.

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

#[path = "support/setup.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use der::asn1::OctetString;
use der::Encode;
use qsign::formats::asn1::oid;
use qsign::formats::asn1::tsp::{MessageImprint, TimeStampReq};
use qsign::hsm::KeyAlgorithm;
use qsign::pki::{Ca, NaturalPerson, Pki, Subject};
use qsign::store::Store;
use qsign::validate::chain::{self, Cert};
use spki::AlgorithmIdentifierOwned;

const RUN: Duration = Duration::from_secs(3);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sessions = 4;
    let (hsm, _module, dir) = support::hsm_with_keys(&rt, sessions);
    let pki = rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::connect(
            &url,
            &qsign::store::Options {
                max_connections: 8,
                connect_timeout: Duration::from_secs(5),
            },
        )
        .await
        .unwrap();
        let mut settings = settings();
        settings.base_url = "http://localhost:8080".into();
        let audit = qsign::audit::Audit::new(store.clone(), hsm.clone(), 100);
        let pki = Pki::new(hsm.clone(), store, audit, settings);
        pki.ensure_hierarchy(now()).await.unwrap();
        pki
    });

    // An OCSP request with a nonce for a real user certificate, as a client would send it.
    let ocsp_request = rt.block_on(async {
        let (_, spki) = hsm.generate_wrapped(KeyAlgorithm::EcP256).await.unwrap();
        let subject = Subject::NaturalPerson(NaturalPerson {
            given_name: "Bench".into(),
            family_name: "Mark".into(),
            person_id: qsign::types::PersonId::random(),
            country: "DK".into(),
            qualified: true,
        });
        let issued = pki
            .issue(&spki, &subject, &qsign::audit::Context::system(), now())
            .await
            .unwrap();
        let user = Cert::parse(&issued.der).unwrap();
        let issuer = Cert::parse(&pki.ca_certificate(Ca::Issuing).await.unwrap()).unwrap();
        chain::ocsp_request(&user, &issuer, &[7u8; 16]).unwrap().0
    });
    let tsa_request = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: oid::SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(vec![7u8; 32]).unwrap(),
        },
        req_policy: None,
        nonce: None,
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .unwrap();

    // Sanity: both answers are what a client wants.
    let reply = rt.block_on(pki.ocsp(&ocsp_request, now()));
    assert!(reply.len() > 300, "OCSP answer too short: {}", reply.len());
    let reply = rt.block_on(pki.timestamp(&tsa_request, &qsign::audit::Context::system(), now()));
    assert!(reply.len() > 500, "TSA answer too short: {}", reply.len());

    println!(
        "qsign PKI benchmark (SoftHSM, {sessions} pool sessions, SQLite, {} s per row)\n",
        RUN.as_secs()
    );
    println!("| operation | tasks | responses/s | p50 | p99 |");
    println!("|---|---:|---:|---:|---:|");
    let ocsp_request = Arc::new(ocsp_request);
    let tsa_request = Arc::new(tsa_request);
    for tasks in [1, 32] {
        let (p, r) = (pki.clone(), Arc::clone(&ocsp_request));
        row(
            "OCSP response (1 certificate, signed per request)",
            tasks,
            rt.block_on(support::measure(tasks, RUN, move || {
                let (p, r) = (p.clone(), Arc::clone(&r));
                async move {
                    p.ocsp(&r, now()).await;
                }
            })),
        );
        let (p, r) = (pki.clone(), Arc::clone(&tsa_request));
        row(
            "RFC 3161 timestamp (SHA-256 imprint, with certificate)",
            tasks,
            rt.block_on(support::measure(tasks, RUN, move || {
                let (p, r) = (p.clone(), Arc::clone(&r));
                async move {
                    p.timestamp(&r, &qsign::audit::Context::system(), now())
                        .await;
                }
            })),
        );
    }
}

fn settings() -> qsign::pki::Settings {
    let day = Duration::from_secs(86_400);
    qsign::pki::Settings {
        base_url: String::new(),
        organization: "qsign bench".into(),
        country: "DK".into(),
        root_name: "Bench Root".into(),
        issuing_name: "Bench Issuing".into(),
        root_validity: day * 3650,
        issuing_validity: day * 1825,
        service_validity: day * 365,
        user_validity: day * 365,
        crl_validity: Duration::from_secs(3600),
        ocsp_validity: Duration::from_secs(600),
        policy_oid: None,
        tsa_policy_oid: "0.4.0.2023.1.1".parse().unwrap(),
        pds_url: "http://localhost:8080/pki/pds".into(),
    }
}

fn now() -> i64 {
    use qsign::clock::Clock;
    qsign::clock::SystemClock.now().unix_timestamp()
}

fn row(name: &str, tasks: usize, f: support::Figures) {
    println!(
        "| {name} | {tasks} | {:.0} | {} |",
        f.rate,
        f.latency_cells()
    );
}
