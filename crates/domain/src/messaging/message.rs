//! What a stored message is: which way it went, what kind of thing it holds, and how an
//! outbound one was handed to its channel. The store keeps each as text; these are the only
//! values it accepts.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the venue.
    In,
    /// To the venue.
    Out,
    /// A private note for the team; never sent.
    Note,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "in" => Direction::In,
            "out" => Direction::Out,
            "note" => Direction::Note,
            _ => return None,
        })
    }
}

crate::sql::text_column!(Direction, Direction::parse);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Media,
    Location,
    /// A tapped button or menu item (inbound), or a question with buttons (outbound).
    Choice,
    /// An inbound type we do not understand yet.
    Unsupported,
    /// A venue's answer to the satisfaction survey.
    SurveyAnswer,
    /// LINE follow: the contact added (or unblocked) the account.
    Follow,
    /// LINE unfollow: the contact blocked the account.
    Unfollow,
    Note,
    /// An approved WhatsApp template.
    Template,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Media => "media",
            MessageKind::Location => "location",
            MessageKind::Choice => "choice",
            MessageKind::Unsupported => "unsupported",
            MessageKind::SurveyAnswer => "survey_answer",
            MessageKind::Follow => "follow",
            MessageKind::Unfollow => "unfollow",
            MessageKind::Note => "note",
            MessageKind::Template => "template",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "text" => MessageKind::Text,
            "media" => MessageKind::Media,
            "location" => MessageKind::Location,
            "choice" => MessageKind::Choice,
            "unsupported" => MessageKind::Unsupported,
            "survey_answer" => MessageKind::SurveyAnswer,
            "follow" => MessageKind::Follow,
            "unfollow" => MessageKind::Unfollow,
            "note" => MessageKind::Note,
            "template" => MessageKind::Template,
            _ => return None,
        })
    }
}

crate::sql::text_column!(MessageKind, MessageKind::parse);

/// How an outbound message was handed to its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendMethod {
    /// WhatsApp Cloud API.
    Api,
    /// LINE reply, with the token of the venue's latest message (free).
    Reply,
    /// LINE push.
    Push,
    Smtp,
}

impl SendMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SendMethod::Api => "api",
            SendMethod::Reply => "reply",
            SendMethod::Push => "push",
            SendMethod::Smtp => "smtp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "api" => SendMethod::Api,
            "reply" => SendMethod::Reply,
            "push" => SendMethod::Push,
            "smtp" => SendMethod::Smtp,
            _ => return None,
        })
    }
}

crate::sql::text_column!(SendMethod, SendMethod::parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_as_itself() {
        use MessageKind::*;
        for k in [Text, Media, Location, Choice, Unsupported, SurveyAnswer, Follow, Unfollow, Note, Template] {
            assert_eq!(MessageKind::parse(k.as_str()), Some(k));
        }
        for d in [Direction::In, Direction::Out, Direction::Note] {
            assert_eq!(Direction::parse(d.as_str()), Some(d));
        }
        for m in [SendMethod::Api, SendMethod::Reply, SendMethod::Push, SendMethod::Smtp] {
            assert_eq!(SendMethod::parse(m.as_str()), Some(m));
        }
    }
}
