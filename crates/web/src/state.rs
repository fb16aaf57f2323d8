//! The state every handler receives: the service context plus what only the HTTP edge needs.

use bma_app::AppContext;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::OnceLock;

#[derive(Clone)]
pub struct AppState {
    pub ctx: AppContext,
    pub metrics: PrometheusHandle,
    /// Trust `X-Forwarded-For` for the client address (only behind our own proxy).
    pub trust_proxy: bool,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
}

/// The process-wide Prometheus recorder (the `metrics` facade has one recorder per process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
                .unwrap_or_else(|_| metrics_exporter_prometheus::PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

impl AppState {
    pub fn new(ctx: AppContext) -> Self {
        Self {
            ctx,
            metrics: metrics_handle(),
            trust_proxy: std::env::var("TRUST_PROXY_HEADERS").is_ok_and(|v| v == "true" || v == "1"),
            metrics_token: std::env::var("METRICS_TOKEN").ok().filter(|t| !t.is_empty()),
        }
    }
}
