//! The HTTP edge: the `/api/v1` routes, their access rules, the middleware every request passes
//! through, one error body for every failure, and the OpenAPI document built from the routes.

pub mod access;
pub mod api;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod router;
pub mod state;

pub use router::{build, build_with_extra, build_with_openapi};
pub use state::AppState;

/// Serves the router on `listener` until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(build(state), listener, shutdown).await
}

/// Serves `app` (the API, perhaps with more routes) on `listener` until `shutdown` resolves.
pub async fn serve_router(
    app: axum::Router,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Small JSON answers go out at once instead of waiting on Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
