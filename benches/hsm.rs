//! HSM throughput and latency on SoftHSM: raw PKCS#11 signing with a live key, the same through
//! qsign's session pool from 32 concurrent tasks, and unwrap + sign + destroy of wrapped user
//! keys (the per-signature cost of sole control).
//!
//! Run: `cargo bench --bench hsm` (or `make bench`). Figures go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::disallowed_methods,
    reason = "benchmark harness"
)]

#[path = "support/setup.rs"]
mod support;

use std::time::{Duration, Instant};

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use qsign::hsm::{
    self, Digest, HashAlgorithm, Hsm, KeyAlgorithm, ServiceKey, SignAlgorithm, WrappedKey,
};

const RUN: Duration = Duration::from_secs(2);
const LABEL: &str = "bench";
const PIN: &str = "bench-pin";

fn main() {
    let sessions = std::env::var("BENCH_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The token is labelled LABEL with the user PIN PIN.
    let (hsm, module, _dir) = support::hsm_with_keys(&rt, sessions);

    let raw = raw_session(&module);
    let p256 = find(&raw, ServiceKey::Sad.label());
    let rsa = raw
        .generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &[
                Attribute::Token(false),
                Attribute::Verify(true),
                Attribute::ModulusBits(3072.into()),
                Attribute::PublicExponent(vec![1, 0, 1]),
            ],
            &[
                Attribute::Token(false),
                Attribute::Sign(true),
                Attribute::Sensitive(true),
                Attribute::Private(true),
            ],
        )
        .unwrap()
        .1;
    let digest = [7u8; 32];
    let mut rsa_input = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    rsa_input.extend_from_slice(&digest);

    println!(
        "qsign HSM benchmark (SoftHSM {}, {} pool sessions, {} s per row)\n",
        softhsm_version(),
        sessions,
        RUN.as_secs()
    );
    println!("| operation | ops/s | p50 | p99 |");
    println!("|---|---:|---:|---:|");

    row(
        "raw PKCS#11 ECDSA P-256 sign, live key, 1 thread",
        measure_sync(|| {
            raw.sign(&Mechanism::Ecdsa, p256, &digest).unwrap();
        }),
    );
    row(
        "raw PKCS#11 RSA-3072 PKCS#1 v1.5 sign, live key, 1 thread",
        measure_sync(|| {
            raw.sign(&Mechanism::RsaPkcs, rsa, &rsa_input).unwrap();
        }),
    );

    let (p256_blob, _) = rt
        .block_on(hsm.generate_wrapped(KeyAlgorithm::EcP256))
        .unwrap();
    let (rsa_blob, _) = rt
        .block_on(hsm.generate_wrapped(KeyAlgorithm::Rsa3072))
        .unwrap();
    let master = |ec: bool| {
        find_class(
            &raw,
            if ec {
                hsm::MASTER_EC_LABEL
            } else {
                hsm::MASTER_RSA_LABEL
            },
            ObjectClass::SECRET_KEY,
        )
    };
    let template = |ec: bool| {
        vec![
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(if ec {
                cryptoki::object::KeyType::EC
            } else {
                cryptoki::object::KeyType::RSA
            }),
            Attribute::Token(false),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Copyable(false),
            Attribute::Derive(false),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
            Attribute::Private(true),
            Attribute::Sign(true),
            // Last: SoftHSM applies the template in order and refuses any attribute after this.
            Attribute::Modifiable(false),
        ]
    };
    let raw_unwrap_sign = |blob: &WrappedKey, input: &[u8], mech: &Mechanism, ec: bool| {
        let key = raw
            .unwrap_key(
                &Mechanism::AesKeyWrapPad,
                master(ec),
                blob.wrapped_bytes(),
                &template(ec),
            )
            .unwrap();
        raw.sign(mech, key, input).unwrap();
        raw.destroy_object(key).unwrap();
    };
    row(
        "raw PKCS#11 P-256 unwrap + sign + destroy, 1 thread",
        measure_sync(|| {
            raw_unwrap_sign(&p256_blob, &digest, &Mechanism::Ecdsa, true);
        }),
    );
    row(
        "raw PKCS#11 RSA-3072 unwrap + sign + destroy, 1 thread",
        measure_sync(|| {
            raw_unwrap_sign(&rsa_blob, &rsa_input, &Mechanism::RsaPkcs, false);
        }),
    );

    let d = move || Digest::new(HashAlgorithm::Sha256, digest.to_vec()).unwrap();
    row(
        "pool: P-256 service-key sign, 1 task",
        rt.block_on(measure_async(&hsm, 1, move |h| async move {
            h.sign(ServiceKey::Sad, SignAlgorithm::Ecdsa, d())
                .await
                .unwrap();
        })),
    );
    row(
        "pool: P-256 service-key sign, 32 tasks",
        rt.block_on(measure_async(&hsm, 32, move |h| async move {
            h.sign(ServiceKey::Sad, SignAlgorithm::Ecdsa, d())
                .await
                .unwrap();
        })),
    );
    for (name, blob, scheme) in [
        ("P-256", p256_blob, SignAlgorithm::Ecdsa),
        ("RSA-3072", rsa_blob, SignAlgorithm::RsaPkcs1v15),
    ] {
        for tasks in [1, 32] {
            let blob = blob.clone();
            row(
                &format!(
                    "pool: {name} unwrap + sign + destroy, {tasks} task{}",
                    if tasks == 1 { "" } else { "s" }
                ),
                rt.block_on(measure_async(&hsm, tasks, move |h| {
                    let blob = blob.clone();
                    async move {
                        h.sign_with_wrapped(&blob, scheme, vec![d()]).await.unwrap();
                    }
                })),
            );
        }
    }
}

fn row(name: &str, f: support::Figures) {
    println!("| {name} | {:.0} | {} |", f.rate, f.latency_cells());
}

fn measure_sync(mut op: impl FnMut()) -> support::Figures {
    let start = Instant::now();
    let mut latencies = Vec::new();
    while start.elapsed() < RUN {
        let t = Instant::now();
        op();
        latencies.push(t.elapsed());
    }
    support::figures(latencies, start.elapsed())
}

async fn measure_async<F, Fut>(hsm: &Hsm, tasks: usize, op: F) -> support::Figures
where
    F: Fn(Hsm) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let hsm = hsm.clone();
    support::measure(tasks, RUN, move || op(hsm.clone())).await
}

fn raw_session(module: &std::path::Path) -> Session {
    let pkcs11 = hsm::load_module(module).unwrap();
    let slot = pkcs11
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| pkcs11.get_token_info(*s).unwrap().label().trim_end() == LABEL)
        .unwrap();
    let session = pkcs11.open_rw_session(slot).unwrap();
    let _ = session.login(UserType::User, Some(&AuthPin::new(PIN.into())));
    session
}

fn find(session: &Session, label: &str) -> ObjectHandle {
    find_class(session, label, ObjectClass::PRIVATE_KEY)
}

fn find_class(session: &Session, label: &str, class: ObjectClass) -> ObjectHandle {
    session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap()[0]
}

fn softhsm_version() -> String {
    std::process::Command::new("softhsm2-util")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "?".into())
}
