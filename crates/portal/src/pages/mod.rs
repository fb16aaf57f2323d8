//! The portal's pages, one module per area; each module owns its routes, its templates under
//! `templates/<area>/` and its messages in `locales/*/<area>.ftl`.

pub mod alerts;
pub mod analytics;
pub mod audit;
pub mod campaigns;
pub mod dashboard;
pub mod inbox;
pub mod invitation;
pub mod monitoring;
pub mod profile;
pub mod signin;
pub mod status;
pub mod status_links;
pub mod team;
pub mod venues;

use crate::session::{Visit, see_other};
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use bma_web::AppState;

/// `/`: the dashboard when signed in, else the sign-in page.
async fn home(visit: Visit) -> Response {
    match &visit.session {
        Some(_) => see_other("/dashboard"),
        None => see_other("/sign-in"),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .merge(signin::routes())
        .merge(invitation::routes())
        .merge(profile::routes())
        .merge(dashboard::routes())
        .merge(status::routes())
        .merge(status_links::routes())
        .merge(venues::routes())
        .merge(team::routes())
        .merge(audit::routes())
        .merge(campaigns::routes())
        .merge(analytics::routes())
        .merge(monitoring::routes())
        .merge(alerts::routes())
        .merge(inbox::routes())
}
