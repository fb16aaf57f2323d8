//! The HTTP side of the LINE Messaging API: reply, push with `X-Line-Retry-Key`, content,
//! profile and rich menus, with LINE's errors mapped to what a sender must decide (retry, fall
//! back to push, give up).

use super::messages::{self, LineMessage};
use super::richmenu::RichMenu;
use bma_domain::contact::LineUserId;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// Where LINE lives and who we are. The fake serves both hosts on one address.
#[derive(Clone)]
pub struct LineSettings {
    /// `https://api.line.me`, or the fake.
    pub api_url: String,
    /// `https://api-data.line.me` (message content, rich-menu images), or the fake.
    pub data_url: String,
    pub channel_access_token: String,
}

impl LineSettings {
    pub fn production(channel_access_token: impl Into<String>) -> Self {
        LineSettings {
            api_url: "https://api.line.me".into(),
            data_url: "https://api-data.line.me".into(),
            channel_access_token: channel_access_token.into(),
        }
    }
}

impl std::fmt::Debug for LineSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineSettings")
            .field("api_url", &self.api_url)
            .field("data_url", &self.data_url)
            .field("channel_access_token", &"***")
            .finish()
    }
}

/// One entry of LINE's error `details`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub property: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Refused before calling: LINE would reject it.
    #[error("invalid request: {property} {message}")]
    Invalid { property: String, message: String },
    /// The reply token was used, expired or never existed: push instead.
    #[error("invalid reply token")]
    InvalidReplyToken { request_id: Option<String> },
    /// 429 for the per-endpoint rate or the concurrency limit: retry later.
    #[error("rate limited by LINE: {message}")]
    RateLimited { message: String, request_id: Option<String> },
    /// 429 "You have reached your monthly limit.": no push succeeds until the quota resets.
    #[error("LINE monthly message limit reached")]
    MonthlyLimit { request_id: Option<String> },
    /// Any other non-2xx answer.
    #[error("LINE answered {status}: {message}")]
    Api { status: u16, message: String, details: Vec<ErrorDetail>, request_id: Option<String> },
    #[error("LINE did not answer in time")]
    Timeout,
    #[error("could not reach LINE: {0}")]
    Connection(String),
    /// A 2xx answer we could not read.
    #[error("unexpected answer from LINE: {0}")]
    BadResponse(String),
}

impl SendError {
    /// 5xx, timeouts, connection failures and the rate/concurrency 429s; never the monthly
    /// quota, a 4xx or an invalid reply token.
    pub fn is_retryable(&self) -> bool {
        match self {
            SendError::RateLimited { .. } | SendError::Timeout | SendError::Connection(_) => true,
            SendError::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// A stable short code for logs and stored delivery errors.
    pub fn code(&self) -> String {
        match self {
            SendError::Invalid { .. } => "invalid_request".into(),
            SendError::InvalidReplyToken { .. } => "invalid_reply_token".into(),
            SendError::RateLimited { .. } => "rate_limited".into(),
            SendError::MonthlyLimit { .. } => "monthly_limit".into(),
            SendError::Api { status, .. } => format!("http_{status}"),
            SendError::Timeout => "timeout".into(),
            SendError::Connection(_) => "connection".into(),
            SendError::BadResponse(_) => "bad_response".into(),
        }
    }

    pub fn is_invalid_reply_token(&self) -> bool {
        matches!(self, SendError::InvalidReplyToken { .. })
    }

    /// LINE's `X-Line-Request-Id` of the failed call, when it answered.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            SendError::InvalidReplyToken { request_id }
            | SendError::RateLimited { request_id, .. }
            | SendError::MonthlyLimit { request_id }
            | SendError::Api { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() { SendError::Timeout } else { SendError::Connection(e.to_string()) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    pub sent_ids: Vec<String>,
    /// The retry key had been accepted by an earlier call (LINE answered 409): the messages
    /// went out then, not now.
    pub already_accepted: bool,
    /// `X-Line-Request-Id`, or on a 409 the id of the request that was accepted.
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub user_id: String,
    pub display_name: String,
    #[serde(default)]
    pub picture_url: Option<String>,
    #[serde(default)]
    pub status_message: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Clone)]
pub struct LineClient {
    http: reqwest::Client,
    settings: LineSettings,
    retries: u32,
    backoff: Duration,
}

impl std::fmt::Debug for LineClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineClient").field("settings", &self.settings).finish_non_exhaustive()
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    fn request_id(&self) -> Option<String> {
        self.header("x-line-request-id")
    }

    fn json(&self) -> Result<Value, SendError> {
        serde_json::from_slice(&self.body).map_err(|e| SendError::BadResponse(e.to_string()))
    }

    fn error(&self) -> SendError {
        let v: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        let message = v.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
        let request_id = self.request_id();
        match self.status.as_u16() {
            400 if message.eq_ignore_ascii_case("Invalid reply token") => SendError::InvalidReplyToken { request_id },
            429 if message.to_ascii_lowercase().contains("monthly limit") => SendError::MonthlyLimit { request_id },
            429 => SendError::RateLimited { message, request_id },
            status => {
                let details = v
                    .get("details")
                    .and_then(|d| serde_json::from_value::<Vec<ErrorDetail>>(d.clone()).ok())
                    .unwrap_or_default();
                SendError::Api { status, message, details, request_id }
            }
        }
    }
}

fn sent_ids(v: &Value) -> Vec<String> {
    v.get("sentMessages")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned)).collect())
        .unwrap_or_default()
}

enum Body {
    None,
    Json(Value),
    Bytes(Vec<u8>, String),
}

impl LineClient {
    pub fn new(settings: LineSettings) -> Result<Self, SendError> {
        // The one TLS backend of the process; a no-op when `main` installed it already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .user_agent("bma-social/0.1")
            .build()
            .map_err(|e| SendError::Connection(e.to_string()))?;
        Ok(Self { http, settings, retries: 2, backoff: Duration::from_millis(300) })
    }

    /// How often a push or a read is retried in place on 5xx, timeouts and connection errors
    /// (pushes keep their retry key, so a retry never sends twice). Replies and rich-menu
    /// writes are never retried in place.
    pub fn with_retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = backoff;
        self
    }

    async fn call_once(
        &self,
        method: &Method,
        url: &str,
        body: &Body,
        retry_key: Option<&str>,
    ) -> Result<Answer, SendError> {
        let mut rq = self
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, format!("Bearer {}", self.settings.channel_access_token));
        if let Some(k) = retry_key {
            rq = rq.header("X-Line-Retry-Key", k);
        }
        rq = match body {
            Body::None => rq,
            Body::Json(v) => rq.json(v),
            Body::Bytes(b, ct) => rq.header(CONTENT_TYPE, ct.as_str()).body(b.clone()),
        };
        let resp = rq.send().await.map_err(SendError::from_reqwest)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(SendError::from_reqwest)?.to_vec();
        Ok(Answer { status, headers, body })
    }

    /// Calls until an answer that is not worth retrying, up to `retries` extra attempts when
    /// `retry` allows; 5xx answers come back as `Ok` for the caller to map.
    async fn call(
        &self,
        method: Method,
        url: String,
        body: Body,
        retry_key: Option<&str>,
        retry: bool,
    ) -> Result<Answer, SendError> {
        let attempts = if retry { self.retries + 1 } else { 1 };
        let mut last = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt - 1)).await;
            }
            match self.call_once(&method, &url, &body, retry_key).await {
                Ok(a) if a.status.is_server_error() && attempt + 1 < attempts => {
                    tracing::debug!(status = %a.status, %url, "LINE server error, retrying");
                }
                Ok(a) => return Ok(a),
                Err(e) if e.is_retryable() && attempt + 1 < attempts => {
                    tracing::debug!(error = %e, %url, "LINE unreachable, retrying");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(SendError::Timeout))
    }

    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.settings.api_url.trim_end_matches('/'))
    }

    fn data(&self, path: &str) -> String {
        format!("{}{path}", self.settings.data_url.trim_end_matches('/'))
    }

    fn check(messages: &[LineMessage]) -> Result<Vec<Value>, SendError> {
        messages::check(messages).map_err(|(property, message)| SendError::Invalid { property, message })?;
        Ok(messages.iter().map(LineMessage::to_json).collect())
    }

    /// POST /v2/bot/message/reply (1..=5 messages). Returns the `sentMessages` ids.
    pub async fn reply(&self, reply_token: &str, messages: &[LineMessage]) -> Result<Vec<String>, SendError> {
        let msgs = Self::check(messages)?;
        if reply_token.is_empty() {
            return Err(SendError::Invalid { property: "replyToken".into(), message: "may not be empty".into() });
        }
        let body = Body::Json(json!({ "replyToken": reply_token, "messages": msgs }));
        let a = self.call(Method::POST, self.api("/v2/bot/message/reply"), body, None, false).await?;
        if !a.status.is_success() {
            return Err(a.error());
        }
        Ok(sent_ids(&a.json()?))
    }

    /// POST /v2/bot/message/push with `X-Line-Retry-Key`. Retrying with the same key never
    /// sends twice: LINE's 409 "retry key already accepted" is success with `already_accepted`.
    pub async fn push(
        &self,
        to: &LineUserId,
        messages: &[LineMessage],
        retry_key: uuid::Uuid,
    ) -> Result<PushOutcome, SendError> {
        let msgs = Self::check(messages)?;
        let body = Body::Json(json!({ "to": to.as_str(), "messages": msgs }));
        self.keyed(self.api("/v2/bot/message/push"), body, retry_key).await
    }

    /// Most user ids one multicast call takes.
    pub const MULTICAST_MAX: usize = 500;

    /// POST /v2/bot/message/multicast: the same messages to 1..=500 user ids, with
    /// `X-Line-Retry-Key`; a repeated key is LINE's 409, read as `already_accepted` (the
    /// messages went out with the first call). `sent_ids` is empty: multicast answers `{}`.
    pub async fn multicast(
        &self,
        to: &[LineUserId],
        messages: &[LineMessage],
        retry_key: uuid::Uuid,
    ) -> Result<PushOutcome, SendError> {
        let msgs = Self::check(messages)?;
        if to.is_empty() || to.len() > Self::MULTICAST_MAX {
            return Err(SendError::Invalid { property: "to".into(), message: "Size must be between 1 and 500".into() });
        }
        let ids: Vec<&str> = to.iter().map(LineUserId::as_str).collect();
        let body = Body::Json(json!({ "to": ids, "messages": msgs }));
        self.keyed(self.api("/v2/bot/message/multicast"), body, retry_key).await
    }

    /// A call under a retry key: 2xx or LINE's 409 "retry key is already accepted".
    async fn keyed(&self, url: String, body: Body, retry_key: uuid::Uuid) -> Result<PushOutcome, SendError> {
        let key = retry_key.hyphenated().to_string();
        let a = self.call(Method::POST, url, body, Some(&key), true).await?;
        if a.status.is_success() {
            let v = a.json()?;
            return Ok(PushOutcome { sent_ids: sent_ids(&v), already_accepted: false, request_id: a.request_id() });
        }
        if a.status == StatusCode::CONFLICT {
            let v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
            let message = v.get("message").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
            let accepted = a.header("x-line-accepted-request-id");
            if accepted.is_some() || message.contains("retry key is already accepted") {
                return Ok(PushOutcome {
                    sent_ids: sent_ids(&v),
                    already_accepted: true,
                    request_id: accepted.or_else(|| a.request_id()),
                });
            }
        }
        Err(a.error())
    }

    /// The bytes and content type of a message's image, video, audio or file
    /// (`GET api-data/v2/bot/message/{id}/content`).
    pub async fn content(&self, message_id: &str) -> Result<(Vec<u8>, String), SendError> {
        let url = self.data(&format!("/v2/bot/message/{}/content", segment(message_id)?));
        let a = self.call(Method::GET, url, Body::None, None, true).await?;
        if !a.status.is_success() {
            return Err(a.error());
        }
        let mime = a.header("content-type").unwrap_or_else(|| "application/octet-stream".into());
        Ok((a.body, mime))
    }

    pub async fn profile(&self, user: &LineUserId) -> Result<Profile, SendError> {
        let a = self
            .call(Method::GET, self.api(&format!("/v2/bot/profile/{}", user.as_str())), Body::None, None, true)
            .await?;
        if !a.status.is_success() {
            return Err(a.error());
        }
        serde_json::from_slice(&a.body).map_err(|e| SendError::BadResponse(e.to_string()))
    }

    /// Creates a rich menu and returns its `richMenuId`.
    pub async fn create_rich_menu(&self, menu: &RichMenu) -> Result<String, SendError> {
        let a = self.call(Method::POST, self.api("/v2/bot/richmenu"), Body::Json(menu.to_json()), None, false).await?;
        if !a.status.is_success() {
            return Err(a.error());
        }
        a.json()?
            .get("richMenuId")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| SendError::BadResponse("no richMenuId".into()))
    }

    pub async fn upload_rich_menu_image(&self, id: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), SendError> {
        let url = self.data(&format!("/v2/bot/richmenu/{}/content", segment(id)?));
        let a = self.call(Method::POST, url, Body::Bytes(bytes, content_type.to_owned()), None, false).await?;
        if a.status.is_success() { Ok(()) } else { Err(a.error()) }
    }

    /// Makes the menu everyone sees unless a menu is linked to them.
    pub async fn set_default_rich_menu(&self, id: &str) -> Result<(), SendError> {
        let url = self.api(&format!("/v2/bot/user/all/richmenu/{}", segment(id)?));
        let a = self.call(Method::POST, url, Body::None, None, true).await?;
        if a.status.is_success() { Ok(()) } else { Err(a.error()) }
    }

    pub async fn link_rich_menu(&self, user: &LineUserId, id: &str) -> Result<(), SendError> {
        let url = self.api(&format!("/v2/bot/user/{}/richmenu/{}", user.as_str(), segment(id)?));
        let a = self.call(Method::POST, url, Body::None, None, true).await?;
        if a.status.is_success() { Ok(()) } else { Err(a.error()) }
    }

    /// Every rich menu of the channel as `(richMenuId, name)`.
    pub async fn rich_menus(&self) -> Result<Vec<(String, String)>, SendError> {
        let a = self.call(Method::GET, self.api("/v2/bot/richmenu/list"), Body::None, None, true).await?;
        if !a.status.is_success() {
            return Err(a.error());
        }
        let v = a.json()?;
        let menus = v
            .get("richmenus")
            .and_then(Value::as_array)
            .ok_or_else(|| SendError::BadResponse("no richmenus".into()))?;
        Ok(menus
            .iter()
            .filter_map(|m| {
                let id = m.get("richMenuId").and_then(Value::as_str)?;
                let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
                Some((id.to_owned(), name.to_owned()))
            })
            .collect())
    }
}

/// An id placed in a URL path: LINE's ids are alphanumeric with `-`/`_`.
fn segment(id: &str) -> Result<&str, SendError> {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(id)
    } else {
        Err(SendError::Invalid { property: "id".into(), message: "must be a LINE id".into() })
    }
}
