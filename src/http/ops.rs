//! Operations endpoints: `/healthz` (the process answers), `/readyz` (database and HSM answer)
//! and `/metrics` (Prometheus text format).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;

use super::extract::Json;
use super::router::AppState;
use crate::service::{Error, ErrorCode};
use crate::telemetry::Sample;

/// `GET /healthz` reply.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`.
    status: &'static str,
}

/// `GET /readyz` reply (only when ready: otherwise the error `not_ready`).
#[derive(Debug, Serialize)]
pub struct Ready {
    /// `ready`.
    status: &'static str,
    /// `ok`.
    database: &'static str,
    /// `ok`.
    hsm: &'static str,
}

/// Liveness: the process is up and serving.
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: 200 when the database and the HSM answer, else `503 not_ready`.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Ready>, Error> {
    let readiness = state.service.readiness().await;
    if readiness.is_ready() {
        return Ok(Json(Ready {
            status: "ready",
            database: "ok",
            hsm: "ok",
        }));
    }
    let failing: Vec<&str> = [("database", &readiness.database), ("hsm", &readiness.hsm)]
        .into_iter()
        .filter_map(|(name, problem)| problem.as_ref().map(|_| name))
        .collect();
    Err(Error {
        code: ErrorCode::NotReady,
        message: format!("not ready: {} unavailable", failing.join(" and ")),
        detail: Some(format!(
            "database: {:?}; hsm: {:?}",
            readiness.database, readiness.hsm
        )),
    })
}

/// The OpenAPI document of the whole HTTP interface.
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../docs/openapi.json"),
    )
}

/// Prometheus metrics.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let hsm = state.service.hsm_stats();
    let extra = [
        Sample {
            name: "qsign_hsm_operations_total",
            help: "HSM operations run.",
            kind: "counter",
            value: hsm.operations,
        },
        Sample {
            name: "qsign_hsm_failures_total",
            help: "HSM operations that failed.",
            kind: "counter",
            value: hsm.failures,
        },
        Sample {
            name: "qsign_hsm_pool_rebuilds_total",
            help: "HSM session pool rebuilds after a lost session or login.",
            kind: "counter",
            value: hsm.rebuilds,
        },
        Sample {
            name: "qsign_hsm_unwraps_total",
            help: "User keys unwrapped for a signature (each destroyed after use).",
            kind: "counter",
            value: hsm.unwraps,
        },
        Sample {
            name: "qsign_hsm_idle_sessions",
            help: "HSM sessions idle in the pool.",
            kind: "gauge",
            value: hsm.idle_sessions,
        },
    ];
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&extra),
    )
}

/// Unknown routes.
pub async fn not_found() -> Error {
    Error::new(ErrorCode::NotFound, ErrorCode::NotFound.description())
}

#[cfg(test)]
mod samples {
    use super::*;
    use crate::http::wire::response_samples;

    response_samples! {
        Health => [Health { status: "ok" }];
        Ready => [Ready { status: "ready", database: "ok", hsm: "ok" }];
    }
}
