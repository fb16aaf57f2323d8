//! Assembles the application: routes (with their OpenAPI paths), the access table's middleware
//! on every route, and the layers every request passes through.

use crate::api::{
    admin, analytics, auth, campaigns, conversations, events, health, monitoring, playlists, status_links, team,
    venues, webhooks, zones,
};
use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::{AppState, access, middleware as mw};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

/// JSON bodies above this size are refused (CSV import reads up to its own, larger limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The API routes and the OpenAPI document they describe.
pub fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::livez))
        .routes(routes!(health::health))
        .routes(routes!(health::metrics))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::enroll_mfa))
        .routes(routes!(auth::confirm_mfa))
        .routes(routes!(auth::accept_invitation))
        .routes(routes!(team::list_members, team::invite_member))
        .routes(routes!(team::update_member))
        .routes(routes!(venues::list_venues, venues::create_venue))
        .routes(routes!(venues::import_venues))
        .routes(routes!(venues::get_venue, venues::update_venue, venues::delete_venue))
        .routes(routes!(venues::list_zones, venues::create_zone))
        .routes(routes!(venues::list_contacts, venues::create_contact))
        .routes(routes!(venues::venue_satisfaction))
        .routes(routes!(venues::set_location))
        .routes(routes!(zones::get_zone, zones::update_zone, zones::delete_zone))
        .routes(routes!(monitoring::fleet_status))
        .routes(routes!(monitoring::list_alerts))
        .routes(routes!(monitoring::resolve_alert))
        .routes(routes!(monitoring::add_maintenance))
        .routes(routes!(monitoring::uptime))
        .routes(routes!(monitoring::check_zone))
        .routes(routes!(monitoring::zone_history))
        .routes(routes!(monitoring::set_volume))
        .routes(routes!(monitoring::play))
        .routes(routes!(monitoring::pause))
        .routes(routes!(monitoring::skip))
        .routes(routes!(monitoring::assign_source))
        .routes(routes!(admin::list_audit))
        .routes(routes!(admin::list_jobs))
        .routes(routes!(admin::requeue_job))
        .routes(routes!(webhooks::whatsapp_verify, webhooks::whatsapp_events))
        .routes(routes!(webhooks::line_events))
        .routes(routes!(webhooks::email_events))
        .routes(routes!(conversations::list))
        .routes(routes!(conversations::get))
        .routes(routes!(conversations::post_message))
        .routes(routes!(conversations::assign))
        .routes(routes!(conversations::close))
        .routes(routes!(conversations::snooze))
        .routes(routes!(conversations::link))
        .routes(routes!(conversations::hand_to_bot))
        .routes(routes!(conversations::media))
        .routes(routes!(conversations::templates))
        .routes(routes!(analytics::satisfaction))
        .routes(routes!(analytics::conversations))
        .routes(routes!(analytics::dashboard))
        .routes(routes!(events::events))
        .routes(routes!(playlists::list, playlists::upsert))
        .routes(routes!(campaigns::list, campaigns::create))
        .routes(routes!(campaigns::get, campaigns::update))
        .routes(routes!(campaigns::send))
        .routes(routes!(campaigns::pause))
        .routes(routes!(campaigns::resume))
        .routes(routes!(campaigns::cancel))
        .routes(routes!(campaigns::duplicate))
        .routes(routes!(campaigns::test_send))
        .routes(routes!(campaigns::audience))
        .routes(routes!(campaigns::preview))
        .routes(routes!(campaigns::recipients))
        .routes(routes!(campaigns::recipients_csv))
        .routes(routes!(campaigns::analytics))
        .routes(routes!(campaigns::analytics_across))
        .routes(routes!(campaigns::unsubscribe_page, campaigns::unsubscribe))
        .routes(routes!(status_links::list, status_links::create))
        .routes(routes!(status_links::revoke))
        .split_for_parts();
    crate::openapi::complete_responses(&mut openapi);
    crate::openapi::forbid_nul(&mut openapi);
    (router, openapi)
}

fn cors(origins: &[String]) -> CorsLayer {
    let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, mw::REQUEST_ID_HEADER])
        .expose_headers([mw::REQUEST_ID_HEADER, header::RETRY_AFTER, HeaderName::from_static("x-ratelimit-remaining")])
        .max_age(Duration::from_secs(3600))
}

pub fn build(state: AppState) -> Router {
    build_with_openapi(state).0
}

pub fn build_with_openapi(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    build_with_extra(state, Router::new())
}

/// The application plus `extra` routes behind the same outer layers but outside the API's access
/// table: the benchmarks' hello-world baseline uses it.
pub fn build_with_extra(state: AppState, extra: Router<AppState>) -> (Router, utoipa::openapi::OpenApi) {
    let (api, openapi) = api_routes();
    let api =
        api.route_layer(from_fn_with_state(state.clone(), access::authorize)).route_layer(from_fn(mw::record_metrics));
    let docs = SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", openapi.clone());
    let app = Router::new()
        .merge(api)
        .merge(docs)
        .merge(webhooks::legacy_routes())
        .merge(extra)
        .fallback(|| async { ApiError::NotFound("route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), access::limit_per_ip))
        .layer(from_fn(mw::time_limit))
        .layer(CompressionLayer::new())
        .layer(cors(&state.ctx.config.cors_origins))
        .layer(from_fn(mw::security_headers))
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()))
        .layer(TraceLayer::new_for_http().on_response(DefaultOnResponse::new().level(tracing::Level::INFO)))
        .layer(from_fn(mw::request_id))
        .with_state(state);
    (app, openapi)
}
