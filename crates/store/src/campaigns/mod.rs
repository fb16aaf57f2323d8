//! Campaigns and their recipients. A recipient row is written once per campaign and contact
//! (or once per venue that has no reachable contact), then linked to the outbound message that
//! carried it; its funnel stage is read through that link, so the channels' status webhooks
//! and the contact's replies move it without a write of their own.

use bma_domain::campaign::{
    AudienceFilter, CampaignStatus, CampaignType, ChannelChoice, ContactScope, WhatsappTemplate,
};
use bma_domain::contact::Channel;
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor, Postgres, QueryBuilder};
use time::{OffsetDateTime, PrimitiveDateTime, Time};
use uuid::Uuid;

mod recipients;

pub use recipients::*;

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub kind: CampaignType,
    pub channel: ChannelChoice,
    pub channel_fallback: Vec<Channel>,
    pub target_venues: Vec<Uuid>,
    #[schema(value_type = Option<AudienceFilter>)]
    pub audience_filter: Option<Json<AudienceFilter>>,
    /// all, staff, or role:<name>.
    #[schema(value_type = String)]
    pub contacts: ContactScope,
    pub message_template: String,
    #[schema(value_type = Option<WhatsappTemplate>)]
    pub whatsapp_template: Option<Json<WhatsappTemplate>>,
    pub reply_window_hours: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub scheduled_at: Option<OffsetDateTime>,
    /// "YYYY-MM-DDTHH:MM", the wall-clock time each venue gets it in its own time zone.
    pub send_at_local: Option<String>,
    /// "HH:MM" local to each venue: nothing is sent from `quiet_start` until `quiet_end`.
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub status: CampaignStatus,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

const COLUMNS: &str = "id, name, type, channel, channel_fallback, target_venues, audience_filter, contacts, \
     message_template, whatsapp_template, reply_window_hours, scheduled_at, \
     to_char(send_at_local, 'YYYY-MM-DD\"T\"HH24:MI') AS send_at_local, \
     to_char(quiet_start, 'HH24:MI') AS quiet_start, to_char(quiet_end, 'HH24:MI') AS quiet_end, status, created_by, started_at, \
     finished_at, created_at, updated_at";

/// What the team writes; everything else is the campaign's own state.
#[derive(Debug, Clone)]
pub struct CampaignFields {
    pub name: String,
    pub kind: CampaignType,
    pub channel: ChannelChoice,
    pub channel_fallback: Vec<Channel>,
    pub target_venues: Vec<Uuid>,
    pub audience_filter: Option<AudienceFilter>,
    pub contacts: ContactScope,
    pub message_template: String,
    pub whatsapp_template: Option<WhatsappTemplate>,
    pub reply_window_hours: i32,
    pub scheduled_at: Option<OffsetDateTime>,
    pub send_at_local: Option<PrimitiveDateTime>,
    /// Local quiet hours (start, end); the end may be on the next day.
    pub quiet_hours: Option<(Time, Time)>,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    id: Uuid,
    f: &CampaignFields,
    status: CampaignStatus,
    created_by: Option<Uuid>,
) -> sqlx::Result<Campaign> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO campaigns (id, name, type, channel, channel_fallback, target_venues, audience_filter, contacts, \
             message_template, whatsapp_template, reply_window_hours, scheduled_at, status, created_by, send_at_local, \
             quiet_start, quiet_end) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(&f.name)
    .bind(f.kind)
    .bind(f.channel)
    .bind(&f.channel_fallback)
    .bind(&f.target_venues)
    .bind(f.audience_filter.clone().map(Json))
    .bind(&f.contacts)
    .bind(&f.message_template)
    .bind(f.whatsapp_template.clone().map(Json))
    .bind(f.reply_window_hours)
    .bind(f.scheduled_at)
    .bind(status)
    .bind(created_by)
    .bind(f.send_at_local)
    .bind(f.quiet_hours.map(|q| q.0))
    .bind(f.quiet_hours.map(|q| q.1))
    .fetch_one(db)
    .await
}

/// Rewrites a campaign's content; only while its status is one of `editable`.
pub async fn update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    f: &CampaignFields,
    status: CampaignStatus,
    editable: &[CampaignStatus],
) -> sqlx::Result<Option<Campaign>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE campaigns SET name = $2, type = $3, channel = $4, channel_fallback = $5, target_venues = $6, \
             audience_filter = $7, contacts = $8, message_template = $9, whatsapp_template = $10, \
             reply_window_hours = $11, scheduled_at = $12, status = $13, send_at_local = $15, \
             quiet_start = $16, quiet_end = $17, updated_at = now() \
         WHERE id = $1 AND status = ANY($14) RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(&f.name)
    .bind(f.kind)
    .bind(f.channel)
    .bind(&f.channel_fallback)
    .bind(&f.target_venues)
    .bind(f.audience_filter.clone().map(Json))
    .bind(&f.contacts)
    .bind(&f.message_template)
    .bind(f.whatsapp_template.clone().map(Json))
    .bind(f.reply_window_hours)
    .bind(f.scheduled_at)
    .bind(status)
    .bind(editable)
    .bind(f.send_at_local)
    .bind(f.quiet_hours.map(|q| q.0))
    .bind(f.quiet_hours.map(|q| q.1))
    .fetch_optional(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Campaign>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM campaigns WHERE id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The campaign, locked until the caller's transaction ends.
pub async fn lock(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Campaign>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM campaigns WHERE id = $1 FOR UPDATE")))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn list(
    db: impl PgExecutor<'_> + Copy,
    status: Option<CampaignStatus>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Campaign>, i64)> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM campaigns WHERE ($1::text IS NULL OR status = $1) \
         ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    )))
    .bind(status)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM campaigns WHERE ($1::text IS NULL OR status = $1)")
        .bind(status)
        .fetch_one(db)
        .await?;
    Ok((rows, total))
}

/// Moves the campaign from one of `from` to `to`; `false` when it was in none of them.
pub async fn set_status(
    db: impl PgExecutor<'_>,
    id: Uuid,
    from: &[CampaignStatus],
    to: CampaignStatus,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE campaigns SET status = $3, updated_at = now(), \
             started_at = CASE WHEN $3 = 'sending' THEN COALESCE(started_at, now()) ELSE started_at END, \
             finished_at = CASE WHEN $3 IN ('sent', 'cancelled', 'failed') THEN now() ELSE finished_at END \
         WHERE id = $1 AND status = ANY($2)",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .execute(db)
    .await
    .map(|r| r.rows_affected() > 0)
}

/// A venue of the audience, with what its templates can say about it.
#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct AudienceVenue {
    pub id: Uuid,
    pub name: String,
    pub brand: Option<String>,
    pub country: Option<String>,
    pub zone_count: i64,
}

const AUDIENCE_VENUE: &str = "SELECT v.id, v.name, v.brand, v.country, \
     (SELECT count(*) FROM zones z WHERE z.venue_id = v.id AND z.archived_at IS NULL) AS zone_count \
     FROM venues v WHERE v.archived_at IS NULL";

/// The venues of an audience: the explicit list, or those matching the filter; archived venues
/// never receive a campaign.
pub async fn audience_venues(
    db: impl PgExecutor<'_>,
    explicit: &[Uuid],
    filter: Option<&AudienceFilter>,
) -> sqlx::Result<Vec<AudienceVenue>> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(AUDIENCE_VENUE);
    match filter {
        None => {
            q.push(" AND v.id = ANY(").push_bind(explicit.to_vec()).push(")");
        }
        Some(f) => {
            if let Some(b) = &f.brand {
                q.push(" AND v.brand = ").push_bind(b.clone());
            }
            if let Some(c) = &f.country {
                q.push(" AND v.country = ").push_bind(c.clone());
            }
            if let Some(t) = f.zone_type {
                q.push(" AND EXISTS (SELECT 1 FROM zones z WHERE z.venue_id = v.id AND z.archived_at IS NULL AND z.zone_type = ")
                    .push_bind(t)
                    .push(")");
            }
            if !f.labels.is_empty() {
                q.push(
                    " AND EXISTS (SELECT 1 FROM venue_labels vl JOIN labels l ON l.id = vl.label_id \
                     WHERE vl.venue_id = v.id AND l.name = ANY(",
                )
                .push_bind(f.labels.clone())
                .push("))");
            }
        }
    }
    q.push(" ORDER BY v.name, v.id");
    q.build_query_as().fetch_all(db).await
}

/// Venue ids of `ids` that do not exist or are archived.
pub async fn unknown_venues(db: impl PgExecutor<'_>, ids: &[Uuid]) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT i FROM unnest($1::uuid[]) AS i \
         WHERE NOT EXISTS (SELECT 1 FROM venues v WHERE v.id = i AND v.archived_at IS NULL)",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

/// A contact of an audience venue, opted out or not.
#[derive(Debug, Clone, FromRow)]
pub struct AudienceContact {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub role: Option<String>,
    pub channel: Channel,
    pub whatsapp_number: Option<String>,
    pub line_user_id: Option<String>,
    pub email: Option<String>,
    pub opted_out: bool,
}

impl AudienceContact {
    pub fn address(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Whatsapp => self.whatsapp_number.as_deref(),
            Channel::Line => self.line_user_id.as_deref(),
            Channel::Email => self.email.as_deref(),
        }
    }
}

/// The contacts of `venues` within `scope`; `opted_out` also counts an opt-out of the campaign's
/// kind: a STOP (or unsubscribe) to promotions when it is `promotional`, an email unsubscribe
/// from service campaigns when it is not.
pub async fn audience_contacts(
    db: impl PgExecutor<'_>,
    venues: &[Uuid],
    scope: &ContactScope,
    promotional: bool,
) -> sqlx::Result<Vec<AudienceContact>> {
    let (staff_only, role) = match scope {
        ContactScope::All => (false, None),
        ContactScope::Staff => (true, None),
        ContactScope::Role(r) => (false, Some(r.clone())),
    };
    sqlx::query_as(
        "SELECT id, venue_id, name, role, channel, whatsapp_number, line_user_id, email, \
                opted_out OR CASE WHEN $4 THEN promotions_opted_out ELSE service_opted_out END AS opted_out \
         FROM venue_contacts WHERE venue_id = ANY($1) AND (NOT $2 OR is_staff) \
           AND ($3::text IS NULL OR lower(role) = lower($3)) ORDER BY venue_id, created_at, id",
    )
    .bind(venues)
    .bind(staff_only)
    .bind(role)
    .bind(promotional)
    .fetch_all(db)
    .await
}

/// One contact with its addresses, opted out as a campaign of that kind sees it.
pub async fn contact_for(
    db: impl PgExecutor<'_>,
    contact_id: Uuid,
    promotional: bool,
) -> sqlx::Result<Option<AudienceContact>> {
    sqlx::query_as(
        "SELECT id, venue_id, name, role, channel, whatsapp_number, line_user_id, email, \
                opted_out OR CASE WHEN $2 THEN promotions_opted_out ELSE service_opted_out END AS opted_out \
         FROM venue_contacts WHERE id = $1",
    )
    .bind(contact_id)
    .bind(promotional)
    .fetch_optional(db)
    .await
}
