//! Analytics: satisfaction, uptime and conversations over a date range (days in the viewer's
//! time zone), grouped by period, venue, brand, country, member, channel or zone type as each
//! report supports, as a chart (the vendored uPlot, drawn by `charts.js`) and a table, with the
//! CSV download. The figures come from the API's own handlers (`web::api::analytics` and
//! `web::api::monitoring::uptime`) called with the member's claims, so caching, pseudonyms and
//! the CSV columns are the API's.

use crate::error::{PortalError, PortalResult};
use crate::forms::{date_text, day_start, parse_date, query_string, viewer_offset};
use crate::layout::{Chrome, render};
use crate::session::{Session, Visit};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bma_web::AppState;
use bma_web::api::analytics::{self as api, RangeQuery};
use bma_web::api::monitoring::UptimeQuery;
use bma_web::extract::{CurrentUser, Query as ApiQuery};
use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The three reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Satisfaction,
    Uptime,
    Conversations,
}

impl Report {
    pub const ALL: [Report; 3] = [Report::Satisfaction, Report::Uptime, Report::Conversations];

    pub fn as_str(self) -> &'static str {
        match self {
            Report::Satisfaction => "satisfaction",
            Report::Uptime => "uptime",
            Report::Conversations => "conversations",
        }
    }

    fn parse(s: &str) -> Self {
        Report::ALL.into_iter().find(|r| r.as_str() == s).unwrap_or(Report::Satisfaction)
    }

    fn api(self) -> &'static str {
        match self {
            Report::Satisfaction => "/api/v1/analytics/satisfaction",
            Report::Uptime => "/api/v1/analytics/uptime",
            Report::Conversations => "/api/v1/analytics/conversations",
        }
    }

    /// The groupings the report's API takes.
    pub fn groups(self) -> &'static [&'static str] {
        match self {
            Report::Uptime => &["venue", "brand", "country", "zone_type"],
            _ => &["day", "week", "month", "venue", "brand", "country", "member", "channel"],
        }
    }

    /// The columns shown (the API's field names), the first one charted.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Report::Satisfaction => &["satisfied_share", "average", "responses", "surveys_sent", "response_rate"],
            Report::Uptime => &["uptime_percentage", "zones", "up_seconds", "down_seconds", "unknown_seconds"],
            Report::Conversations => &[
                "conversations",
                "inbound_messages",
                "outbound_messages",
                "median_first_response_seconds",
                "closed",
                "median_resolution_seconds",
            ],
        }
    }
}

#[derive(Deserialize, Default)]
struct AnalyticsQuery {
    #[serde(default)]
    report: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    offset: String,
    /// The browser's IANA time zone, for day, week and month groups.
    #[serde(default)]
    tz: String,
}

/// One row of the table: its label and its cells.
pub struct Line {
    pub label: String,
    pub cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "analytics/page.html")]
struct AnalyticsPage {
    c: Chrome,
    report: Report,
    tabs: Vec<(String, String, bool)>,
    groups: Vec<(String, String, bool)>,
    from: String,
    to: String,
    offset: String,
    tz: String,
    columns: Vec<String>,
    total: Option<Line>,
    lines: Vec<Line>,
    chart: String,
    csv: String,
    error: bool,
}

fn cell(v: Option<&Value>, column: &str) -> String {
    match v {
        Some(Value::Number(n)) if column.ends_with("_share") || column.ends_with("_rate") => {
            n.as_f64().map_or_else(String::new, |x| format!("{:.1} %", x * 100.0))
        }
        Some(Value::Number(n)) if column.ends_with("_percentage") => {
            n.as_f64().map_or_else(String::new, |x| format!("{x:.2} %"))
        }
        Some(Value::Number(n)) if column.ends_with("_seconds") && column.contains("median") => {
            n.as_f64().map_or_else(String::new, |x| format!("{:.1} min", x / 60.0))
        }
        Some(Value::Number(n)) if column.ends_with("_seconds") => {
            n.as_f64().map_or_else(String::new, |x| format!("{:.1} h", x / 3600.0))
        }
        Some(Value::Number(n)) if n.is_f64() => n.as_f64().map_or_else(String::new, |x| format!("{x:.2}")),
        Some(Value::Number(n)) => n.to_string(),
        _ => "–".to_owned(),
    }
}

fn line(row: &Value, label: String, columns: &[&str]) -> Line {
    Line { label, cells: columns.iter().map(|c| cell(row.get(*c), c)).collect() }
}

/// Calls the report's API handler with the member's claims; `Err` for a query it refuses.
async fn fetch(
    state: &AppState,
    s: &Session,
    report: Report,
    range: [Option<String>; 4],
    format: &str,
) -> PortalResult<Result<Response, Response>> {
    let [from, to, group, tz] = range;
    let user = CurrentUser(s.claims.clone());
    let format = Some(format.to_owned());
    let res = match report {
        Report::Uptime => {
            let q = UptimeQuery { group_by: group, since: from, until: to, tz, format };
            bma_web::api::monitoring::uptime(State(state.clone()), user, ApiQuery(q)).await
        }
        other => {
            let q = RangeQuery { from, to, group_by: group, tz, venue_id: None, format };
            if other == Report::Satisfaction {
                api::satisfaction(State(state.clone()), user, ApiQuery(q)).await
            } else {
                api::conversations(State(state.clone()), user, ApiQuery(q)).await
            }
        }
    };
    Ok(res.map_err(IntoResponse::into_response))
}

async fn json_of(res: Response) -> PortalResult<Value> {
    let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
        .await
        .map_err(|e| PortalError::Internal(anyhow::anyhow!("{e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| PortalError::Internal(e.into()))
}

/// The range of the form: whole days in the viewer's time zone, the last 30 by default.
fn range(q: &AnalyticsQuery) -> (OffsetDateTime, OffsetDateTime) {
    let offset = viewer_offset(q.offset.trim().parse().ok());
    let today = OffsetDateTime::now_utc().to_offset(offset).date();
    let to = parse_date(&q.to).unwrap_or(today);
    let from = parse_date(&q.from).filter(|f| *f <= to).unwrap_or(to - Duration::days(29));
    let end = to.next_day().map_or(OffsetDateTime::now_utc(), |d| day_start(d, offset));
    (day_start(from, offset), end)
}

/// What a query asks the report's API for: the range, the grouping it supports, the time zone.
struct Asked {
    from: OffsetDateTime,
    to: OffsetDateTime,
    group: Option<String>,
    tz: Option<String>,
}

impl Asked {
    fn of(q: &AnalyticsQuery, report: Report) -> Self {
        let (from, to) = range(q);
        let group = report.groups().iter().find(|g| **g == q.group).map(|g| (*g).to_owned());
        Asked { from, to, group, tz: Some(q.tz.trim().to_owned()).filter(|t| !t.is_empty()) }
    }

    /// `from`, `to`, the grouping and the time zone as the API's query takes them.
    fn args(&self) -> [Option<String>; 4] {
        let text = |t: OffsetDateTime| t.format(&Rfc3339).ok();
        [text(self.from), text(self.to), self.group.clone(), self.tz.clone()]
    }
}

async fn page(
    State(state): State<AppState>,
    visit: Visit,
    Query(mut q): Query<AnalyticsQuery>,
) -> PortalResult<Response> {
    let report = Report::parse(&q.report);
    let s = visit.member_allowed(&Method::GET, report.api())?.clone();
    let asked = Asked::of(&q, report);
    let (from, to) = (asked.from, asked.to);
    let fetched = fetch(&state, &s, report, asked.args(), "json").await?;
    let c = Chrome::new(&visit, "analytics-title", "/analytics");
    let columns = report.columns();
    let (mut total, mut lines, error) = (None, Vec::new(), fetched.is_err());
    if let Ok(res) = fetched {
        let body = json_of(res).await?;
        let rows = match report {
            Report::Uptime => body.as_array().cloned().unwrap_or_default(),
            _ => {
                total = Some(line(&body, c.t("analytics-all"), columns));
                body.get("groups").and_then(Value::as_array).cloned().unwrap_or_default()
            }
        };
        lines = rows
            .iter()
            .map(|r| {
                let label = r.get("label").and_then(Value::as_str).or_else(|| r.get("key").and_then(Value::as_str));
                line(r, label.map_or_else(|| c.t("none-set"), str::to_owned), columns)
            })
            .collect();
    }
    let first = columns.first().copied().unwrap_or("");
    let values: Vec<Option<f64>> =
        lines.iter().map(|l| l.cells.first().and_then(|v| v.split(' ').next()?.parse().ok())).collect();
    let chart = serde_json::json!({
        "labels": lines.iter().map(|l| l.label.clone()).collect::<Vec<_>>(),
        "series": [{"name": c.tk("analytics-col-", first), "values": values}],
    })
    .to_string()
    // Inside <script>: no text may close the element.
    .replace('<', "\\u003c");
    q.from = date_text(from.to_offset(viewer_offset(q.offset.trim().parse().ok())).date());
    q.to = date_text((to - Duration::seconds(1)).to_offset(viewer_offset(q.offset.trim().parse().ok())).date());
    let link = |path: &str, r: Report, group: &str| {
        let params = [
            ("report", r.as_str().to_owned()),
            ("from", q.from.clone()),
            ("to", q.to.clone()),
            ("group", group.to_owned()),
            ("offset", q.offset.clone()),
            ("tz", q.tz.clone()),
        ];
        format!("{path}{}", query_string(&params))
    };
    let csv = link("/analytics/csv", report, asked.group.as_deref().unwrap_or(""));
    let tabs = Report::ALL
        .iter()
        .filter(|r| s.can(&Method::GET, r.api()))
        .map(|r| (link("/analytics", *r, ""), c.tk("analytics-report-", r.as_str()), *r == report))
        .collect();
    let groups = report
        .groups()
        .iter()
        .map(|g| ((*g).to_owned(), c.tk("analytics-group-", g), Some(*g) == asked.group.as_deref()))
        .collect();
    let page = AnalyticsPage {
        columns: columns.iter().map(|k| c.tk("analytics-col-", k)).collect(),
        report,
        tabs,
        groups,
        from: q.from,
        to: q.to,
        offset: q.offset,
        tz: q.tz,
        total,
        lines,
        chart,
        csv,
        error,
        c,
    };
    let status = if page.error { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(&page)?).into_response())
}

/// The report as the API's CSV (`format=csv`).
async fn csv(State(state): State<AppState>, visit: Visit, Query(q): Query<AnalyticsQuery>) -> PortalResult<Response> {
    let report = Report::parse(&q.report);
    let s = visit.member_allowed(&Method::GET, report.api())?.clone();
    match fetch(&state, &s, report, Asked::of(&q, report).args(), "csv").await? {
        Ok(res) | Err(res) => Ok(res),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/analytics", get(page)).route("/analytics/csv", get(csv))
}
