//! Messaging: one inbox for WhatsApp, LINE and email. Webhooks are stored durably (inbound),
//! replies go out through one job per message (outbound), conversations are shared out among the
//! team (assignment) and rated when closed (survey).

pub mod assignment;
pub mod conversations;
pub mod email_inbound;
pub mod inbound;
pub mod line_menu;
pub mod media;
pub mod notify;
pub mod outbound;
pub mod survey;

use crate::config::Config;
use bma_integrations::line::{LineClient, LineSettings};
use bma_integrations::whatsapp::{WhatsappClient, WhatsappSettings};

/// The channel clients, present when their credentials are configured.
#[derive(Clone, Default)]
pub struct Channels {
    pub whatsapp: Option<WhatsappClient>,
    pub line: Option<LineClient>,
}

impl Channels {
    pub fn from_config(config: &Config) -> Self {
        let m = &config.messaging;
        let whatsapp = match (&config.whatsapp_access_token, &m.whatsapp_phone_number_id) {
            (Some(token), Some(number)) => WhatsappClient::new(WhatsappSettings {
                graph_url: m.whatsapp_api_url.clone(),
                api_version: m.whatsapp_api_version.clone(),
                phone_number_id: number.clone(),
                business_account_id: m.whatsapp_business_account_id.clone().unwrap_or_default(),
                access_token: token.expose().to_owned(),
            })
            .map_err(|e| tracing::error!(error = %e, "WhatsApp client not built"))
            .ok(),
            _ => None,
        };
        let line = config.line_channel_access_token.as_ref().and_then(|token| {
            LineClient::new(LineSettings {
                api_url: m.line_api_url.clone(),
                data_url: m.line_data_url.clone(),
                channel_access_token: token.expose().to_owned(),
            })
            .map_err(|e| tracing::error!(error = %e, "LINE client not built"))
            .ok()
        });
        Self { whatsapp, line }
    }
}
