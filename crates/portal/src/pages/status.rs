//! The public status pages (no sign-in): `/status`, the platform's own health and its incident
//! history from platform alerts; and `/status/{token}`, the music status of the brand or venue
//! an admin shared under that unguessable link. They show no personal data and no internal ids,
//! and a link that is malformed, unknown or revoked gets the same 404 page.

use crate::error::{PortalError, PortalResult};
use crate::layout::{Chrome, render};
use crate::session::Visit;
use askama::Template;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use bma_app::AppContext;
use bma_app::services::status_links::{HourMark, PublicStatus, PublicVenue, public_view};
use bma_domain::analytics::FleetState;
use bma_domain::monitoring::AlertKind;
use bma_store::monitoring::AlertFilter;
use bma_web::AppState;
use time::OffsetDateTime;

/// A job due this long ago and still waiting means the workers are not keeping up.
const WORKER_LAG_SECONDS: i64 = 300;
const INCIDENTS_SHOWN: i64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Operational,
    Degraded,
    NotConfigured,
}

impl Health {
    /// The state's message id and CSS class.
    pub fn key(self) -> &'static str {
        match self {
            Health::Operational => "operational",
            Health::Degraded => "degraded",
            Health::NotConfigured => "not-configured",
        }
    }
}

pub struct Component {
    pub name: &'static str,
    pub state: Health,
}

pub struct Incident {
    pub started_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
}

#[derive(Template)]
#[template(path = "status/page.html")]
struct StatusPage {
    c: Chrome,
    overall: Health,
    components: Vec<Component>,
    incidents: Vec<Incident>,
}

fn configured(yes: bool) -> Health {
    if yes { Health::Operational } else { Health::NotConfigured }
}

async fn components(ctx: &AppContext, platform_down: bool) -> Vec<Component> {
    let db_ok = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&ctx.db).await.is_ok();
    let workers = match bma_store::jobs::oldest_due(&ctx.db).await {
        Ok(None) => Health::Operational,
        Ok(Some(due)) if (OffsetDateTime::now_utc() - due).whole_seconds() < WORKER_LAG_SECONDS => Health::Operational,
        _ => Health::Degraded,
    };
    let soundtrack = match (&ctx.soundtrack, platform_down) {
        (_, true) => Health::Degraded,
        (None, false) => Health::NotConfigured,
        (Some(_), false) => Health::Operational,
    };
    let cfg = &ctx.config;
    vec![
        Component { name: "status-api", state: if db_ok { Health::Operational } else { Health::Degraded } },
        Component { name: "status-workers", state: workers },
        Component { name: "status-soundtrack", state: soundtrack },
        Component {
            name: "status-whatsapp",
            state: configured(cfg.whatsapp_access_token.is_some() && cfg.messaging.whatsapp_phone_number_id.is_some()),
        },
        Component { name: "status-line", state: configured(cfg.line_channel_access_token.is_some()) },
        Component { name: "status-email", state: configured(cfg.smtp.is_some()) },
    ]
}

async fn page(State(state): State<AppState>, visit: Visit) -> PortalResult<Response> {
    let ctx = &state.ctx;
    let filter = AlertFilter { alert_type: Some(AlertKind::Platform), ..AlertFilter::default() };
    let alerts = bma_store::monitoring::list_alerts(&ctx.read_db, &filter, INCIDENTS_SHOWN, 0).await?;
    let platform_down = alerts.iter().any(|a| !a.resolved);
    let components = components(ctx, platform_down).await;
    let overall =
        if components.iter().any(|c| c.state == Health::Degraded) { Health::Degraded } else { Health::Operational };
    let incidents = alerts
        .into_iter()
        .map(|a| Incident { started_at: a.started_at.unwrap_or(a.created_at), resolved_at: a.resolved_at })
        .collect();
    render(&StatusPage { c: Chrome::new(&visit, "status-title", "/status"), overall, components, incidents })
}

#[derive(Template)]
#[template(path = "status/link.html")]
struct LinkPage {
    c: Chrome,
    s: PublicStatus,
}

impl LinkPage {
    /// The zones in each state, states with none left out.
    fn states(&self) -> Vec<(&'static str, i64)> {
        let n = &self.s.states;
        FleetState::ALL
            .into_iter()
            .map(|st| {
                let count = match st {
                    FleetState::Playing => n.playing,
                    FleetState::Silent => n.silent,
                    FleetState::Offline => n.offline,
                    FleetState::Unknown => n.unknown,
                };
                (st.as_str(), count)
            })
            .filter(|(_, count)| *count > 0)
            .collect()
    }

    fn legend(&self) -> Vec<&'static str> {
        [HourMark::Up, HourMark::Mixed, HourMark::Down, HourMark::NoData, HourMark::Ahead]
            .map(HourMark::as_str)
            .to_vec()
    }

    /// What today's strip of a venue shows, in words.
    fn strip_label(&self, v: &PublicVenue) -> String {
        let count = |m: HourMark| i64::try_from(v.hours.iter().filter(|h| **h == m).count()).unwrap_or(0);
        [HourMark::Up, HourMark::Mixed, HourMark::Down, HourMark::NoData]
            .into_iter()
            .map(|m| self.c.tn(&format!("status-link-hours-{}", m.as_str()), "n", count(m)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `/status/{token}`: the shared page, or the 404 page for any token that opens nothing.
async fn link_page(
    State(state): State<AppState>,
    visit: Visit,
    token: Result<Path<String>, PathRejection>,
) -> PortalResult<Response> {
    let Ok(Path(token)) = token else { return Err(PortalError::NotFound) };
    let Some(s) = public_view(&state.ctx, &token).await? else { return Err(PortalError::NotFound) };
    let mut c = Chrome::new(&visit, "status-link-title", "/status");
    c.title = s.name.clone();
    let mut res = render(&LinkPage { c, s })?;
    let h = res.headers_mut();
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(HeaderName::from_static("x-robots-tag"), HeaderValue::from_static("noindex"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/status", get(page)).route("/status/{token}", get(link_page))
}
