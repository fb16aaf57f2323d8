//! The team portal: server-rendered pages for the support team, managers and admins, served at
//! `/` next to the API. Pages call the same app services as the API and are shown only to roles
//! the API's access table allows; live parts arrive as small HTML fragments over server-sent
//! events. A new page lives in `pages/<area>.rs`, `templates/<area>/` and `locales/*/<area>.ftl`.

pub mod access;
pub mod assets;
pub mod error;
pub mod forms;
pub mod i18n;
pub mod layout;
pub mod live;
pub mod pages;
pub mod session;

use axum::Router;
use axum::middleware::from_fn_with_state;
use bma_web::AppState;

/// Every portal route behind the portal's session, language and CSRF layer.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(pages::routes())
        .layer(from_fn_with_state(state.clone(), session::layer))
        .merge(assets::routes())
}

/// The API and the portal behind the API's outer layers.
pub fn app(state: AppState) -> Router {
    let portal = router(&state);
    bma_web::build_with_extra(state, portal).0
}

/// Serves the API and the portal on `listener` until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    bma_web::serve_router(app(state), listener, shutdown).await
}
