//! The live feed's publishing side: every event is numbered and kept in a bounded journal shared
//! by all replicas (Redis, or in process), so a client that reconnects with `Last-Event-ID` gets
//! what it missed, and each kind of event says which permission may see it.

use crate::AppContext;
use bma_domain::access::Permission;

/// The pub/sub channel and journal of the live feed.
pub const CHANNEL: &str = "events";
/// How many of the newest events are kept for clients that reconnect.
pub const REPLAY_KEEP: usize = 1000;

/// Publishes `event` (a JSON object with a `type`) to every replica's subscribers. A failure is
/// logged: the live feed is best effort, the database stays the record.
pub async fn publish(ctx: &AppContext, event: &serde_json::Value) {
    if let Err(e) = ctx.kv.pubsub.publish_journaled(CHANNEL, &event.to_string(), REPLAY_KEEP).await {
        tracing::warn!(error = %e, "live event not published");
    }
}

/// The permission a member needs to see an event of this `type`; a kind with no rule here is
/// shown to those who may read the audit log (admins) only.
pub fn permission_for(kind: &str) -> Permission {
    match kind {
        "monitoring" | "alert.opened" | "alert.resolved" | "zone.changed" => Permission::MonitoringRead,
        k if k.starts_with("conversation.") || k.starts_with("message.") => Permission::ConversationsRead,
        k if k.starts_with("campaign.") => Permission::CampaignsRead,
        _ => Permission::AuditRead,
    }
}

/// One message of the feed as it arrives from pub/sub: `"{id} {json}"`, or bare JSON from a
/// publisher that does not number its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub id: Option<u64>,
    pub kind: String,
    pub json: String,
}

impl Incoming {
    pub fn parse(raw: &str) -> Self {
        let (id, json) = match raw.split_once(' ') {
            Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => (n.parse().ok(), rest),
            _ => (None, raw),
        };
        let kind = serde_json::from_str::<serde_json::Value>(json)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "event".into());
        Incoming { id, kind, json: json.to_owned() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numbered_message_and_a_bare_one_both_parse() {
        let n = Incoming::parse(r#"12 {"type":"monitoring","zones":3}"#);
        assert_eq!(
            (n.id, n.kind.as_str(), n.json.as_str()),
            (Some(12), "monitoring", r#"{"type":"monitoring","zones":3}"#)
        );
        let bare = Incoming::parse(r#"{"type":"conversation.updated"}"#);
        assert_eq!((bare.id, bare.kind.as_str()), (None, "conversation.updated"));
    }

    #[test]
    fn viewers_see_monitoring_and_conversations_but_not_unmapped_kinds() {
        use bma_domain::access::Role;
        assert!(Role::Viewer.grants(permission_for("monitoring")));
        assert!(Role::Viewer.grants(permission_for("conversation.updated")));
        assert!(!Role::Viewer.grants(permission_for("job.dead")));
        assert!(Role::Admin.grants(permission_for("job.dead")));
    }
}
