//! Satisfaction and conversation analytics over a range: the share of 4s and 5s, response rate
//! and distribution; volumes, first-response and resolution times; each broken down by member,
//! venue, channel or period.

use crate::AppState;
use crate::api::report::{self, Format, Table, cell};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{CurrentUser, Query};
use axum::extract::State;
use axum::response::Response;
use bma_app::cache;
use bma_domain::Invalid;
use bma_store::messaging::{
    self as store, ConversationFigures, ConversationGroup, GroupBy, PeriodZone, SatisfactionFigures, SatisfactionGroup,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct RangeQuery {
    /// RFC 3339; default 30 days ago.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// RFC 3339; default now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// member, venue, brand, country, contact, channel, day, week or month. By contact, each
    /// venue contact appears as a stable pseudonym (`contact-` and 16 hex digits), never by name,
    /// number or address; conversations from unknown senders as `unknown sender`.
    #[param(schema_with = crate::api::schema::report_group)]
    pub group_by: Option<String>,
    /// The calendar of day, week and month groups: an IANA time zone such as Asia/Bangkok (the
    /// viewer's), `venue` for each venue's own, default UTC. Weeks start on Monday.
    #[param(schema_with = crate::api::schema::report_time_zone)]
    pub tz: Option<String>,
    /// Satisfaction only: one venue.
    pub venue_id: Option<Uuid>,
    /// json (default) or csv: the total as a first row labelled `all`, then one row per group.
    #[param(schema_with = crate::api::schema::format)]
    pub format: Option<String>,
}

struct Range {
    from: OffsetDateTime,
    to: OffsetDateTime,
    group: Option<GroupBy>,
    zone: PeriodZone,
    format: Format,
}

impl Range {
    /// The range's part of a cache key: to the minute, so that "the last 30 days" asked twice in
    /// a minute is one entry.
    fn key(&self) -> String {
        format!(
            "{}|{}|{:?}|{:?}",
            self.from.unix_timestamp() / 60,
            self.to.unix_timestamp() / 60,
            self.group,
            self.zone
        )
    }
}

/// Replaces each contact id of a by-contact grouping with the contact's pseudonym.
fn pseudonymise(ctx: &bma_app::AppContext, group: Option<GroupBy>, keys: Vec<(&mut Option<String>, &mut String)>) {
    if group != Some(GroupBy::Contact) {
        return;
    }
    for (key, label) in keys {
        let alias = key
            .as_deref()
            .and_then(|k| Uuid::parse_str(k).ok())
            .map(|id| bma_app::security::pseudonym::contact(&ctx.config.data_encryption_key, id));
        *label = alias.clone().unwrap_or_else(|| "unknown sender".to_owned());
        *key = alias;
    }
}

/// The query's range, grouping, calendar and format; a time zone PostgreSQL does not know is
/// refused like any other malformed field.
async fn range(state: &AppState, q: &RangeQuery) -> Result<Range, ApiError> {
    let now = state.ctx.clock.now();
    let mut inv = Invalid::default();
    let zone = report::calendar_zone(state, q.tz.as_deref(), &mut inv).await?;
    let days = time::Duration::days;
    let span = report::period(&mut inv, ("from", "to"), (q.from.as_deref(), q.to.as_deref()), now, days(30), days(366));
    let group = match q.group_by.as_deref() {
        None => None,
        Some(g) => {
            let parsed = GroupBy::parse(g);
            if parsed.is_none() {
                inv.push(
                    "group_by",
                    "must be one of member, venue, brand, country, contact, channel, day, week, month",
                );
            }
            parsed
        }
    };
    let format = Format::parse(q.format.as_deref(), &mut inv);
    match (span, format, zone) {
        (Some((from, to)), Some(format), Some(zone)) if inv.is_empty() => Ok(Range { from, to, group, zone, format }),
        _ => Err(ApiError::invalid_query(inv.0)),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SatisfactionReport {
    #[serde(flatten)]
    pub total: SatisfactionFigures,
    pub groups: Vec<SatisfactionGroup>,
}

fn satisfaction_record(key: Option<&str>, label: &str, f: &SatisfactionFigures) -> Vec<String> {
    let mut r = vec![
        key.unwrap_or_default().to_owned(),
        label.to_owned(),
        f.surveys_sent.to_string(),
        f.responses.to_string(),
        cell(f.response_rate),
        cell(f.satisfied_share),
        cell(f.average),
    ];
    r.extend(f.distribution.iter().map(i64::to_string));
    r
}

impl Table for SatisfactionReport {
    const FILE: &'static str = "satisfaction";

    fn header() -> Vec<&'static str> {
        vec![
            "key",
            "label",
            "surveys_sent",
            "responses",
            "response_rate",
            "satisfied_share",
            "average",
            "score_1",
            "score_2",
            "score_3",
            "score_4",
            "score_5",
        ]
    }

    fn records(&self) -> Vec<Vec<String>> {
        let mut rows = vec![satisfaction_record(None, "all", &self.total)];
        rows.extend(self.groups.iter().map(|g| satisfaction_record(g.key.as_deref(), &g.label, &g.figures)));
        rows
    }
}

/// Surveys sent in the range and their answers.
///
/// A rule between parameters, which the query's schema cannot state: `to` must not be before
/// `from`, and at most 366 days after it (with one end given, the other defaults: 30 days before
/// `to`, or up to now from `from`); otherwise a 400 names `to`.
#[utoipa::path(get, path = "/api/v1/analytics/satisfaction", tag = "analytics", security(("bearer" = [])), params(RangeQuery),
    responses((status = 200, description = "The report; `format=csv` gives it as a table",
        content((SatisfactionReport = "application/json"), (String = "text/csv"))), (status = 400, body = ErrorBody)))]
pub async fn satisfaction(
    State(state): State<AppState>,
    CurrentUser(viewer): CurrentUser,
    Query(q): Query<RangeQuery>,
) -> ApiResult<Response> {
    let r = range(&state, &q).await?;
    let key = format!("satisfaction|{}|{}|{:?}", viewer.role.as_str(), r.key(), q.venue_id);
    let ctx = &state.ctx;
    report::table(ctx, &[cache::INBOX, cache::SCORES], &key, r.format, || async {
        let (total, mut groups) = store::satisfaction(&ctx.read_db, r.from, r.to, q.venue_id, r.group, &r.zone).await?;
        pseudonymise(ctx, r.group, groups.iter_mut().map(|g| (&mut g.key, &mut g.label)).collect());
        Ok(SatisfactionReport { total, groups })
    })
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConversationReport {
    #[serde(flatten)]
    pub total: ConversationFigures,
    pub groups: Vec<ConversationGroup>,
}

fn conversation_record(key: Option<&str>, label: &str, f: &ConversationFigures) -> Vec<String> {
    vec![
        key.unwrap_or_default().to_owned(),
        label.to_owned(),
        f.conversations.to_string(),
        f.inbound_messages.to_string(),
        f.outbound_messages.to_string(),
        f.responded.to_string(),
        cell(f.avg_first_response_seconds),
        cell(f.median_first_response_seconds),
        f.closed.to_string(),
        cell(f.avg_resolution_seconds),
        cell(f.median_resolution_seconds),
    ]
}

impl Table for ConversationReport {
    const FILE: &'static str = "conversations";

    fn header() -> Vec<&'static str> {
        vec![
            "key",
            "label",
            "conversations",
            "inbound_messages",
            "outbound_messages",
            "responded",
            "avg_first_response_seconds",
            "median_first_response_seconds",
            "closed",
            "avg_resolution_seconds",
            "median_resolution_seconds",
        ]
    }

    fn records(&self) -> Vec<Vec<String>> {
        let mut rows = vec![conversation_record(None, "all", &self.total)];
        rows.extend(self.groups.iter().map(|g| conversation_record(g.key.as_deref(), &g.label, &g.figures)));
        rows
    }
}

/// Conversations started in the range: volumes, first-response and resolution times.
///
/// A rule between parameters, which the query's schema cannot state: `to` must not be before
/// `from`, and at most 366 days after it (with one end given, the other defaults: 30 days before
/// `to`, or up to now from `from`); otherwise a 400 names `to`.
#[utoipa::path(get, path = "/api/v1/analytics/conversations", tag = "analytics", security(("bearer" = [])), params(RangeQuery),
    responses((status = 200, description = "The report; `format=csv` gives it as a table",
        content((ConversationReport = "application/json"), (String = "text/csv"))), (status = 400, body = ErrorBody)))]
pub async fn conversations(
    State(state): State<AppState>,
    CurrentUser(viewer): CurrentUser,
    Query(q): Query<RangeQuery>,
) -> ApiResult<Response> {
    let r = range(&state, &q).await?;
    let key = format!("conversations|{}|{}", viewer.role.as_str(), r.key());
    let ctx = &state.ctx;
    report::table(ctx, &[cache::INBOX], &key, r.format, || async {
        let (total, mut groups) = store::conversation_figures(&ctx.read_db, r.from, r.to, r.group, &r.zone).await?;
        pseudonymise(ctx, r.group, groups.iter_mut().map(|g| (&mut g.key, &mut g.label)).collect());
        Ok(ConversationReport { total, groups })
    })
    .await
}

/// The operations dashboard now: the fleet's zones by state (totals, by brand, by country, and the
/// venues with silent or offline zones), open alerts by severity and age, conversations open /
/// unassigned / waiting with the longest wait, today's first-response and resolution times and
/// messages by channel (today: since midnight UTC), satisfaction over 7 and 30 days with its
/// trend, and uptime over the last 24 hours, 7 and 30 days (each from the hour, `since`, to now).
/// Every figure is defined on its field in the schema. Read from the analytics read pool and
/// cached up to QUERY_CACHE_TTL (5 minutes) section by section; a zone changing state, opening or
/// resolving an alert, a message, a conversation's status or assignment, a survey answer or a
/// campaign's progress invalidates the sections it changes at once; alert ages, waits and uptime
/// may be that old (`generated_at` says when the oldest figures shown were made).
#[utoipa::path(get, path = "/api/v1/analytics/dashboard", tag = "analytics", security(("bearer" = [])),
    responses((status = 200, body = bma_app::services::dashboard::Dashboard), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn dashboard(State(state): State<AppState>, _: CurrentUser) -> ApiResult<Response> {
    Ok(axum::response::IntoResponse::into_response(axum::Json(bma_app::services::dashboard::build(&state.ctx).await?)))
}
