//! The audit log: who did what to which entity and when, filtered by actor, action, entity and
//! a date range (days in the viewer's time zone), newest first and paginated. It reads
//! `store::audit::list`, as `GET /api/v1/audit-log` does.

use crate::error::PortalResult;
use crate::forms::{Pager, date_text, day_start, page_of, parse_date, viewer_offset};
use crate::layout::{Chrome, render};
use crate::session::Visit;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use bma_store::audit::{self, Filter, Row};
use bma_web::AppState;
use serde::Deserialize;
use uuid::Uuid;

const API: &str = "/api/v1/audit-log";
const PER_PAGE: u32 = 50;

#[derive(Deserialize, Default)]
struct AuditQuery {
    page: Option<u32>,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The browser's offset from UTC in minutes (set by `portal.js`).
    #[serde(default)]
    offset: String,
}

#[derive(Template)]
#[template(path = "audit/page.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<Row>,
    actors: Vec<(Uuid, String)>,
    q: AuditQuery,
    pager: Pager,
}

fn text(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

async fn page(State(state): State<AppState>, visit: Visit, Query(mut q): Query<AuditQuery>) -> PortalResult<Response> {
    visit.member_allowed(&Method::GET, API)?;
    let offset = viewer_offset(q.offset.trim().parse().ok());
    let from = parse_date(&q.from);
    let to = parse_date(&q.to);
    let filter = Filter {
        actor_id: q.actor.parse().ok(),
        action: text(&q.action),
        entity_type: text(&q.entity),
        entity_id: text(&q.entity_id),
        since: from.map(|d| day_start(d, offset)),
        until: to.and_then(|d| d.next_day()).map(|d| day_start(d, offset)),
    };
    // Dates the browser did not send as YYYY-MM-DD are dropped, not kept in the form.
    q.from = from.map(date_text).unwrap_or_default();
    q.to = to.map(date_text).unwrap_or_default();
    let at = page_of(q.page, PER_PAGE);
    let ctx = &state.ctx;
    let (rows, total) = audit::list(&ctx.db, &filter, at.limit(), at.offset()).await?;
    let actors = bma_store::members::list(&ctx.db).await?.into_iter().map(|m| (m.id, m.email)).collect();
    let filters = [
        ("actor", q.actor.clone()),
        ("action", q.action.clone()),
        ("entity", q.entity.clone()),
        ("entity_id", q.entity_id.clone()),
        ("from", q.from.clone()),
        ("to", q.to.clone()),
        ("offset", q.offset.clone()),
    ];
    let pager = Pager::new("/audit", &filters, at, total);
    render(&AuditPage { c: Chrome::new(&visit, "audit-title", "/audit"), rows, actors, q, pager })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(page))
}
