//! What became of a message we sent. Providers report statuses out of order (a `read` may come
//! before its `delivered`), so a status only ever moves forward.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Stored; its send job is waiting.
    Queued,
    /// A worker has started the call to the provider.
    Sending,
    /// The provider accepted it.
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => DeliveryStatus::Queued,
            "sending" => DeliveryStatus::Sending,
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" | "played" => DeliveryStatus::Read,
            "failed" => DeliveryStatus::Failed,
            _ => return None,
        })
    }

    fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Queued => 0,
            DeliveryStatus::Sending => 1,
            DeliveryStatus::Sent => 2,
            DeliveryStatus::Delivered => 3,
            DeliveryStatus::Read => 4,
            DeliveryStatus::Failed => 5,
        }
    }

    /// The status after `next` is reported: later states win, a late `delivered` never undoes a
    /// `read`, and `failed` is final except that a read receipt proves delivery after all.
    pub fn advance(self, next: DeliveryStatus) -> DeliveryStatus {
        match (self, next) {
            (DeliveryStatus::Failed, DeliveryStatus::Read | DeliveryStatus::Delivered) => next,
            (DeliveryStatus::Failed, _) => DeliveryStatus::Failed,
            (DeliveryStatus::Read, DeliveryStatus::Failed) => DeliveryStatus::Read,
            (DeliveryStatus::Delivered, DeliveryStatus::Failed) => DeliveryStatus::Delivered,
            _ if next.rank() > self.rank() => next,
            _ => self,
        }
    }
}

crate::sql::text_column!(DeliveryStatus, DeliveryStatus::parse);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryError {
    /// The provider's code, e.g. WhatsApp `131047`; LINE has none and uses its HTTP status.
    pub code: String,
    pub title: String,
    pub details: Option<String>,
}

/// A provider's report on one message we sent (WhatsApp `statuses[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryUpdate {
    /// The provider's id of our message (WhatsApp `wamid`).
    pub external_id: String,
    /// Our own message id when the provider echoes it (WhatsApp `biz_opaque_callback_data`).
    pub our_id: Option<String>,
    pub status: DeliveryStatus,
    pub at: OffsetDateTime,
    pub error: Option<DeliveryError>,
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::*;

    #[test]
    fn a_late_delivered_never_undoes_a_read() {
        assert_eq!(Read.advance(Delivered), Read);
        assert_eq!(Sent.advance(Read).advance(Delivered), Read);
    }

    #[test]
    fn failed_is_final_unless_the_message_was_seen() {
        assert_eq!(Sent.advance(Failed), Failed);
        assert_eq!(Failed.advance(Sent), Failed);
        assert_eq!(Failed.advance(Read), Read);
        assert_eq!(Read.advance(Failed), Read);
    }

    #[test]
    fn statuses_move_forward_only() {
        assert_eq!(Queued.advance(Sending).advance(Sent), Sent);
        assert_eq!(Delivered.advance(Sent), Delivered);
    }
}
