//! Venues, their sound zones, contacts and opening hours.

use bma_domain::contact::Channel;
use serde::Serialize;
use sqlx::{FromRow, PgExecutor, Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Venue {
    pub id: Uuid,
    pub name: String,
    pub brand: Option<String>,
    pub country: Option<String>,
    pub timezone: String,
    pub soundtrack_account_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub archived_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub zone_count: i64,
}

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Zone {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub zone_type: String,
    pub soundtrack_device_id: Option<String>,
    pub last_status: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_check: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub role: Option<String>,
    pub channel: Channel,
    pub whatsapp_number: Option<String>,
    pub line_user_id: Option<String>,
    pub email: Option<String>,
    pub is_staff: bool,
    pub opted_out: bool,
}

#[derive(Debug, Clone, Copy, FromRow, Serialize, utoipa::ToSchema)]
pub struct OpeningHoursRow {
    pub weekday: i16,
    pub opens_at: i16,
    pub closes_at: i16,
}

const VENUE_COLUMNS: &str = "v.id, v.name, v.brand, v.country, v.timezone, v.soundtrack_account_id, v.archived_at, \
     v.created_at, v.updated_at, \
     (SELECT count(*) FROM zones z WHERE z.venue_id = v.id AND z.archived_at IS NULL) AS zone_count";
const ZONE_COLUMNS: &str =
    "id, venue_id, name, zone_type, soundtrack_device_id, last_status, last_check, created_at, updated_at";
const CONTACT_COLUMNS: &str =
    "id, venue_id, name, role, channel, whatsapp_number, line_user_id, email, is_staff, opted_out";

/// Sort orders a client may ask for; anything else is refused at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueSort {
    Name,
    NameDesc,
    CreatedAt,
    CreatedAtDesc,
    Country,
    Brand,
}

impl VenueSort {
    pub const ALL: [VenueSort; 6] =
        [Self::Name, Self::NameDesc, Self::CreatedAt, Self::CreatedAtDesc, Self::Country, Self::Brand];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::NameDesc => "-name",
            Self::CreatedAt => "created_at",
            Self::CreatedAtDesc => "-created_at",
            Self::Country => "country",
            Self::Brand => "brand",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "name" => Self::Name,
            "-name" => Self::NameDesc,
            "created_at" => Self::CreatedAt,
            "-created_at" => Self::CreatedAtDesc,
            "country" => Self::Country,
            "brand" => Self::Brand,
            _ => return None,
        })
    }

    fn order_by(self) -> &'static str {
        match self {
            Self::Name => "v.name, v.id",
            Self::NameDesc => "v.name DESC, v.id DESC",
            Self::CreatedAt => "v.created_at, v.id",
            Self::CreatedAtDesc => "v.created_at DESC, v.id DESC",
            Self::Country => "v.country NULLS LAST, v.name, v.id",
            Self::Brand => "v.brand NULLS LAST, v.name, v.id",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct VenueFilter {
    pub brand: Option<String>,
    pub country: Option<String>,
    pub search: Option<String>,
    pub include_archived: bool,
}

fn push_filter(q: &mut QueryBuilder<Postgres>, f: &VenueFilter) {
    q.push(" WHERE true");
    if !f.include_archived {
        q.push(" AND v.archived_at IS NULL");
    }
    if let Some(b) = &f.brand {
        q.push(" AND v.brand = ").push_bind(b.clone());
    }
    if let Some(c) = &f.country {
        q.push(" AND v.country = ").push_bind(c.clone());
    }
    if let Some(s) = &f.search {
        let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        q.push(" AND v.name ILIKE ").push_bind(format!("%{escaped}%"));
    }
}

pub async fn list(
    db: impl PgExecutor<'_> + Copy,
    f: &VenueFilter,
    sort: VenueSort,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Venue>, i64)> {
    let mut q = QueryBuilder::new(format!("SELECT {VENUE_COLUMNS} FROM venues v"));
    push_filter(&mut q, f);
    q.push(" ORDER BY ").push(sort.order_by()).push(" LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    let rows = q.build_query_as().fetch_all(db).await?;

    let mut c = QueryBuilder::new("SELECT count(*) FROM venues v");
    push_filter(&mut c, f);
    let total: i64 = c.build_query_scalar().fetch_one(db).await?;
    Ok((rows, total))
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Venue>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {VENUE_COLUMNS} FROM venues v WHERE v.id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await
}

#[derive(Debug, Clone)]
pub struct VenueFields {
    pub name: String,
    pub brand: Option<String>,
    pub country: Option<String>,
    pub timezone: String,
    pub soundtrack_account_id: Option<String>,
}

pub async fn insert(db: impl PgExecutor<'_>, id: Uuid, v: &VenueFields) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO venues (id, name, brand, country, timezone, soundtrack_account_id) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(&v.name)
    .bind(&v.brand)
    .bind(&v.country)
    .bind(&v.timezone)
    .bind(&v.soundtrack_account_id)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn update(db: impl PgExecutor<'_>, id: Uuid, v: &VenueFields) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE venues SET name = $2, brand = $3, country = $4, timezone = $5, soundtrack_account_id = $6, \
         updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(&v.name)
    .bind(&v.brand)
    .bind(&v.country)
    .bind(&v.timezone)
    .bind(&v.soundtrack_account_id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() > 0)
}

/// Whether anything refers to the venue that must outlive it: conversations, scores, alerts or
/// status logs of its zones.
pub async fn has_history(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conversations WHERE venue_id = $1) \
             OR EXISTS (SELECT 1 FROM satisfaction_scores WHERE venue_id = $1) \
             OR EXISTS (SELECT 1 FROM alerts a JOIN zones z ON z.id = a.zone_id WHERE z.venue_id = $1) \
             OR EXISTS (SELECT 1 FROM music_status_logs l JOIN zones z ON z.id = l.zone_id WHERE z.venue_id = $1)",
    )
    .bind(id)
    .fetch_one(db)
    .await
}

pub async fn archive(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "WITH v AS (UPDATE venues SET archived_at = COALESCE(archived_at, now()), updated_at = now() WHERE id = $1) \
         UPDATE zones SET archived_at = COALESCE(archived_at, now()), updated_at = now() WHERE venue_id = $1",
    )
    .bind(id)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query("DELETE FROM venues WHERE id = $1").bind(id).execute(db).await.map(|r| r.rows_affected() > 0)
}

/// Whether PostgreSQL knows the IANA time-zone name.
pub async fn is_known_time_zone(db: impl PgExecutor<'_>, tz: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)").bind(tz).fetch_one(db).await
}

pub async fn zones_of(db: impl PgExecutor<'_>, venue_id: Uuid) -> sqlx::Result<Vec<Zone>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ZONE_COLUMNS} FROM zones WHERE venue_id = $1 AND archived_at IS NULL ORDER BY name, id"
    )))
    .bind(venue_id)
    .fetch_all(db)
    .await
}

pub async fn find_zone(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Zone>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ZONE_COLUMNS} FROM zones WHERE id = $1 AND archived_at IS NULL"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone)]
pub struct ZoneFields {
    pub name: String,
    pub zone_type: String,
    pub soundtrack_device_id: Option<String>,
}

pub async fn insert_zone(db: impl PgExecutor<'_>, id: Uuid, venue_id: Uuid, z: &ZoneFields) -> sqlx::Result<Zone> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO zones (id, venue_id, name, zone_type, soundtrack_device_id) VALUES ($1, $2, $3, $4, $5) \
         RETURNING {ZONE_COLUMNS}"
    )))
    .bind(id)
    .bind(venue_id)
    .bind(&z.name)
    .bind(&z.zone_type)
    .bind(&z.soundtrack_device_id)
    .fetch_one(db)
    .await
}

pub async fn update_zone(db: impl PgExecutor<'_>, id: Uuid, z: &ZoneFields) -> sqlx::Result<Option<Zone>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE zones SET name = $2, zone_type = $3, soundtrack_device_id = $4, updated_at = now() \
         WHERE id = $1 AND archived_at IS NULL RETURNING {ZONE_COLUMNS}"
    )))
    .bind(id)
    .bind(&z.name)
    .bind(&z.zone_type)
    .bind(&z.soundtrack_device_id)
    .fetch_optional(db)
    .await
}

pub async fn zone_has_history(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM alerts WHERE zone_id = $1) \
             OR EXISTS (SELECT 1 FROM music_status_logs WHERE zone_id = $1)",
    )
    .bind(id)
    .fetch_one(db)
    .await
}

pub async fn archive_zone(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE zones SET archived_at = now(), updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

pub async fn delete_zone(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query("DELETE FROM zones WHERE id = $1").bind(id).execute(db).await.map(|r| r.rows_affected() > 0)
}

/// Which of `ids` are already used by a zone.
pub async fn soundtrack_zone_ids_taken(db: impl PgExecutor<'_>, ids: &[String]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT soundtrack_device_id FROM zones WHERE soundtrack_device_id = ANY($1)")
        .bind(ids)
        .fetch_all(db)
        .await
}

pub async fn contacts_of(db: impl PgExecutor<'_>, venue_id: Uuid) -> sqlx::Result<Vec<Contact>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONTACT_COLUMNS} FROM venue_contacts WHERE venue_id = $1 ORDER BY name, id"
    )))
    .bind(venue_id)
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone)]
pub struct ContactFields {
    pub name: String,
    pub role: Option<String>,
    pub channel: Channel,
    pub whatsapp_number: Option<String>,
    pub line_user_id: Option<String>,
    pub email: Option<String>,
    pub is_staff: bool,
}

pub async fn insert_contact(
    db: impl PgExecutor<'_>,
    id: Uuid,
    venue_id: Uuid,
    c: &ContactFields,
) -> sqlx::Result<Contact> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO venue_contacts (id, venue_id, name, role, channel, whatsapp_number, line_user_id, email, is_staff) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {CONTACT_COLUMNS}"
    )))
    .bind(id)
    .bind(venue_id)
    .bind(&c.name)
    .bind(&c.role)
    .bind(c.channel)
    .bind(&c.whatsapp_number)
    .bind(&c.line_user_id)
    .bind(&c.email)
    .bind(c.is_staff)
    .fetch_one(db)
    .await
}

pub async fn opening_hours_of(db: impl PgExecutor<'_>, venue_id: Uuid) -> sqlx::Result<Vec<OpeningHoursRow>> {
    sqlx::query_as(
        "SELECT weekday, opens_at, closes_at FROM venue_opening_hours WHERE venue_id = $1 ORDER BY weekday, opens_at",
    )
    .bind(venue_id)
    .fetch_all(db)
    .await
}

/// Replaces a venue's opening hours. Run it inside the caller's transaction.
pub async fn replace_opening_hours(
    tx: &mut sqlx::PgConnection,
    venue_id: Uuid,
    periods: &[bma_domain::hours::OpeningPeriod],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM venue_opening_hours WHERE venue_id = $1").bind(venue_id).execute(&mut *tx).await?;
    if periods.is_empty() {
        return Ok(());
    }
    let wd: Vec<i16> = periods.iter().map(|p| i16::from(p.weekday)).collect();
    let op: Vec<i16> = periods.iter().map(|p| p.opens_at as i16).collect();
    let cl: Vec<i16> = periods.iter().map(|p| p.closes_at as i16).collect();
    sqlx::query(
        "INSERT INTO venue_opening_hours (venue_id, weekday, opens_at, closes_at) \
         SELECT $1, * FROM UNNEST($2::smallint[], $3::smallint[], $4::smallint[]) ON CONFLICT DO NOTHING",
    )
    .bind(venue_id)
    .bind(wd)
    .bind(op)
    .bind(cl)
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SatisfactionSummary {
    pub responses: i64,
    pub average: Option<f64>,
    /// Share of scores that are 4 or 5, from 0 to 1.
    pub satisfied_share: Option<f64>,
    /// Count of each score, 1 to 5.
    pub distribution: [i64; 5],
}

pub async fn satisfaction_of(db: impl PgExecutor<'_>, venue_id: Uuid) -> sqlx::Result<SatisfactionSummary> {
    let rows: Vec<(i32, i64)> = sqlx::query_as(
        "SELECT score, count(*) FROM satisfaction_scores WHERE venue_id = $1 GROUP BY score ORDER BY score",
    )
    .bind(venue_id)
    .fetch_all(db)
    .await?;
    let mut distribution = [0_i64; 5];
    for (score, n) in rows {
        if let Some(slot) = usize::try_from(score - 1).ok().and_then(|i| distribution.get_mut(i)) {
            *slot = n;
        }
    }
    let responses: i64 = distribution.iter().sum();
    let weighted: i64 = distribution.iter().zip(1_i64..).map(|(n, s)| n * s).sum();
    #[allow(clippy::cast_precision_loss)]
    let (average, satisfied_share) = if responses == 0 {
        (None, None)
    } else {
        (Some(weighted as f64 / responses as f64), Some((distribution[3] + distribution[4]) as f64 / responses as f64))
    };
    Ok(SatisfactionSummary { responses, average, satisfied_share, distribution })
}

/// Sets where a venue is; false when the venue does not exist.
pub async fn set_location(
    db: impl PgExecutor<'_>,
    venue_id: Uuid,
    latitude: f64,
    longitude: f64,
) -> sqlx::Result<bool> {
    sqlx::query(
        "INSERT INTO venue_locations (venue_id, latitude, longitude) SELECT id, $2, $3 FROM venues WHERE id = $1 \
         ON CONFLICT (venue_id) DO UPDATE SET latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, \
         updated_at = now()",
    )
    .bind(venue_id)
    .bind(latitude)
    .bind(longitude)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// A venue's coordinates and the hour of the day there now.
pub async fn location_and_local_hour(db: impl PgExecutor<'_>, venue_id: Uuid) -> sqlx::Result<Option<(f64, f64, i32)>> {
    sqlx::query_as(
        "SELECT l.latitude, l.longitude, EXTRACT(HOUR FROM now() AT TIME ZONE v.timezone)::int \
         FROM venue_locations l JOIN venues v ON v.id = l.venue_id WHERE l.venue_id = $1",
    )
    .bind(venue_id)
    .fetch_optional(db)
    .await
}
