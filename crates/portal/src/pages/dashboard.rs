//! The dashboard: the fleet now, open alerts, inbox load, satisfaction and uptime, from the same
//! service as `GET /api/v1/analytics/dashboard`. It stays live: on every monitoring or inbox event
//! the member may see, `/live/dashboard` sends the changed sections as HTML for htmx to swap in.

use crate::error::{PortalError, PortalResult};
use crate::layout::{Chrome, render};
use crate::session::{Visit, see_other};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use bma_app::AppContext;
use bma_app::events::{CHANNEL, Incoming, permission_for};
use bma_app::services::dashboard::{self, Dashboard};
use bma_store::monitoring::{Alert, AlertFilter};
use bma_web::AppState;
use futures_util::{Stream, StreamExt, stream};
use std::convert::Infallible;

const API: &str = "/api/v1/analytics/dashboard";
const RESOLVE_API: &str = "/api/v1/monitoring/alerts/{id}/resolve";
/// How many open alerts the dashboard lists.
const ALERTS_LISTED: i64 = 10;

#[derive(Template)]
#[template(path = "dashboard/page.html")]
struct DashboardPage {
    c: Chrome,
    d: Dashboard,
    alerts: Vec<Alert>,
    can_resolve: bool,
}

#[derive(Template)]
#[template(path = "dashboard/fleet.html")]
struct FleetFragment<'a> {
    c: &'a Chrome,
    d: &'a Dashboard,
}

#[derive(Template)]
#[template(path = "dashboard/alerts.html")]
struct AlertsFragment<'a> {
    c: &'a Chrome,
    d: &'a Dashboard,
    alerts: &'a [Alert],
    can_resolve: bool,
}

#[derive(Template)]
#[template(path = "dashboard/inbox.html")]
struct InboxFragment<'a> {
    c: &'a Chrome,
    d: &'a Dashboard,
}

async fn open_alerts(ctx: &AppContext) -> PortalResult<Vec<Alert>> {
    let filter = AlertFilter { resolved: Some(false), ..AlertFilter::default() };
    Ok(bma_store::monitoring::list_alerts(&ctx.read_db, &filter, ALERTS_LISTED, 0).await?)
}

async fn page(State(state): State<AppState>, visit: Visit) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, API)?;
    let can_resolve = s.can(&Method::POST, RESOLVE_API);
    let (d, alerts) = tokio::try_join!(
        async { dashboard::build(&state.ctx).await.map_err(PortalError::from) },
        open_alerts(&state.ctx)
    )?;
    render(&DashboardPage { c: Chrome::new(&visit, "dashboard-title", "/dashboard"), d, alerts, can_resolve })
}

/// Whether an event of this kind changes what the dashboard shows.
fn moves_the_dashboard(kind: &str) -> bool {
    matches!(kind, "zone.changed" | "monitoring" | "alert.opened" | "alert.resolved")
        || kind.starts_with("conversation.")
}

/// The dashboard's live sections as server-sent events named after the element they replace.
async fn fragments(ctx: &AppContext, visit: &Visit, can_resolve: bool) -> Vec<Event> {
    let built = tokio::try_join!(async { dashboard::build(ctx).await.map_err(PortalError::from) }, open_alerts(ctx));
    let (d, alerts) = match built {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "live dashboard not rebuilt");
            return Vec::new();
        }
    };
    let c = Chrome::new(visit, "dashboard-title", "/dashboard");
    let parts = [
        ("fleet", FleetFragment { c: &c, d: &d }.render()),
        ("alerts", AlertsFragment { c: &c, d: &d, alerts: &alerts, can_resolve }.render()),
        ("inbox", InboxFragment { c: &c, d: &d }.render()),
    ];
    parts.into_iter().filter_map(|(name, html)| html.ok().map(|h| Event::default().event(name).data(h))).collect()
}

async fn live(
    State(state): State<AppState>,
    visit: Visit,
) -> PortalResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let s = visit.member_allowed(&Method::GET, API)?.clone();
    let can_resolve = s.can(&Method::POST, RESOLVE_API);
    let ctx = state.ctx.clone();
    let feed = ctx.kv.pubsub.subscribe(CHANNEL).await.map_err(|e| PortalError::Internal(anyhow::anyhow!("{e}")))?;
    let role = s.role();
    let changes = feed.filter_map(move |raw| {
        let e = Incoming::parse(&raw);
        let show = moves_the_dashboard(&e.kind) && role.grants(permission_for(&e.kind));
        async move { show.then_some(()) }
    });
    // Once at connection too, for what changed between the page and the stream; a burst of events
    // already waiting is rendered once.
    let changes = changes.ready_chunks(256).map(|_| ());
    let events = stream::once(async {}).chain(changes).then(move |()| {
        let (ctx, visit) = (ctx.clone(), visit.clone());
        async move { stream::iter(fragments(&ctx, &visit, can_resolve).await.into_iter().map(Ok)) }
    });
    Ok(Sse::new(events.flatten()).keep_alive(KeepAlive::default()))
}

/// The page a resolve button sends the member back to.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Back {
    #[default]
    Dashboard,
    Alerts,
}

#[derive(Debug, Default, serde::Deserialize)]
struct ResolveForm {
    #[serde(default)]
    back: Back,
}

async fn resolve(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<uuid::Uuid>,
    axum::extract::Form(f): axum::extract::Form<ResolveForm>,
) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, RESOLVE_API)?;
    bma_app::services::control::resolve_alert(&state.ctx, &visit.actor(), id).await?;
    Ok(see_other(match f.back {
        Back::Dashboard => "/dashboard",
        Back::Alerts => "/alerts",
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(page))
        .route("/live/dashboard", get(live))
        .route("/alerts/{id}/resolve", post(resolve))
}
