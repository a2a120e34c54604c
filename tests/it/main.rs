//! The integration test binary: real SoftHSM, SQLite and PostgreSQL, real HTTP over loopback,
//! and independent tools (openssl) to check what qsign produces.
//!
//! Run with `make test` (cargo nextest: one process per test, so each process points SoftHSM
//! at its own token directory).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation is a test failure"
)]

mod asynchronous;
mod audit;
mod cades;
mod cases;
mod cli;
mod config;
mod corpus;
mod durability;
mod etsi_report;
mod extend;
mod hsm;
mod identity;
mod journey;
mod layering;
mod lifecycle;
mod mandates;
mod oauth2;
mod online;
mod oob;
mod orgs;
mod pades;
mod pki;
mod representation;
mod roles;
mod seals;
mod server;
mod short_lived;
mod signing;
mod store;
mod support;
mod trusted_lists;
mod validate;
mod web;
mod xades;
