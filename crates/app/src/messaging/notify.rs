//! Tells a venue's staff about its music on their own channel (WhatsApp or LINE) through the
//! same outbound path as every other message: inside WhatsApp's 24-hour window as text, outside
//! it as the approved `alert_notice` template. Email contacts hear by email from the monitor.

use super::outbound::{self, Author, OutboundBody};
use crate::{AppContext, Result};
use bma_domain::contact::Channel;
use bma_domain::messaging::{ConversationStatus, ServiceWindow};
use bma_store::messaging as store;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

pub const ALERT_TEMPLATE: &str = "alert_notice";

/// Queues `text` to every staff contact of the venue on WhatsApp or LINE who has not opted out.
/// Returns how many messages were queued.
pub async fn venue_staff(
    ctx: &AppContext,
    db: &mut PgConnection,
    venue_id: Uuid,
    venue: &str,
    text: &str,
) -> Result<usize> {
    let contacts = store::staff_on_chat(&mut *db, venue_id).await?;
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(500).collect();
    let initial = if ctx.config.messaging.bot_enabled { ConversationStatus::Pending } else { ConversationStatus::Open };
    let mut queued = 0;
    for store::ChatStaff { id: contact_id, name, channel, whatsapp_number, line_user_id } in contacts {
        let Some(address) = whatsapp_number.or(line_user_id) else { continue };
        let conv = store::upsert_conversation(
            &mut *db,
            store::NewConversation {
                channel,
                external_id: &address,
                venue_id: Some(venue_id),
                contact_id: Some(contact_id),
                contact_name: Some(&name),
                subject: None,
                reply_to: None,
                status: initial,
            },
        )
        .await?;
        let body = if channel == Channel::Whatsapp
            && !ServiceWindow::at(conv.last_inbound_at, OffsetDateTime::now_utc()).is_open()
        {
            OutboundBody::Template {
                name: ALERT_TEMPLATE.into(),
                language: "en_US".into(),
                params: vec![venue.chars().take(60).collect(), one_line.clone()],
                quick_replies: vec![],
                text: one_line.clone(),
            }
        } else {
            OutboundBody::Text { text: one_line.clone() }
        };
        outbound::queue(ctx, db, conv.id, Author::System, &body).await?;
        queued += 1;
    }
    Ok(queued)
}
