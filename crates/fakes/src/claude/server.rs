//! The HTTP face of the fake: `POST /v1/messages` runs through authentication, the version header,
//! body validation, the per-minute limit, injected failures and the script before the policy
//! answers. Every answer carries `request-id`; authenticated ones the rate-limit headers.

use super::policy;
use super::{ScriptedReply, Shared};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rand::Rng;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const UNLIMITED_RPM: u32 = 4000;
const TOP_LEVEL: &[&str] = &[
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "stream",
    "metadata",
    "thinking",
    "service_tier",
];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().route("/v1/messages", post(messages)).with_state(shared)
}

enum Outcome {
    Message(Value),
    Error { status: u16, error_type: String, message: String, retry_after: Option<Duration> },
}

impl Outcome {
    fn error(status: u16, message: impl Into<String>) -> Self {
        Outcome::Error { status, error_type: error_type_for(status).into(), message: message.into(), retry_after: None }
    }
}

struct Limits {
    limit: u32,
    remaining: u32,
    reset: OffsetDateTime,
}

async fn messages(AxumState(shared): AxumState<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = random_id("req_011C", 20);
    let (outcome, limits, latency) = handle(&shared, &headers, &body);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut response = match outcome {
        Outcome::Message(message) => (StatusCode::OK, axum::Json(message)).into_response(),
        Outcome::Error { status, error_type, message, retry_after } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({
                "type": "error",
                "error": { "type": error_type, "message": message },
                "request_id": request_id,
            });
            let mut response = (code, axum::Json(body)).into_response();
            if let Some(wait) = retry_after {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                response.headers_mut().insert("retry-after", HeaderValue::from(secs));
            }
            if status == 529 || status >= 500 {
                response.headers_mut().insert("x-should-retry", HeaderValue::from_static("true"));
            }
            response
        }
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("request-id", v);
    }
    if let Some(l) = limits {
        h.insert("anthropic-ratelimit-requests-limit", HeaderValue::from(l.limit));
        h.insert("anthropic-ratelimit-requests-remaining", HeaderValue::from(l.remaining));
        if let Some(v) = l.reset.format(&Rfc3339).ok().and_then(|s| HeaderValue::from_str(&s).ok()) {
            h.insert("anthropic-ratelimit-requests-reset", v);
        }
    }
    response
}

fn handle(shared: &Shared, headers: &HeaderMap, raw: &[u8]) -> (Outcome, Option<Limits>, Duration) {
    let parsed: Result<Value, String> = serde_json::from_slice(raw).map_err(|e| e.to_string());
    let mut st = shared.lock();
    st.requests.push(parsed.clone().unwrap_or(Value::Null));
    let latency = st.latency;
    match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        None => return (Outcome::error(401, "x-api-key header is required"), None, latency),
        Some(k) if k != shared.api_key => return (Outcome::error(401, "invalid x-api-key"), None, latency),
        Some(_) => {}
    }

    let now = Instant::now();
    while st.window.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
        st.window.pop_front();
    }
    let limit = shared.requests_per_minute.unwrap_or(UNLIMITED_RPM);
    let over = shared.requests_per_minute.is_some_and(|n| st.window.len() >= n as usize);
    if !over {
        st.window.push_back(now);
    }
    let reset_in =
        st.window.front().map_or(Duration::from_secs(60), |t| Duration::from_secs(60) - now.duration_since(*t));
    let limits = Limits {
        limit,
        remaining: limit.saturating_sub(u32::try_from(st.window.len()).unwrap_or(u32::MAX)),
        reset: OffsetDateTime::now_utc() + reset_in,
    };

    let outcome = (|| {
        match headers.get("anthropic-version").and_then(|v| v.to_str().ok()) {
            None => return Outcome::error(400, "anthropic-version: header is required"),
            Some("2023-06-01" | "2023-01-01") => {}
            Some(other) => return Outcome::error(400, format!("anthropic-version: invalid version '{other}'")),
        }
        let body = match &parsed {
            Ok(body) => body,
            Err(e) => return Outcome::error(400, format!("There was an error parsing the body of your request: {e}")),
        };
        if let Err(message) = validate(body) {
            return Outcome::error(400, message);
        }
        if over {
            return Outcome::Error {
                status: 429,
                error_type: "rate_limit_error".into(),
                message: format!(
                    "This request would exceed the rate limit for your organization of {limit} requests per minute. \
                     For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response \
                     headers for current usage. Please try again later."
                ),
                retry_after: Some(reset_in),
            };
        }
        if let Some(status) = st.failures.pop_front() {
            return injected(status, shared.retry_after_secs);
        }
        let reply = match st.script.pop_front() {
            Some(ScriptedReply::Error { status, error_type, message, retry_after }) => {
                return Outcome::Error { status, error_type, message, retry_after };
            }
            Some(ScriptedReply::Text(text)) => policy::Reply::text(text),
            Some(ScriptedReply::ToolUse { name, input }) => policy::Reply::tool_use(None, name, input),
            None => policy::answer(body),
        };
        Outcome::Message(message(body, reply))
    })();
    if matches!(outcome, Outcome::Message(_)) {
        st.answered += 1;
    }
    (outcome, Some(limits), latency)
}

fn injected(status: u16, retry_after_secs: u64) -> Outcome {
    let (message, retry_after) = match status {
        429 => (
            "Number of requests has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); \
             see the response headers for current usage. Please try again later."
                .to_owned(),
            Some(Duration::from_secs(retry_after_secs)),
        ),
        529 => ("Overloaded".to_owned(), None),
        500 => ("Internal server error".to_owned(), None),
        _ => (format!("Injected failure {status}"), None),
    };
    Outcome::Error { status, error_type: error_type_for(status).into(), message, retry_after }
}

fn error_type_for(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        408 => "timeout_error",
        409 => "conflict_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

fn message(body: &Value, reply: policy::Reply) -> Value {
    let max_tokens = body.get("max_tokens").and_then(Value::as_u64).unwrap_or(1);
    let policy::Reply { mut content, mut stop_reason } = reply;
    let budget = usize::try_from(max_tokens.saturating_mul(4)).unwrap_or(usize::MAX);
    if stop_reason == "end_turn" && text_len(&content) > budget {
        content = truncate(content, budget);
        stop_reason = "max_tokens";
    }
    let input_tokens = estimate_tokens(&body.to_string());
    let output_tokens = estimate_tokens(&Value::Array(content.clone()).to_string());
    json!({
        "id": random_id("msg_01", 22),
        "type": "message",
        "role": "assistant",
        "model": body.get("model").cloned().unwrap_or(Value::Null),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "standard",
        },
    })
}

fn text_len(content: &[Value]) -> usize {
    content.iter().filter_map(|b| b.get("text").and_then(Value::as_str)).map(str::len).sum()
}

fn truncate(content: Vec<Value>, mut budget: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for block in content {
        let Some(text) = block.get("text").and_then(Value::as_str) else { continue };
        let mut end = budget.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        budget -= end;
        if end > 0 {
            out.push(json!({ "type": "text", "text": &text[..end] }));
        }
    }
    out
}

/// Roughly four bytes a token: English words and Thai syllables both come out near the truth.
pub(crate) fn estimate_tokens(s: &str) -> u64 {
    (s.len() as u64).div_ceil(4).max(1)
}

pub(crate) fn random_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let tail: String = (0..len).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect();
    format!("{prefix}{tail}")
}

/// The checks the real API makes before a model sees the request, with its wording.
fn validate(body: &Value) -> Result<(), String> {
    let obj = body.as_object().ok_or("The request body must be a JSON object")?;
    if let Some(extra) = obj.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(format!("{extra}: Extra inputs are not permitted"));
    }
    match obj.get("model") {
        None => return Err("model: Field required".into()),
        Some(Value::String(m)) if !m.trim().is_empty() => {}
        Some(_) => return Err("model: Input should be a valid non-empty string".into()),
    }
    match obj.get("max_tokens") {
        None => return Err("max_tokens: Field required".into()),
        Some(v) if v.as_u64().is_some_and(|n| n >= 1) => {}
        Some(_) => return Err("max_tokens: Input should be an integer greater than or equal to 1".into()),
    }
    if obj.get("stream").and_then(Value::as_bool) == Some(true) {
        return Err("stream: this fake answers whole messages only".into());
    }
    match obj.get("system") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(blocks)) if blocks.iter().all(|b| b.get("type").and_then(Value::as_str) == Some("text")) => {}
        Some(_) => return Err("system: Input should be a valid string or a list of text blocks".into()),
    }
    let tools = validate_tools(obj)?;
    let messages = match obj.get("messages") {
        None => return Err("messages: Field required".into()),
        Some(Value::Array(m)) => m,
        Some(_) => return Err("messages: Input should be a valid list".into()),
    };
    if messages.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    let mut previous_tool_uses: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str);
        match role {
            Some("user" | "assistant") => {}
            Some("system") => {
                return Err("messages: Unexpected role \"system\". The Messages API accepts a top-level `system` \
                            parameter, not \"system\" as an input message role."
                    .into());
            }
            _ => return Err(format!("messages.{i}.role: Input should be 'user' or 'assistant'")),
        }
        let blocks = policy::blocks(m).ok_or_else(|| format!("messages.{i}.content: Field required"))?;
        let mut tool_uses = Vec::new();
        let mut answered = HashSet::new();
        for (j, b) in blocks.iter().enumerate() {
            let at = format!("messages.{i}.content.{j}");
            match b.get("type").and_then(Value::as_str) {
                Some("text") => {
                    if !b.get("text").is_some_and(Value::is_string) {
                        return Err(format!("{at}.text: Field required"));
                    }
                }
                Some("tool_use") => {
                    if role != Some("assistant") {
                        return Err(format!("{at}: `tool_use` blocks are only allowed in assistant messages"));
                    }
                    let id = b.get("id").and_then(Value::as_str).ok_or(format!("{at}.id: Field required"))?;
                    if !b.get("name").is_some_and(Value::is_string) {
                        return Err(format!("{at}.name: Field required"));
                    }
                    if !b.get("input").is_some_and(Value::is_object) {
                        return Err(format!("{at}.input: Input should be a valid dictionary"));
                    }
                    if tools.is_empty() {
                        return Err(format!(
                            "{at}: Requests which include `tool_use` or `tool_result` blocks must define tools."
                        ));
                    }
                    tool_uses.push(id.to_owned());
                }
                Some("tool_result") => {
                    if role != Some("user") {
                        return Err(format!("{at}: `tool_result` blocks are only allowed in user messages"));
                    }
                    let id = b
                        .get("tool_use_id")
                        .and_then(Value::as_str)
                        .ok_or(format!("{at}.tool_use_id: Field required"))?;
                    if !previous_tool_uses.iter().any(|u| u == id) {
                        return Err(format!(
                            "{at}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` \
                             block must have a corresponding `tool_use` block in the previous message."
                        ));
                    }
                    answered.insert(id.to_owned());
                }
                Some("image" | "document" | "thinking" | "redacted_thinking") => {}
                Some(other) => return Err(format!("{at}.type: unknown content block type '{other}'")),
                None => return Err(format!("{at}.type: Field required")),
            }
        }
        let missing: Vec<&str> =
            previous_tool_uses.iter().filter(|u| !answered.contains(*u)).map(String::as_str).collect();
        if !missing.is_empty() {
            return Err(format!(
                "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each \
                 `tool_use` block must have a corresponding `tool_result` block in the next message.",
                i - 1,
                missing.join(", ")
            ));
        }
        previous_tool_uses = tool_uses;
    }
    if !previous_tool_uses.is_empty() {
        return Err(format!(
            "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each \
             `tool_use` block must have a corresponding `tool_result` block in the next message.",
            messages.len() - 1,
            previous_tool_uses.join(", ")
        ));
    }
    Ok(())
}

fn validate_tools(obj: &Map<String, Value>) -> Result<Vec<String>, String> {
    let tools = match obj.get("tools") {
        None => Vec::new(),
        Some(Value::Array(t)) => t.clone(),
        Some(_) => return Err("tools: Input should be a valid list".into()),
    };
    let mut names = Vec::new();
    for (i, t) in tools.iter().enumerate() {
        let name = t.get("name").and_then(Value::as_str).ok_or(format!("tools.{i}.custom.name: Field required"))?;
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(format!("tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"));
        }
        match t.get("input_schema").map(|s| s.get("type")) {
            None => return Err(format!("tools.{i}.custom.input_schema: Field required")),
            Some(Some(Value::String(ty))) if ty == "object" => {}
            Some(None) => return Err(format!("tools.{i}.custom.input_schema.type: Field required")),
            Some(Some(_)) => return Err(format!("tools.{i}.custom.input_schema.type: Input should be 'object'")),
        }
        if names.iter().any(|n| n == name) {
            return Err("tools: Tool names must be unique.".into());
        }
        names.push(name.to_owned());
    }
    if let Some(choice) = obj.get("tool_choice") {
        match choice.get("type").and_then(Value::as_str) {
            Some("auto" | "any" | "none") => {}
            Some("tool") => {
                let name = choice.get("name").and_then(Value::as_str).ok_or("tool_choice.tool.name: Field required")?;
                if !names.iter().any(|n| n == name) {
                    return Err(format!("tool_choice.tool.name: tool '{name}' is not in `tools`"));
                }
            }
            _ => return Err("tool_choice: Input tag should be 'auto', 'any', 'tool' or 'none'".into()),
        }
        if names.is_empty() && choice.get("type").and_then(Value::as_str) != Some("none") {
            return Err("tool_choice may only be specified while providing tools.".into());
        }
    }
    Ok(names)
}
