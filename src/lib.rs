//! qsign: a remote qualified signing service.
//!
//! The signer's private key never leaves an HSM, and only the signer, freshly authenticated at a
//! high level of assurance, can make the HSM use it ("sole control"). See `DESIGN.md` for the
//! architecture and `README.md` for how to run it.
//!
//! # Layout
//!
//! | module | responsibility |
//! |---|---|
//! | [`cli`] | the `qsign` subcommands; the only place that prints to stdout |
//! | [`app`] | the composition root: builds every part from the configuration, for every entry point |
//! | [`config`] | one typed configuration: TOML file, then `QSIGN_*` environment overrides |
//! | [`telemetry`] | tracing subscriber and the Prometheus metrics registry |
//! | [`clock`] | the only reader of the wall clock |
//! | [`http`] | axum router, the single error-to-response mapping, ops endpoints, the web pages |
//! | [`service`] | use cases and the stable error-code catalogue |
//! | [`identity`] | embedded IdP: accounts, password and TOTP, levels of assurance, ES256 tokens |
//! | [`audit`] | hash-chained, HSM-checkpointed audit log of security events |
//! | [`pki`] | root and issuing CA, ETSI certificate profiles, CRL, OCSP, RFC 3161 TSA |
//! | [`keys`] | signing credentials (personal, employee, seal) under signature policies |
//! | [`sam`] | the signature activation module: the only user of user keys |
//! | [`orgs`] | organisations by CVR, members, rights, employee credentials and seals |
//! | [`formats`] | pure: CAdES, XAdES and PAdES (over a PDF reader/writer), ASN.1 types |
//! | [`validate`] | pure: validation reports for PDF, CMS and XML signatures |
//! | [`store`] | sqlx over SQLite (default) or PostgreSQL; the only place with SQL |
//! | [`hsm`] | PKCS#11 through cryptoki; the only importer of `cryptoki` |
//! | [`types`] | typed values shared by all: digests, Unix times, UUID ids, activation factors |
//!
//! # Dependency direction
//!
//! ```text
//!   main -> cli -> { app, config, telemetry, http, service, store, hsm, keys, sam, orgs, validate }
//!   app -> service, identity, orgs, keys, sam, pki, audit, store, hsm, clock, config
//!   http -> service, config, telemetry
//!   service -> identity, orgs, keys, sam, pki, formats, validate, audit, store, hsm, clock
//!   orgs -> keys, audit, store
//!   sam -> keys, identity, formats, audit, store, hsm
//!   keys -> identity, pki, audit, store, hsm
//!   pki -> audit, hsm, store, formats
//!   identity -> audit, store, hsm
//!   audit -> store, hsm
//!   validate -> formats
//!   formats, store, hsm, clock, config -> (nothing internal)
//!   types -> (nothing internal)
//! ```
//!
//! Every module may also use [`types`], a leaf.
//!
//! `tests/it/layering.rs` enforces this table.

pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod formats;
pub mod hsm;
pub mod http;
pub mod identity;
pub mod keys;
pub mod orgs;
pub mod pki;
pub mod sam;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod types;
pub mod validate;
