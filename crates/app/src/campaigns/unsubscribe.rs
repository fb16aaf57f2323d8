//! One-click unsubscribe from campaign emails (RFC 8058). Each campaign email carries
//! `List-Unsubscribe: <{PUBLIC_URL}/api/v1/unsubscribe/{token}>, <mailto:…>` and
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click`; the token is signed and names the
//! contact and the campaign's kind. A POST to the URL sets the contact's opt-out for that kind
//! (promotions for marketing and holiday, service campaigns for service) and later campaigns of
//! the kind skip them; a GET only says what a POST would do. A forged or damaged token is
//! refused and nothing changes.

use crate::security::unsubscribe as token;
use crate::services::Actor;
use crate::{AppContext, Error, Result};
use bma_domain::campaign::CampaignType;
use bma_integrations::email::ListUnsubscribe;
use bma_store::audit;
use serde::Serialize;
use uuid::Uuid;

/// The unsubscribe URL and mailto of `contact` for campaigns of `kind`.
pub fn link(ctx: &AppContext, contact: Uuid, kind: CampaignType) -> ListUnsubscribe {
    let t = token::token(&ctx.config.data_encryption_key, contact, kind);
    let url = format!("{}/api/v1/unsubscribe/{t}", ctx.config.public_url.trim_end_matches('/'));
    let from = ctx.config.smtp.as_ref().map(|s| s.from.as_str()).unwrap_or("unsubscribe@bma-social.local");
    let address = from.rsplit_once('<').map_or(from, |(_, a)| a.trim_end_matches('>')).trim();
    ListUnsubscribe { url, mailto: format!("mailto:{address}?subject=unsubscribe%20{t}") }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The HTML part of a campaign email: the text in paragraphs, then the unsubscribe link.
pub fn html(text: &str, unsubscribe_url: &str) -> String {
    let paragraphs: String = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>\n", escape(p).replace('\n', "<br>")))
        .collect();
    format!(
        "<!doctype html>\n<html><body>\n{paragraphs}<hr>\n<p style=\"font-size:small\"><a href=\"{}\">Unsubscribe</a></p>\n</body></html>\n",
        escape(unsubscribe_url)
    )
}

/// What an unsubscribe link does (GET) or did (POST).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Unsubscribe {
    /// The kind of campaign the link stops.
    pub kind: CampaignType,
    /// Whether the opt-out is now recorded (always `false` for a GET).
    pub unsubscribed: bool,
    pub message: String,
}

fn checked(ctx: &AppContext, t: &str) -> Result<(Uuid, CampaignType)> {
    // A forged or damaged token names no link: as unknown as a link that never existed.
    token::verify(&ctx.config.data_encryption_key, t).ok_or(crate::Error::NotFound("unsubscribe link"))
}

fn what(kind: CampaignType) -> &'static str {
    if kind.is_promotional() { "promotional messages" } else { "service campaigns" }
}

/// What a POST of the link would do; changes nothing.
pub fn peek(ctx: &AppContext, t: &str) -> Result<Unsubscribe> {
    let (_, kind) = checked(ctx, t)?;
    Ok(Unsubscribe {
        kind,
        unsubscribed: false,
        message: format!("Confirm (POST this URL) to stop receiving {} from BMA by email.", what(kind)),
    })
}

/// Records the opt-out the link names, audited.
pub async fn confirm(ctx: &AppContext, t: &str) -> Result<Unsubscribe> {
    let (contact, kind) = checked(ctx, t)?;
    let mut tx = ctx.db.begin().await?;
    if !bma_store::campaigns::unsubscribe(&mut *tx, contact, kind).await? {
        return Err(Error::NotFound("contact"));
    }
    let after = serde_json::json!({"kind": kind, "via": "email unsubscribe link"});
    let system = Actor::member(None, None, None);
    audit::record(&mut *tx, system.audit("contact.unsubscribe", "venue_contact", contact, None, Some(after))).await?;
    tx.commit().await?;
    Ok(Unsubscribe {
        kind,
        unsubscribed: true,
        message: format!("You will no longer receive {} from BMA.", what(kind)),
    })
}
