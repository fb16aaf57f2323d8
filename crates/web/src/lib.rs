//! The HTTP edge: the `/api/v1` routes, their access rules, the middleware every request passes
//! through, one error body for every failure, and the OpenAPI document built from the routes.

pub mod access;
pub mod api;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod router;
pub mod server;
pub mod state;

pub use router::{build, build_with_extra, build_with_openapi};
pub use server::serve_router;
pub use state::AppState;

/// Serves the router on `listener` until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(build(state), listener, shutdown).await
}
