//! Alerts and maintenance windows: the alert list (open or resolved, by severity, with their age)
//! whose resolve button posts to the dashboard's resolve route, and the maintenance windows of
//! venues and zones with a form to plan one. Reads use the monitoring store like
//! `GET /api/v1/monitoring/alerts`; changes call `services::control` like the monitoring API.

use crate::error::{PortalError, PortalResult};
use crate::layout::{Chrome, render};
use crate::pages::monitoring::query_string;
use crate::session::{Visit, see_other};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bma_domain::monitoring::Severity;
use bma_store::fleet::MaintenanceRow;
use bma_store::monitoring::{Alert, AlertFilter};
use bma_web::AppState;
use serde::Deserialize;
use std::borrow::Borrow;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use uuid::Uuid;

const ALERTS_API: &str = "/api/v1/monitoring/alerts";
const RESOLVE_API: &str = "/api/v1/monitoring/alerts/{id}/resolve";
const MAINTENANCE_API: &str = "/api/v1/monitoring/maintenance";
const PER_PAGE: i64 = 50;
/// Venues the maintenance form offers (the zone page links a zone's own form).
const VENUES_OFFERED: i64 = 500;
const WINDOWS_LISTED: i64 = 200;

/// Open or resolved alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shown {
    #[default]
    Open,
    Resolved,
}

impl Shown {
    fn as_str(self) -> &'static str {
        match self {
            Shown::Open => "open",
            Shown::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct AlertParams {
    #[serde(default)]
    shown: Shown,
    #[serde(default)]
    severity: String,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "alerts/list.html")]
struct AlertsPage {
    c: Chrome,
    shown: Shown,
    severity: Option<Severity>,
    alerts: Vec<Alert>,
    page: i64,
    more: bool,
    can_resolve: bool,
    now: OffsetDateTime,
}

impl AlertsPage {
    fn tabs(&self) -> [Shown; 2] {
        [Shown::Open, Shown::Resolved]
    }

    fn severities(&self) -> [Severity; 3] {
        [Severity::Critical, Severity::Warning, Severity::Info]
    }

    fn href(&self, shown: impl Borrow<Shown>, page: i64) -> String {
        let shown = *shown.borrow();
        let page = page.to_string();
        let sev = self.severity.map(Severity::as_str).unwrap_or_default();
        let pairs = [("shown", shown.as_str()), ("severity", sev), ("page", page.as_str())];
        format!("/alerts?{}", query_string(pairs.into_iter().filter(|(_, v)| !v.is_empty())))
    }

    fn picked(&self, s: impl Borrow<Severity>) -> bool {
        self.severity == Some(*s.borrow())
    }

    /// How long the alert has been open (or was, when resolved), in the largest whole unit.
    fn age(&self, a: &Alert) -> String {
        let opened = a.started_at.unwrap_or(a.created_at);
        let secs = (a.resolved_at.unwrap_or(self.now) - opened).whole_seconds().max(0);
        match secs {
            s if s < 3600 => self.c.tn("alerts-age-minutes", "n", s / 60),
            s if s < 86_400 => self.c.tn("alerts-age-hours", "n", s / 3600),
            s => self.c.tn("alerts-age-days", "n", s / 86_400),
        }
    }
}

async fn alerts(State(state): State<AppState>, visit: Visit, Query(p): Query<AlertParams>) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, ALERTS_API)?;
    let can_resolve = s.can(&Method::POST, RESOLVE_API);
    let severity = Severity::parse(&p.severity);
    let page = i64::from(p.page.unwrap_or(1).clamp(1, 10_000));
    let f = AlertFilter { resolved: Some(p.shown == Shown::Resolved), severity, ..AlertFilter::default() };
    let mut alerts =
        bma_store::monitoring::list_alerts(&state.ctx.read_db, &f, PER_PAGE + 1, (page - 1) * PER_PAGE).await?;
    let more = alerts.len() > usize::try_from(PER_PAGE).unwrap_or(usize::MAX);
    alerts.truncate(usize::try_from(PER_PAGE).unwrap_or(usize::MAX));
    let c = Chrome::new(&visit, "alerts-title", "/alerts");
    let now = OffsetDateTime::now_utc();
    render(&AlertsPage { c, shown: p.shown, severity, alerts, page, more, can_resolve, now })
}

#[derive(Debug, Default, Deserialize)]
struct MaintenanceParams {
    zone: Option<Uuid>,
    done: Option<u8>,
}

#[derive(Template)]
#[template(path = "alerts/maintenance.html")]
struct MaintenancePage {
    c: Chrome,
    windows: Vec<MaintenanceRow>,
    can_plan: bool,
    /// The zone the form is for (id and "zone · venue"), else a venue is picked.
    zone: Option<(Uuid, String)>,
    venues: Vec<(Uuid, String, String)>,
    notice: Option<String>,
    error: Option<String>,
}

async fn maintenance_page(
    state: &AppState,
    visit: &Visit,
    zone: Option<Uuid>,
    notice: Option<&str>,
    error: Option<&str>,
) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, ALERTS_API)?;
    let can_plan = s.can(&Method::POST, MAINTENANCE_API);
    let db = &state.ctx.read_db;
    let windows = bma_store::fleet::maintenance(db, OffsetDateTime::now_utc(), WINDOWS_LISTED).await?;
    let zone = match zone {
        Some(id) => {
            let z = bma_store::venues::find_zone(db, id).await?.ok_or(PortalError::NotFound)?;
            let venue = bma_store::venues::find(db, z.venue_id).await?.map(|v| v.name).unwrap_or_default();
            Some((id, format!("{} · {venue}", z.name)))
        }
        None => None,
    };
    let venues =
        if can_plan && zone.is_none() { bma_store::fleet::venue_names(db, VENUES_OFFERED).await? } else { Vec::new() };
    let c = Chrome::new(visit, "maintenance-title", "/alerts");
    let page = MaintenancePage {
        notice: notice.map(|n| c.t(n)),
        error: error.map(|e| c.t(e)),
        c,
        windows,
        can_plan,
        zone,
        venues,
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(&page)?).into_response())
}

async fn maintenance(
    State(state): State<AppState>,
    visit: Visit,
    Query(p): Query<MaintenanceParams>,
) -> PortalResult<Response> {
    let notice = p.done.map(|_| "maintenance-planned");
    maintenance_page(&state, &visit, p.zone, notice, None).await
}

#[derive(Debug, Default, Deserialize)]
struct PlanForm {
    zone_id: Option<Uuid>,
    venue_id: Option<Uuid>,
    #[serde(default)]
    starts: String,
    #[serde(default)]
    ends: String,
    /// The browser's offset from UTC in minutes (east positive); 0 without the script.
    #[serde(default)]
    offset: i32,
    #[serde(default)]
    reason: String,
}

/// A `datetime-local` value at the viewer's offset.
fn local_time(value: &str, offset_minutes: i32) -> Option<OffsetDateTime> {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let at = PrimitiveDateTime::parse(value.get(..16)?, &f).ok()?;
    Some(at.assume_offset(UtcOffset::from_whole_seconds(offset_minutes.checked_mul(60)?).ok()?))
}

async fn plan(State(state): State<AppState>, visit: Visit, Form(f): Form<PlanForm>) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, MAINTENANCE_API)?;
    let times = local_time(&f.starts, f.offset).zip(local_time(&f.ends, f.offset));
    let Some((starts, ends)) = times.filter(|_| f.reason.chars().count() <= 500) else {
        return maintenance_page(&state, &visit, f.zone_id, None, Some("maintenance-invalid")).await;
    };
    let venue = if f.zone_id.is_some() { None } else { f.venue_id };
    let added = bma_app::services::control::add_maintenance(
        &state.ctx,
        &visit.actor(),
        venue,
        f.zone_id,
        starts,
        ends,
        f.reason.trim(),
    )
    .await;
    match added {
        Ok(_) => Ok(see_other("/maintenance?done=1")),
        Err(bma_app::Error::Invalid(_)) => {
            maintenance_page(&state, &visit, f.zone_id, None, Some("maintenance-invalid")).await
        }
        Err(e) => Err(e.into()),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/alerts", get(alerts)).route("/maintenance", get(maintenance).post(plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_time_is_read_at_the_viewers_offset() {
        let t = local_time("2026-12-03T10:30", 420).expect("a time");
        assert_eq!(t.to_offset(UtcOffset::UTC).hour(), 3);
        assert!(local_time("tomorrow", 0).is_none());
        assert!(local_time("2026-12-03T10:30", 100_000).is_none());
    }
}
