//! Bulk enrolment: one `POST /v1/orgs/{cvr}/members/bulk` of 1,000 employees, over loopback
//! HTTP against the service in this process (SoftHSM, SQLite in WAL with `synchronous=FULL`,
//! the audit log), from the administrator's High token to the report.
//!
//! Three runs with a tenth of the employees holding `sign_on_behalf` (each gets an employee
//! credential: a key generated in the HSM and a certificate), then one run where all of them
//! do. Each run enrols into an organisation of its own with new usernames.
//!
//! Run: `cargo bench --bench orgs`. Figures go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs,
    dead_code,
    reason = "benchmark harness"
)]

#[path = "../tests/it/support.rs"]
mod fixtures;

use std::time::Instant;

use serde_json::{json, Value};

/// The CVR numbers with this prefix whose check digit is right (weights 2,7,6,5,4,3,2,1).
fn cvr(n: u32) -> String {
    (0..10)
        .map(|last| format!("{:07}{last}", 3_540_800 + n))
        .find(|c| {
            let sum: u32 = c
                .bytes()
                .zip([2, 7, 6, 5, 4, 3, 2, 1])
                .map(|(d, w)| u32::from(d - b'0') * w)
                .sum();
            sum.is_multiple_of(11)
        })
        .expect("a check digit")
}

fn csv(run: usize, rows: usize, every_signs: bool) -> String {
    let mut csv = String::from(
        "username,given_name,family_name,email,roles,sign_on_behalf,use_seal,anonymous\n",
    );
    for i in 0..rows {
        let username = format!("run{run}-employee-{i:04}");
        let signs = every_signs || i % 10 == 0;
        csv.push_str(&format!(
            "{username},Given{i},Family{i},{username}@example.dk,{},{},no,{}\n",
            if i % 7 == 0 { "board" } else { "" },
            if signs { "yes" } else { "no" },
            if i % 100 == 50 { "yes" } else { "no" },
        ));
    }
    csv
}

fn token(sub: &str, now: i64) -> String {
    fixtures::broker_token(
        &fixtures::broker_key(),
        &json!({
            "iss": "https://broker.example", "aud": "qsign", "sub": sub,
            "exp": now + 600, "iat": now, "auth_time": now,
            "jti": uuid::Uuid::new_v4().to_string(),
            "loa": "https://data.gov.dk/concept/core/nsis/High",
            "given_name": "Astrid", "family_name": "Admin",
        }),
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let svc = fixtures::Service::start().await;
        let http = reqwest::Client::new();
        let r = http
            .get(svc.url("/v1/orgs"))
            .bearer_auth(token("bench-admin", svc.now()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (admin, _) = svc
            .store
            .external_person("https://broker.example", "bench-admin")
            .await
            .unwrap()
            .unwrap();
        let admin = svc.store.person_by_id(&admin).await.unwrap().unwrap();
        println!("| run | employees | with sign_on_behalf | seconds | rows/s |");
        println!("|---|---|---|---|---|");
        for (run, every_signs) in [(1, false), (2, false), (3, false), (4, true)] {
            let cvr = cvr(u32::try_from(run).unwrap());
            svc.service
                .orgs
                .create_organisation(&cvr, &format!("Bench {run} A/S"), &admin.username)
                .await
                .unwrap();
            let body = csv(run, 1000, every_signs);
            let started = Instant::now();
            let r = http
                .post(svc.url(&format!("/v1/orgs/{cvr}/members/bulk")))
                .bearer_auth(token("bench-admin", svc.now()))
                .header("content-type", "text/csv")
                .body(body)
                .send()
                .await
                .unwrap();
            let elapsed = started.elapsed();
            let status = r.status();
            let report: Value = r.json().await.unwrap();
            assert_eq!(status, 200, "{report}");
            assert_eq!(report["totals"]["created"], 1000, "{report}");
            println!(
                "| {run} | 1000 | {} | {:.1} | {:.0} |",
                if every_signs { 1000 } else { 100 },
                elapsed.as_secs_f64(),
                1000.0 / elapsed.as_secs_f64()
            );
        }
        svc.stop().await;
    });
}
