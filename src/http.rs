//! The HTTP interface (axum). Holds no business logic: handlers extract, call one `service`
//! function and convert the result; [`error`] is the single error-to-response mapping.
//!
//! May use `service`, `config` and `telemetry`.

mod credentials;
mod csc;
mod documents;
pub mod error;
mod extract;
mod idp;
mod ops;
mod orgs;
mod page;
mod pki;
mod router;
mod serve;
mod validate;
mod web;

pub use router::{router, AppState};
pub use serve::serve;
