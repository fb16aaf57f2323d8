//! Liveness and readiness for load balancers, and Prometheus metrics.

use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::time::Duration;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// "ok" or "degraded".
    pub status: &'static str,
    pub postgres: &'static str,
    /// "ok", "down", or "in-process" when REDIS_URL is unset.
    pub redis: &'static str,
    pub version: &'static str,
}

/// Liveness: the process answers, behind the same layers as every route, touching neither
/// PostgreSQL nor Redis (`/health` checks those). The load benchmark's hello-world baseline.
#[utoipa::path(get, path = "/livez", tag = "system",
    responses((status = 200, description = "The process is alive", body = String, content_type = "text/plain")))]
pub async fn livez() -> &'static str {
    "ok"
}

/// PostgreSQL and Redis both answer: 200; either does not: 503.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let limit = Duration::from_secs(2);
    let pg = tokio::time::timeout(limit, sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.ctx.db)).await;
    let postgres = if matches!(pg, Ok(Ok(1))) { "ok" } else { "down" };
    let redis = if state.ctx.kv.backend_name() == "memory" {
        "in-process"
    } else if matches!(tokio::time::timeout(limit, state.ctx.kv.ping()).await, Ok(Ok(()))) {
        "ok"
    } else {
        "down"
    };
    let healthy = postgres == "ok" && redis != "down";
    let body =
        Health { status: if healthy { "ok" } else { "degraded" }, postgres, redis, version: env!("CARGO_PKG_VERSION") };
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, axum::Json(body)).into_response()
}

/// Prometheus text format. With METRICS_TOKEN set, a matching Bearer token is required.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, description = "Prometheus metrics", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let same = given.len() == expected.len()
            && given.bytes().zip(expected.bytes()).fold(0_u8, |a, (x, y)| a | (x ^ y)) == 0;
        if !same {
            return crate::error::ApiError::unauthorized("unauthenticated", "metrics need the metrics token")
                .into_response();
        }
    }
    let pool = &state.ctx.db;
    metrics::gauge!("db_pool_connections").set(f64::from(pool.size()));
    metrics::gauge!("db_pool_idle_connections").set(u32::try_from(pool.num_idle()).map_or(0.0, f64::from));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
