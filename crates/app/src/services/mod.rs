//! The services behind the API. Each write takes the `Actor` and records its audit entry in the
//! same transaction as the change, so no write escapes the audit log.

pub mod auth;
pub mod control;
pub mod dashboard;
pub mod import;
pub mod jobs_admin;
pub mod status_links;
pub mod team;
pub mod uptime;
pub mod venues;

use bma_store::audit::ActorKind;
use std::net::IpAddr;
use uuid::Uuid;

/// Who is acting, from where; carried into the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub member_id: Option<Uuid>,
    pub ip: Option<IpAddr>,
    pub request_id: Option<String>,
    /// Set when the venue bot acts: the venue contact whose message it carries out.
    pub bot_for: Option<Uuid>,
}

impl Actor {
    /// A person of the team (or, with `None`, a caller not signed in) through the API.
    pub fn member(member_id: Option<Uuid>, ip: Option<IpAddr>, request_id: Option<String>) -> Self {
        Self { member_id, ip, request_id, bot_for: None }
    }

    /// The venue bot, acting on the request of venue contact `contact_id`.
    pub fn bot(contact_id: Uuid) -> Self {
        Self { member_id: None, ip: None, request_id: None, bot_for: Some(contact_id) }
    }

    pub fn audit<'a>(
        &'a self,
        action: &'a str,
        entity_type: &'a str,
        entity_id: impl ToString,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> bma_store::audit::Entry<'a> {
        bma_store::audit::Entry {
            actor_kind: if self.bot_for.is_some() { ActorKind::Bot } else { ActorKind::Team },
            actor_id: self.member_id,
            actor_contact_id: self.bot_for,
            action,
            entity_type,
            entity_id: Some(entity_id.to_string()),
            before,
            after,
            ip: self.ip,
            request_id: self.request_id.as_deref(),
        }
    }
}

/// Serialises a value for the audit log.
pub fn snapshot<T: serde::Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}
