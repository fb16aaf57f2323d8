//! Satisfaction and conversation analytics over a range: the share of 4s and 5s, response rate
//! and distribution; volumes, first-response and resolution times; each broken down by member,
//! venue, channel or period.

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Query};
use axum::extract::State;
use bma_domain::Invalid;
use bma_store::messaging::{
    self as store, ConversationFigures, ConversationGroup, GroupBy, SatisfactionFigures, SatisfactionGroup,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct RangeQuery {
    /// RFC 3339; default 30 days ago.
    pub from: Option<String>,
    /// RFC 3339; default now.
    pub to: Option<String>,
    /// member, venue, channel, day, week or month.
    pub group_by: Option<String>,
    /// Satisfaction only: one venue.
    pub venue_id: Option<Uuid>,
}

struct Range {
    from: OffsetDateTime,
    to: OffsetDateTime,
    group: Option<GroupBy>,
}

fn range(q: &RangeQuery) -> Result<Range, ApiError> {
    let mut inv = Invalid::default();
    let now = OffsetDateTime::now_utc();
    let mut at = |field: &str, v: Option<&str>, default: OffsetDateTime| match v {
        None => Some(default),
        Some(v) => OffsetDateTime::parse(v, &Rfc3339).map_err(|_| inv.push(field, "must be an RFC 3339 time")).ok(),
    };
    let from = at("from", q.from.as_deref(), now - time::Duration::days(30));
    let to = at("to", q.to.as_deref(), now);
    let group = match q.group_by.as_deref() {
        None => None,
        Some(g) => {
            let parsed = GroupBy::parse(g);
            if parsed.is_none() {
                inv.push("group_by", "must be one of member, venue, channel, day, week, month");
            }
            parsed
        }
    };
    match (from, to) {
        (Some(from), Some(to)) if inv.is_empty() => {
            if to <= from || to - from > time::Duration::days(366) {
                return Err(ApiError::invalid_query(
                    Invalid::one("to", "must be after from, and at most 366 days later").0,
                ));
            }
            Ok(Range { from, to, group })
        }
        _ => Err(ApiError::invalid_query(inv.0)),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SatisfactionReport {
    #[serde(flatten)]
    pub total: SatisfactionFigures,
    pub groups: Vec<SatisfactionGroup>,
}

/// Surveys sent in the range and their answers.
#[utoipa::path(get, path = "/api/v1/analytics/satisfaction", tag = "analytics", security(("bearer" = [])), params(RangeQuery),
    responses((status = 200, body = SatisfactionReport), (status = 400, body = ErrorBody)))]
pub async fn satisfaction(
    State(state): State<AppState>,
    Query(q): Query<RangeQuery>,
) -> ApiResult<Json<SatisfactionReport>> {
    let r = range(&q)?;
    let (total, groups) = store::satisfaction(&state.ctx.read_db, r.from, r.to, q.venue_id, r.group).await?;
    Ok(Json(SatisfactionReport { total, groups }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConversationReport {
    #[serde(flatten)]
    pub total: ConversationFigures,
    pub groups: Vec<ConversationGroup>,
}

/// Conversations started in the range: volumes, first-response and resolution times.
#[utoipa::path(get, path = "/api/v1/analytics/conversations", tag = "analytics", security(("bearer" = [])), params(RangeQuery),
    responses((status = 200, body = ConversationReport), (status = 400, body = ErrorBody)))]
pub async fn conversations(
    State(state): State<AppState>,
    Query(q): Query<RangeQuery>,
) -> ApiResult<Json<ConversationReport>> {
    let r = range(&q)?;
    let (total, groups) = store::conversation_figures(&state.ctx.read_db, r.from, r.to, r.group).await?;
    Ok(Json(ConversationReport { total, groups }))
}

/// The operations dashboard now: the fleet's zones by state (totals, by brand, by country), open
/// alerts by severity and age, conversations open / unassigned / waiting with the longest wait,
/// today's first-response and resolution times and messages by channel (today: since midnight
/// UTC), satisfaction over 7 and 30 days with its trend, and uptime over 24 hours, 7 and 30 days.
/// Every figure is defined on its field in the schema. Read from the analytics read pool.
#[utoipa::path(get, path = "/api/v1/analytics/dashboard", tag = "analytics", security(("bearer" = [])),
    responses((status = 200, body = bma_app::services::dashboard::Dashboard), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn dashboard(State(state): State<AppState>) -> ApiResult<Json<bma_app::services::dashboard::Dashboard>> {
    Ok(Json(bma_app::services::dashboard::build(&state.ctx).await?))
}
