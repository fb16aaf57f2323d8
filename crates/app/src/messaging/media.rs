//! Media a venue sent (photos of a player's screen, invoices) is fetched by a job right after
//! the webhook and kept: WhatsApp's download URLs live five minutes and LINE's content is not
//! kept forever.

use crate::AppContext;
use crate::jobs::JobHandler;
use async_trait::async_trait;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
struct Payload {
    message_id: Uuid,
    channel: String,
    media_id: String,
}

pub struct FetchMedia;

#[async_trait]
impl JobHandler for FetchMedia {
    async fn run(&self, ctx: &AppContext, payload: serde_json::Value) -> anyhow::Result<()> {
        let p: Payload = serde_json::from_value(payload)?;
        let (bytes, mime) = match p.channel.as_str() {
            "whatsapp" => {
                let client =
                    ctx.channels.whatsapp.as_ref().ok_or_else(|| anyhow::anyhow!("WhatsApp is not configured"))?;
                client.download_media(&p.media_id).await?
            }
            "line" => {
                let client = ctx.channels.line.as_ref().ok_or_else(|| anyhow::anyhow!("LINE is not configured"))?;
                client.content(&p.media_id).await?
            }
            other => anyhow::bail!("no media download for channel {other}"),
        };
        bma_store::messaging::store_media(&ctx.db, p.message_id, &mime, &bytes).await?;
        tracing::info!(message_id = %p.message_id, bytes = bytes.len(), "media kept");
        Ok(())
    }
}
