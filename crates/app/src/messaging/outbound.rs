//! Sending to venues. A message is stored with what to send and a job in one transaction; the
//! job calls the channel once. Before the call the message is marked `sending` and committed, so
//! a worker that dies mid-call leaves a trace: a LINE push is repeated under the same
//! `X-Line-Retry-Key` (LINE executes it once), while a WhatsApp or email send whose outcome is
//! unknown is never repeated — it is marked failed for a person to check, so no venue gets a
//! message twice and none is silently lost.

use crate::jobs::tasks::SendMessageJob;
use crate::jobs::{self, Handler};
use crate::{AppContext, Error, Result};
use async_trait::async_trait;
use bma_domain::contact::{Channel, LineUserId, PhoneNumber};
use bma_domain::messaging::{DeliveryStatus, Direction, MessageKind, SendMethod, SenderType, ServiceWindow};
use bma_integrations::email::OutgoingEmail;
use bma_integrations::line::{LineMessage, QuickAction, QuickReply};
use bma_integrations::whatsapp::Outbound;
use bma_store::messaging::{self as store, Outgoing};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// What we send, independent of the channel; stored on the message and turned into an API call
/// by the send job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundBody {
    Text {
        text: String,
    },
    /// An approved WhatsApp template (the only thing allowed outside the 24-hour window).
    Template {
        name: String,
        language: String,
        #[serde(default)]
        params: Vec<String>,
        /// Payloads of the template's quick-reply buttons.
        #[serde(default)]
        quick_replies: Vec<String>,
        /// What the message says, for the inbox and for channels without templates.
        text: String,
    },
    /// A question with buttons: WhatsApp reply buttons (≤3) or a list, LINE quick replies, a
    /// numbered list by email.
    Choices {
        text: String,
        choices: Vec<Choice>,
    },
    Image {
        url: String,
        caption: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub id: String,
    pub title: String,
}

impl OutboundBody {
    pub fn preview(&self) -> String {
        match self {
            OutboundBody::Text { text } | OutboundBody::Template { text, .. } => text.clone(),
            OutboundBody::Choices { text, choices } => {
                let list: Vec<&str> = choices.iter().map(|c| c.title.as_str()).collect();
                format!("{text} [{}]", list.join(" | "))
            }
            OutboundBody::Image { url, caption } => match caption {
                Some(c) => format!("[image] {c}"),
                None => format!("[image] {url}"),
            },
        }
    }

    fn kind(&self) -> MessageKind {
        match self {
            OutboundBody::Text { .. } => MessageKind::Text,
            OutboundBody::Template { .. } => MessageKind::Template,
            OutboundBody::Choices { .. } => MessageKind::Choice,
            OutboundBody::Image { .. } => MessageKind::Media,
        }
    }

    pub fn is_template(&self) -> bool {
        matches!(self, OutboundBody::Template { .. })
    }

    fn to_whatsapp(&self) -> Outbound {
        match self.clone() {
            OutboundBody::Text { text } => Outbound::Text { body: text },
            OutboundBody::Template { name, language, params, quick_replies, .. } => {
                Outbound::Template { name, language, body_params: params, quick_replies }
            }
            OutboundBody::Choices { text, choices } if choices.len() <= 3 => {
                Outbound::Buttons { body: text, buttons: choices.into_iter().map(|c| (c.id, c.title)).collect() }
            }
            OutboundBody::Choices { text, choices } => Outbound::List {
                body: text,
                button: "Choose".into(),
                rows: choices.into_iter().map(|c| (c.id, c.title, None)).collect(),
            },
            OutboundBody::Image { url, caption } => Outbound::Image { link: url, caption },
        }
    }

    pub(crate) fn to_line(&self) -> LineMessage {
        match self.clone() {
            OutboundBody::Text { text } | OutboundBody::Template { text, .. } => LineMessage::text(text),
            OutboundBody::Choices { text, choices } => LineMessage::Text {
                text,
                quick_replies: choices
                    .into_iter()
                    .map(|c| QuickReply {
                        label: c.title.chars().take(20).collect(),
                        action: QuickAction::Postback { data: c.id, display_text: Some(c.title) },
                    })
                    .collect(),
            },
            OutboundBody::Image { url, .. } => LineMessage::Image { original_url: url.clone(), preview_url: url },
        }
    }

    fn to_email_text(&self) -> String {
        match self {
            OutboundBody::Choices { text, choices } => {
                let mut out = format!("{text}\n\n");
                for c in choices {
                    out.push_str(&format!("- {}\n", c.title));
                }
                out.push_str("\nReply to this email with your answer.");
                out
            }
            other => other.preview(),
        }
    }
}

/// Who is sending.
#[derive(Debug, Clone, Copy)]
pub enum Author {
    Member(Uuid),
    Bot,
    System,
}

impl Author {
    fn sender_type(self) -> SenderType {
        match self {
            Author::Member(_) => SenderType::Team,
            Author::Bot => SenderType::Bot,
            Author::System => SenderType::System,
        }
    }

    fn member(self) -> Option<Uuid> {
        match self {
            Author::Member(id) => Some(id),
            _ => None,
        }
    }
}

/// Where a conversation's messages go, read for queueing.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Target {
    channel: Channel,
    last_inbound_at: Option<OffsetDateTime>,
}

/// Stores an outbound message and its send job in the caller's transaction. A free-form
/// WhatsApp message outside the 24-hour window is refused here, with the templates to use.
pub async fn queue(
    ctx: &AppContext,
    db: &mut PgConnection,
    conversation_id: Uuid,
    author: Author,
    body: &OutboundBody,
) -> Result<Uuid> {
    let (message_id, channel) = stage(ctx, db, conversation_id, author, body).await?;
    let job = SendMessageJob { message_id, channel };
    jobs::enqueue(ctx, &mut *db, &job, jobs::Options::default()).await?;
    Ok(message_id)
}

/// Stores an outbound message, `queued`, with no send job: the caller sends it another way
/// (a campaign's LINE multicast) and records the outcome with [`settle`].
pub async fn stage(
    ctx: &AppContext,
    db: &mut PgConnection,
    conversation_id: Uuid,
    author: Author,
    body: &OutboundBody,
) -> Result<(Uuid, Channel)> {
    let target: Target = sqlx::query_as("SELECT channel, last_inbound_at FROM conversations WHERE id = $1 FOR UPDATE")
        .bind(conversation_id)
        .fetch_optional(&mut *db)
        .await?
        .ok_or(Error::NotFound("conversation"))?;
    if target.channel == Channel::Whatsapp
        && !body.is_template()
        && !ServiceWindow::at(target.last_inbound_at, OffsetDateTime::now_utc()).is_open()
    {
        return Err(Error::conflict(
            "whatsapp_window_closed",
            "More than 24 hours have passed since this venue last wrote on WhatsApp, so only an approved \
             template can be sent (see GET /api/v1/messaging/templates).",
        ));
    }
    if body.is_template() && target.channel != Channel::Whatsapp {
        return Err(Error::Invalid(bma_domain::Invalid::one("template", "templates exist only on WhatsApp")));
    }
    let external_id = (target.channel == Channel::Email).then(|| email_message_id(ctx));
    let preview = body.preview();
    let inserted = store::insert_message(
        &mut *db,
        store::NewMessage {
            conversation_id,
            channel: Some(target.channel),
            external_id: external_id.as_deref(),
            direction: Direction::Out,
            sender_type: author.sender_type(),
            kind: body.kind(),
            content: &preview,
            metadata: json!({}),
            author_id: author.member(),
            outbound: Some(json!(body)),
            created_at: None,
        },
    )
    .await?
    .ok_or_else(|| Error::Internal(anyhow::anyhow!("outbound message id collided")))?;
    // A notice or a survey is not an answer to the venue; only people and the bot reply.
    if !matches!(author, Author::System) {
        store::note_reply(&mut *db, conversation_id, matches!(author, Author::Member(_))).await?;
    }
    Ok((inserted, target.channel))
}

/// A private note: stored on the conversation, never sent.
pub async fn note(
    db: &mut PgConnection,
    conversation_id: Uuid,
    author: Option<Uuid>,
    sender_type: SenderType,
    text: &str,
) -> Result<Uuid> {
    store::insert_message(
        &mut *db,
        store::NewMessage {
            conversation_id,
            channel: None,
            external_id: None,
            direction: Direction::Note,
            sender_type,
            kind: MessageKind::Note,
            content: text,
            metadata: json!({}),
            author_id: author,
            outbound: None,
            created_at: None,
        },
    )
    .await?
    .ok_or_else(|| Error::Internal(anyhow::anyhow!("note not stored")))
}

fn email_message_id(ctx: &AppContext) -> String {
    let domain = ctx
        .config
        .smtp
        .as_ref()
        .and_then(|s| s.from.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>').to_owned()))
        .unwrap_or_else(|| "bma-social.local".into());
    format!("<{}@{domain}>", bma_domain::ids::new_id().simple())
}

/// How long a LINE reply token is worth trying (LINE guarantees a minute).
const REPLY_TOKEN_MAX_AGE: time::Duration = time::Duration::seconds(50);

/// The job that sends one outbound message.
pub struct SendMessage;

enum Sent {
    Done(Option<String>),
    /// The channel's rate limit answered; nothing went out. Try again after the pause, without
    /// counting an attempt.
    Defer(std::time::Duration, Value),
    /// Nothing reached the venue; try again later.
    Retry(Value),
    /// It will never go out; a person should look.
    Failed(Value),
    /// We cannot know whether it went out; it is not repeated.
    Unknown(Value),
}

#[async_trait]
impl Handler for SendMessage {
    type Job = SendMessageJob;

    async fn run(
        &self,
        ctx: &AppContext,
        SendMessageJob { message_id, channel }: SendMessageJob,
    ) -> anyhow::Result<()> {
        let slot = pace(ctx, channel).await?;
        let mut tx = ctx.db.begin().await?;
        let Some(out) = store::outgoing_for_update(&mut *tx, message_id).await? else {
            return Ok(());
        };
        let mut reply_token = None;
        let method = match (out.delivery_status, out.channel, out.send_method) {
            (Some(DeliveryStatus::Queued), Channel::Line, _) => {
                reply_token = store::take_reply_token(&mut *tx, out.conversation_id, REPLY_TOKEN_MAX_AGE).await?;
                if reply_token.is_some() { SendMethod::Reply } else { SendMethod::Push }
            }
            (Some(DeliveryStatus::Queued), Channel::Whatsapp, _) => SendMethod::Api,
            (Some(DeliveryStatus::Queued), Channel::Email, _) => SendMethod::Smtp,
            (Some(DeliveryStatus::Sending), Channel::Line, Some(SendMethod::Push)) => SendMethod::Push,
            (Some(DeliveryStatus::Sending), _, _) => {
                let err = json!({"code": "outcome_unknown", "title": "The worker stopped while sending; it was not \
                    sent again to avoid a duplicate. Check with the venue and resend if needed."});
                store::mark_failed(&mut *tx, out.id, &err).await?;
                note(
                    &mut tx,
                    out.conversation_id,
                    None,
                    SenderType::System,
                    "A message may not have been delivered (the sender stopped mid-send). It was not repeated.",
                )
                .await?;
                tx.commit().await?;
                tracing::warn!(message_id = %out.id, "send outcome unknown after a worker stopped; not repeated");
                return Ok(());
            }
            _ => return Ok(()),
        };
        store::mark_sending(&mut *tx, out.id, method).await?;
        tx.commit().await?;
        // The call leaves at its slot, however long the database took (within PACE_LEAD).
        if let Some(p) = &slot {
            leave_at_slot(ctx, p).await;
        }

        let outcome = match out.channel {
            Channel::Whatsapp => send_whatsapp(ctx, &out).await,
            Channel::Line => send_line(ctx, &out, reply_token).await,
            Channel::Email => send_email(ctx, &out).await,
        };
        let definitely_failed = matches!(outcome, Sent::Failed(_));
        match outcome {
            Sent::Done(external_id) => {
                store::mark_sent(&ctx.db, out.id, external_id.as_deref()).await?;
                crate::cache::bump_after_write(ctx, &[crate::cache::CAMPAIGNS]).await;
                metrics::counter!("messages_outbound_total", "channel" => out.channel.as_str()).increment(1);
                Ok(())
            }
            Sent::Defer(after, err) => {
                store::mark_queued(&ctx.db, out.id, &err).await?;
                Err(crate::jobs::Deferred { after, reason: err.to_string() }.into())
            }
            Sent::Retry(err) => {
                store::mark_queued(&ctx.db, out.id, &err).await?;
                anyhow::bail!("send failed, will retry: {err}")
            }
            Sent::Failed(err) | Sent::Unknown(err) => {
                record_failure(ctx, out.id, out.conversation_id, &err, definitely_failed).await?;
                Ok(())
            }
        }
    }
}

/// A message that will not go out, or may not have: marked failed and noted on its
/// conversation; when it `certainly` did not go out, a campaign may try the contact's next
/// channel.
pub(crate) async fn record_failure(
    ctx: &AppContext,
    message_id: Uuid,
    conversation_id: Uuid,
    err: &Value,
    certainly: bool,
) -> anyhow::Result<()> {
    store::mark_failed(&ctx.db, message_id, err).await?;
    crate::cache::bump_after_write(ctx, &[crate::cache::CAMPAIGNS]).await;
    if certainly {
        let mut tx = ctx.db.begin().await?;
        crate::campaigns::send::on_failed(ctx, &mut tx, message_id, &err.to_string()).await?;
        tx.commit().await?;
    }
    let mut conn = ctx.db.acquire().await?;
    note(&mut conn, conversation_id, None, SenderType::System, &format!("Message not delivered: {err}")).await?;
    Ok(())
}

/// Room left below the configured rate, so that a send reaching the provider a few
/// milliseconds late after one that was early never puts `rate` + 1 into its one-second count.
const PACE_HEADROOM: f64 = 0.05;
/// A send further than this from its slot is deferred rather than held by a waiting worker.
const PACE_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// How long before its slot a send starts its database work (lock, mark `sending`, commit), so
/// that the provider call itself leaves at the slot: the database's jitter does not reach the
/// provider's count. The price: a worker killed in those last milliseconds leaves a send
/// flagged "outcome unknown" that never went out.
const PACE_LEAD: std::time::Duration = std::time::Duration::from_millis(100);

/// The pace of one sender: the spacing between its sends at `per_second`, less the headroom.
pub fn pace_interval(per_second: u32) -> std::time::Duration {
    std::time::Duration::from_secs_f64((1.0 + PACE_HEADROOM) / f64::from(per_second.max(1)))
}

/// A sender's pace: its key in the shared store, its rate, and when this send's slot comes.
struct Paced {
    key: String,
    per_second: u32,
    at: tokio::time::Instant,
}

/// Keeps our own sends under each sender's throughput (WhatsApp: per business phone number;
/// LINE: per channel), so the provider's limit is not what stops us. Every worker reserves its
/// slot from one GCRA pace in the shared store and waits until `PACE_LEAD` before it; one too
/// far off is deferred without spending an attempt (and without holding a slot). `None`: the
/// channel is unpaced.
async fn pace(ctx: &AppContext, channel: Channel) -> anyhow::Result<Option<Paced>> {
    let m = &ctx.config.messaging;
    let (per_second, key) = match channel {
        Channel::Whatsapp => (
            m.whatsapp_messages_per_second,
            format!("pace:whatsapp:{}", m.whatsapp_phone_number_id.as_deref().unwrap_or("-")),
        ),
        Channel::Line => (m.line_messages_per_second, "pace:line".to_owned()),
        Channel::Email => return Ok(None),
    };
    let slot = ctx.kv.limiter.reserve(&key, pace_interval(per_second), PACE_MAX_WAIT).await?;
    if !slot.granted {
        return Err(crate::jobs::Deferred {
            after: slot.wait.saturating_sub(PACE_MAX_WAIT / 2).max(std::time::Duration::from_millis(50)),
            reason: "sender pace".into(),
        }
        .into());
    }
    let at = tokio::time::Instant::now() + slot.wait;
    if let Some(wait) = slot.wait.checked_sub(PACE_LEAD) {
        tokio::time::sleep(wait).await;
    }
    Ok(Some(Paced { key, per_second, at }))
}

/// The provider's one-second window, widened by the pace's headroom: calls our check let through
/// may reach the provider's count up to 50 ms closer together than they left (a busy machine, the
/// network) and still not make `per_second` + 1 in its second. At the pace this seldom holds a
/// call back; after a stall it spreads the late ones out.
const CALL_WINDOW: std::time::Duration = std::time::Duration::from_millis(1_050);

/// Waits for the slot, then until the sender's last second of calls (as they actually left, by
/// every worker) has room: a send that left late, held up by a busy machine, would otherwise
/// let the sends after it reach the provider more than `per_second` within one second. The send
/// is already marked `sending`, so a store that cannot answer does not stop it (the slot paced it).
async fn leave_at_slot(ctx: &AppContext, p: &Paced) {
    tokio::time::sleep_until(p.at).await;
    let key = format!("{}:calls", p.key);
    loop {
        match ctx.kv.limiter.admit(&key, p.per_second.max(1), CALL_WINDOW).await {
            Ok(None) => return,
            Ok(Some(wait)) => {
                metrics::counter!("send_pace_held_total").increment(1);
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "sender's call window unavailable; sending at the slot");
                return;
            }
        }
    }
}

pub(crate) fn body_of(out: &Outgoing) -> OutboundBody {
    out.outbound
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_else(|| OutboundBody::Text { text: out.content.clone() })
}

async fn send_whatsapp(ctx: &AppContext, out: &Outgoing) -> Sent {
    let Some(client) = ctx.channels.whatsapp.as_ref() else {
        return Sent::Retry(json!({"code": "not_configured", "title": "WhatsApp is not configured"}));
    };
    let body = body_of(out);
    if !body.is_template() && !ServiceWindow::at(out.last_inbound_at, OffsetDateTime::now_utc()).is_open() {
        return Sent::Failed(
            json!({"code": "131047", "title": "The 24-hour window closed before it was sent; use a template."}),
        );
    }
    let to = match PhoneNumber::parse(&out.address) {
        Ok(p) => p,
        Err(_) => return Sent::Failed(json!({"code": "bad_address", "title": "not a phone number"})),
    };
    match client.send(&to, &body.to_whatsapp(), &out.id.to_string()).await {
        Ok(wamid) => Sent::Done(Some(wamid)),
        Err(e) => {
            let err = json!({"code": e.code(), "title": e.to_string()});
            if matches!(e, bma_integrations::whatsapp::SendError::Timeout) {
                Sent::Unknown(err)
            } else if let (true, Some(after)) = (e.is_retryable(), e.retry_after()) {
                Sent::Defer(after, err)
            } else if e.is_retryable() {
                Sent::Retry(err)
            } else {
                Sent::Failed(err)
            }
        }
    }
}

async fn send_line(ctx: &AppContext, out: &Outgoing, reply_token: Option<String>) -> Sent {
    let Some(client) = ctx.channels.line.as_ref() else {
        return Sent::Retry(json!({"code": "not_configured", "title": "LINE is not configured"}));
    };
    let to = match LineUserId::parse(&out.address) {
        Ok(u) => u,
        Err(_) => return Sent::Failed(json!({"code": "bad_address", "title": "not a LINE user id"})),
    };
    let messages = [body_of(out).to_line()];
    let retry_key = out.retry_key.unwrap_or(out.id);
    if let Some(token) = reply_token {
        match client.reply(&token, &messages).await {
            Ok(ids) => return Sent::Done(ids.into_iter().next()),
            Err(e) if e.is_invalid_reply_token() => {}
            Err(e) if e.is_retryable() => return Sent::Unknown(json!({"code": e.code(), "title": e.to_string()})),
            Err(e) => return Sent::Failed(json!({"code": e.code(), "title": e.to_string()})),
        }
        if let Err(e) = store::mark_sending(&ctx.db, out.id, SendMethod::Push).await {
            return Sent::Retry(json!({"code": "database", "title": e.to_string()}));
        }
    }
    match client.push(&to, &messages, retry_key).await {
        Ok(o) => Sent::Done(o.sent_ids.into_iter().next()),
        Err(e @ bma_integrations::line::SendError::RateLimited { .. }) => {
            Sent::Defer(std::time::Duration::from_secs(1), json!({"code": e.code(), "title": e.to_string()}))
        }
        Err(e) if e.is_retryable() => Sent::Retry(json!({"code": e.code(), "title": e.to_string()})),
        Err(e) => Sent::Failed(json!({"code": e.code(), "title": e.to_string()})),
    }
}

async fn send_email(ctx: &AppContext, out: &Outgoing) -> Sent {
    let references = match store::email_thread_ids(&ctx.db, out.conversation_id).await {
        Ok(ids) => ids.into_iter().filter(|i| Some(i) != out.external_id.as_ref()).collect::<Vec<_>>(),
        Err(e) => return Sent::Retry(json!({"code": "database", "title": e.to_string()})),
    };
    // A campaign's email starts its thread and carries its unsubscribe link (RFC 8058).
    let campaign = match bma_store::campaigns::email_campaign_of(&ctx.db, out.id).await {
        Ok(c) => c,
        Err(e) => return Sent::Retry(json!({"code": "database", "title": e.to_string()})),
    };
    let subject = out.subject.clone().unwrap_or_else(|| "Your message to BMA".into());
    let subject = if campaign.is_some() || subject.to_lowercase().starts_with("re:") {
        subject
    } else {
        format!("Re: {subject}")
    };
    let mut text = body_of(out).to_email_text();
    let (html, unsubscribe) = match campaign {
        Some((contact, kind)) => {
            let link = crate::campaigns::unsubscribe::link(ctx, contact, kind);
            let html = crate::campaigns::unsubscribe::html(&text, &link.url);
            text.push_str(&format!("\n\n--\nUnsubscribe: {}", link.url));
            (Some(html), Some(link))
        }
        None => (None, None),
    };
    let email = OutgoingEmail {
        to: out.address.clone(),
        subject,
        text,
        in_reply_to: references.last().cloned(),
        references,
        message_id: out.external_id.clone(),
        html,
        unsubscribe,
    };
    match ctx.mailer.send(&email).await {
        Ok(id) => Sent::Done(Some(id)),
        Err(bma_integrations::email::MailError::NotConfigured) => {
            Sent::Retry(json!({"code": "not_configured", "title": "email is not configured"}))
        }
        // SMTP refuses before DATA is accepted in practice, so a failed call sent nothing.
        Err(e) => Sent::Retry(json!({"code": "smtp", "title": e.to_string()})),
    }
}
