//! The LINE Messaging API (v2): webhook bodies parsed into channel-neutral inbound items, and a
//! client for replies, pushes with retry keys, message content, profiles and rich menus. The
//! faithful fake in `bma_fakes::line` speaks the same wire format for tests and the demo.

mod client;
mod messages;
mod png;
mod richmenu;
mod webhook;

pub use client::{ErrorDetail, LineClient, LineSettings, Profile, PushOutcome, SendError};
pub use messages::{
    LineMessage, MAX_LABEL_CHARS, MAX_MESSAGES, MAX_POSTBACK_DATA_CHARS, MAX_QUICK_REPLIES, MAX_TEXT_CHARS,
    QuickAction, QuickReply,
};
pub use richmenu::{RichMenu, RichMenuArea};
pub use webhook::{WebhookError, parse_webhook};

/// Checks `x-line-signature` over the raw body with the channel secret.
pub fn verify_signature(channel_secret: &str, header: Option<&str>, body: &[u8]) -> bool {
    crate::signature::verify_base64_sha256(channel_secret.as_bytes(), header, body)
}
