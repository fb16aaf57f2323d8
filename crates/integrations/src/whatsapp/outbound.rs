//! What we can send over WhatsApp, checked against Meta's limits before any call is made (a
//! message Meta would refuse is refused here, without spending throughput), and written as the
//! Graph API's `messages` request body.

use serde_json::{Map, Value, json};

pub const TEXT_MAX: usize = 4096;
pub const CAPTION_MAX: usize = 1024;
pub const INTERACTIVE_BODY_MAX: usize = 1024;
pub const LIST_BODY_MAX: usize = 4096;
pub const BUTTONS_MAX: usize = 3;
pub const BUTTON_TITLE_MAX: usize = 20;
pub const BUTTON_ID_MAX: usize = 256;
pub const LIST_ROWS_MAX: usize = 10;
pub const ROW_ID_MAX: usize = 200;
pub const ROW_TITLE_MAX: usize = 24;
pub const ROW_DESCRIPTION_MAX: usize = 72;

/// Serialises as `{"type": "text", "body": …}` so that a job can carry it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outbound {
    Text {
        body: String,
    },
    Image {
        link: String,
        caption: Option<String>,
    },
    Document {
        link: String,
        caption: Option<String>,
        filename: Option<String>,
    },
    /// An approved template; the only kind allowed outside the 24-hour window.
    Template {
        name: String,
        language: String,
        body_params: Vec<String>,
        /// Payloads of the template's quick-reply buttons, by index from 0.
        quick_replies: Vec<String>,
    },
    /// Interactive reply buttons: `(id, title)`, at most 3, titles up to 20 characters.
    Buttons {
        body: String,
        buttons: Vec<(String, String)>,
    },
    /// An interactive list: `button` opens it; rows are `(id, title, description)`.
    List {
        body: String,
        button: String,
        rows: Vec<(String, String, Option<String>)>,
    },
}

fn len(s: &str) -> usize {
    s.chars().count()
}

fn check_text(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    if len(s) > max {
        return Err(format!("{what} has {} characters; WhatsApp allows {max}", len(s)));
    }
    Ok(())
}

fn check_caption(caption: Option<&String>) -> Result<(), String> {
    match caption {
        Some(c) if len(c) > CAPTION_MAX => {
            Err(format!("the caption has {} characters; WhatsApp allows {CAPTION_MAX}", len(c)))
        }
        _ => Ok(()),
    }
}

fn check_link(link: &str) -> Result<(), String> {
    if link.starts_with("https://") || link.starts_with("http://") {
        Ok(())
    } else {
        Err("a media link must be an http(s) URL".into())
    }
}

fn check_unique<'a>(what: &str, items: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for item in items {
        if !seen.insert(item) {
            return Err(format!("{what} {item:?} appears twice"));
        }
    }
    Ok(())
}

impl Outbound {
    /// The `type` of the request body.
    pub fn kind(&self) -> &'static str {
        match self {
            Outbound::Text { .. } => "text",
            Outbound::Image { .. } => "image",
            Outbound::Document { .. } => "document",
            Outbound::Template { .. } => "template",
            Outbound::Buttons { .. } | Outbound::List { .. } => "interactive",
        }
    }

    /// Whether Meta allows it outside the 24-hour customer-service window.
    pub fn is_template(&self) -> bool {
        matches!(self, Outbound::Template { .. })
    }

    /// Meta's limits, checked locally.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Outbound::Text { body } => check_text("the text", body, TEXT_MAX),
            Outbound::Image { link, caption } => {
                check_link(link)?;
                check_caption(caption.as_ref())
            }
            Outbound::Document { link, caption, .. } => {
                check_link(link)?;
                check_caption(caption.as_ref())
            }
            Outbound::Template { name, language, body_params, quick_replies } => {
                if name.trim().is_empty() || language.trim().is_empty() {
                    return Err("a template needs a name and a language".into());
                }
                for (i, p) in body_params.iter().enumerate() {
                    if p.trim().is_empty() {
                        return Err(format!("template body parameter {} is empty", i + 1));
                    }
                    if p.contains(['\n', '\t']) || p.contains("     ") {
                        return Err(format!(
                            "template body parameter {} has a new line, a tab or more than 4 spaces in a row",
                            i + 1
                        ));
                    }
                }
                if quick_replies.iter().any(|p| p.is_empty()) {
                    return Err("a quick-reply payload is empty".into());
                }
                Ok(())
            }
            Outbound::Buttons { body, buttons } => {
                check_text("the message", body, INTERACTIVE_BODY_MAX)?;
                if buttons.is_empty() || buttons.len() > BUTTONS_MAX {
                    return Err(format!("{} buttons; WhatsApp allows 1 to {BUTTONS_MAX}", buttons.len()));
                }
                for (id, title) in buttons {
                    check_text("a button id", id, BUTTON_ID_MAX)?;
                    check_text(&format!("button title {title:?}"), title, BUTTON_TITLE_MAX)?;
                }
                check_unique("button id", buttons.iter().map(|(id, _)| id.as_str()))?;
                check_unique("button title", buttons.iter().map(|(_, t)| t.as_str()))
            }
            Outbound::List { body, button, rows } => {
                check_text("the message", body, LIST_BODY_MAX)?;
                check_text("the list button", button, BUTTON_TITLE_MAX)?;
                if rows.is_empty() || rows.len() > LIST_ROWS_MAX {
                    return Err(format!("{} rows; WhatsApp allows 1 to {LIST_ROWS_MAX}", rows.len()));
                }
                for (id, title, description) in rows {
                    check_text("a row id", id, ROW_ID_MAX)?;
                    check_text(&format!("row title {title:?}"), title, ROW_TITLE_MAX)?;
                    if let Some(d) = description {
                        check_text("a row description", d, ROW_DESCRIPTION_MAX)?;
                    }
                }
                check_unique("row id", rows.iter().map(|(id, _, _)| id.as_str()))
            }
        }
    }

    /// The request body of `POST /{version}/{phone_number_id}/messages`; `to` is digits only.
    pub fn to_request(&self, to: &str, our_id: &str) -> Value {
        let mut body = Map::new();
        body.insert("messaging_product".into(), json!("whatsapp"));
        body.insert("recipient_type".into(), json!("individual"));
        body.insert("to".into(), json!(to));
        body.insert("type".into(), json!(self.kind()));
        let (key, object) = match self {
            Outbound::Text { body } => ("text", json!({ "preview_url": false, "body": body })),
            Outbound::Image { link, caption } => {
                let mut o = json!({ "link": link });
                if let Some(c) = caption {
                    o["caption"] = json!(c);
                }
                ("image", o)
            }
            Outbound::Document { link, caption, filename } => {
                let mut o = json!({ "link": link });
                if let Some(c) = caption {
                    o["caption"] = json!(c);
                }
                if let Some(f) = filename {
                    o["filename"] = json!(f);
                }
                ("document", o)
            }
            Outbound::Template { name, language, body_params, quick_replies } => {
                let mut components = Vec::new();
                if !body_params.is_empty() {
                    let parameters: Vec<Value> =
                        body_params.iter().map(|p| json!({"type": "text", "text": p})).collect();
                    components.push(json!({ "type": "body", "parameters": parameters }));
                }
                for (i, payload) in quick_replies.iter().enumerate() {
                    components.push(json!({
                        "type": "button", "sub_type": "quick_reply", "index": i.to_string(),
                        "parameters": [{ "type": "payload", "payload": payload }],
                    }));
                }
                let mut o = json!({ "name": name, "language": { "code": language } });
                if !components.is_empty() {
                    o["components"] = Value::Array(components);
                }
                ("template", o)
            }
            Outbound::Buttons { body, buttons } => {
                let buttons: Vec<Value> = buttons
                    .iter()
                    .map(|(id, title)| json!({ "type": "reply", "reply": { "id": id, "title": title } }))
                    .collect();
                ("interactive", json!({ "type": "button", "body": { "text": body }, "action": { "buttons": buttons } }))
            }
            Outbound::List { body, button, rows } => {
                let rows: Vec<Value> = rows
                    .iter()
                    .map(|(id, title, description)| {
                        let mut r = json!({ "id": id, "title": title });
                        if let Some(d) = description {
                            r["description"] = json!(d);
                        }
                        r
                    })
                    .collect();
                let action = json!({ "button": button, "sections": [{ "rows": rows }] });
                ("interactive", json!({ "type": "list", "body": { "text": body }, "action": action }))
            }
        };
        body.insert(key.into(), object);
        if !our_id.is_empty() {
            body.insert("biz_opaque_callback_data".into(), json!(our_id));
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_longer_than_4096_characters_is_refused_but_4096_thai_characters_pass() {
        assert!(Outbound::Text { body: "ก".repeat(4096) }.validate().is_ok());
        assert!(Outbound::Text { body: "a".repeat(4097) }.validate().is_err());
        assert!(Outbound::Text { body: "  ".into() }.validate().is_err());
    }

    #[test]
    fn buttons_are_limited_to_three_unique_short_titles() {
        let b = |n: usize| (0..n).map(|i| (format!("id{i}"), format!("T{i}"))).collect::<Vec<_>>();
        assert!(Outbound::Buttons { body: "Pick".into(), buttons: b(3) }.validate().is_ok());
        assert!(Outbound::Buttons { body: "Pick".into(), buttons: b(4) }.validate().is_err());
        assert!(Outbound::Buttons { body: "Pick".into(), buttons: b(0) }.validate().is_err());
        let long = vec![("a".into(), "x".repeat(21))];
        assert!(Outbound::Buttons { body: "Pick".into(), buttons: long }.validate().is_err());
        let twice = vec![("a".into(), "Same".into()), ("b".into(), "Same".into())];
        assert!(Outbound::Buttons { body: "Pick".into(), buttons: twice }.validate().is_err());
    }

    #[test]
    fn a_template_parameter_with_a_new_line_is_refused() {
        let t = |p: &str| Outbound::Template {
            name: "alert_notice".into(),
            language: "en_US".into(),
            body_params: vec![p.into()],
            quick_replies: vec![],
        };
        assert!(t("Lobby").validate().is_ok());
        assert!(t("Lobby\nBar").validate().is_err());
        assert!(t("a     b").validate().is_err());
    }

    #[test]
    fn a_template_request_carries_body_parameters_and_indexed_quick_reply_payloads() {
        let t = Outbound::Template {
            name: "csat_survey".into(),
            language: "th".into(),
            body_params: vec!["Khun Som".into()],
            quick_replies: vec!["csat:1".into(), "csat:2".into()],
        };
        let v = t.to_request("66812345678", "msg-1");
        assert_eq!(v["type"], "template");
        assert_eq!(v["to"], "66812345678");
        assert_eq!(v["biz_opaque_callback_data"], "msg-1");
        assert_eq!(v["template"]["language"]["code"], "th");
        assert_eq!(v["template"]["components"][0]["parameters"][0]["text"], "Khun Som");
        assert_eq!(v["template"]["components"][2]["index"], "1");
        assert_eq!(v["template"]["components"][2]["parameters"][0]["payload"], "csat:2");
    }

    #[test]
    fn an_outbound_message_survives_a_json_round_trip() {
        let b = Outbound::Buttons { body: "Pick".into(), buttons: vec![("a".into(), "A".into())] };
        let v = serde_json::to_value(&b).expect("json");
        assert_eq!(v["type"], "buttons");
        assert_eq!(serde_json::from_value::<Outbound>(v).expect("back"), b);
    }

    #[test]
    fn a_list_request_puts_rows_in_one_section() {
        let l = Outbound::List {
            body: "Which zone?".into(),
            button: "Zones".into(),
            rows: vec![("z1".into(), "Lobby".into(), Some("Ground floor".into())), ("z2".into(), "Pool".into(), None)],
        };
        assert!(l.validate().is_ok());
        let v = l.to_request("66812345678", "m");
        assert_eq!(v["interactive"]["type"], "list");
        assert_eq!(v["interactive"]["action"]["sections"][0]["rows"][0]["description"], "Ground floor");
        assert!(v["interactive"]["action"]["sections"][0]["rows"][1].get("description").is_none());
    }
}
