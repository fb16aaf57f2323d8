//! Monitoring records: check samples and transitions in the partitioned `music_status_logs`,
//! and the zone's last check.

use bma_domain::monitoring::{AlertKind, Health, Observation, RollupPeriod, Severity, ZoneStatus};
use bma_domain::venue::ZoneType;
use sqlx::{FromRow, PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// Stores one check of a zone and stamps the zone's `last_check`.
pub async fn record_sample(
    db: impl PgExecutor<'_>,
    zone_id: Uuid,
    status: &str,
    response_time_ms: i32,
    error: Option<&str>,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH s AS (INSERT INTO music_status_logs (id, zone_id, kind, status, response_time_ms, error_message, created_at) \
                    VALUES ($1, $2, 'sample', $3, $4, $5, $6)) \
         UPDATE zones SET last_check = $6 WHERE id = $2",
    )
    .bind(bma_domain::ids::new_id())
    .bind(zone_id)
    .bind(status)
    .bind(response_time_ms)
    .bind(error)
    .bind(at)
    .execute(db)
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Sample {
    pub status: String,
    pub response_time_ms: Option<i32>,
    pub error_message: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub async fn history(
    db: impl PgExecutor<'_>,
    zone_id: Uuid,
    since: OffsetDateTime,
    until: OffsetDateTime,
    limit: i64,
) -> sqlx::Result<Vec<Sample>> {
    sqlx::query_as(
        "SELECT status, response_time_ms, error_message, created_at FROM music_status_logs \
         WHERE zone_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at DESC LIMIT $4",
    )
    .bind(zone_id)
    .bind(since)
    .bind(until)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// A monitored zone with what the monitor needs to know about it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FleetZone {
    pub zone_id: Uuid,
    pub venue_id: Uuid,
    pub venue_name: String,
    pub account_id: Option<String>,
    pub soundtrack_zone_id: String,
    pub zone_name: String,
    pub zone_type: ZoneType,
    pub machine: Option<serde_json::Value>,
}

/// Every live zone linked to Soundtrack, with its saved state machine.
pub async fn load_fleet(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<FleetZone>> {
    sqlx::query_as(
        "SELECT z.id AS zone_id, v.id AS venue_id, v.name AS venue_name, v.soundtrack_account_id AS account_id, \
                z.soundtrack_device_id AS soundtrack_zone_id, z.name AS zone_name, z.zone_type, s.machine \
         FROM zones z JOIN venues v ON v.id = z.venue_id LEFT JOIN zone_monitor_state s ON s.zone_id = z.id \
         WHERE z.soundtrack_device_id IS NOT NULL AND z.soundtrack_missing_since IS NULL AND z.archived_at IS NULL AND v.archived_at IS NULL",
    )
    .fetch_all(db)
    .await
}

/// Which venues are open at `at`, by their own time zone and opening hours (a venue without
/// opening hours counts as always open).
pub async fn open_venues(db: impl PgExecutor<'_>, at: OffsetDateTime) -> sqlx::Result<Vec<(Uuid, bool)>> {
    sqlx::query_as(
        "WITH local AS ( \
            SELECT v.id, (EXTRACT(ISODOW FROM $1 AT TIME ZONE v.timezone)::int - 1) AS wd, \
                   (EXTRACT(HOUR FROM $1 AT TIME ZONE v.timezone) * 60 + EXTRACT(MINUTE FROM $1 AT TIME ZONE v.timezone))::int AS m \
            FROM venues v WHERE v.archived_at IS NULL) \
         SELECT l.id, NOT EXISTS (SELECT 1 FROM venue_opening_hours h WHERE h.venue_id = l.id) OR EXISTS ( \
             SELECT 1 FROM venue_opening_hours h WHERE h.venue_id = l.id AND ( \
                 (h.closes_at > h.opens_at AND h.weekday = l.wd AND l.m >= h.opens_at AND l.m < h.closes_at) OR \
                 (h.closes_at <= h.opens_at AND ((h.weekday = l.wd AND l.m >= h.opens_at) OR (h.weekday = (l.wd + 6) % 7 AND l.m < h.closes_at))))) \
         FROM local l",
    )
    .bind(at)
    .fetch_all(db)
    .await
}

/// Zones and venues under maintenance (or silenced) at `at`.
pub async fn in_maintenance(
    db: impl PgExecutor<'_>,
    at: OffsetDateTime,
) -> sqlx::Result<Vec<(Option<Uuid>, Option<Uuid>)>> {
    sqlx::query_as("SELECT venue_id, zone_id FROM maintenance_windows WHERE starts_at <= $1 AND ends_at > $1")
        .bind(at)
        .fetch_all(db)
        .await
}

/// One row of the status log.
/// One row of the status log (its `kind` column says which).
#[derive(Debug, Clone, Copy)]
pub enum LogEntry<'a> {
    /// What a check observed, with the player's own words when it gave any.
    Sample(Observation, Option<&'a str>),
    /// The zone's state machine moved to this status, on this event.
    Transition(ZoneStatus, Option<&'a str>),
    /// The zone's health changed: the rows uptime is computed from.
    Health(Health),
}

impl LogEntry<'_> {
    fn columns(&self) -> (&'static str, &'static str, Option<&str>) {
        match *self {
            LogEntry::Sample(o, note) => ("sample", o.as_str(), note),
            LogEntry::Transition(z, event) => ("transition", z.as_str(), event),
            LogEntry::Health(h) => ("health", h.as_str(), None),
        }
    }
}

pub async fn log(db: impl PgExecutor<'_>, zone_id: Uuid, entry: LogEntry<'_>, at: OffsetDateTime) -> sqlx::Result<()> {
    let (kind, status, note) = entry.columns();
    sqlx::query("INSERT INTO music_status_logs (id, zone_id, kind, status, error_message, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(bma_domain::ids::new_id())
        .bind(zone_id)
        .bind(kind)
        .bind(status)
        .bind(note)
        .bind(at)
        .execute(db)
        .await
        .map(|_| ())
}

pub async fn save_zone_state(
    db: impl PgExecutor<'_>,
    zone_id: Uuid,
    machine: &serde_json::Value,
    observation: Observation,
    last_status: ZoneStatus,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH s AS (INSERT INTO zone_monitor_state (zone_id, machine, observation, updated_at) VALUES ($1, $2, $3, $5) \
                    ON CONFLICT (zone_id) DO UPDATE SET machine = $2, observation = $3, updated_at = $5) \
         UPDATE zones SET last_status = $4, last_check = $5 WHERE id = $1",
    )
    .bind(zone_id)
    .bind(machine)
    .bind(observation)
    .bind(last_status)
    .bind(at)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn load_groups(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(Uuid, serde_json::Value)>> {
    sqlx::query_as("SELECT venue_id, state FROM venue_alert_groups").fetch_all(db).await
}

pub async fn save_group(db: impl PgExecutor<'_>, venue_id: Uuid, state: &serde_json::Value) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO venue_alert_groups (venue_id, state) VALUES ($1, $2) \
         ON CONFLICT (venue_id) DO UPDATE SET state = $2, updated_at = now()",
    )
    .bind(venue_id)
    .bind(state)
    .execute(db)
    .await
    .map(|_| ())
}

/// Opens an alert unless one of the same kind is already open for the zone (or, with no zone
/// and no venue, for the platform). Returns the new alert's id.
#[allow(clippy::too_many_arguments)]
pub async fn open_alert(
    db: impl PgExecutor<'_>,
    zone_id: Option<Uuid>,
    venue_id: Option<Uuid>,
    kind: AlertKind,
    severity: Severity,
    message: &str,
    started_at: OffsetDateTime,
    at: OffsetDateTime,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "INSERT INTO alerts (id, zone_id, venue_id, alert_type, severity, message, started_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(bma_domain::ids::new_id())
    .bind(zone_id)
    .bind(venue_id)
    .bind(kind.as_str())
    .bind(severity.as_str())
    .bind(message)
    .bind(started_at)
    .bind(at)
    .fetch_optional(db)
    .await
}

fn names(kinds: &[AlertKind]) -> Vec<&'static str> {
    kinds.iter().map(|k| k.as_str()).collect()
}

/// Resolves the open alerts of a zone (or the platform's, with `zone_id` None) of these kinds.
pub async fn resolve_alerts(
    db: impl PgExecutor<'_>,
    zone_id: Option<Uuid>,
    kinds: &[AlertKind],
    at: OffsetDateTime,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE alerts SET resolved = true, resolved_at = $3 \
         WHERE NOT resolved AND zone_id IS NOT DISTINCT FROM $1 AND alert_type = ANY($2) AND ($1 IS NOT NULL OR venue_id IS NULL)",
    )
    .bind(zone_id)
    .bind(names(kinds))
    .bind(at)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub id: Uuid,
    pub zone_id: Option<Uuid>,
    pub zone_name: Option<String>,
    pub venue_id: Option<Uuid>,
    pub venue_name: Option<String>,
    pub alert_type: AlertKind,
    pub severity: Severity,
    pub message: String,
    pub resolved: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A stored name the domain has no value for (the schema's checks keep them out).
fn unknown(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: column.to_owned(), source: format!("unknown value {value:?}").into() }
}

impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for Alert {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        let kind: &str = row.try_get("alert_type")?;
        let severity: &str = row.try_get("severity")?;
        Ok(Self {
            id: row.try_get("id")?,
            zone_id: row.try_get("zone_id")?,
            zone_name: row.try_get("zone_name")?,
            venue_id: row.try_get("venue_id")?,
            venue_name: row.try_get("venue_name")?,
            alert_type: AlertKind::parse(kind).ok_or_else(|| unknown("alert_type", kind))?,
            severity: Severity::parse(severity).ok_or_else(|| unknown("severity", severity))?,
            message: row.try_get("message")?,
            resolved: row.try_get("resolved")?,
            started_at: row.try_get("started_at")?,
            resolved_at: row.try_get("resolved_at")?,
            resolved_by: row.try_get("resolved_by")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub resolved: Option<bool>,
    pub severity: Option<Severity>,
    pub venue_id: Option<Uuid>,
    pub zone_id: Option<Uuid>,
    pub alert_type: Option<AlertKind>,
    pub since: Option<OffsetDateTime>,
}

pub async fn list_alerts(
    db: impl PgExecutor<'_>,
    f: &AlertFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Alert>> {
    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
        "SELECT a.id, a.zone_id, z.name AS zone_name, COALESCE(a.venue_id, z.venue_id) AS venue_id, v.name AS venue_name, \
         a.alert_type, a.severity, a.message, a.resolved, a.started_at, a.resolved_at, a.resolved_by, a.created_at \
         FROM alerts a LEFT JOIN zones z ON z.id = a.zone_id LEFT JOIN venues v ON v.id = COALESCE(a.venue_id, z.venue_id) WHERE true",
    );
    if let Some(r) = f.resolved {
        q.push(" AND a.resolved = ").push_bind(r);
    }
    if let Some(s) = f.severity {
        q.push(" AND a.severity = ").push_bind(s.as_str());
    }
    if let Some(v) = f.venue_id {
        q.push(" AND COALESCE(a.venue_id, z.venue_id) = ").push_bind(v);
    }
    if let Some(z) = f.zone_id {
        q.push(" AND a.zone_id = ").push_bind(z);
    }
    if let Some(t) = f.alert_type {
        q.push(" AND a.alert_type = ").push_bind(t.as_str());
    }
    if let Some(s) = f.since {
        q.push(" AND a.created_at >= ").push_bind(s);
    }
    q.push(" ORDER BY a.created_at DESC, a.id DESC LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    q.build_query_as().fetch_all(db).await
}

pub async fn find_alert(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Alert>> {
    sqlx::query_as(
        "SELECT a.id, a.zone_id, z.name AS zone_name, COALESCE(a.venue_id, z.venue_id) AS venue_id, v.name AS venue_name, \
         a.alert_type, a.severity, a.message, a.resolved, a.started_at, a.resolved_at, a.resolved_by, a.created_at \
         FROM alerts a LEFT JOIN zones z ON z.id = a.zone_id LEFT JOIN venues v ON v.id = COALESCE(a.venue_id, z.venue_id) WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Resolves one alert by hand. `None` when it does not exist or is already resolved.
pub async fn resolve_alert_by(db: impl PgExecutor<'_>, id: Uuid, member: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("UPDATE alerts SET resolved = true, resolved_at = now(), resolved_by = $2 WHERE id = $1 AND NOT resolved RETURNING id")
        .bind(id)
        .bind(member)
        .fetch_optional(db)
        .await
}

#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct FleetStatus {
    /// Zones linked to Soundtrack (the monitored ones).
    pub zones: i64,
    /// Zones per state (ok, suspect, down, recovering, flapping, offline_cached, unknown).
    pub by_status: std::collections::BTreeMap<String, i64>,
    pub open_alerts: i64,
    pub venues_with_problems: i64,
}

#[derive(Debug, Clone, Default)]
pub struct FleetFilter {
    pub venue_id: Option<Uuid>,
    pub brand: Option<String>,
    pub country: Option<String>,
    pub zone_type: Option<String>,
}

pub async fn fleet_status(db: impl PgExecutor<'_> + Copy, f: &FleetFilter) -> sqlx::Result<FleetStatus> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT z.last_status, count(*), count(DISTINCT z.venue_id) FILTER (WHERE z.last_status IN ('down', 'flapping')) \
         FROM zones z JOIN venues v ON v.id = z.venue_id \
         WHERE z.archived_at IS NULL AND v.archived_at IS NULL AND z.soundtrack_device_id IS NOT NULL \
           AND ($1::uuid IS NULL OR v.id = $1) AND ($2::text IS NULL OR v.brand = $2) \
           AND ($3::text IS NULL OR v.country = $3) AND ($4::text IS NULL OR z.zone_type = $4) \
         GROUP BY z.last_status",
    )
    .bind(f.venue_id)
    .bind(&f.brand)
    .bind(&f.country)
    .bind(&f.zone_type)
    .fetch_all(db)
    .await?;
    let open_alerts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM alerts a LEFT JOIN zones z ON z.id = a.zone_id LEFT JOIN venues v ON v.id = COALESCE(a.venue_id, z.venue_id) \
         WHERE NOT a.resolved AND ($1::uuid IS NULL OR v.id = $1) AND ($2::text IS NULL OR v.brand = $2) \
           AND ($3::text IS NULL OR v.country = $3) AND ($4::text IS NULL OR z.zone_type = $4)",
    )
    .bind(f.venue_id)
    .bind(&f.brand)
    .bind(&f.country)
    .bind(&f.zone_type)
    .fetch_one(db)
    .await?;
    let mut s = FleetStatus { open_alerts, ..FleetStatus::default() };
    for (status, n, venues) in rows {
        s.zones += n;
        s.venues_with_problems += venues;
        s.by_status.insert(status, n);
    }
    Ok(s)
}

pub async fn add_maintenance(
    db: impl PgExecutor<'_>,
    venue_id: Option<Uuid>,
    zone_id: Option<Uuid>,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    reason: &str,
    created_by: Option<Uuid>,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar(
        "INSERT INTO maintenance_windows (id, venue_id, zone_id, starts_at, ends_at, reason, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(bma_domain::ids::new_id())
    .bind(venue_id)
    .bind(zone_id)
    .bind(starts_at)
    .bind(ends_at)
    .bind(reason)
    .bind(created_by)
    .fetch_one(db)
    .await
}

/// Emails of the team members who hear about alerts (active admins and managers).
pub async fn alert_recipients(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT email FROM team_members WHERE active AND role IN ('admin', 'manager') ORDER BY email")
        .fetch_all(db)
        .await
}

/// Email contacts of a venue who have not opted out.
pub async fn venue_email_contacts(db: impl PgExecutor<'_>, venue_id: Uuid) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT email FROM venue_contacts WHERE venue_id = $1 AND channel = 'email' AND NOT opted_out AND email IS NOT NULL")
        .bind(venue_id)
        .fetch_all(db)
        .await
}

/// Live venues by their Soundtrack account id.
pub async fn venues_by_account(db: impl PgExecutor<'_>) -> sqlx::Result<std::collections::HashMap<String, Uuid>> {
    let rows: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT DISTINCT ON (soundtrack_account_id) soundtrack_account_id, id FROM venues \
         WHERE soundtrack_account_id IS NOT NULL AND archived_at IS NULL ORDER BY soundtrack_account_id, created_at",
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}

pub async fn zones_by_soundtrack_id(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, Uuid)>> {
    sqlx::query_as("SELECT soundtrack_device_id, id FROM zones WHERE soundtrack_device_id IS NOT NULL")
        .fetch_all(db)
        .await
}

/// Flags the zones of these accounts' venues that Soundtrack no longer lists, and unflags those
/// that are back. Returns (newly vanished, returned).
pub async fn flag_missing_zones(
    db: &mut sqlx::PgConnection,
    accounts: &[String],
    present: &[String],
    at: OffsetDateTime,
) -> sqlx::Result<(usize, usize)> {
    let vanished = sqlx::query(
        "UPDATE zones z SET soundtrack_missing_since = $3, last_status = 'unknown' FROM venues v \
         WHERE v.id = z.venue_id AND v.soundtrack_account_id = ANY($1) AND z.soundtrack_device_id IS NOT NULL \
           AND NOT (z.soundtrack_device_id = ANY($2)) AND z.soundtrack_missing_since IS NULL",
    )
    .bind(accounts)
    .bind(present)
    .bind(at)
    .execute(&mut *db)
    .await?
    .rows_affected();
    let returned = sqlx::query("UPDATE zones SET soundtrack_missing_since = NULL WHERE soundtrack_missing_since IS NOT NULL AND soundtrack_device_id = ANY($1)")
        .bind(present)
        .execute(&mut *db)
        .await?
        .rows_affected();
    Ok((usize::try_from(vanished).unwrap_or(0), usize::try_from(returned).unwrap_or(0)))
}

/// Health changes of every zone in `[since, until)`, each zone's last one before `since` first.
pub async fn all_health_changes(
    db: &PgPool,
    zones: &[Uuid],
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> sqlx::Result<Vec<(Uuid, OffsetDateTime, Health)>> {
    // The health at `since` is read from the latest rollup that ended at most two days before it
    // and recorded the health at its end, plus the log after that rollup; only without one is
    // the whole log before `since` searched.
    let anchor: Option<(RollupPeriod, OffsetDateTime)> = sqlx::query_as(
        "(SELECT period, starts_at FROM uptime_rollups \
          WHERE period = 'hour' AND starts_at <= $1 - interval '1 hour' AND starts_at > $1 - interval '2 days' \
            AND ends_health IS NOT NULL ORDER BY starts_at DESC LIMIT 1) \
         UNION ALL \
         (SELECT period, starts_at FROM uptime_rollups \
          WHERE period = 'day' AND starts_at <= $1 - interval '1 day' AND starts_at > $1 - interval '3 days' \
            AND ends_health IS NOT NULL ORDER BY starts_at DESC LIMIT 1)",
    )
    .bind(since)
    .fetch_all(db)
    .await?
    .into_iter()
    .max_by_key(|(p, starts): &(RollupPeriod, OffsetDateTime)| *starts + p.length());
    let Some((period, starts)) = anchor else {
        return sqlx::query_as(
            "SELECT zone_id, created_at, status FROM ( \
               (SELECT DISTINCT ON (zone_id) zone_id, created_at, status FROM music_status_logs \
                 WHERE kind = 'health' AND created_at < $1 ORDER BY zone_id, created_at DESC) \
               UNION ALL \
               (SELECT zone_id, created_at, status FROM music_status_logs \
                 WHERE kind = 'health' AND created_at >= $1 AND created_at < $2) \
             ) h ORDER BY zone_id, created_at",
        )
        .bind(since)
        .bind(until)
        .fetch_all(db)
        .await;
    };
    let at = starts + period.length();
    let anchored: Vec<(Uuid, Health)> = sqlx::query_as(
        "SELECT zone_id, ends_health FROM uptime_rollups WHERE period = $1 AND starts_at = $2 AND ends_health IS NOT NULL",
    )
    .bind(period)
    .bind(starts)
    .fetch_all(db)
    .await?;
    let held: std::collections::HashSet<Uuid> = anchored.iter().map(|(z, _)| *z).collect();
    let mut changes: Vec<(Uuid, OffsetDateTime, Health)> = anchored.into_iter().map(|(z, h)| (z, at, h)).collect();
    // Zones the anchor's rollups do not hold (archived then, say) take their last change before
    // it from the log, one index probe each.
    let missing: Vec<Uuid> = zones.iter().copied().filter(|z| !held.contains(z)).collect();
    if !missing.is_empty() {
        changes.extend(
            sqlx::query_as::<_, (Uuid, OffsetDateTime, Health)>(
                "SELECT z.id, l.created_at, l.status FROM UNNEST($1::uuid[]) AS z(id) \
                 CROSS JOIN LATERAL (SELECT created_at, status FROM music_status_logs \
                                     WHERE zone_id = z.id AND kind = 'health' AND created_at < $2 \
                                     ORDER BY created_at DESC LIMIT 1) l",
            )
            .bind(&missing)
            .bind(at)
            .fetch_all(db)
            .await?,
        );
    }
    changes.extend(
        sqlx::query_as::<_, (Uuid, OffsetDateTime, Health)>(
            "SELECT zone_id, created_at, status FROM music_status_logs \
             WHERE kind = 'health' AND created_at >= $1 AND created_at < $2",
        )
        .bind(at)
        .bind(until)
        .fetch_all(db)
        .await?,
    );
    changes.sort_by_key(|(z, at, _)| (*z, *at));
    Ok(changes)
}

/// Opening periods of every live venue that overlap `[since, until)`, as UTC intervals. The
/// local dates are made once per time zone, not once per venue.
pub async fn all_opening_intervals(
    db: impl PgExecutor<'_>,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> sqlx::Result<Vec<(Uuid, OffsetDateTime, OffsetDateTime)>> {
    // From the local day before `since` to the local day of `until`, in any time zone.
    let days = i32::try_from((until - since).whole_days()).unwrap_or(i32::MAX - 3).saturating_add(2);
    sqlx::query_as(
        "WITH time_zones AS (SELECT DISTINCT timezone FROM venues WHERE archived_at IS NULL), \
              days AS MATERIALIZED ( \
                SELECT t.timezone, ($1 AT TIME ZONE t.timezone)::date - 1 + k AS day, \
                       EXTRACT(ISODOW FROM ($1 AT TIME ZONE t.timezone)::date - 1 + k)::int - 1 AS weekday \
                FROM time_zones t, generate_series(0, $3) k) \
         SELECT id, opens, closes FROM ( \
           SELECT v.id, ((d.day + h.opens_at * interval '1 minute') AT TIME ZONE v.timezone) AS opens, \
                  ((d.day + (CASE WHEN h.closes_at <= h.opens_at THEN h.closes_at + 1440 ELSE h.closes_at END) \
                            * interval '1 minute') AT TIME ZONE v.timezone) AS closes \
           FROM days d JOIN venues v ON v.timezone = d.timezone AND v.archived_at IS NULL \
           JOIN venue_opening_hours h ON h.venue_id = v.id AND h.weekday = d.weekday) o \
         WHERE opens < $2 AND closes > $1",
    )
    .bind(since)
    .bind(until)
    .bind(days)
    .fetch_all(db)
    .await
}

pub async fn all_maintenance(
    db: impl PgExecutor<'_>,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> sqlx::Result<Vec<(Option<Uuid>, Option<Uuid>, OffsetDateTime, OffsetDateTime)>> {
    sqlx::query_as(
        "SELECT venue_id, zone_id, starts_at, ends_at FROM maintenance_windows WHERE starts_at < $2 AND ends_at > $1",
    )
    .bind(since)
    .bind(until)
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ZoneKeys {
    pub zone_id: Uuid,
    pub venue_id: Uuid,
    pub venue_name: String,
    pub brand: Option<String>,
    pub country: Option<String>,
    pub zone_type: String,
    pub has_hours: bool,
    /// The venue's IANA time zone.
    pub timezone: String,
}

pub async fn zone_keys(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ZoneKeys>> {
    sqlx::query_as(
        "SELECT z.id AS zone_id, v.id AS venue_id, v.name AS venue_name, v.brand, v.country, z.zone_type, \
                EXISTS (SELECT 1 FROM venue_opening_hours h WHERE h.venue_id = v.id) AS has_hours, v.timezone \
         FROM zones z JOIN venues v ON v.id = z.venue_id WHERE z.archived_at IS NULL AND v.archived_at IS NULL",
    )
    .fetch_all(db)
    .await
}

/// A calendar period of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarUnit {
    Day,
    /// Monday to Sunday.
    Week,
    Month,
}

impl CalendarUnit {
    fn as_str(self) -> &'static str {
        match self {
            CalendarUnit::Day => "day",
            CalendarUnit::Week => "week",
            CalendarUnit::Month => "month",
        }
    }
}

/// One calendar period of a time zone, cut to a range.
#[derive(Debug, Clone, FromRow)]
pub struct CalendarPeriod {
    /// The local date the period starts on, `YYYY-MM-DD` (a Monday for weeks, the 1st for months).
    pub key: String,
    pub starts: OffsetDateTime,
    pub ends: OffsetDateTime,
}

/// The periods of `unit` in the calendar of `tz` that overlap `[since, until)`, each cut to it,
/// in order.
pub async fn calendar_periods(
    db: impl PgExecutor<'_>,
    unit: CalendarUnit,
    tz: &str,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> sqlx::Result<Vec<CalendarPeriod>> {
    sqlx::query_as(
        "SELECT to_char(p, 'YYYY-MM-DD') AS key, greatest(p AT TIME ZONE $2::text, $3) AS starts, \
                least((p + ('1 ' || $1::text)::interval) AT TIME ZONE $2::text, $4) AS ends \
         FROM generate_series(date_trunc($1::text, $3 AT TIME ZONE $2::text), $4 AT TIME ZONE $2::text, \
                              ('1 ' || $1::text)::interval) p \
         WHERE (p + ('1 ' || $1::text)::interval) AT TIME ZONE $2::text > $3 AND p AT TIME ZONE $2::text < $4 \
         ORDER BY p",
    )
    .bind(unit.as_str())
    .bind(tz)
    .bind(since)
    .bind(until)
    .fetch_all(db)
    .await
}

/// The time zones of live venues that have live zones.
pub async fn venue_time_zones(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT DISTINCT v.timezone FROM venues v JOIN zones z ON z.venue_id = v.id \
         WHERE v.archived_at IS NULL AND z.archived_at IS NULL ORDER BY 1",
    )
    .fetch_all(db)
    .await
}

/// Raises the severity of a zone's open problem alerts (its zone-health kinds).
pub async fn raise_severity(db: impl PgExecutor<'_>, zone_id: Uuid, severity: Severity) -> sqlx::Result<()> {
    sqlx::query("UPDATE alerts SET severity = $2 WHERE zone_id = $1 AND NOT resolved AND alert_type = ANY($3)")
        .bind(zone_id)
        .bind(severity.as_str())
        .bind(names(&AlertKind::zone_health()))
        .execute(db)
        .await
        .map(|_| ())
}

/// One zone's uptime over one hour or day.
#[derive(Debug, Clone)]
pub struct Rollup {
    pub zone_id: Uuid,
    pub venue_id: Uuid,
    pub up: i32,
    pub down: i32,
    pub unknown: i32,
    pub excluded: i32,
    /// The zone's health at the period's end, where the next stretch starts from.
    pub ends: Health,
}

pub async fn save_rollups(
    db: impl PgExecutor<'_>,
    period: RollupPeriod,
    starts_at: OffsetDateTime,
    rows: &[Rollup],
) -> sqlx::Result<u64> {
    let col = |f: fn(&Rollup) -> i32| rows.iter().map(f).collect::<Vec<i32>>();
    sqlx::query(
        "INSERT INTO uptime_rollups (zone_id, venue_id, period, starts_at, up_seconds, down_seconds, unknown_seconds, \
             excluded_seconds, ends_health) \
         SELECT z, v, $3, $4, u, d, k, e, h \
         FROM UNNEST($1::uuid[], $2::uuid[], $5::int[], $6::int[], $7::int[], $8::int[], $9::text[]) AS t(z, v, u, d, k, e, h) \
         ON CONFLICT (zone_id, period, starts_at) DO UPDATE SET up_seconds = EXCLUDED.up_seconds, \
             down_seconds = EXCLUDED.down_seconds, unknown_seconds = EXCLUDED.unknown_seconds, \
             excluded_seconds = EXCLUDED.excluded_seconds, ends_health = EXCLUDED.ends_health",
    )
    .bind(rows.iter().map(|r| r.zone_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.venue_id).collect::<Vec<_>>())
    .bind(period)
    .bind(starts_at)
    .bind(col(|r| r.up))
    .bind(col(|r| r.down))
    .bind(col(|r| r.unknown))
    .bind(col(|r| r.excluded))
    .bind(rows.iter().map(|r| r.ends).collect::<Vec<Health>>())
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}
