//! The conversation lifecycle. `pending` means the bot owns the conversation; `open` means a
//! person does. A new inbound message reopens a snoozed or closed conversation.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Pending,
    Snoozed,
    Closed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Pending => "pending",
            ConversationStatus::Snoozed => "snoozed",
            ConversationStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::Invalid> {
        match s {
            "open" => Ok(ConversationStatus::Open),
            "pending" => Ok(ConversationStatus::Pending),
            "snoozed" => Ok(ConversationStatus::Snoozed),
            "closed" => Ok(ConversationStatus::Closed),
            _ => Err(crate::Invalid::one("status", "must be one of open, pending, snoozed, closed")),
        }
    }

    /// The status after a venue writes. The bot keeps what it owns; a conversation a person
    /// once took over never loops back into the bot when it reopens.
    pub fn on_inbound(self, bot_enabled: bool, handed_over: bool) -> ConversationStatus {
        match self {
            ConversationStatus::Open => ConversationStatus::Open,
            ConversationStatus::Pending => ConversationStatus::Pending,
            ConversationStatus::Snoozed | ConversationStatus::Closed => {
                if bot_enabled && !handed_over {
                    ConversationStatus::Pending
                } else {
                    ConversationStatus::Open
                }
            }
        }
    }
}

crate::sql::text_column!(ConversationStatus, |s| ConversationStatus::parse(s).ok());

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SenderType {
    /// The venue's contact.
    User,
    Bot,
    Team,
    System,
}

impl SenderType {
    pub fn as_str(self) -> &'static str {
        match self {
            SenderType::User => "user",
            SenderType::Bot => "bot",
            SenderType::Team => "team",
            SenderType::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => SenderType::User,
            "bot" => SenderType::Bot,
            "team" => SenderType::Team,
            "system" => SenderType::System,
            _ => return None,
        })
    }
}

crate::sql::text_column!(SenderType, SenderType::parse);

#[cfg(test)]
mod tests {
    use super::ConversationStatus::*;

    #[test]
    fn a_new_message_reopens_a_closed_conversation_for_the_bot_unless_a_person_took_it_over() {
        assert_eq!(Closed.on_inbound(true, false), Pending);
        assert_eq!(Closed.on_inbound(true, true), Open);
        assert_eq!(Snoozed.on_inbound(false, false), Open);
    }

    #[test]
    fn an_owned_conversation_keeps_its_owner() {
        assert_eq!(Open.on_inbound(true, false), Open);
        assert_eq!(Pending.on_inbound(true, true), Pending);
    }
}
