//! Inbound email arrives as an inbound-mail webhook in Postmark's JSON shape (a provider such as
//! Postmark, or any relay that posts the same fields, calls `POST /api/v1/webhooks/email` with
//! HTTP Basic credentials whose password is WEBHOOK_SECRET). Threads follow the Message-ID,
//! In-Reply-To and References headers, never the subject.

use bma_domain::member::Email;
use bma_domain::messaging::inbound::EmailThread;
use bma_domain::messaging::{InboundMessage, MessageBody, Sender};
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Postmark {
    from_full: Option<Address>,
    from: Option<String>,
    subject: Option<String>,
    #[serde(rename = "MessageID")]
    message_id: Option<String>,
    text_body: Option<String>,
    stripped_text_reply: Option<String>,
    #[serde(default)]
    headers: Vec<Header>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Address {
    email: String,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Header {
    name: String,
    value: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailWebhookError {
    #[error("not an inbound email payload: {0}")]
    Malformed(String),
    #[error("the sender address is not valid")]
    BadSender,
}

fn ids(raw: &str) -> Vec<String> {
    raw.split_whitespace().filter(|s| s.starts_with('<') && s.ends_with('>')).map(str::to_owned).collect()
}

/// Reads one inbound email.
pub fn parse(body: &[u8]) -> Result<InboundMessage, EmailWebhookError> {
    let raw: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| EmailWebhookError::Malformed(e.to_string()))?;
    let p: Postmark = serde_json::from_value(raw.clone()).map_err(|e| EmailWebhookError::Malformed(e.to_string()))?;
    let header = |name: &str| p.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.clone());
    let (address, name) = match (&p.from_full, &p.from) {
        (Some(a), _) => (a.email.clone(), a.name.clone().filter(|n| !n.is_empty())),
        (None, Some(f)) => (f.clone(), None),
        (None, None) => return Err(EmailWebhookError::BadSender),
    };
    let from = Email::parse(&address).map_err(|_| EmailWebhookError::BadSender)?;
    let message_id = header("Message-ID")
        .and_then(|v| ids(&v).into_iter().next())
        .or_else(|| p.message_id.as_ref().map(|id| format!("<{id}@inbound.postmark>")))
        .ok_or_else(|| EmailWebhookError::Malformed("no Message-ID".into()))?;
    let in_reply_to = header("In-Reply-To").and_then(|v| ids(&v).into_iter().next());
    let references = header("References").map(|v| ids(&v)).unwrap_or_default();
    let text =
        p.stripped_text_reply.filter(|t| !t.trim().is_empty()).or(p.text_body).unwrap_or_default().trim().to_owned();
    Ok(InboundMessage {
        external_id: message_id,
        from: Sender::Email(from),
        sender_name: name,
        sent_at: OffsetDateTime::now_utc(),
        body: MessageBody::Text { text },
        reply_token: None,
        thread: Some(EmailThread { subject: p.subject.unwrap_or_default(), in_reply_to, references }),
        raw,
    })
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_keeps_its_thread_headers_and_the_stripped_text() {
        let body = br#"{"FromFull":{"Email":"Manager@Hotel.example","Name":"Som"},"Subject":"Re: Lobby music",
            "MessageID":"abc","TextBody":"Thanks!\n\n> old","StrippedTextReply":"Thanks!",
            "Headers":[{"Name":"Message-ID","Value":"<m2@hotel.example>"},{"Name":"In-Reply-To","Value":"<m1@bma>"},
                       {"Name":"References","Value":"<m0@hotel.example> <m1@bma>"}]}"#;
        let m = parse(body).unwrap();
        assert_eq!(m.external_id, "<m2@hotel.example>");
        assert_eq!(m.from, Sender::Email(Email::parse("manager@hotel.example").unwrap()));
        let t = m.thread.unwrap();
        assert_eq!(t.in_reply_to.as_deref(), Some("<m1@bma>"));
        assert_eq!(t.references, vec!["<m0@hotel.example>".to_owned(), "<m1@bma>".to_owned()]);
        assert_eq!(m.body, MessageBody::Text { text: "Thanks!".into() });
    }

    #[test]
    fn a_payload_without_a_valid_sender_is_refused() {
        assert_eq!(parse(br#"{"FromFull":{"Email":"not an address"}}"#).unwrap_err(), EmailWebhookError::BadSender);
        assert!(matches!(parse(b"not json"), Err(EmailWebhookError::Malformed(_))));
    }
}
