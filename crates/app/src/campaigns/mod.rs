//! Campaigns: create and change drafts, see who they would reach and what each venue would
//! read, send them exactly once (`send.rs`), pause, resume, cancel, duplicate, and read their
//! funnel. Every change is audited in the transaction that makes it.

pub mod audience;
pub mod demo;
pub mod draft;
pub mod multicast;
pub mod send;
pub mod unsubscribe;

use crate::services::{Actor, snapshot};
use crate::{AppContext, Error, Result};
use bma_domain::Invalid;
use bma_domain::campaign::{
    CampaignAction, CampaignStatus, MessageTemplate, RecipientStatus, RenderContext, WhatsappTemplate,
};
use bma_domain::contact::Channel;
use bma_store::audit;
use bma_store::campaigns::{self as store, Campaign, CampaignFields};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

pub use audience::AudiencePreview;
pub use draft::CampaignInput;

fn refused(c: &Campaign, action: CampaignAction) -> Error {
    let (code, what) = match action {
        CampaignAction::Edit => ("campaign_read_only", "edited"),
        CampaignAction::Send => ("campaign_already_sent", "sent"),
        CampaignAction::Pause => ("campaign_not_sending", "paused"),
        CampaignAction::Resume => ("campaign_not_paused", "resumed"),
        _ => ("campaign_finished", "cancelled"),
    };
    Error::conflict(code, format!("a {} campaign cannot be {what}", c.status.as_str()))
}

/// Checks the WhatsApp template against the account: it must exist, be approved, and take as
/// many parameters as the campaign gives. Without a WhatsApp client the check is left to
/// sending (`strict`), which refuses.
pub(crate) async fn check_whatsapp_template(ctx: &AppContext, t: &WhatsappTemplate, strict: bool) -> Result<()> {
    let Some(client) = ctx.channels.whatsapp.as_ref() else {
        if strict {
            return Err(Error::Unavailable {
                code: "channel_not_configured",
                message: "WhatsApp is not configured".into(),
            });
        }
        return Ok(());
    };
    let approved = client.templates().await.map_err(|e| Error::Unavailable {
        code: "whatsapp_unavailable",
        message: format!("WhatsApp did not list the templates: {e}"),
    })?;
    let Some(found) = approved.iter().find(|a| a.name == t.name && a.language == t.language) else {
        return Err(Invalid::one(
            "whatsapp_template.name",
            format!("{} ({}) is not an approved template of the WhatsApp account", t.name, t.language),
        )
        .into());
    };
    if found.body_params != t.params.len() {
        return Err(Invalid::one(
            "whatsapp_template.params",
            format!("{} takes {} parameters, {} given", t.name, found.body_params, t.params.len()),
        )
        .into());
    }
    Ok(())
}

async fn checked_fields(ctx: &AppContext, input: &CampaignInput) -> Result<CampaignFields> {
    let fields = input.parse(OffsetDateTime::now_utc())?;
    let unknown = store::unknown_venues(&ctx.db, &fields.target_venues).await?;
    if !unknown.is_empty() {
        let ids: Vec<String> = unknown.iter().map(Uuid::to_string).collect();
        return Err(Invalid::one("target_venues", format!("unknown or archived venues: {}", ids.join(", "))).into());
    }
    if let Some(t) = &fields.whatsapp_template
        && fields.channel.may_use(Channel::Whatsapp, &fields.channel_fallback)
    {
        check_whatsapp_template(ctx, t, false).await?;
    }
    Ok(fields)
}

fn status_for(f: &CampaignFields) -> CampaignStatus {
    if f.scheduled_at.is_some() { CampaignStatus::Scheduled } else { CampaignStatus::Draft }
}

pub async fn get(ctx: &AppContext, id: Uuid) -> Result<Campaign> {
    store::find(&ctx.db, id).await?.ok_or(Error::NotFound("campaign"))
}

pub async fn create(ctx: &AppContext, actor: &Actor, input: &CampaignInput) -> Result<Campaign> {
    let fields = checked_fields(ctx, input).await?;
    let mut tx = ctx.db.begin().await?;
    let id = bma_domain::ids::new_id();
    let c = store::insert(&mut *tx, id, &fields, status_for(&fields), actor.member_id).await?;
    audit::record(&mut *tx, actor.audit("campaign.create", "campaign", id, None, snapshot(&c))).await?;
    tx.commit().await?;
    crate::cache::bump_after_write(ctx, &[crate::cache::CAMPAIGNS]).await;
    Ok(c)
}

pub async fn update(ctx: &AppContext, actor: &Actor, id: Uuid, input: &CampaignInput) -> Result<Campaign> {
    let before = get(ctx, id).await?;
    if before.status.after(CampaignAction::Edit).is_none() {
        return Err(refused(&before, CampaignAction::Edit));
    }
    let fields = checked_fields(ctx, input).await?;
    let mut tx = ctx.db.begin().await?;
    let before = store::lock(&mut *tx, id).await?.ok_or(Error::NotFound("campaign"))?;
    let editable = [CampaignStatus::Draft, CampaignStatus::Scheduled];
    let after = store::update(&mut *tx, id, &fields, status_for(&fields), &editable)
        .await?
        .ok_or_else(|| refused(&before, CampaignAction::Edit))?;
    audit::record(&mut *tx, actor.audit("campaign.update", "campaign", id, snapshot(&before), snapshot(&after)))
        .await?;
    tx.commit().await?;
    crate::cache::bump_after_write(ctx, &[crate::cache::CAMPAIGNS]).await;
    Ok(after)
}

pub async fn list(
    ctx: &AppContext,
    status: Option<CampaignStatus>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Campaign>, i64)> {
    Ok(store::list(&ctx.db, status, limit, offset).await?)
}

/// A new draft with the same content and audience, not scheduled.
pub async fn duplicate(ctx: &AppContext, actor: &Actor, id: Uuid) -> Result<Campaign> {
    let src = get(ctx, id).await?;
    let name: String = format!("Copy of {}", src.name).chars().take(255).collect();
    let fields = CampaignFields {
        name,
        kind: src.kind,
        channel: src.channel,
        channel_fallback: src.channel_fallback.clone(),
        target_venues: src.target_venues.clone(),
        audience_filter: src.audience_filter.as_deref().cloned(),
        contacts: src.contacts.clone(),
        message_template: src.message_template.clone(),
        whatsapp_template: src.whatsapp_template.as_deref().cloned(),
        reply_window_hours: src.reply_window_hours,
        scheduled_at: None,
        send_at_local: None,
        quiet_hours: src
            .quiet_start
            .as_deref()
            .and_then(store::parse_clock)
            .zip(src.quiet_end.as_deref().and_then(store::parse_clock)),
    };
    let mut tx = ctx.db.begin().await?;
    let new_id = bma_domain::ids::new_id();
    let c = store::insert(&mut *tx, new_id, &fields, CampaignStatus::Draft, actor.member_id).await?;
    let after = serde_json::json!({"copied_from": id, "campaign": c});
    audit::record(&mut *tx, actor.audit("campaign.duplicate", "campaign", new_id, None, Some(after))).await?;
    tx.commit().await?;
    Ok(c)
}

/// Pause, resume or cancel. Pausing stops new messages from being queued (those already
/// handed to a channel go out); resuming carries on from the next recipient; cancelling skips
/// every recipient not yet handed over.
pub async fn change(ctx: &AppContext, actor: &Actor, id: Uuid, action: CampaignAction) -> Result<Campaign> {
    let mut tx = ctx.db.begin().await?;
    let before = store::lock(&mut *tx, id).await?.ok_or(Error::NotFound("campaign"))?;
    let to = before.status.after(action).ok_or_else(|| refused(&before, action))?;
    store::set_status(&mut *tx, id, &[before.status], to).await?;
    let name = match action {
        CampaignAction::Pause => "campaign.pause",
        CampaignAction::Resume => {
            send::enqueue(ctx, &mut tx, id).await?;
            "campaign.resume"
        }
        CampaignAction::Cancel => {
            store::skip_pending(&mut *tx, id, "the campaign was cancelled").await?;
            "campaign.cancel"
        }
        _ => return Err(refused(&before, action)),
    };
    let after = store::find(&mut *tx, id).await?.ok_or(Error::NotFound("campaign"))?;
    audit::record(&mut *tx, actor.audit(name, "campaign", id, snapshot(&before), snapshot(&after))).await?;
    tx.commit().await?;
    send::progress(ctx, id, after.status, 0).await;
    Ok(after)
}

/// Where a test send went.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TestSend {
    /// The member's own email address.
    pub to: String,
    pub subject: String,
    pub rendered: Rendered,
}

/// Sends the campaign, rendered for one venue of its audience, to the member's own email
/// address, whatever the campaign's channel and status; no venue receives anything.
pub async fn test_send(ctx: &AppContext, actor: &Actor, id: Uuid, venue_id: Uuid) -> Result<TestSend> {
    let member_id = actor.member_id.ok_or(Error::NotFound("member"))?;
    let member = bma_store::members::find(&ctx.db, member_id).await?.ok_or(Error::NotFound("member"))?;
    let rendered = preview(ctx, id, venue_id).await?;
    let c = get(ctx, id).await?;
    let subject = format!("[Test] {}", c.name);
    let mut text = rendered.text.clone();
    if !rendered.whatsapp_params.is_empty() {
        let params = rendered.whatsapp_params.join(" | ");
        text.push_str(&format!("\n\n(WhatsApp template parameters: {params})"));
    }
    let job = crate::jobs::tasks::EmailJob { to: member.email.clone(), subject: subject.clone(), text };
    let mut tx = ctx.db.begin().await?;
    crate::jobs::enqueue(ctx, &mut *tx, &job, crate::jobs::Options::default()).await?;
    let after = serde_json::json!({"to": member.email, "venue_id": venue_id});
    audit::record(&mut *tx, actor.audit("campaign.test_send", "campaign", id, None, Some(after))).await?;
    tx.commit().await?;
    Ok(TestSend { to: member.email, subject, rendered })
}

pub async fn audience(ctx: &AppContext, id: Uuid) -> Result<AudiencePreview> {
    let c = get(ctx, id).await?;
    let mut conn = ctx.db.acquire().await?;
    let r = audience::resolve(&mut conn, &c).await?;
    Ok(AudiencePreview::from(&r))
}

/// What one venue's contact would read.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rendered {
    pub venue_id: Uuid,
    pub contact_name: String,
    pub channel: Option<Channel>,
    pub text: String,
    /// The WhatsApp template's parameters as this contact would get them.
    pub whatsapp_params: Vec<String>,
}

pub(crate) fn render(c: &Campaign, ctx: &RenderContext<'_>) -> Result<(String, Vec<String>)> {
    let t = MessageTemplate::parse(&c.message_template)?;
    let params = c.whatsapp_template.as_ref().map(|w| w.params.iter().map(|p| p.render(ctx)).collect());
    Ok((t.render(ctx), params.unwrap_or_default()))
}

/// The message rendered for a venue of the audience, for its first contact the campaign
/// would reach (or as a placeholder contact when it has none).
pub async fn preview(ctx: &AppContext, id: Uuid, venue_id: Uuid) -> Result<Rendered> {
    let c = get(ctx, id).await?;
    // A venue_id naming no live venue is a bad field (422), not a missing campaign (404).
    let venue =
        store::audience_venues(&ctx.db, &[venue_id], None).await?.into_iter().next().ok_or_else(|| {
            Error::Invalid(Invalid::one("venue_id", "must name a venue that exists and is not archived"))
        })?;
    let contacts = store::audience_contacts(&ctx.db, &[venue_id], &c.contacts, c.kind.is_promotional()).await?;
    let chosen = contacts.iter().find_map(|ct| {
        c.channel.pick(ct.channel, &c.channel_fallback, |ch| ct.address(ch).is_some()).map(|ch| (ct, ch))
    });
    let (contact_name, role, channel) = match chosen {
        Some((ct, ch)) => (ct.name.clone(), ct.role.clone(), Some(ch)),
        None => ("(contact)".to_owned(), None, None),
    };
    let rc = RenderContext {
        venue_name: &venue.name,
        venue_brand: venue.brand.as_deref(),
        venue_country: venue.country.as_deref(),
        contact_name: &contact_name,
        contact_role: role.as_deref(),
        zone_count: venue.zone_count,
        campaign_name: &c.name,
    };
    let (text, whatsapp_params) = render(&c, &rc)?;
    Ok(Rendered { venue_id, contact_name, channel, text, whatsapp_params })
}

/// Recipients counted by funnel stage.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Funnel {
    pub queued: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub replied: i64,
    pub failed: i64,
    pub opted_out: i64,
    pub skipped: i64,
}

impl Funnel {
    pub(crate) fn add(&mut self, status: RecipientStatus, n: i64) {
        let slot = match status {
            RecipientStatus::Queued => &mut self.queued,
            RecipientStatus::Sent => &mut self.sent,
            RecipientStatus::Delivered => &mut self.delivered,
            RecipientStatus::Read => &mut self.read,
            RecipientStatus::Replied => &mut self.replied,
            RecipientStatus::Failed => &mut self.failed,
            RecipientStatus::OptedOut => &mut self.opted_out,
            RecipientStatus::Skipped => &mut self.skipped,
        };
        *slot += n;
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelFunnel {
    /// `null` for venues no channel reached.
    pub channel: Option<Channel>,
    pub funnel: Funnel,
}

/// Shares (0–1): `sent` and `opted_out` of all recipients, the others of the recipients handed
/// to a channel; `null` when there is nothing to divide by. A recipient counts in its stage and
/// every stage before it (one that read was also delivered).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rates {
    pub sent: Option<f64>,
    pub delivered: Option<f64>,
    pub read: Option<f64>,
    pub replied: Option<f64>,
    pub failed: Option<f64>,
    pub opted_out: Option<f64>,
}

impl Funnel {
    /// Every recipient, whatever its stage.
    pub fn recipients(&self) -> i64 {
        self.queued + self.handed() + self.opted_out + self.skipped
    }

    /// Recipients handed to a channel.
    pub fn handed(&self) -> i64 {
        self.sent + self.delivered + self.read + self.replied + self.failed
    }
}

impl Rates {
    pub fn of(f: &Funnel) -> Self {
        let (all, handed) = (f.recipients(), f.handed());
        let of_all = |n: i64| (all > 0).then(|| n as f64 / all as f64);
        let of_handed = |n: i64| (handed > 0).then(|| n as f64 / handed as f64);
        Rates {
            sent: of_all(handed),
            delivered: of_handed(f.delivered + f.read + f.replied),
            read: of_handed(f.read + f.replied),
            replied: of_handed(f.replied),
            failed: of_handed(f.failed),
            opted_out: of_all(f.opted_out),
        }
    }
}

/// The funnel of the venues sharing a country or a brand (`null`: venues without one).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupFunnel {
    pub key: Option<String>,
    pub funnel: Funnel,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Analytics {
    pub campaign_id: Uuid,
    pub status: CampaignStatus,
    pub recipients: i64,
    pub funnel: Funnel,
    pub by_channel: Vec<ChannelFunnel>,
    pub by_country: Vec<GroupFunnel>,
    pub by_brand: Vec<GroupFunnel>,
    pub rates: Rates,
    /// By the hour the messages were handed to their channels.
    pub timeline: Vec<store::TimelineRow>,
}

fn grouped(rows: Vec<store::GroupRow>) -> Vec<GroupFunnel> {
    let mut out: Vec<GroupFunnel> = Vec::new();
    for r in rows {
        match out.iter_mut().find(|g| g.key == r.key) {
            Some(g) => g.funnel.add(r.status, r.count),
            None => {
                let mut funnel = Funnel::default();
                funnel.add(r.status, r.count);
                out.push(GroupFunnel { key: r.key, funnel });
            }
        }
    }
    out
}

pub async fn analytics(ctx: &AppContext, id: Uuid) -> Result<Analytics> {
    let c = get(ctx, id).await?;
    let rows = store::funnel(&ctx.db, id).await?;
    let mut total = Funnel::default();
    let mut by_channel: Vec<ChannelFunnel> = Vec::new();
    for r in &rows {
        total.add(r.status, r.count);
        match by_channel.iter_mut().find(|b| b.channel == r.channel) {
            Some(b) => b.funnel.add(r.status, r.count),
            None => {
                let mut funnel = Funnel::default();
                funnel.add(r.status, r.count);
                by_channel.push(ChannelFunnel { channel: r.channel, funnel });
            }
        }
    }
    let rates = Rates::of(&total);
    Ok(Analytics {
        campaign_id: id,
        status: c.status,
        recipients: rows.iter().map(|r| r.count).sum(),
        funnel: total,
        by_channel,
        by_country: grouped(store::funnel_by(&ctx.db, Some(id), store::Breakdown::Country).await?),
        by_brand: grouped(store::funnel_by(&ctx.db, Some(id), store::Breakdown::Brand).await?),
        rates,
        timeline: store::timeline(&ctx.db, id).await?,
    })
}

/// One group of recipients across every campaign: its key (`null`: none, e.g. campaigns
/// without a WhatsApp template), how many, their funnel and its rates.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupAnalytics {
    pub key: Option<String>,
    pub recipients: i64,
    pub funnel: Funnel,
    pub rates: Rates,
}

/// Every campaign's recipients compared by `group`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnalyticsAcross {
    pub group: store::Breakdown,
    pub groups: Vec<GroupAnalytics>,
}

/// The funnel of all campaigns' recipients, grouped by template, country, brand or channel.
pub async fn analytics_across(ctx: &AppContext, group: store::Breakdown) -> Result<AnalyticsAcross> {
    let rows = store::funnel_by(&ctx.read_db, None, group).await?;
    let groups = grouped(rows)
        .into_iter()
        .map(|g| GroupAnalytics {
            key: g.key,
            recipients: g.funnel.recipients(),
            rates: Rates::of(&g.funnel),
            funnel: g.funnel,
        })
        .collect();
    Ok(AnalyticsAcross { group, groups })
}

pub async fn recipients(ctx: &AppContext, id: Uuid, limit: i64, offset: i64) -> Result<Vec<store::Recipient>> {
    get(ctx, id).await?;
    Ok(store::recipients(&ctx.db, id, limit, offset).await?)
}

/// Every recipient with its stage, as CSV (venue, contact, channel, status, error).
pub async fn recipients_csv(ctx: &AppContext, id: Uuid) -> Result<String> {
    get(ctx, id).await?;
    let rows = store::recipients(&ctx.db, id, i64::MAX, 0).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| Error::Internal(e.into());
    w.write_record(["venue_id", "venue", "contact", "channel", "status", "message_id", "error"]).map_err(csv_err)?;
    for r in rows {
        w.write_record([
            r.venue_id.to_string(),
            r.venue_name,
            r.contact_name.unwrap_or_default(),
            r.channel.map(|c| c.as_str().to_owned()).unwrap_or_default(),
            r.status.as_str().to_owned(),
            r.message_id.map(|m| m.to_string()).unwrap_or_default(),
            r.error.unwrap_or_default(),
        ])
        .map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Internal(anyhow::anyhow!("csv: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(e.into()))
}

/// The opt-out keyword an inbound text is, if any: a bare "stop" counts only while the
/// conversation's latest outbound message is a campaign's, within its reply window.
pub async fn opt_reply_of(
    db: &mut sqlx::PgConnection,
    conversation_id: Uuid,
    text: &str,
) -> Result<Option<bma_domain::campaign::OptReply>> {
    use bma_domain::campaign::OptReply;
    if OptReply::is_bare_stop(text) {
        return Ok(if store::answers_campaign(&mut *db, conversation_id).await? { Some(OptReply::Stop) } else { None });
    }
    Ok(OptReply::of(text))
}

/// A contact replied STOP or START (English or Thai): their promotional opt-out is set or
/// cleared, and they are told so on the same conversation.
pub async fn opt_reply(
    ctx: &AppContext,
    db: &mut sqlx::PgConnection,
    conversation_id: Uuid,
    contact_id: Uuid,
    reply: bma_domain::campaign::OptReply,
    text: &str,
) -> Result<()> {
    let stop = reply == bma_domain::campaign::OptReply::Stop;
    store::set_promotions_opt_out(&mut *db, contact_id, stop).await?;
    let body = crate::messaging::outbound::OutboundBody::Text { text: reply.confirmation(text).to_owned() };
    crate::messaging::outbound::queue(ctx, db, conversation_id, crate::messaging::outbound::Author::System, &body)
        .await?;
    Ok(())
}
