//! The WhatsApp Business Cloud API (Meta Graph API) adapter. It turns Meta's webhook batches into
//! the channel-neutral [`InboundItem`](bma_domain::messaging::InboundItem)s, and sends, marks read,
//! downloads media and lists templates through the Graph API, mapping Meta's error envelope to a
//! [`SendError`] that tells the job queue whether a retry can help. The Graph API version is
//! configuration (old versions expire).

mod client;
mod outbound;
mod webhook;

pub use client::{SendError, Template, WhatsappClient};
pub use outbound::Outbound;
pub use webhook::{WebhookError, parse_webhook, verify_signature, verify_subscription};

/// Where and as whom the client talks to the Graph API.
#[derive(Clone)]
pub struct WhatsappSettings {
    /// `https://graph.facebook.com`, or the fake's base URL.
    pub graph_url: String,
    /// `v23.0`; versions expire, so this is configuration.
    pub api_version: String,
    pub phone_number_id: String,
    pub business_account_id: String,
    pub access_token: String,
}

impl std::fmt::Debug for WhatsappSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsappSettings")
            .field("graph_url", &self.graph_url)
            .field("api_version", &self.api_version)
            .field("phone_number_id", &self.phone_number_id)
            .field("business_account_id", &self.business_account_id)
            .field("access_token", &"***")
            .finish()
    }
}
