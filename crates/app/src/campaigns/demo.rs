//! The demo's campaigns, so a newcomer sees both ends of the feature at once: a sent service
//! notice whose funnel fills as the fake channels report delivery and reads, and a draft
//! holiday greeting to look at, preview and send.

use super::draft::{CampaignInput, WhatsappTemplateInput};
use super::{create, send};
use crate::services::Actor;
use crate::{AppContext, Result};
use bma_store::campaigns as store;
use uuid::Uuid;

/// Creates the two demo campaigns unless any campaign exists; returns their ids (sent, draft).
pub async fn ensure(ctx: &AppContext, manager: Uuid) -> Result<Option<(Uuid, Uuid)>> {
    if store::list(&ctx.db, None, 1, 0).await?.1 > 0 {
        return Ok(None);
    }
    let venues = store::demo_venues(&ctx.db, 12).await?;
    if venues.is_empty() {
        return Ok(None);
    }
    let actor = Actor::member(Some(manager), None, None);
    let notice = CampaignInput {
        name: "Maintenance window tonight".into(),
        kind: "service".into(),
        channel: "preferred".into(),
        channel_fallback: vec!["whatsapp".into(), "line".into(), "email".into()],
        target_venues: venues.clone(),
        audience_filter: None,
        contacts: Some("staff".into()),
        message_template: "Hello {{contact.name}}, we will update the players of {{venue.name}}'s {{zone.count}} \
                           zones tonight between 02:00 and 03:00. The music continues throughout."
            .into(),
        whatsapp_template: Some(WhatsappTemplateInput {
            name: "conversation_reopen".into(),
            language: "en_US".into(),
            params: vec![],
        }),
        reply_window_hours: Some(72),
        scheduled_at: None,
        send_at_local: None,
        quiet_hours: None,
    };
    let sent = create(ctx, &actor, &notice).await?;
    send::start(ctx, &actor, sent.id).await?;
    let greeting = CampaignInput {
        name: "Songkran greetings".into(),
        kind: "holiday".into(),
        message_template: "สวัสดีปีใหม่ไทย {{contact.name}}! Happy Songkran from all of us at BMA to the team at \
                           {{venue.name}}."
            .into(),
        ..notice
    };
    let draft = create(ctx, &actor, &greeting).await?;
    Ok(Some((sent.id, draft.id)))
}
