//! The message objects we send through LINE, their wire JSON, and the limits LINE enforces,
//! checked before a call so that a message LINE would refuse never costs a request (or a reply
//! token).

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum LineMessage {
    Text { text: String, quick_replies: Vec<QuickReply> },
    Image { original_url: String, preview_url: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuickReply {
    pub label: String,
    pub action: QuickAction,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QuickAction {
    Postback { data: String, display_text: Option<String> },
    Message { text: String },
}

pub const MAX_MESSAGES: usize = 5;
pub const MAX_TEXT_CHARS: usize = 5000;
pub const MAX_QUICK_REPLIES: usize = 13;
pub const MAX_LABEL_CHARS: usize = 20;
pub const MAX_POSTBACK_DATA_CHARS: usize = 300;
pub const MAX_URL_CHARS: usize = 2000;

impl LineMessage {
    pub fn text(text: impl Into<String>) -> Self {
        LineMessage::Text { text: text.into(), quick_replies: Vec::new() }
    }

    pub fn to_json(&self) -> Value {
        match self {
            LineMessage::Text { text, quick_replies } => {
                let mut v = json!({ "type": "text", "text": text });
                if !quick_replies.is_empty() {
                    let items: Vec<Value> = quick_replies.iter().map(QuickReply::to_json).collect();
                    v["quickReply"] = json!({ "items": items });
                }
                v
            }
            LineMessage::Image { original_url, preview_url } => {
                json!({ "type": "image", "originalContentUrl": original_url, "previewImageUrl": preview_url })
            }
        }
    }

    /// The first rule this message breaks, as `(property, message)`.
    fn problem(&self, at: usize) -> Option<(String, String)> {
        let p = |s: &str| format!("messages[{at}].{s}");
        match self {
            LineMessage::Text { text, quick_replies } => {
                if text.trim().is_empty() {
                    return Some((p("text"), "may not be empty".into()));
                }
                if text.chars().count() > MAX_TEXT_CHARS {
                    return Some((p("text"), format!("must be at most {MAX_TEXT_CHARS} characters")));
                }
                if quick_replies.len() > MAX_QUICK_REPLIES {
                    return Some((p("quickReply.items"), format!("at most {MAX_QUICK_REPLIES} items")));
                }
                quick_replies
                    .iter()
                    .enumerate()
                    .find_map(|(i, q)| q.problem().map(|(f, m)| (p(&format!("quickReply.items[{i}].action.{f}")), m)))
            }
            LineMessage::Image { original_url, preview_url } => {
                [("originalContentUrl", original_url), ("previewImageUrl", preview_url)].into_iter().find_map(
                    |(f, url)| {
                        if !url.starts_with("https://") {
                            Some((p(f), "must be an HTTPS URL".into()))
                        } else if url.chars().count() > MAX_URL_CHARS {
                            Some((p(f), format!("must be at most {MAX_URL_CHARS} characters")))
                        } else {
                            None
                        }
                    },
                )
            }
        }
    }
}

impl QuickReply {
    pub fn postback(label: impl Into<String>, data: impl Into<String>, display_text: Option<String>) -> Self {
        QuickReply { label: label.into(), action: QuickAction::Postback { data: data.into(), display_text } }
    }

    pub fn message(label: impl Into<String>, text: impl Into<String>) -> Self {
        QuickReply { label: label.into(), action: QuickAction::Message { text: text.into() } }
    }

    fn to_json(&self) -> Value {
        let action = match &self.action {
            QuickAction::Postback { data, display_text } => {
                let mut a = json!({ "type": "postback", "label": self.label, "data": data });
                if let Some(d) = display_text {
                    a["displayText"] = json!(d);
                }
                a
            }
            QuickAction::Message { text } => json!({ "type": "message", "label": self.label, "text": text }),
        };
        json!({ "type": "action", "action": action })
    }

    fn problem(&self) -> Option<(String, String)> {
        let label = self.label.chars().count();
        if label == 0 || label > MAX_LABEL_CHARS {
            return Some(("label".into(), format!("must be 1 to {MAX_LABEL_CHARS} characters")));
        }
        let bounded = |field: &str, s: &str| {
            let n = s.chars().count();
            (n == 0 || n > MAX_POSTBACK_DATA_CHARS)
                .then(|| (field.to_owned(), format!("must be 1 to {MAX_POSTBACK_DATA_CHARS} characters")))
        };
        match &self.action {
            QuickAction::Postback { data, display_text } => {
                bounded("data", data).or_else(|| display_text.as_deref().and_then(|d| bounded("displayText", d)))
            }
            QuickAction::Message { text } => bounded("text", text),
        }
    }
}

/// Checks a batch as LINE would: 1 to 5 messages, each within its limits.
pub(crate) fn check(messages: &[LineMessage]) -> Result<(), (String, String)> {
    if messages.is_empty() || messages.len() > MAX_MESSAGES {
        return Err(("messages".into(), format!("must hold 1 to {MAX_MESSAGES} messages, not {}", messages.len())));
    }
    match messages.iter().enumerate().find_map(|(i, m)| m.problem(i)) {
        Some(p) => Err(p),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_with_quick_replies_is_serialised_as_line_documents_it() {
        let m = LineMessage::Text {
            text: "Which zone?".into(),
            quick_replies: vec![
                QuickReply::postback("Lobby", "zone=1", Some("Lobby".into())),
                QuickReply::message("Pool", "pool"),
            ],
        };
        let v = m.to_json();
        assert_eq!(v["type"], "text");
        assert_eq!(
            v["quickReply"]["items"][0]["action"],
            json!({"type":"postback","label":"Lobby","data":"zone=1","displayText":"Lobby"})
        );
        assert_eq!(v["quickReply"]["items"][1]["action"]["text"], "pool");
        assert!(LineMessage::text("plain").to_json().get("quickReply").is_none());
    }

    #[test]
    fn limits_are_checked_before_sending() {
        assert!(check(&[]).is_err());
        assert!(check(&vec![LineMessage::text("x"); 6]).is_err());
        assert!(check(&vec![LineMessage::text("x"); 5]).is_ok());
        let many = LineMessage::Text { text: "x".into(), quick_replies: vec![QuickReply::message("a", "a"); 14] };
        assert_eq!(check(&[many]).map_err(|e| e.0), Err("messages[0].quickReply.items".into()));
        let long_label =
            LineMessage::Text { text: "x".into(), quick_replies: vec![QuickReply::message("a".repeat(21), "a")] };
        assert_eq!(check(&[long_label]).map_err(|e| e.0), Err("messages[0].quickReply.items[0].action.label".into()));
        let long_data = LineMessage::Text {
            text: "x".into(),
            quick_replies: vec![QuickReply::postback("a", "d".repeat(301), None)],
        };
        assert_eq!(check(&[long_data]).map_err(|e| e.0), Err("messages[0].quickReply.items[0].action.data".into()));
        let http = LineMessage::Image { original_url: "http://x/a.png".into(), preview_url: "https://x/p.png".into() };
        assert!(check(&[http]).is_err());
    }
}
