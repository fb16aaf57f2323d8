//! Transport for `POST /v1/messages`: headers, body, error envelope, and the official SDK's retry
//! policy (408, 409, 429 and ≥500 including 529; `x-should-retry`; `retry-after-ms`/`retry-after`
//! when 0 < wait ≤ 60 s, else 0.5 s doubling to 8 s with up to 25 % down-jitter), all within one
//! overall deadline.

use super::{Block, MessagesRequest, MessagesResponse, StopReason, Usage};
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

pub const ANTHROPIC_VERSION: &str = "2023-06-01";
const INITIAL_RETRY_DELAY: Duration = Duration::from_millis(500);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(8);
const MAX_HONOURED_RETRY_AFTER: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct ClaudeSettings {
    /// `https://api.anthropic.com`; the path `/v1/messages` is appended.
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    pub max_tokens: u32,
    /// The whole call, retries and waits included.
    pub timeout: Duration,
    pub max_retries: u32,
}

impl ClaudeSettings {
    /// The SDK's defaults: the public endpoint, 2 retries, a 10-minute timeout.
    pub fn new(api_key: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: "https://api.anthropic.com".into(),
            api_key: api_key.into(),
            model: model.into(),
            max_tokens: 1024,
            timeout: Duration::from_secs(600),
            max_retries: 2,
        }
    }
}

impl std::fmt::Debug for ClaudeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaudeSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &"***")
            .field("model", &self.model)
            .field("max_tokens", &self.max_tokens)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClaudeError {
    /// An error answer in Anthropic's envelope (or a bare HTTP error from something in between).
    #[error("Anthropic API answered {status} ({}): {message}", .error_type.as_deref().unwrap_or("no error type"))]
    Api {
        status: u16,
        error_type: Option<String>,
        message: String,
        request_id: Option<String>,
        /// From `retry-after-ms` or `retry-after` (seconds or an HTTP date).
        retry_after: Option<Duration>,
        /// `x-should-retry`, which overrides the status.
        should_retry: Option<bool>,
        /// `error.details.error_code`, e.g. `enforced_spend_limit_reached`.
        error_code: Option<String>,
    },
    #[error("Anthropic API did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Anthropic API unreachable: {0}")]
    Transport(String),
    #[error("Anthropic API answered something unreadable: {0}")]
    Malformed(String),
    #[error("the model still wanted tools after {max_turns} turns")]
    TooManyTurns { max_turns: u32 },
    #[error("Claude client misconfigured: {0}")]
    Config(String),
}

impl ClaudeError {
    /// Whether the SDK would try again.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClaudeError::Api { status, should_retry, error_code, .. } => {
                if let Some(decided) = should_retry {
                    return *decided;
                }
                if error_code.as_deref() == Some("enforced_spend_limit_reached") {
                    return false;
                }
                matches!(status, 408 | 409 | 429) || *status >= 500
            }
            ClaudeError::Timeout(_) | ClaudeError::Transport(_) => true,
            ClaudeError::Malformed(_) | ClaudeError::TooManyTurns { .. } | ClaudeError::Config(_) => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClaudeError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `error.type` of the envelope: `rate_limit_error`, `overloaded_error`, …
    pub fn error_type(&self) -> Option<&str> {
        match self {
            ClaudeError::Api { error_type, .. } => error_type.as_deref(),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            ClaudeError::Api { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClaudeError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

pub struct ClaudeClient {
    http: reqwest::Client,
    url: String,
    key: HeaderValue,
    settings: ClaudeSettings,
}

impl std::fmt::Debug for ClaudeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaudeClient").field("url", &self.url).field("model", &self.settings.model).finish()
    }
}

impl ClaudeClient {
    pub fn new(settings: ClaudeSettings) -> Result<Self, ClaudeError> {
        if settings.api_key.trim().is_empty() {
            return Err(ClaudeError::Config("the API key is empty".into()));
        }
        if settings.model.trim().is_empty() {
            return Err(ClaudeError::Config("the model is empty".into()));
        }
        if settings.max_tokens == 0 {
            return Err(ClaudeError::Config("max_tokens must be at least 1".into()));
        }
        let base = settings.base_url.trim_end_matches('/');
        let url = format!("{base}/v1/messages");
        reqwest::Url::parse(&url).map_err(|e| ClaudeError::Config(format!("base_url {base:?}: {e}")))?;
        let mut key = HeaderValue::from_str(settings.api_key.trim())
            .map_err(|_| ClaudeError::Config("the API key is not a valid header value".into()))?;
        key.set_sensitive(true);
        // The one TLS backend of the process; a no-op when `main` installed it already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent("bma-social/0.1")
            .build()
            .map_err(|e| ClaudeError::Config(e.without_url().to_string()))?;
        Ok(Self { http, url, key, settings })
    }

    pub fn settings(&self) -> &ClaudeSettings {
        &self.settings
    }

    /// The request body as sent on the wire.
    pub fn body(&self, req: &MessagesRequest) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(self.settings.model));
        body.insert("max_tokens".into(), json!(self.settings.max_tokens));
        if let Some(system) = &req.system {
            body.insert("system".into(), json!(system));
        }
        body.insert("messages".into(), json!(req.messages));
        if !req.tools.is_empty() {
            body.insert("tools".into(), json!(req.tools));
        }
        if let Some(choice) = &req.tool_choice {
            body.insert("tool_choice".into(), json!(choice));
        }
        Value::Object(body)
    }

    /// One message, retried as the SDK would, within `settings.timeout` overall.
    pub async fn create(&self, req: &MessagesRequest) -> Result<MessagesResponse, ClaudeError> {
        let body = self.body(req);
        let deadline = Instant::now() + self.settings.timeout;
        let mut retries = 0_u32;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ClaudeError::Timeout(self.settings.timeout));
            }
            let err = match self.attempt(&body, retries, remaining).await {
                Ok(answer) => return Ok(answer),
                Err(e) => e,
            };
            if retries >= self.settings.max_retries || !err.is_retryable() {
                return Err(err);
            }
            let wait = retry_delay(&err, retries);
            if Instant::now() + wait >= deadline {
                tracing::warn!(error = %err, ?wait, "Anthropic API failed and the next try would pass the deadline");
                return Err(err);
            }
            tracing::warn!(error = %err, retry = retries + 1, ?wait, "Anthropic API failed; retrying");
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }

    async fn attempt(&self, body: &Value, retries: u32, budget: Duration) -> Result<MessagesResponse, ClaudeError> {
        let sent = self
            .http
            .post(&self.url)
            .header("x-api-key", self.key.clone())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .header("x-stainless-retry-count", retries)
            .timeout(budget)
            .json(body)
            .send()
            .await;
        let res = sent.map_err(|e| self.transport(e))?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let request_id = header(&headers, "request-id").map(str::to_owned);
        let bytes = res.bytes().await.map_err(|e| self.transport(e))?;
        if (200..300).contains(&status) {
            let mut answer = parse_message(&bytes)?;
            answer.request_id = request_id;
            Ok(answer)
        } else {
            Err(api_error(status, &headers, &bytes, request_id))
        }
    }

    fn transport(&self, e: reqwest::Error) -> ClaudeError {
        if e.is_timeout() {
            ClaudeError::Timeout(self.settings.timeout)
        } else {
            ClaudeError::Transport(e.without_url().to_string())
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn parse_message(bytes: &[u8]) -> Result<MessagesResponse, ClaudeError> {
    #[derive(Deserialize)]
    struct Raw {
        id: String,
        model: String,
        #[serde(default)]
        content: Vec<Value>,
        stop_reason: Option<StopReason>,
        #[serde(default)]
        usage: Usage,
    }
    let raw: Raw = serde_json::from_slice(bytes).map_err(|e| ClaudeError::Malformed(e.to_string()))?;
    let content = raw
        .content
        .into_iter()
        .filter_map(|b| match serde_json::from_value::<Block>(b.clone()) {
            Ok(block) => Some(block),
            Err(_) => {
                tracing::debug!(kind = ?b.get("type"), "skipping a content block this client does not use");
                None
            }
        })
        .collect();
    Ok(MessagesResponse {
        id: raw.id,
        model: raw.model,
        content,
        stop_reason: raw.stop_reason.unwrap_or(StopReason::Other),
        usage: raw.usage,
        request_id: None,
    })
}

fn api_error(status: u16, headers: &HeaderMap, bytes: &[u8], request_id: Option<String>) -> ClaudeError {
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let error = body.get("error");
    let error_type = error.and_then(|e| e.get("type")).and_then(Value::as_str).map(str::to_owned);
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map_or_else(|| String::from_utf8_lossy(bytes).chars().take(300).collect::<String>(), str::to_owned);
    let error_code = error
        .and_then(|e| e.get("details"))
        .and_then(|d| d.get("error_code"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let request_id = request_id.or_else(|| body.get("request_id").and_then(Value::as_str).map(str::to_owned));
    let should_retry = match header(headers, "x-should-retry") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    ClaudeError::Api {
        status,
        error_type,
        message,
        request_id,
        retry_after: parse_retry_after(headers),
        should_retry,
        error_code,
    }
}

/// `retry-after-ms`, then `retry-after` as (fractional) seconds, then as an HTTP date.
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = header(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let value = header(headers, "retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = at - time::OffsetDateTime::now_utc();
    Duration::try_from(wait).ok()
}

fn retry_delay(err: &ClaudeError, retries_done: u32) -> Duration {
    if let Some(wait) = err.retry_after()
        && !wait.is_zero()
        && wait <= MAX_HONOURED_RETRY_AFTER
    {
        return wait;
    }
    let backoff = INITIAL_RETRY_DELAY.saturating_mul(2_u32.saturating_pow(retries_done.min(16))).min(MAX_RETRY_DELAY);
    backoff.mul_f64(1.0 - 0.25 * rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after_seconds() {
        let h = headers(&[("retry-after-ms", "250"), ("retry-after", "3")]);
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(250)));
    }

    #[test]
    fn retry_after_accepts_fractional_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(&headers(&[("retry-after", "1.5")])), Some(Duration::from_millis(1500)));
        let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(30);
        let date =
            later.format(&time::format_description::well_known::Rfc2822).expect("format").replace("+0000", "GMT");
        let wait = parse_retry_after(&headers(&[("retry-after", &date)])).expect("date parsed");
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
        assert_eq!(parse_retry_after(&headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])), None);
    }

    #[test]
    fn backoff_doubles_from_half_a_second_to_eight_with_down_jitter() {
        let err = ClaudeError::Transport("reset".into());
        for (n, full) in [(0, 500), (1, 1000), (2, 2000), (3, 4000), (4, 8000), (9, 8000)] {
            let d = retry_delay(&err, n);
            let full = Duration::from_millis(full);
            assert!(d <= full && d >= full.mul_f64(0.75), "retry {n}: {d:?}");
        }
    }

    #[test]
    fn a_retry_after_beyond_a_minute_falls_back_to_backoff() {
        let err = ClaudeError::Api {
            status: 429,
            error_type: Some("rate_limit_error".into()),
            message: "slow down".into(),
            request_id: None,
            retry_after: Some(Duration::from_secs(120)),
            should_retry: None,
            error_code: None,
        };
        assert!(retry_delay(&err, 0) <= INITIAL_RETRY_DELAY);
    }

    #[test]
    fn x_should_retry_and_spend_limits_override_the_status() {
        let h = headers(&[("x-should-retry", "false")]);
        assert!(!api_error(529, &h, b"{}", None).is_retryable());
        let h = headers(&[("x-should-retry", "true")]);
        assert!(api_error(400, &h, b"{}", None).is_retryable());
        let spend = br#"{"type":"error","error":{"type":"rate_limit_error","message":"spend","details":{"error_code":"enforced_spend_limit_reached"}}}"#;
        assert!(!api_error(429, &HeaderMap::new(), spend, None).is_retryable());
        assert!(api_error(409, &HeaderMap::new(), b"", None).is_retryable());
        assert!(!api_error(413, &HeaderMap::new(), b"", None).is_retryable());
    }
}
