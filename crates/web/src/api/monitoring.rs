//! Monitoring and remote control of zones: check a zone now, read its history, and drive its
//! player (volume 0–16, play, pause, skip, playlist or schedule).

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuditActor, Id, Json, Query};
use axum::extract::State;
use bma_app::services::control::{self, Action, CheckResult, ControlResult};
use bma_domain::Invalid;
use bma_domain::music::Volume;
use bma_store::monitoring::Sample;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Checks the zone with Soundtrack now and records the sample.
#[utoipa::path(post, path = "/api/v1/monitoring/zones/{id}/check", tag = "monitoring", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CheckResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn check_zone(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<CheckResult>> {
    Ok(Json(control::check(&state.ctx, &actor, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// RFC 3339; default 24 hours ago.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// RFC 3339; default now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    /// At most this many samples, newest first (1–5000, default 500).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<i64>,
}

/// The zone's checks and transitions over a range, newest first.
#[utoipa::path(get, path = "/api/v1/monitoring/zones/{id}/history", tag = "monitoring", security(("bearer" = [])), params(("id" = Uuid, Path), HistoryQuery),
    responses((status = 200, body = Vec<Sample>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn zone_history(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<Sample>>> {
    let mut inv = Invalid::default();
    let mut time_of = |field: &str, v: Option<&str>, default: OffsetDateTime| match v {
        None => Some(default),
        Some(v) => OffsetDateTime::parse(v, &Rfc3339).map_err(|_| inv.push(field, "must be an RFC 3339 time")).ok(),
    };
    let now = OffsetDateTime::now_utc();
    let since = time_of("since", q.since.as_deref(), now - time::Duration::days(1));
    let until = time_of("until", q.until.as_deref(), now);
    let limit = q.limit.unwrap_or(500);
    if !(1..=5000).contains(&limit) {
        inv.push("limit", "must be between 1 and 5000");
    }
    let (Some(since), Some(until)) = (since, until) else {
        return Err(ApiError::invalid_query(inv.0));
    };
    if !inv.is_empty() {
        return Err(ApiError::invalid_query(inv.0));
    }
    bma_store::venues::find_zone(&state.ctx.db, id).await?.ok_or_else(|| ApiError::NotFound("zone".into()))?;
    Ok(Json(bma_store::monitoring::history(&state.ctx.db, id, since, until, limit).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeRequest {
    /// 0 (mute) to 16.
    #[schema(minimum = 0, maximum = 16)]
    #[serde(deserialize_with = "crate::api::whole::i64")]
    pub volume: i64,
}

/// Sets the zone's volume (0–16).
#[utoipa::path(post, path = "/api/v1/zones/{id}/volume", tag = "control", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = VolumeRequest,
    responses((status = 200, body = ControlResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_volume(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(b): Json<VolumeRequest>,
) -> ApiResult<Json<ControlResult>> {
    let v = Volume::new(b.volume)?;
    Ok(Json(control::control(&state.ctx, &actor, id, Action::Volume(v)).await?))
}

/// Starts playback.
#[utoipa::path(post, path = "/api/v1/zones/{id}/play", tag = "control", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ControlResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn play(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<ControlResult>> {
    Ok(Json(control::control(&state.ctx, &actor, id, Action::Play).await?))
}

/// Pauses playback.
#[utoipa::path(post, path = "/api/v1/zones/{id}/pause", tag = "control", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ControlResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn pause(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<ControlResult>> {
    Ok(Json(control::control(&state.ctx, &actor, id, Action::Pause).await?))
}

/// Skips to the next track.
#[utoipa::path(post, path = "/api/v1/zones/{id}/skip", tag = "control", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ControlResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn skip(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<ControlResult>> {
    Ok(Json(control::control(&state.ctx, &actor, id, Action::Skip).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRequest {
    /// The Soundtrack id of a playlist or schedule.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$"
    )]
    pub source_id: String,
}

/// Plays a playlist or schedule in the zone.
///
/// A rule against Soundtrack's data, which the body's schema cannot state: `source_id` names a
/// playlist or schedule Soundtrack knows; otherwise Soundtrack refuses it and a 422 names
/// `source_id`.
#[utoipa::path(post, path = "/api/v1/zones/{id}/playlist", tag = "control", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = SourceRequest,
    responses((status = 200, body = ControlResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign_source(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(b): Json<SourceRequest>,
) -> ApiResult<Json<ControlResult>> {
    let source = bma_domain::venue::SoundtrackId::parse(&b.source_id)
        .map_err(|_| Invalid::one("source_id", "must be a Soundtrack playlist or schedule id"))?;
    Ok(Json(control::control(&state.ctx, &actor, id, Action::Source(source.as_str().to_owned())).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct StatusQuery {
    pub venue_id: Option<uuid::Uuid>,
    pub brand: Option<String>,
    #[param(schema_with = crate::api::schema::country)]
    pub country: Option<String>,
    /// lobby, restaurant, pool, spa, bar, retail or other.
    #[param(value_type = Option<bma_domain::venue::ZoneType>)]
    pub zone_type: Option<String>,
}

/// The fleet at a glance: zones per state, open alerts, venues with a problem.
#[utoipa::path(get, path = "/api/v1/monitoring/status", tag = "monitoring", security(("bearer" = [])), params(StatusQuery),
    responses((status = 200, body = bma_store::monitoring::FleetStatus), (status = 400, body = ErrorBody)))]
pub async fn fleet_status(
    State(state): State<AppState>,
    Query(q): Query<StatusQuery>,
) -> ApiResult<Json<bma_store::monitoring::FleetStatus>> {
    let mut inv = Invalid::default();
    let country = q.country.as_deref().and_then(|c| inv.check("country", bma_domain::venue::CountryCode::parse(c)));
    let zone_type = q.zone_type.as_deref().and_then(|t| inv.check("zone_type", bma_domain::venue::ZoneType::parse(t)));
    if !inv.is_empty() {
        return Err(ApiError::invalid_query(inv.0));
    }
    let f = bma_store::monitoring::FleetFilter {
        venue_id: q.venue_id,
        brand: q.brand,
        country: country.map(|c| c.as_str().to_owned()),
        zone_type: zone_type.map(|t| t.as_str().to_owned()),
    };
    Ok(Json(bma_store::monitoring::fleet_status(&state.ctx.db, &f).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AlertsQuery {
    pub resolved: Option<bool>,
    /// info, warning or critical.
    #[param(value_type = Option<bma_domain::monitoring::alerting::Severity>)]
    pub severity: Option<String>,
    pub venue_id: Option<uuid::Uuid>,
    pub zone_id: Option<uuid::Uuid>,
    /// silent, muted, paused, unpaired, subscription_expired, flapping or platform.
    #[param(value_type = Option<bma_domain::monitoring::alerting::AlertKind>)]
    pub alert_type: Option<String>,
    /// RFC 3339; alerts opened at or after it.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    #[param(schema_with = crate::api::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::api::schema::per_page)]
    pub per_page: Option<u32>,
}

/// Alerts, newest first.
#[utoipa::path(get, path = "/api/v1/monitoring/alerts", tag = "monitoring", security(("bearer" = [])), params(AlertsQuery),
    responses((status = 200, body = Vec<bma_store::monitoring::Alert>), (status = 400, body = ErrorBody)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    Query(q): Query<AlertsQuery>,
) -> ApiResult<Json<Vec<bma_store::monitoring::Alert>>> {
    let mut inv = Invalid::default();
    let page = inv.absorb(bma_domain::page::PageRequest::new(q.page, q.per_page));
    let severity = q.severity.as_deref().and_then(|s| {
        let parsed = bma_domain::monitoring::Severity::parse(s);
        if parsed.is_none() {
            inv.push("severity", "must be info, warning or critical");
        }
        parsed
    });
    let alert_type = q.alert_type.as_deref().and_then(|t| {
        let parsed = bma_domain::monitoring::AlertKind::parse(t);
        if parsed.is_none() {
            inv.push(
                "alert_type",
                "must be silent, paused, muted, unpaired, subscription_expired, flapping or platform",
            );
        }
        parsed
    });
    let since = match q.since.as_deref() {
        None => None,
        Some(v) => OffsetDateTime::parse(v, &Rfc3339).map_err(|_| inv.push("since", "must be an RFC 3339 time")).ok(),
    };
    let Some(page) = page.filter(|_| inv.is_empty()) else {
        return Err(ApiError::invalid_query(inv.0));
    };
    let f = bma_store::monitoring::AlertFilter {
        resolved: q.resolved,
        severity,
        venue_id: q.venue_id,
        zone_id: q.zone_id,
        alert_type,
        since,
    };
    Ok(Json(bma_store::monitoring::list_alerts(&state.ctx.db, &f, page.limit(), page.offset()).await?))
}

/// Resolves an alert by hand.
#[utoipa::path(post, path = "/api/v1/monitoring/alerts/{id}/resolve", tag = "monitoring", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = bma_store::monitoring::Alert), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resolve_alert(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<bma_store::monitoring::Alert>> {
    Ok(Json(control::resolve_alert(&state.ctx, &actor, id).await?))
}

/// A maintenance window of a venue, a zone, or both.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceRequest {
    pub venue_id: Option<uuid::Uuid>,
    pub zone_id: Option<uuid::Uuid>,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(default)]
    pub reason: String,
}

/// The longest a maintenance reason may be, in characters.
const MAX_REASON: usize = 500;

impl utoipa::PartialSchema for MaintenanceRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::api::schema::{any_of, closed_object, or_null, text, time, uuid};
        let alternative = |title: &str, required: &str| {
            let id = |field: &str| if field == required { uuid() } else { or_null(uuid()) };
            closed_object(
                title,
                vec![
                    ("venue_id", id("venue_id").into()),
                    ("zone_id", id("zone_id").into()),
                    ("starts_at", time().into()),
                    ("ends_at", time().into()),
                    ("reason", text(MAX_REASON).into()),
                ],
                &[required, "starts_at", "ends_at"],
            )
        };
        any_of(
            "A venue's or a zone's maintenance window (give `venue_id`, `zone_id` or both), from `starts_at` to \
             `ends_at` (RFC 3339). `ends_at` must be after `starts_at` and at most 31 days after it (a 422 naming \
             `ends_at` otherwise).",
            vec![alternative("a venue", "venue_id"), alternative("a zone", "zone_id")],
            vec![serde_json::json!({
                "venue_id": "0191d0a2-7c4e-7b7e-8d2a-3f1c2b4a5d6e",
                "starts_at": "2026-12-24T22:00:00+07:00",
                "ends_at": "2026-12-25T06:00:00+07:00",
                "reason": "Sound system replaced",
            })],
        )
    }
}

impl utoipa::ToSchema for MaintenanceRequest {}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: uuid::Uuid,
}

/// A maintenance window or silence for a venue or a zone: no alerts while it lasts.
///
/// Rules between fields, which the body's schema cannot state: `ends_at` must be after
/// `starts_at`, and at most 31 days after it; otherwise a 422 names `ends_at`.
#[utoipa::path(post, path = "/api/v1/monitoring/maintenance", tag = "monitoring", security(("bearer" = [])), request_body = MaintenanceRequest,
    responses((status = 201, body = Created), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_maintenance(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Json(b): Json<MaintenanceRequest>,
) -> ApiResult<(axum::http::StatusCode, Json<Created>)> {
    let mut inv = Invalid::default();
    let starts = OffsetDateTime::parse(&b.starts_at, &Rfc3339)
        .map_err(|_| inv.push("starts_at", "must be an RFC 3339 time"))
        .ok();
    let ends =
        OffsetDateTime::parse(&b.ends_at, &Rfc3339).map_err(|_| inv.push("ends_at", "must be an RFC 3339 time")).ok();
    if b.reason.chars().count() > MAX_REASON {
        inv.push("reason", format!("must be at most {MAX_REASON} characters"));
    }
    let (Some(starts), Some(ends)) = (starts, ends) else { return Err(inv.into()) };
    inv.into_result()?;
    let id = control::add_maintenance(&state.ctx, &actor, b.venue_id, b.zone_id, starts, ends, b.reason.trim()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UptimeQuery {
    /// venue (default), brand, country, zone_type, or a period: day, week (Monday to Sunday) or
    /// month in the calendar `tz` names.
    #[param(schema_with = crate::api::schema::uptime_group)]
    pub group_by: Option<String>,
    /// RFC 3339; default 7 days ago.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// RFC 3339; default now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    /// The calendar of day, week and month groups: an IANA time zone such as Asia/Bangkok (the
    /// viewer's), `venue` for each venue's own, default UTC. Other groupings ignore it.
    #[param(schema_with = crate::api::schema::report_time_zone)]
    pub tz: Option<String>,
    /// json (default) or csv: one row per group.
    #[param(schema_with = crate::api::schema::format)]
    pub format: Option<String>,
}

/// Uptime of the live zones (neither they nor their venue archived) over `[since, until)`.
///
/// What counts: each zone's time is split by its health as logged by the monitor. **Up**: music
/// was heard (playing online, or from the player's offline cache). **Down**: the player answered
/// but was paused, muted, unpaired or its subscription expired, or no player answered, including
/// the minutes a zone was only suspected silent before it was confirmed. **Unknown**: no
/// observation yet, or the check itself failed. Only the venue's opening hours count (a venue
/// with no opening hours set is expected to play around the clock; one with hours, none of them
/// in the range, is closed throughout); maintenance windows of the venue or the zone are left out.
/// Closed hours and maintenance together are `excluded_seconds`; for each zone
/// `up + down + unknown + excluded` is the length of the range (or period). `uptime_percentage`
/// = up / (up + down) × 100, seconds summed over the group's zones first (so a zone counts by its
/// measured time, not one vote each); unknown time is in neither part; null when nothing was
/// measured. `zones` counts the zones summed (for periods, per period).
///
/// Grouped by day, week (Monday 00:00 to Monday 00:00) or month, each period runs from local
/// midnight to local midnight in the calendar of `tz` (UTC by default; with `tz=venue` each venue's
/// zones fall into their venue's own days, so one row sums venues whose days start at different
/// instants); the first and last periods are cut to the range, and `key` is the local date each
/// period starts on. Whole UTC days are read from the daily rollups when they exist, whole hours
/// of the rest from the hourly ones; everything else is computed from the status log, with the
/// same result.
///
/// A rule between parameters, which the query's schema cannot state: `until` must not be before
/// `since`, and at most 400 days after it (with one end given, the other defaults: 7 days before
/// `until`, or up to now from `since`); otherwise a 400 names `until`.
#[utoipa::path(get, path = "/api/v1/analytics/uptime", tag = "monitoring", security(("bearer" = [])), params(UptimeQuery),
    responses((status = 200, description = "One row per group (periods in order); `format=csv` gives them as a table",
        content((Vec<bma_app::services::uptime::UptimeRow> = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody)))]
pub async fn uptime(
    State(state): State<AppState>,
    crate::extract::CurrentUser(viewer): crate::extract::CurrentUser,
    Query(q): Query<UptimeQuery>,
) -> ApiResult<axum::response::Response> {
    use bma_app::services::uptime::{GroupBy, report};
    let mut inv = Invalid::default();
    let group = match q.group_by.as_deref() {
        None => Some(GroupBy::Venue),
        Some(g) => GroupBy::parse(g).or_else(|| {
            let all: Vec<&str> = GroupBy::ALL.iter().map(|g| g.as_str()).collect();
            inv.push("group_by", format!("must be one of {}", all.join(", ")));
            None
        }),
    };
    let zone = crate::api::report::calendar_zone(&state, q.tz.as_deref(), &mut inv).await?;
    let now = state.ctx.clock.now();
    let days = time::Duration::days;
    let given = (q.since.as_deref(), q.until.as_deref());
    let span = crate::api::report::period(&mut inv, ("since", "until"), given, now, days(7), days(400));
    let format = crate::api::report::Format::parse(q.format.as_deref(), &mut inv);
    let (Some(group), Some(zone), Some((since, until)), Some(format)) = (group, zone, span, format) else {
        return Err(ApiError::invalid_query(inv.0));
    };
    if !inv.is_empty() {
        return Err(ApiError::invalid_query(inv.0));
    }
    // The viewer's role is part of the key: entries are never shared between permission scopes.
    let key = format!(
        "{}|{group:?}|{zone:?}|{}|{}",
        viewer.role.as_str(),
        since.unix_timestamp() / 60,
        until.unix_timestamp() / 60
    );
    let ctx = &state.ctx;
    crate::api::report::table(ctx, &[bma_app::cache::UPTIME], &key, format, || report(ctx, group, &zone, since, until))
        .await
}

impl crate::api::report::Table for Vec<bma_app::services::uptime::UptimeRow> {
    const FILE: &'static str = "uptime";

    fn header() -> Vec<&'static str> {
        vec![
            "key",
            "label",
            "zones",
            "up_seconds",
            "down_seconds",
            "unknown_seconds",
            "excluded_seconds",
            "uptime_percentage",
        ]
    }

    fn records(&self) -> Vec<Vec<String>> {
        use crate::api::report::cell;
        self.iter()
            .map(|r| {
                vec![
                    r.key.clone(),
                    r.label.clone().unwrap_or_default(),
                    r.zones.to_string(),
                    r.up_seconds.to_string(),
                    r.down_seconds.to_string(),
                    r.unknown_seconds.to_string(),
                    r.excluded_seconds.to_string(),
                    cell(r.uptime_percentage),
                ]
            })
            .collect()
    }
}
