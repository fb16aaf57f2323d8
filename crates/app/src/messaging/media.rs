//! Media a venue sent (photos of a player's screen, invoices) is fetched by a job right after
//! the webhook and kept: WhatsApp's download URLs live five minutes and LINE's content is not
//! kept forever.

use crate::AppContext;
use crate::jobs::Handler;
use crate::jobs::tasks::FetchMediaJob;
use async_trait::async_trait;
use bma_domain::contact::Channel;

pub struct FetchMedia;

#[async_trait]
impl Handler for FetchMedia {
    type Job = FetchMediaJob;

    async fn run(&self, ctx: &AppContext, p: FetchMediaJob) -> anyhow::Result<()> {
        let (bytes, mime) = match p.channel {
            Channel::Whatsapp => {
                let client =
                    ctx.channels.whatsapp.as_ref().ok_or_else(|| anyhow::anyhow!("WhatsApp is not configured"))?;
                client.download_media(&p.media_id).await?
            }
            Channel::Line => {
                let client = ctx.channels.line.as_ref().ok_or_else(|| anyhow::anyhow!("LINE is not configured"))?;
                client.content(&p.media_id).await?
            }
            Channel::Email => return Err(crate::jobs::Permanent("email media arrives with the email".into()).into()),
        };
        bma_store::messaging::store_media(&ctx.db, p.message_id, &mime, &bytes).await?;
        tracing::info!(message_id = %p.message_id, bytes = bytes.len(), "media kept");
        Ok(())
    }
}
