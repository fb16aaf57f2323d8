//! The Graph API calls we make for WhatsApp: send, mark read, download media (two steps, the
//! second with the same Bearer token, the URL living five minutes) and list templates. Each
//! failure becomes a [`SendError`] that says whether a retry can help and when; sending itself
//! never retries here, because a lost answer may hide an accepted message and the job queue
//! owns that decision.

use super::WhatsappSettings;
use super::outbound::Outbound;
use bma_domain::contact::PhoneNumber;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
const MEDIA_TIMEOUT: Duration = Duration::from_secs(120);
const TEMPLATE_PAGES_MAX: usize = 50;

#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Refused before calling Meta (too long, too many buttons, …).
    #[error("not sent: {0}")]
    Invalid(String),
    /// Meta's error envelope (`{"error": {"code", "message", "error_data": {"details"}}}`).
    #[error("WhatsApp error {code} (HTTP {status}): {message}{}", details.as_deref().map(|d| format!(" — {d}")).unwrap_or_default())]
    Api {
        status: u16,
        code: i64,
        subcode: Option<i64>,
        message: String,
        details: Option<String>,
        transient: bool,
        fbtrace_id: Option<String>,
        retry_after: Option<Duration>,
    },
    /// An HTTP failure without Meta's envelope (a proxy, the media host).
    #[error("WhatsApp answered HTTP {status}")]
    Http { status: u16, body: String, retry_after: Option<Duration> },
    #[error("WhatsApp did not answer in time")]
    Timeout,
    #[error("could not reach WhatsApp: {0}")]
    Connection(String),
    #[error("unexpected answer from WhatsApp: {0}")]
    Malformed(String),
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        match self {
            SendError::Invalid(_) | SendError::Malformed(_) => false,
            SendError::Timeout | SendError::Connection(_) => true,
            SendError::Http { status, .. } => *status >= 500 || matches!(status, 408 | 429),
            SendError::Api { status, code, transient, .. } => {
                *status >= 500 || *status == 429 || *transient || matches!(code, 1 | 2 | 4 | 80007 | 130429 | 131056)
            }
        }
    }

    /// A short stable code for logs and the message record: Meta's code (`131047`), or
    /// `http_503`, `timeout`, `connection`, `invalid_request`, `malformed_response`.
    pub fn code(&self) -> String {
        match self {
            SendError::Invalid(_) => "invalid_request".into(),
            SendError::Api { status, code, .. } if *status >= 500 && *code < 100 => format!("http_{status}"),
            SendError::Api { code, .. } => code.to_string(),
            SendError::Http { status, .. } => format!("http_{status}"),
            SendError::Timeout => "timeout".into(),
            SendError::Connection(_) => "connection".into(),
            SendError::Malformed(_) => "malformed_response".into(),
        }
    }

    /// Meta's code, when it sent one.
    pub fn meta_code(&self) -> Option<i64> {
        match self {
            SendError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// More than 24 hours since the user last wrote: only a template can reach them now.
    pub fn is_window_closed(&self) -> bool {
        self.meta_code() == Some(131047)
    }

    /// The access token is invalid or expired (code 190): nothing works until it is replaced.
    pub fn is_unauthorized(&self) -> bool {
        self.meta_code() == Some(190) || matches!(self, SendError::Http { status: 401, .. })
    }

    /// How long to wait before trying again: the `Retry-After` header when Meta sent one,
    /// otherwise a pause that suits the limit that was hit.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SendError::Api { retry_after: Some(d), .. } | SendError::Http { retry_after: Some(d), .. } => Some(*d),
            SendError::Api { code: 130429, .. } => Some(Duration::from_secs(1)),
            SendError::Api { code: 131056, .. } => Some(Duration::from_secs(6)),
            SendError::Api { code: 4 | 80007, .. } => Some(Duration::from_secs(60)),
            _ => None,
        }
    }
}

/// A message template as the business account has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Template {
    pub name: String,
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    pub status: String,
    pub body: String,
    /// How many distinct `{{…}}` placeholders the body has.
    pub body_params: usize,
    /// The texts of its quick-reply buttons, in index order.
    pub quick_replies: Vec<String>,
}

impl Template {
    fn from_graph(t: &Value) -> Option<Self> {
        let s = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
        let components = t.get("components").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let kind =
            |c: &Value, k: &str| c.get("type").and_then(Value::as_str).is_some_and(|x| x.eq_ignore_ascii_case(k));
        let body = components
            .iter()
            .find(|c| kind(c, "BODY"))
            .and_then(|c| c.get("text"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let quick_replies = components
            .iter()
            .filter(|c| kind(c, "BUTTONS"))
            .flat_map(|c| c.get("buttons").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default())
            .filter(|b| kind(b, "QUICK_REPLY"))
            .filter_map(|b| b.get("text").and_then(Value::as_str).map(str::to_owned))
            .collect();
        Some(Template {
            name: s("name")?,
            language: s("language")?,
            category: s("category").unwrap_or_default(),
            status: s("status").unwrap_or_default(),
            body_params: count_placeholders(&body),
            body,
            quick_replies,
        })
    }
}

/// Distinct `{{1}}` / `{{name}}` placeholders.
fn count_placeholders(text: &str) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        if !inner.is_empty() {
            seen.insert(inner.to_owned());
        }
        rest = &after[end + 2..];
    }
    seen.len()
}

#[derive(Clone)]
pub struct WhatsappClient {
    http: reqwest::Client,
    settings: Arc<WhatsappSettings>,
    timeout: Duration,
}

impl std::fmt::Debug for WhatsappClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsappClient").field("settings", &self.settings).field("timeout", &self.timeout).finish()
    }
}

impl WhatsappClient {
    pub fn new(settings: WhatsappSettings) -> Result<Self, SendError> {
        // The one TLS backend of the process; a no-op when `main` installed it already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent("bma-social/0.1")
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SendError::Connection(e.to_string()))?;
        Ok(Self { http, settings: Arc::new(settings), timeout: DEFAULT_TIMEOUT })
    }

    /// How long one API call may take (20 s by default; media downloads get longer).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn settings(&self) -> &WhatsappSettings {
        &self.settings
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/{}/{}",
            self.settings.graph_url.trim_end_matches('/'),
            self.settings.api_version.trim_matches('/'),
            path
        )
    }

    fn authorized(&self, req: RequestBuilder) -> RequestBuilder {
        req.bearer_auth(&self.settings.access_token)
    }

    async fn call(&self, req: RequestBuilder) -> Result<Value, SendError> {
        let response = self.authorized(req).timeout(self.timeout).send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = retry_after_header(&response);
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            return Err(error_from(status, retry_after, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| SendError::Malformed(format!("{e} in a {status} answer")))
    }

    /// Sends one message; `our_id` comes back in the status webhooks as `biz_opaque_callback_data`.
    /// Returns Meta's message id (`wamid.…`).
    pub async fn send(&self, to: &PhoneNumber, message: &Outbound, our_id: &str) -> Result<String, SendError> {
        message.validate().map_err(SendError::Invalid)?;
        let digits = to.as_str().trim_start_matches('+');
        let body = message.to_request(digits, our_id);
        let url = self.url(&format!("{}/messages", self.settings.phone_number_id));
        let answer = self.call(self.http.post(url).json(&body)).await?;
        let wamid = answer
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.first())
            .and_then(|m| m.get("id"))
            .and_then(Value::as_str)
            .ok_or_else(|| SendError::Malformed("a send answer without messages[0].id".into()))?;
        tracing::debug!(kind = message.kind(), our_id, wamid, "whatsapp message accepted");
        Ok(wamid.to_owned())
    }

    /// Marks an inbound message (and those before it) as read: the venue sees blue ticks.
    pub async fn mark_read(&self, wamid: &str) -> Result<(), SendError> {
        let url = self.url(&format!("{}/messages", self.settings.phone_number_id));
        let body = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": wamid });
        let answer = self.call(self.http.post(url).json(&body)).await?;
        match answer.get("success").and_then(Value::as_bool) {
            Some(true) => Ok(()),
            _ => Err(SendError::Malformed("mark as read did not answer success: true".into())),
        }
    }

    /// Step 1: the short-lived URL and the mime type of an inbound media id.
    async fn media_url(&self, media_id: &str) -> Result<(String, String), SendError> {
        let url = format!("{}?phone_number_id={}", self.url(media_id), self.settings.phone_number_id);
        let req = self.http.get(url);
        let answer = self.call(req).await?;
        let link = answer.get("url").and_then(Value::as_str).ok_or(SendError::Malformed("media without url".into()))?;
        let mime = answer.get("mime_type").and_then(Value::as_str).unwrap_or("application/octet-stream");
        Ok((link.to_owned(), mime.to_owned()))
    }

    /// Downloads an inbound image, document, audio, video or sticker: bytes and mime type. An
    /// expired URL (they live 5 minutes) is fetched anew once.
    pub async fn download_media(&self, media_id: &str) -> Result<(Vec<u8>, String), SendError> {
        if media_id.is_empty() || !media_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            return Err(SendError::Invalid(format!("{media_id:?} is not a media id")));
        }
        let mut refetched = false;
        loop {
            let (link, mime) = self.media_url(media_id).await?;
            let response =
                self.authorized(self.http.get(&link)).timeout(MEDIA_TIMEOUT).send().await.map_err(transport)?;
            let status = response.status();
            if status.is_success() {
                let bytes = response.bytes().await.map_err(transport)?;
                return Ok((bytes.to_vec(), mime));
            }
            if !refetched && matches!(status.as_u16(), 403 | 404 | 410) {
                tracing::debug!(media_id, %status, "whatsapp media url expired; asking for a new one");
                refetched = true;
                continue;
            }
            let retry_after = retry_after_header(&response);
            let bytes = response.bytes().await.map_err(transport)?;
            return Err(error_from(status, retry_after, &bytes));
        }
    }

    /// The business account's approved templates, every page.
    pub async fn templates(&self) -> Result<Vec<Template>, SendError> {
        let first = self.url(&format!(
            "{}/message_templates?fields=name,language,status,category,components&limit=100",
            self.settings.business_account_id
        ));
        let mut req = self.http.get(first);
        let mut out = Vec::new();
        for _ in 0..TEMPLATE_PAGES_MAX {
            let page = self.call(req).await?;
            let data = page
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| SendError::Malformed("templates without data".into()))?;
            out.extend(
                data.iter().filter_map(Template::from_graph).filter(|t| t.status.eq_ignore_ascii_case("APPROVED")),
            );
            match page.get("paging").and_then(|p| p.get("next")).and_then(Value::as_str) {
                Some(next) => req = self.http.get(next),
                None => return Ok(out),
            }
        }
        Ok(out)
    }
}

fn transport(e: reqwest::Error) -> SendError {
    if e.is_timeout() { SendError::Timeout } else { SendError::Connection(e.without_url().to_string()) }
}

fn retry_after_header(response: &Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn error_from(status: StatusCode, retry_after: Option<Duration>, bytes: &[u8]) -> SendError {
    let envelope = serde_json::from_slice::<Value>(bytes).ok();
    let error = envelope.as_ref().and_then(|v| v.get("error")).filter(|e| e.get("code").is_some());
    let Some(e) = error else {
        let body: String = String::from_utf8_lossy(bytes).chars().take(300).collect();
        return SendError::Http { status: status.as_u16(), body, retry_after };
    };
    let int = |v: Option<&Value>| match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    SendError::Api {
        status: status.as_u16(),
        code: int(e.get("code")).unwrap_or(0),
        subcode: int(e.get("error_subcode")),
        message: e.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
        details: e.get("error_data").and_then(|d| d.get("details")).and_then(Value::as_str).map(str::to_owned),
        transient: e.get("is_transient").and_then(Value::as_bool).unwrap_or(false),
        fbtrace_id: e.get("fbtrace_id").and_then(Value::as_str).map(str::to_owned),
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_error_envelopes_map_to_codes_and_retry_advice() {
        let body = br#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,
            "error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},
            "error_subcode":2494055,"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}"#;
        let e = error_from(StatusCode::BAD_REQUEST, None, body);
        assert_eq!(e.code(), "130429");
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
        assert!(e.to_string().contains("throughput"));

        let closed = error_from(
            StatusCode::BAD_REQUEST,
            None,
            br#"{"error":{"code":131047,"message":"Re-engagement message"}}"#,
        );
        assert!(closed.is_window_closed() && !closed.is_retryable());

        let down = error_from(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(Duration::from_secs(3)),
            br#"{"error":{"code":2,"is_transient":true,"message":"Service temporarily unavailable"}}"#,
        );
        assert_eq!(
            (down.code(), down.is_retryable(), down.retry_after()),
            ("http_503".into(), true, Some(Duration::from_secs(3)))
        );

        let proxy = error_from(StatusCode::BAD_GATEWAY, None, b"<html>bad gateway</html>");
        assert_eq!((proxy.code(), proxy.is_retryable()), ("http_502".into(), true));

        let token = error_from(
            StatusCode::UNAUTHORIZED,
            None,
            br#"{"error":{"code":190,"type":"OAuthException","message":"Invalid OAuth access token"}}"#,
        );
        assert!(token.is_unauthorized() && !token.is_retryable());
    }

    #[test]
    fn template_bodies_count_distinct_placeholders() {
        assert_eq!(count_placeholders("Hi {{1}}, zone {{2}} is {{1}}"), 2);
        assert_eq!(count_placeholders("Hello {{name}}"), 1);
        assert_eq!(count_placeholders("No params {{ }} here {{"), 0);
    }
}
