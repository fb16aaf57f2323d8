//! The fleet as a table, one row per monitored zone with its venue and latest observation, for
//! the portal's monitoring page; and the maintenance windows as a list. Filters, search and
//! paging happen here so a page of 50 rows costs one query at any fleet size.

use bma_domain::analytics::FleetState;
use bma_domain::monitoring::Observation;
use bma_domain::venue::ZoneType;
use sqlx::{FromRow, PgExecutor, Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

/// One zone of the fleet table.
#[derive(Debug, Clone, FromRow)]
pub struct FleetRow {
    pub zone_id: Uuid,
    pub zone_name: String,
    pub zone_type: ZoneType,
    pub venue_id: Uuid,
    pub venue_name: String,
    pub brand: Option<String>,
    pub country: Option<String>,
    pub timezone: String,
    pub observation: Option<Observation>,
    pub last_check: Option<OffsetDateTime>,
}

impl FleetRow {
    pub fn state(&self) -> FleetState {
        FleetState::of(self.observation)
    }
}

/// Which zones the table shows; `search` matches zone or venue names.
#[derive(Debug, Clone, Default)]
pub struct FleetQuery {
    pub state: Option<FleetState>,
    pub brand: Option<String>,
    pub country: Option<String>,
    pub zone_type: Option<ZoneType>,
    pub search: Option<String>,
    pub zone_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
}

fn push_filters(q: &mut QueryBuilder<Postgres>, f: &FleetQuery) {
    q.push(
        " FROM zones z JOIN venues v ON v.id = z.venue_id LEFT JOIN zone_monitor_state s ON s.zone_id = z.id \
         WHERE z.archived_at IS NULL AND v.archived_at IS NULL AND z.soundtrack_device_id IS NOT NULL",
    );
    if let Some(state) = f.state {
        let observed: Vec<&str> = Observation::ALL
            .into_iter()
            .filter(|o| FleetState::of(Some(*o)) == state)
            .map(Observation::as_str)
            .collect();
        q.push(" AND (s.observation = ANY(").push_bind(observed).push(")");
        if state == FleetState::Unknown {
            q.push(" OR s.observation IS NULL");
        }
        q.push(")");
    }
    if let Some(b) = &f.brand {
        q.push(" AND v.brand = ").push_bind(b.clone());
    }
    if let Some(c) = &f.country {
        q.push(" AND v.country = ").push_bind(c.clone());
    }
    if let Some(t) = f.zone_type {
        q.push(" AND z.zone_type = ").push_bind(t.as_str());
    }
    if let Some(id) = f.zone_id {
        q.push(" AND z.id = ").push_bind(id);
    }
    if let Some(id) = f.venue_id {
        q.push(" AND v.id = ").push_bind(id);
    }
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let like = format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        q.push(" AND (z.name ILIKE ").push_bind(like.clone()).push(" OR v.name ILIKE ").push_bind(like).push(")");
    }
}

/// A page of the fleet (venue name, then zone name) and how many zones match in all.
pub async fn page(
    db: impl PgExecutor<'_> + Copy,
    f: &FleetQuery,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<FleetRow>, i64)> {
    let mut q = QueryBuilder::new(
        "SELECT z.id AS zone_id, z.name AS zone_name, z.zone_type, v.id AS venue_id, v.name AS venue_name, \
         v.brand, v.country, v.timezone, s.observation, z.last_check",
    );
    push_filters(&mut q, f);
    q.push(" ORDER BY v.name, z.name, z.id LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    let mut c = QueryBuilder::new("SELECT count(*)");
    push_filters(&mut c, f);
    // On two connections at once: the page and the count each take about as long.
    tokio::try_join!(q.build_query_as().fetch_all(db), c.build_query_scalar().fetch_one(db))
}

/// The brands and countries venues have, for the table's filters.
pub async fn choices(db: impl PgExecutor<'_>) -> sqlx::Result<(Vec<String>, Vec<String>)> {
    type Lists = (Option<Vec<String>>, Option<Vec<String>>);
    let rows: Vec<Lists> = sqlx::query_as(
        "SELECT array_agg(DISTINCT brand ORDER BY brand) FILTER (WHERE brand IS NOT NULL), \
                array_agg(DISTINCT country ORDER BY country) FILTER (WHERE country IS NOT NULL) \
         FROM venues WHERE archived_at IS NULL",
    )
    .fetch_all(db)
    .await?;
    let (b, c) = rows.into_iter().next().unwrap_or_default();
    Ok((b.unwrap_or_default(), c.unwrap_or_default()))
}

/// A maintenance window with the names of what it covers.
#[derive(Debug, Clone, FromRow)]
pub struct MaintenanceRow {
    pub id: Uuid,
    pub venue_id: Option<Uuid>,
    pub venue_name: Option<String>,
    pub zone_id: Option<Uuid>,
    pub zone_name: Option<String>,
    pub timezone: Option<String>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub reason: String,
}

/// Windows not yet over at `now`, soonest first, at most `limit`.
pub async fn maintenance(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    limit: i64,
) -> sqlx::Result<Vec<MaintenanceRow>> {
    sqlx::query_as(
        "SELECT m.id, COALESCE(m.venue_id, z.venue_id) AS venue_id, v.name AS venue_name, m.zone_id, z.name AS zone_name, \
                v.timezone, m.starts_at, m.ends_at, m.reason \
         FROM maintenance_windows m LEFT JOIN zones z ON z.id = m.zone_id \
         LEFT JOIN venues v ON v.id = COALESCE(m.venue_id, z.venue_id) \
         WHERE m.ends_at > $1 ORDER BY m.starts_at, m.id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Live venues by name (id, name, time zone), at most `limit`, for a picker.
pub async fn venue_names(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<(Uuid, String, String)>> {
    sqlx::query_as("SELECT id, name, timezone FROM venues WHERE archived_at IS NULL ORDER BY name, id LIMIT $1")
        .bind(limit)
        .fetch_all(db)
        .await
}
