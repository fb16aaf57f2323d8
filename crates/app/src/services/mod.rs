//! The services behind the API. Each write takes the `Actor` and records its audit entry in the
//! same transaction as the change, so no write escapes the audit log.

pub mod auth;
pub mod control;
pub mod import;
pub mod jobs_admin;
pub mod team;
pub mod uptime;
pub mod venues;

use std::net::IpAddr;
use uuid::Uuid;

/// Who is acting, from where; carried into the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub member_id: Option<Uuid>,
    pub ip: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn audit<'a>(
        &'a self,
        action: &'a str,
        entity_type: &'a str,
        entity_id: impl ToString,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> bma_store::audit::Entry<'a> {
        bma_store::audit::Entry {
            actor_id: self.member_id,
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
