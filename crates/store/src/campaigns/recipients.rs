//! Recipients of a campaign: written down when sending starts, handed to their channels in
//! batches, moved to a fallback channel when a message certainly failed, and counted into the
//! funnel through the message that carried each.

use bma_domain::campaign::RecipientStatus;
use bma_domain::contact::Channel;
use serde::Serialize;
use sqlx::{FromRow, PgExecutor};
use time::{OffsetDateTime, PrimitiveDateTime, Time};
use uuid::Uuid;

/// A recipient as sending starts.
#[derive(Debug, Clone)]
pub struct NewRecipient {
    pub venue_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub channel: Option<Channel>,
    pub status: RecipientStatus,
    pub error: Option<String>,
}

/// Writes the recipients down; one already written (same campaign and contact, or the same
/// unreachable venue) is left as it is. Each is due now, or at `local` in its venue's time
/// zone; one that would fall in the venue's local `quiet` hours waits for their end. Returns
/// how many rows were new.
pub async fn insert_recipients(
    db: impl PgExecutor<'_>,
    campaign_id: Uuid,
    rows: &[NewRecipient],
    local: Option<PrimitiveDateTime>,
    quiet: Option<(Time, Time)>,
) -> sqlx::Result<u64> {
    let ids: Vec<Uuid> = rows.iter().map(|_| bma_domain::ids::new_id()).collect();
    let venues: Vec<Uuid> = rows.iter().map(|r| r.venue_id).collect();
    let contacts: Vec<Option<Uuid>> = rows.iter().map(|r| r.contact_id).collect();
    let channels: Vec<Option<Channel>> = rows.iter().map(|r| r.channel).collect();
    let statuses: Vec<RecipientStatus> = rows.iter().map(|r| r.status).collect();
    let errors: Vec<Option<String>> = rows.iter().map(|r| r.error.clone()).collect();
    sqlx::query(
        "INSERT INTO campaign_recipients (id, campaign_id, venue_id, contact_id, channel, status, error, due_at) \
         SELECT i, $2, v, c, ch, s, e, \
                CASE WHEN $9::time IS NULL OR NOT q.quiet THEN q.due \
                     WHEN $9::time > $10::time AND q.at >= $9::time \
                         THEN ((q.day + 1) + $10::time) AT TIME ZONE vn.timezone \
                     ELSE (q.day + $10::time) AT TIME ZONE vn.timezone END \
         FROM unnest($1::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[]) AS t(i, v, c, ch, s, e) \
             JOIN venues vn ON vn.id = t.v \
             CROSS JOIN LATERAL (SELECT COALESCE($8::timestamp AT TIME ZONE vn.timezone, now()) AS due) d \
             CROSS JOIN LATERAL (SELECT d.due, (d.due AT TIME ZONE vn.timezone)::time AS at, \
                                        (d.due AT TIME ZONE vn.timezone)::date AS day) l \
             CROSS JOIN LATERAL (SELECT l.due, l.at, l.day, \
                                        CASE WHEN $9::time > $10::time THEN l.at >= $9::time OR l.at < $10::time \
                                             ELSE l.at >= $9::time AND l.at < $10::time END AS quiet) q \
         ON CONFLICT DO NOTHING",
    )
    .bind(ids)
    .bind(campaign_id)
    .bind(venues)
    .bind(contacts)
    .bind(channels)
    .bind(statuses)
    .bind(errors)
    .bind(local)
    .bind(quiet.map(|q| q.0))
    .bind(quiet.map(|q| q.1))
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// A recipient whose message is still to be queued, with what its message needs.
#[derive(Debug, Clone, FromRow)]
pub struct PendingRecipient {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub venue_name: String,
    pub venue_brand: Option<String>,
    pub venue_country: Option<String>,
    pub zone_count: i64,
    pub contact_id: Uuid,
    pub contact_name: String,
    pub contact_role: Option<String>,
    pub opted_out: bool,
    pub channel: Channel,
    pub address: String,
}

const PENDING: &str = "SELECT r.id, r.venue_id, v.name AS venue_name, v.brand AS venue_brand, v.country AS venue_country, \
        (SELECT count(*) FROM zones z WHERE z.venue_id = v.id AND z.archived_at IS NULL) AS zone_count, \
        c.id AS contact_id, c.name AS contact_name, c.role AS contact_role, \
        c.opted_out OR CASE WHEN k.type IN ('marketing', 'holiday') THEN c.promotions_opted_out \
                            ELSE c.service_opted_out END AS opted_out, r.channel, \
        CASE r.channel WHEN 'whatsapp' THEN c.whatsapp_number WHEN 'line' THEN c.line_user_id \
                       ELSE c.email END AS address \
     FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id JOIN venues v ON v.id = r.venue_id \
          JOIN venue_contacts c ON c.id = r.contact_id";

/// The next `limit` recipients to hand to their channel, locked (others skip them).
pub async fn next_pending(
    db: impl PgExecutor<'_>,
    campaign_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<PendingRecipient>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PENDING} WHERE r.campaign_id = $1 AND r.status = 'queued' AND r.message_id IS NULL AND r.due_at <= now() \
         ORDER BY r.due_at, r.id LIMIT $2 FOR UPDATE OF r SKIP LOCKED"
    )))
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// When the next recipient still waiting to be handed to its channel is due; `None` when
/// every recipient has been handed over or settled.
pub async fn next_due(db: impl PgExecutor<'_>, campaign_id: Uuid) -> sqlx::Result<Option<OffsetDateTime>> {
    sqlx::query_scalar(
        "SELECT min(due_at) FROM campaign_recipients WHERE campaign_id = $1 AND status = 'queued' AND message_id IS NULL",
    )
    .bind(campaign_id)
    .fetch_one(db)
    .await
}

pub async fn link_message(
    db: impl PgExecutor<'_>,
    recipient_id: Uuid,
    conversation_id: Uuid,
    message_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE campaign_recipients SET conversation_id = $2, message_id = $3, updated_at = now() WHERE id = $1",
    )
    .bind(recipient_id)
    .bind(conversation_id)
    .bind(message_id)
    .execute(db)
    .await
    .map(|_| ())
}

/// Settles a recipient that will not be sent (opted out meanwhile, or the message refused).
pub async fn settle(
    db: impl PgExecutor<'_>,
    recipient_id: Uuid,
    status: RecipientStatus,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE campaign_recipients SET status = $2, error = $3, updated_at = now() WHERE id = $1")
        .bind(recipient_id)
        .bind(status)
        .bind(error)
        .execute(db)
        .await
        .map(|_| ())
}

/// Recipients not yet handed to a channel when a campaign is cancelled are skipped.
pub async fn skip_pending(db: impl PgExecutor<'_>, campaign_id: Uuid, reason: &str) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE campaign_recipients SET status = 'skipped', error = $2, updated_at = now() \
         WHERE campaign_id = $1 AND status = 'queued' AND message_id IS NULL",
    )
    .bind(campaign_id)
    .bind(reason)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// A recipient's funnel stage as it stands: its own status until a message carries it, then
/// the message's delivery status, or `replied` when the contact wrote back in the same
/// conversation within the campaign's reply window. "After the message" compares ids (UUID v7,
/// ordered by when they were stored): providers stamp inbound messages to the second only.
pub(crate) const STAGE: &str = "CASE \
     WHEN r.message_id IS NULL OR m.id IS NULL THEN r.status \
     WHEN m.delivery_status = 'failed' THEN 'failed' \
     WHEN EXISTS (SELECT 1 FROM messages i WHERE i.conversation_id = r.conversation_id AND i.direction = 'in' \
                  AND i.id > m.id \
                  AND i.created_at <= m.created_at + make_interval(hours => c.reply_window_hours)) THEN 'replied' \
     WHEN m.delivery_status IN ('queued', 'sending') THEN 'queued' \
     ELSE m.delivery_status END";

/// What the funnel can be broken down by: the venue's country or brand, the recipient's
/// channel, or the campaign's WhatsApp template (`null` for campaigns without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    Template,
    Country,
    Brand,
    Channel,
}

impl Breakdown {
    fn column(self) -> &'static str {
        match self {
            Breakdown::Template => "c.whatsapp_template->>'name'",
            Breakdown::Country => "v.country",
            Breakdown::Brand => "v.brand",
            Breakdown::Channel => "r.channel",
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct GroupRow {
    pub key: Option<String>,
    pub status: RecipientStatus,
    pub count: i64,
}

/// Recipients counted by `by` and funnel stage, of one campaign or (`None`) of every campaign.
pub async fn funnel_by(
    db: impl PgExecutor<'_>,
    campaign_id: Option<Uuid>,
    by: Breakdown,
) -> sqlx::Result<Vec<GroupRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {col}::text AS key, ({STAGE}) AS status, count(*) AS count \
         FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id JOIN venues v ON v.id = r.venue_id \
         LEFT JOIN messages m ON m.id = r.message_id \
         WHERE ($1::uuid IS NULL OR r.campaign_id = $1) GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2",
        col = by.column()
    )))
    .bind(campaign_id)
    .fetch_all(db)
    .await
}

/// One hour of a campaign: messages handed to channels then, and how those have fared.
#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct TimelineRow {
    #[serde(with = "time::serde::rfc3339")]
    pub hour: OffsetDateTime,
    pub handed: i64,
    pub delivered: i64,
    pub replied: i64,
    pub failed: i64,
}

/// Messages by the hour they were handed over (UTC), with their stage now.
pub async fn timeline(db: impl PgExecutor<'_>, campaign_id: Uuid) -> sqlx::Result<Vec<TimelineRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT hour, count(*) AS handed, \
                count(*) FILTER (WHERE stage IN ('delivered', 'read', 'replied')) AS delivered, \
                count(*) FILTER (WHERE stage = 'replied') AS replied, \
                count(*) FILTER (WHERE stage = 'failed') AS failed \
         FROM (SELECT date_trunc('hour', m.created_at) AS hour, ({STAGE}) AS stage \
               FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id \
               JOIN messages m ON m.id = r.message_id WHERE r.campaign_id = $1) t \
         GROUP BY hour ORDER BY hour"
    )))
    .bind(campaign_id)
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct FunnelRow {
    pub channel: Option<Channel>,
    pub status: RecipientStatus,
    pub count: i64,
}

/// Recipients counted by channel and funnel stage.
pub async fn funnel(db: impl PgExecutor<'_>, campaign_id: Uuid) -> sqlx::Result<Vec<FunnelRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT r.channel, ({STAGE}) AS status, count(*) AS count \
         FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id \
         LEFT JOIN messages m ON m.id = r.message_id \
         WHERE r.campaign_id = $1 GROUP BY 1, 2 ORDER BY 1, 2"
    )))
    .bind(campaign_id)
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Recipient {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub venue_name: String,
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<String>,
    pub channel: Option<Channel>,
    pub status: RecipientStatus,
    pub message_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub error: Option<String>,
}

/// The campaign's recipients with their stage, in the order they were written down.
pub async fn recipients(
    db: impl PgExecutor<'_>,
    campaign_id: Uuid,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Recipient>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT r.id, r.venue_id, v.name AS venue_name, r.contact_id, vc.name AS contact_name, r.channel, \
                ({STAGE}) AS status, r.message_id, r.conversation_id, r.error \
         FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id JOIN venues v ON v.id = r.venue_id \
         LEFT JOIN venue_contacts vc ON vc.id = r.contact_id LEFT JOIN messages m ON m.id = r.message_id \
         WHERE r.campaign_id = $1 ORDER BY r.id LIMIT $2 OFFSET $3"
    )))
    .bind(campaign_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// Scheduled campaigns whose time has come.
pub async fn due(db: impl PgExecutor<'_>, now: OffsetDateTime) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM campaigns WHERE status = 'scheduled' AND scheduled_at <= $1 ORDER BY scheduled_at, id LIMIT 100",
    )
    .bind(now)
    .fetch_all(db)
    .await
}

/// The contact and campaign kind of a campaign's email message, for its unsubscribe link.
pub async fn email_campaign_of(
    db: impl PgExecutor<'_>,
    message_id: Uuid,
) -> sqlx::Result<Option<(Uuid, bma_domain::campaign::CampaignType)>> {
    sqlx::query_as(
        "SELECT r.contact_id, c.type FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id \
         WHERE r.message_id = $1 AND r.channel = 'email' AND r.contact_id IS NOT NULL",
    )
    .bind(message_id)
    .fetch_optional(db)
    .await
}

/// An unsubscribe from campaigns of `kind`: promotions for marketing and holiday, service
/// campaigns for service. Returns whether the contact exists.
pub async fn unsubscribe(
    db: impl PgExecutor<'_>,
    contact_id: Uuid,
    kind: bma_domain::campaign::CampaignType,
) -> sqlx::Result<bool> {
    let column = if kind.is_promotional() { "promotions_opted_out" } else { "service_opted_out" };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE venue_contacts SET {column} = true, updated_at = now() WHERE id = $1"
    )))
    .bind(contact_id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Records a contact's STOP (`true`) or START (`false`) to promotional campaigns.
pub async fn set_promotions_opt_out(db: impl PgExecutor<'_>, contact_id: Uuid, opted_out: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE venue_contacts SET promotions_opted_out = $2, updated_at = now() WHERE id = $1")
        .bind(contact_id)
        .bind(opted_out)
        .execute(db)
        .await
        .map(|_| ())
}

/// The recipient a failed message carried, locked: (recipient, campaign, contact, channel).
pub async fn recipient_of_message(
    db: impl PgExecutor<'_>,
    message_id: Uuid,
) -> sqlx::Result<Option<(Uuid, Uuid, Uuid, Channel)>> {
    sqlx::query_as(
        "SELECT id, campaign_id, contact_id, channel FROM campaign_recipients \
         WHERE message_id = $1 AND contact_id IS NOT NULL AND channel IS NOT NULL FOR UPDATE",
    )
    .bind(message_id)
    .fetch_optional(db)
    .await
}

/// Moves a recipient whose message failed to `channel`: unlinked from the failed message, due
/// now, the failure kept in `error`. Returns it ready to be queued.
pub async fn move_to_channel(
    db: &mut sqlx::PgConnection,
    recipient_id: Uuid,
    channel: Channel,
    note: &str,
) -> sqlx::Result<Option<PendingRecipient>> {
    sqlx::query(
        "UPDATE campaign_recipients SET channel = $2, message_id = NULL, conversation_id = NULL, status = 'queued', multicast_batch = NULL, \
             due_at = now(), error = $3, updated_at = now() WHERE id = $1",
    )
    .bind(recipient_id)
    .bind(channel)
    .bind(note)
    .execute(&mut *db)
    .await?;
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{PENDING} WHERE r.id = $1")))
        .bind(recipient_id)
        .fetch_optional(&mut *db)
        .await
}

/// Whether the conversation's latest outbound message is a campaign's, still within that
/// campaign's reply window (so a bare "stop" there answers the campaign, not the bot).
pub async fn answers_campaign(db: impl PgExecutor<'_>, conversation_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id \
                          JOIN messages m ON m.id = r.message_id \
                        WHERE r.conversation_id = $1 \
                          AND m.created_at > now() - make_interval(hours => c.reply_window_hours) \
                          AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.conversation_id = $1 \
                                          AND o.direction = 'out' AND o.id > m.id))",
    )
    .bind(conversation_id)
    .fetch_one(db)
    .await
}

/// Parses "HH:MM" as the store writes quiet hours back.
pub fn parse_clock(s: &str) -> Option<Time> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m) = (h.parse::<u8>().ok()?, m.parse::<u8>().ok()?);
    if h > 23 || m > 59 || s.trim().len() != 5 {
        return None;
    }
    Time::from_hms(h, m, 0).ok()
}

/// Up to `n` venues with a staff contact on WhatsApp or LINE, for the demo's campaigns.
pub async fn demo_venues(db: impl PgExecutor<'_>, n: i64) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT v.id FROM venues v WHERE v.archived_at IS NULL AND EXISTS ( \
             SELECT 1 FROM venue_contacts c WHERE c.venue_id = v.id AND c.is_staff AND NOT c.opted_out \
               AND c.channel IN ('whatsapp', 'line')) \
         ORDER BY v.name, v.id LIMIT $1",
    )
    .bind(n)
    .fetch_all(db)
    .await
}

/// The number the campaign's next LINE multicast call takes (1, 2, …); read under the
/// campaign's row lock, so two send runs never give out the same one.
pub async fn next_multicast_batch(db: impl PgExecutor<'_>, campaign_id: Uuid) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "SELECT COALESCE(max(multicast_batch), 0) + 1 FROM campaign_recipients \
         WHERE campaign_id = $1 AND multicast_batch IS NOT NULL",
    )
    .bind(campaign_id)
    .fetch_one(db)
    .await
}

/// Writes the recipients down as one multicast call's.
pub async fn set_multicast_batch(db: impl PgExecutor<'_>, recipient_ids: &[Uuid], batch: i32) -> sqlx::Result<()> {
    sqlx::query("UPDATE campaign_recipients SET multicast_batch = $2, updated_at = now() WHERE id = ANY($1)")
        .bind(recipient_ids)
        .bind(batch)
        .execute(db)
        .await
        .map(|_| ())
}

/// The messages of one multicast call, in a stable order.
pub async fn multicast_messages(db: impl PgExecutor<'_>, campaign_id: Uuid, batch: i32) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT message_id FROM campaign_recipients \
         WHERE campaign_id = $1 AND multicast_batch = $2 AND message_id IS NOT NULL ORDER BY id",
    )
    .bind(campaign_id)
    .bind(batch)
    .fetch_all(db)
    .await
}
