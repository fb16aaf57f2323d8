//! Monitoring: the fleet table (filters, search, pages, live over the event stream) and the zone
//! page (status history, an uptime chart, now playing and the player's controls). Reads use the
//! same store queries as the monitoring API; controls call `services::control` like
//! `crates/web/src/api/monitoring.rs`, and are shown and accepted only for roles the API's access
//! table allows.

use crate::error::{PortalError, PortalResult};
use crate::layout::{Chrome, render};
use crate::session::{Visit, see_other};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use bma_app::AppContext;
use bma_app::services::control::{self, Action};
use bma_domain::analytics::FleetState;
use bma_domain::monitoring::Observation;
use bma_domain::music::Volume;
use bma_domain::venue::ZoneType;
use bma_integrations::soundtrack::ZoneSnapshot;
use bma_store::fleet::{self, FleetQuery, FleetRow};
use bma_store::messaging::CataloguePlaylist;
use bma_store::monitoring::Sample;
use bma_web::AppState;
use futures_util::{Stream, StreamExt, stream};
use serde::Deserialize;
use std::convert::Infallible;
use uuid::Uuid;

const FLEET_API: &str = "/api/v1/monitoring/status";
const ZONE_API: &str = "/api/v1/zones/{id}";
const HISTORY_API: &str = "/api/v1/monitoring/zones/{id}/history";
const CONTROL_API: &str = "/api/v1/zones/{id}/volume";
const CHECK_API: &str = "/api/v1/monitoring/zones/{id}/check";
const PLAYLISTS_API: &str = "/api/v1/playlists";
/// Zones per page of the fleet table.
pub const PER_PAGE: i64 = 50;
/// Samples the zone page lists (the chart draws the whole day).
const HISTORY_LISTED: usize = 20;

/// The fleet table's query string: filters, search and page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FleetParams {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub brand: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub zone_type: String,
    #[serde(default)]
    pub q: String,
    pub page: Option<u32>,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl FleetParams {
    fn query(&self) -> FleetQuery {
        FleetQuery {
            state: FleetState::parse(&self.state),
            brand: some(&self.brand),
            country: some(&self.country),
            zone_type: ZoneType::parse(&self.zone_type).ok(),
            search: some(&self.q),
            zone_id: None,
            venue_id: None,
        }
    }

    fn page(&self) -> i64 {
        i64::from(self.page.unwrap_or(1).clamp(1, 100_000))
    }

    /// The query string of these filters on `page`.
    pub fn href(&self, page: i64) -> String {
        let pairs = [
            ("state", self.state.as_str()),
            ("brand", self.brand.as_str()),
            ("country", self.country.as_str()),
            ("zone_type", self.zone_type.as_str()),
            ("q", self.q.as_str()),
        ];
        let page = page.to_string();
        let kept = pairs.into_iter().filter(|(_, v)| !v.is_empty()).chain([("page", page.as_str())]);
        query_string(kept)
    }
}

/// `k=v&…` with both sides form-encoded (a space as `+`).
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => char::from(b).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs.into_iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The fleet table's rows as the page and the live stream render them.
#[derive(Template)]
#[template(path = "monitoring/rows.html")]
struct Rows<'a> {
    c: &'a Chrome,
    rows: &'a [FleetRow],
}

#[derive(Template)]
#[template(path = "monitoring/fleet.html")]
struct FleetPage {
    c: Chrome,
    p: FleetParams,
    rows: Vec<FleetRow>,
    total: i64,
    page: i64,
    pages: i64,
    brands: Vec<String>,
    countries: Vec<String>,
    live: String,
}

impl FleetPage {
    fn rows_html(&self) -> String {
        Rows { c: &self.c, rows: &self.rows }.render().unwrap_or_default()
    }

    fn states(&self) -> [FleetState; 4] {
        FleetState::ALL
    }

    fn zone_types(&self) -> [ZoneType; 7] {
        ZoneType::ALL
    }
}

async fn fleet_rows(ctx: &AppContext, p: &FleetParams) -> PortalResult<(Vec<FleetRow>, i64)> {
    let offset = (p.page() - 1) * PER_PAGE;
    Ok(fleet::page(&ctx.read_db, &p.query(), PER_PAGE, offset).await?)
}

async fn fleet_page(
    State(state): State<AppState>,
    visit: Visit,
    Query(p): Query<FleetParams>,
) -> PortalResult<Response> {
    visit.member_allowed(&Method::GET, FLEET_API)?;
    let ((rows, total), (brands, countries)) = tokio::try_join!(fleet_rows(&state.ctx, &p), async {
        fleet::choices(&state.ctx.read_db).await.map_err(PortalError::from)
    })?;
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let live = format!("/live/monitoring?{}", p.href(p.page()));
    let c = Chrome::new(&visit, "monitoring-title", "/monitoring");
    render(&FleetPage { page: p.page(), c, p, rows, total, pages, brands, countries, live })
}

/// Whether an event of this kind may change a zone's row.
fn moves_the_fleet(kind: &str) -> bool {
    matches!(kind, "zone.changed" | "monitoring" | "alert.opened" | "alert.resolved")
}

/// The fleet table's rows, again on every monitoring event the member may see.
async fn fleet_live(
    State(state): State<AppState>,
    visit: Visit,
    Query(p): Query<FleetParams>,
) -> PortalResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let role = visit.member_allowed(&Method::GET, FLEET_API)?.role();
    let ctx = state.ctx.clone();
    let changes = crate::live::changes(&ctx, role, moves_the_fleet).await?;
    let events = stream::once(async {}).chain(changes).then(move |()| {
        let (ctx, visit, p) = (ctx.clone(), visit.clone(), p.clone());
        async move {
            let c = Chrome::new(&visit, "monitoring-title", "/monitoring");
            match fleet_rows(&ctx, &p).await.and_then(|(rows, _)| {
                Rows { c: &c, rows: &rows }.render().map_err(|e| PortalError::Internal(anyhow::anyhow!("{e}")))
            }) {
                Ok(html) => stream::iter(vec![Ok(Event::default().event("rows").data(html))]),
                Err(e) => {
                    tracing::warn!(error = %e, "live fleet not rebuilt");
                    stream::iter(Vec::new())
                }
            }
        }
    });
    Ok(Sse::new(events.flatten()).keep_alive(KeepAlive::default()))
}

/// What the zone page says after a control: which one, and whether it failed.
#[derive(Debug, Default, Deserialize)]
struct Outcome {
    done: Option<String>,
    failed: Option<String>,
}

#[derive(Template)]
#[template(path = "monitoring/zone.html")]
struct ZonePage {
    c: Chrome,
    z: FleetRow,
    history: Vec<Sample>,
    /// The day's samples as `[[unix seconds…], [1 playing / 0 not…]]` for uPlot.
    chart: String,
    now: Option<ZoneSnapshot>,
    playlists: Vec<CataloguePlaylist>,
    can_control: bool,
    can_check: bool,
    notice: Option<String>,
    error: Option<String>,
}

impl ZonePage {
    fn volume(&self) -> u8 {
        self.now.as_ref().and_then(|n| n.volume).unwrap_or(Volume::MAX / 2)
    }

    fn observation(&self, s: &Sample) -> String {
        Observation::parse(&s.status).map_or_else(|| s.status.clone(), |o| self.c.tk("monitoring-obs-", o.as_str()))
    }

    fn bad(&self, s: &Sample) -> bool {
        Observation::parse(&s.status).is_some_and(|o| FleetState::of(Some(o)) != FleetState::Playing)
    }
}

fn chart_data(samples: &[Sample]) -> String {
    let mut points: Vec<(i64, u8)> = samples
        .iter()
        .map(|s| {
            let up = Observation::parse(&s.status).is_some_and(|o| FleetState::of(Some(o)) == FleetState::Playing);
            (s.created_at.unix_timestamp(), u8::from(up))
        })
        .collect();
    points.sort_unstable();
    let (x, y): (Vec<i64>, Vec<u8>) = points.into_iter().unzip();
    serde_json::json!([x, y]).to_string()
}

async fn one_zone(ctx: &AppContext, id: Uuid) -> PortalResult<FleetRow> {
    let q = FleetQuery { zone_id: Some(id), ..FleetQuery::default() };
    let (rows, _) = fleet::page(&ctx.db, &q, 1, 0).await?;
    rows.into_iter().next().ok_or(PortalError::NotFound)
}

async fn zone_page(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<Uuid>,
    Query(o): Query<Outcome>,
) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, HISTORY_API)?;
    if !s.can(&Method::GET, ZONE_API) {
        return Err(PortalError::Forbidden);
    }
    let (can_control, can_check) = (s.can(&Method::POST, CONTROL_API), s.can(&Method::POST, CHECK_API));
    let ctx = &state.ctx;
    let z = one_zone(ctx, id).await?;
    let until = time::OffsetDateTime::now_utc();
    let mut history = bma_store::monitoring::history(&ctx.db, id, until - time::Duration::days(1), until, 2000).await?;
    let chart = chart_data(&history);
    history.truncate(HISTORY_LISTED);
    let now = control::status(ctx, &visit.actor(), id).await.ok();
    let playlists = if can_control && s.can(&Method::GET, PLAYLISTS_API) {
        bma_store::messaging::catalogue(&ctx.db).await?
    } else {
        Vec::new()
    };
    let c = Chrome::new(&visit, "zone-title", "/monitoring");
    let notice = o.done.as_deref().and_then(ControlKind::parse).map(|k| c.t(k.done_message()));
    let error = o.failed.as_deref().and_then(Failure::parse).map(|f| c.t(f.message()));
    render(&ZonePage { c, z, history, chart, now, playlists, can_control, can_check, notice, error })
}

/// The controls of the zone page, named in their form's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ControlKind {
    Volume,
    Play,
    Pause,
    Skip,
    Playlist,
    Check,
}

impl ControlKind {
    const ALL: [ControlKind; 6] = [Self::Volume, Self::Play, Self::Pause, Self::Skip, Self::Playlist, Self::Check];

    fn as_str(self) -> &'static str {
        match self {
            Self::Volume => "volume",
            Self::Play => "play",
            Self::Pause => "pause",
            Self::Skip => "skip",
            Self::Playlist => "playlist",
            Self::Check => "check",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn done_message(self) -> &'static str {
        match self {
            Self::Volume => "zone-done-volume",
            Self::Play => "zone-done-play",
            Self::Pause => "zone-done-pause",
            Self::Skip => "zone-done-skip",
            Self::Playlist => "zone-done-playlist",
            Self::Check => "zone-done-check",
        }
    }

    /// The API call whose permission the control needs.
    fn api(self) -> &'static str {
        match self {
            Self::Check => CHECK_API,
            _ => CONTROL_API,
        }
    }
}

/// Why a control did not happen, as the zone page explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Offline,
    Invalid,
    Unavailable,
}

impl Failure {
    fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Invalid => "invalid",
            Self::Unavailable => "unavailable",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Offline, Self::Invalid, Self::Unavailable].into_iter().find(|f| f.as_str() == s)
    }

    fn message(self) -> &'static str {
        match self {
            Self::Offline => "zone-failed-offline",
            Self::Invalid => "zone-failed-invalid",
            Self::Unavailable => "zone-failed-unavailable",
        }
    }

    fn of(e: bma_app::Error) -> Result<Self, PortalError> {
        match e {
            e if control::is_offline(&e) => Ok(Self::Offline),
            bma_app::Error::Invalid(_) => Ok(Self::Invalid),
            bma_app::Error::Conflict { .. } | bma_app::Error::Unavailable { .. } => Ok(Self::Unavailable),
            other => Err(other.into()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ControlForm {
    volume: Option<i64>,
    #[serde(default)]
    source_id: String,
}

async fn control_zone(
    State(state): State<AppState>,
    visit: Visit,
    Path((id, kind)): Path<(Uuid, String)>,
    Form(f): Form<ControlForm>,
) -> PortalResult<Response> {
    let kind = ControlKind::parse(&kind).ok_or(PortalError::NotFound)?;
    visit.member_allowed(&Method::POST, kind.api())?;
    let (ctx, actor) = (&state.ctx, visit.actor());
    let action = match kind {
        ControlKind::Volume => match f.volume.map(Volume::new) {
            Some(Ok(v)) => Some(Action::Volume(v)),
            _ => None,
        },
        ControlKind::Play => Some(Action::Play),
        ControlKind::Pause => Some(Action::Pause),
        ControlKind::Skip => Some(Action::Skip),
        ControlKind::Playlist => {
            bma_domain::venue::SoundtrackId::parse(&f.source_id).ok().map(|s| Action::Source(s.as_str().to_owned()))
        }
        ControlKind::Check => None,
    };
    let result = match (kind, action) {
        (ControlKind::Check, _) => control::check(ctx, &actor, id).await.map(|_| ()),
        (_, Some(action)) => control::control(ctx, &actor, id, action).await.map(|_| ()),
        (_, None) => Err(bma_app::Error::Invalid(bma_domain::Invalid::one("value", "not a valid value"))),
    };
    let to = match result {
        Ok(()) => format!("/monitoring/zones/{id}?done={}", kind.as_str()),
        Err(e) => format!("/monitoring/zones/{id}?failed={}", Failure::of(e)?.as_str()),
    };
    Ok(see_other(&to))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/monitoring", get(fleet_page))
        .route("/live/monitoring", get(fleet_live))
        .route("/monitoring/zones/{id}", get(zone_page))
        .route("/monitoring/zones/{id}/{control}", post(control_zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_survive_paging_in_the_query_string() {
        let p = FleetParams { state: "silent".into(), q: "Lotus & co".into(), ..FleetParams::default() };
        assert_eq!(p.href(3), "state=silent&q=Lotus+%26+co&page=3");
        assert_eq!(p.query().state, Some(FleetState::Silent));
    }
}
