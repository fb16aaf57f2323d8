//! What every request passes through: a request id, security headers, metrics, a time limit.

use crate::error::{ApiError, REQUEST_ID};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::{Duration, Instant};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

fn acceptable_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    let ok =
        (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then(|| s.to_owned())
}

/// Takes the caller's `x-request-id` when it is sane, or makes one; it goes on the response,
/// into every log line of the request and into error bodies.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(acceptable_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path(), member_id = tracing::field::Empty);
    let mut res = {
        use tracing::Instrument;
        REQUEST_ID.scope(id.clone(), next.run(req)).instrument(span).await
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    res
}

/// Browser-facing protections on every response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()");
    set(h, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    res
}

/// Request counts and latencies per route (the matched route, never the raw path, so the label
/// set stays bounded).
pub async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A request that runs longer than `REQUEST_TIMEOUT` is answered with a 503 and dropped.
pub async fn time_limit(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::Timeout.into_response(),
    }
}
