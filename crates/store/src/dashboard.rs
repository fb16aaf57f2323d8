//! The dashboard's queries: one aggregate per section, each over any executor (the analytics
//! read pool in practice), so the sections run side by side and a new one is one more function.
//! The definitions they implement are written in `bma_app::services::dashboard`.

use bma_domain::campaign::{CampaignStatus, ChannelChoice, RecipientStatus};
use bma_domain::contact::Channel;
use bma_domain::monitoring::{Observation, RollupPeriod, Severity};
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;

/// Monitored zones (live, linked to a Soundtrack player) of one venue whose latest observation
/// is `observation` (None: never observed).
#[derive(Debug, Clone, FromRow)]
pub struct FleetCount {
    pub venue_id: uuid::Uuid,
    pub venue_name: String,
    pub brand: Option<String>,
    pub country: Option<String>,
    pub observation: Option<Observation>,
    pub zones: i64,
}

pub async fn fleet_now(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<FleetCount>> {
    sqlx::query_as(
        "SELECT v.id AS venue_id, v.name AS venue_name, v.brand, v.country, s.observation, count(*) AS zones \
         FROM zones z JOIN venues v ON v.id = z.venue_id LEFT JOIN zone_monitor_state s ON s.zone_id = z.id \
         WHERE z.archived_at IS NULL AND v.archived_at IS NULL AND z.soundtrack_device_id IS NOT NULL \
         GROUP BY 1, 2, 3, 4, 5",
    )
    .fetch_all(db)
    .await
}

/// Open alerts of one severity, counted by how long they have been open at `now`.
#[derive(Debug, Clone, FromRow)]
pub struct OpenAlertCount {
    pub severity: Severity,
    pub under_one_hour: i64,
    pub one_to_twenty_four_hours: i64,
    pub one_to_seven_days: i64,
    pub seven_days_or_more: i64,
    pub oldest_opened_at: Option<OffsetDateTime>,
}

/// `bounds` are the lower bounds of the age buckets after the first (`AlertAge::BOUNDS`).
pub async fn open_alerts(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    bounds: [time::Duration; 3],
) -> sqlx::Result<Vec<OpenAlertCount>> {
    sqlx::query_as(
        "SELECT severity, count(*) FILTER (WHERE created_at > $1) AS under_one_hour, \
                count(*) FILTER (WHERE created_at <= $1 AND created_at > $2) AS one_to_twenty_four_hours, \
                count(*) FILTER (WHERE created_at <= $2 AND created_at > $3) AS one_to_seven_days, \
                count(*) FILTER (WHERE created_at <= $3) AS seven_days_or_more, \
                min(created_at) AS oldest_opened_at \
         FROM alerts WHERE NOT resolved GROUP BY severity",
    )
    .bind(now - bounds[0])
    .bind(now - bounds[1])
    .bind(now - bounds[2])
    .fetch_all(db)
    .await
}

/// Conversations not closed, by who holds them, and those where a venue waits for an answer.
#[derive(Debug, Clone, Default, FromRow)]
pub struct ConversationsNow {
    pub with_people: i64,
    pub with_bot: i64,
    pub snoozed: i64,
    pub unassigned: i64,
    pub waiting: i64,
    pub oldest_waiting_since: Option<OffsetDateTime>,
}

pub async fn conversations_now(db: impl PgExecutor<'_>) -> sqlx::Result<ConversationsNow> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'open') AS with_people, \
                count(*) FILTER (WHERE status = 'pending') AS with_bot, \
                count(*) FILTER (WHERE status = 'snoozed') AS snoozed, \
                count(*) FILTER (WHERE status = 'open' AND assigned_to IS NULL) AS unassigned, \
                count(*) FILTER (WHERE waiting_since IS NOT NULL) AS waiting, \
                min(waiting_since) AS oldest_waiting_since \
         FROM conversations WHERE status <> 'closed'",
    )
    .fetch_one(db)
    .await
}

/// Today's response times. A first response is the first reply (by a person or the bot) in a
/// conversation; `first_responses` counts those given today, each timed from the conversation's
/// creation (when the venue's first message opened it) to that reply. A resolution is a conversation closed today, timed
/// from its start to its closing. Averages and medians are in seconds, null when there are none.
#[derive(Debug, Clone, Default, FromRow, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = ResponseTimesSection)]
pub struct ResponseTimes {
    pub first_responses: i64,
    pub avg_first_response_seconds: Option<f64>,
    pub median_first_response_seconds: Option<f64>,
    pub resolved: i64,
    pub avg_resolution_seconds: Option<f64>,
    pub median_resolution_seconds: Option<f64>,
}

pub async fn response_times(
    db: impl PgExecutor<'_>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<ResponseTimes> {
    sqlx::query_as(
        "WITH c AS (SELECT created_at, \
                 CASE WHEN first_response_at >= $1 AND first_response_at < $2 \
                      THEN extract(epoch FROM first_response_at - created_at)::float8 END AS fr, \
                 CASE WHEN closed_at >= $1 AND closed_at < $2 \
                      THEN extract(epoch FROM closed_at - created_at)::float8 END AS res \
               FROM conversations \
               WHERE (first_response_at >= $1 AND first_response_at < $2) OR (closed_at >= $1 AND closed_at < $2)) \
         SELECT count(fr) AS first_responses, avg(fr) AS avg_first_response_seconds, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY fr) AS median_first_response_seconds, \
                count(res) AS resolved, avg(res) AS avg_resolution_seconds, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY res) AS median_resolution_seconds \
         FROM c",
    )
    .bind(from)
    .bind(to)
    .fetch_one(db)
    .await
}

/// Messages to and from venues in `[from, to)` on one channel (private notes left out).
#[derive(Debug, Clone, FromRow)]
pub struct ChannelMessages {
    pub channel: Channel,
    pub inbound: i64,
    pub outbound: i64,
}

pub async fn messages_by_channel(
    db: impl PgExecutor<'_>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<Vec<ChannelMessages>> {
    sqlx::query_as(
        "SELECT COALESCE(m.channel, c.channel) AS channel, count(*) FILTER (WHERE m.direction = 'in') AS inbound, \
                count(*) FILTER (WHERE m.direction = 'out') AS outbound \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.created_at >= $1 AND m.created_at < $2 AND m.direction <> 'note' GROUP BY 1",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}

/// Survey answers received in one period.
#[derive(Debug, Clone, Default, FromRow)]
pub struct Answers {
    pub answers: i64,
    pub satisfied: i64,
    pub average: Option<f64>,
}

/// Survey answers received in each of `periods` (`[from, to)` each), in one scan from the
/// earliest start.
pub async fn answers_in(
    db: impl PgExecutor<'_>,
    periods: &[(OffsetDateTime, OffsetDateTime)],
) -> sqlx::Result<Vec<Answers>> {
    let starts: Vec<OffsetDateTime> = periods.iter().map(|p| p.0).collect();
    let ends: Vec<OffsetDateTime> = periods.iter().map(|p| p.1).collect();
    sqlx::query_as(
        "SELECT count(s.id) AS answers, count(s.id) FILTER (WHERE s.score >= 4) AS satisfied, \
                avg(s.score)::float8 AS average \
         FROM UNNEST($1::timestamptz[], $2::timestamptz[]) WITH ORDINALITY AS p(f, t, i) \
         LEFT JOIN satisfaction_scores s ON s.created_at >= p.f AND s.created_at < p.t \
         GROUP BY p.i ORDER BY p.i",
    )
    .bind(starts)
    .bind(ends)
    .fetch_all(db)
    .await
}

/// Which sums of `uptime_group_rollups` a report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupScope {
    Fleet,
    Brand,
    Country,
}

impl GroupScope {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupScope::Fleet => "fleet",
            GroupScope::Brand => "brand",
            GroupScope::Country => "country",
        }
    }
}

/// Which uptime rollups a report reads: the sums of a scope's groups (kept as they were written,
/// so a zone archived since still counts in the periods it was monitored), or each live zone's
/// own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rolled {
    Groups(GroupScope),
    Zones,
}

/// One rollup as read. `key` is the group's ('' for the fleet and for venues with no brand or
/// country) or the zone's id.
#[derive(Debug, Clone, FromRow)]
pub struct RolledRow {
    pub key: String,
    pub starts: OffsetDateTime,
    pub up: i64,
    pub down: i64,
    pub unknown: i64,
    pub excluded: i64,
}

/// The rollups of `period` that start inside any of `ranges` (each `[from, to)`; a rollup inside
/// two overlapping ranges comes twice).
pub async fn rolled(
    db: impl PgExecutor<'_>,
    by: Rolled,
    period: RollupPeriod,
    ranges: &[(OffsetDateTime, OffsetDateTime)],
) -> sqlx::Result<Vec<RolledRow>> {
    let (from, to): (Vec<OffsetDateTime>, Vec<OffsetDateTime>) = ranges.iter().copied().unzip();
    match by {
        Rolled::Groups(scope) => {
            sqlx::query_as(
                "SELECT g.key, g.starts_at AS starts, g.up_seconds AS up, g.down_seconds AS down, \
                        g.unknown_seconds AS unknown, g.excluded_seconds AS excluded \
                 FROM UNNEST($3::timestamptz[], $4::timestamptz[]) AS r(f, t) \
                 JOIN uptime_group_rollups g ON g.starts_at >= r.f AND g.starts_at < r.t \
                 WHERE g.scope = $1 AND g.period = $2 AND g.zones > 0",
            )
            .bind(scope.as_str())
            .bind(period)
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await
        }
        Rolled::Zones => {
            sqlx::query_as(
                "SELECT u.zone_id::text AS key, u.starts_at AS starts, u.up_seconds::bigint AS up, \
                        u.down_seconds::bigint AS down, u.unknown_seconds::bigint AS unknown, \
                        u.excluded_seconds::bigint AS excluded \
                 FROM UNNEST($2::timestamptz[], $3::timestamptz[]) AS r(f, t) \
                 JOIN uptime_rollups u ON u.starts_at >= r.f AND u.starts_at < r.t \
                 JOIN zones z ON z.id = u.zone_id JOIN venues v ON v.id = z.venue_id \
                 WHERE u.period = $1 AND z.archived_at IS NULL AND v.archived_at IS NULL",
            )
            .bind(period)
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await
        }
    }
}

/// The recipients of one campaign at one funnel stage as it stands (the stage of
/// `bma_store::campaigns`, read through the message that carried each), and how many of them were
/// handed to a channel in `[from, to)`, of those how many are delivered (or further) and replied.
/// A campaign without recipients has one row with `stage` null and zero counts.
#[derive(Debug, Clone, FromRow)]
pub struct CampaignStage {
    pub id: uuid::Uuid,
    pub name: String,
    pub channel: ChannelChoice,
    pub status: CampaignStatus,
    pub stage: Option<RecipientStatus>,
    pub recipients: i64,
    pub handed_in_range: i64,
    pub delivered_in_range: i64,
    pub replied_in_range: i64,
}

/// Campaigns whose status is one of `in_flight`, or that handed a message over in `[from, to)`,
/// by funnel stage; oldest campaign first.
pub async fn campaigns(
    db: impl PgExecutor<'_>,
    in_flight: &[CampaignStatus],
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<Vec<CampaignStage>> {
    let statuses: Vec<&str> = in_flight.iter().map(|s| s.as_str()).collect();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, name, channel, status, stage, count(rid) AS recipients, \
                count(*) FILTER (WHERE in_range) AS handed_in_range, \
                count(*) FILTER (WHERE in_range AND stage IN ('delivered', 'read', 'replied')) AS delivered_in_range, \
                count(*) FILTER (WHERE in_range AND stage = 'replied') AS replied_in_range \
         FROM (SELECT c.id, c.name, c.channel, c.status, c.created_at, r.id AS rid, \
                      CASE WHEN r.id IS NOT NULL THEN ({stage}) END AS stage, \
                      COALESCE(m.created_at >= $2 AND m.created_at < $3, false) AS in_range \
               FROM campaigns c LEFT JOIN campaign_recipients r ON r.campaign_id = c.id \
               LEFT JOIN messages m ON m.id = r.message_id \
               WHERE c.status = ANY($1) OR EXISTS (SELECT 1 FROM campaign_recipients r2 \
                     JOIN messages m2 ON m2.id = r2.message_id \
                     WHERE r2.campaign_id = c.id AND m2.created_at >= $2 AND m2.created_at < $3)) t \
         GROUP BY id, name, channel, status, created_at, stage ORDER BY created_at, id, stage",
        stage = crate::campaigns::STAGE
    )))
    .bind(statuses)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}
