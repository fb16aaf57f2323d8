//! The Claude fake over raw HTTP: what it refuses and in which words, its envelopes and headers,
//! the script and injected faults, and the deterministic venue-support policy in English and Thai.

use bma_fakes::claude::{ClaudeFake, ClaudeFakeConfig, ScriptedReply};
use serde_json::{Value, json};
use std::time::Duration;

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().expect("a string field")
    }

    fn tool_use(&self) -> Option<&Value> {
        self.body["content"].as_array()?.iter().find(|b| b["type"] == "tool_use")
    }
}

async fn start(tune: impl FnOnce(&mut ClaudeFakeConfig)) -> ClaudeFake {
    let mut cfg = ClaudeFakeConfig::default();
    tune(&mut cfg);
    ClaudeFake::start(cfg).await.expect("fake")
}

async fn post(fake: &ClaudeFake, key: Option<&str>, version: Option<&str>, body: &Value) -> Answer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut req = reqwest::Client::new().post(format!("{}/v1/messages", fake.base_url())).json(body);
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    if let Some(v) = version {
        req = req.header("anthropic-version", v);
    }
    let res = req.send().await.expect("send");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.json().await.expect("json body");
    Answer { status, headers, body }
}

async fn send(fake: &ClaudeFake, body: &Value) -> Answer {
    post(fake, Some(fake.api_key()), Some("2023-06-01"), body).await
}

fn tool(name: &str, properties: Value) -> Value {
    json!({ "name": name, "description": name, "input_schema": { "type": "object", "properties": properties } })
}

fn all_tools() -> Vec<Value> {
    vec![
        tool("set_volume", json!({ "zone": {}, "level": {} })),
        tool("skip_track", json!({ "zone": {} })),
        tool("assign_playlist", json!({ "query": {} })),
        tool("zone_status", json!({ "zone": {} })),
        tool("hand_over", json!({ "reason": {} })),
    ]
}

fn ask(text: &str, tools: Vec<Value>) -> Value {
    json!({
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 400,
        "messages": [{ "role": "user", "content": text }],
        "tools": tools,
    })
}

fn assert_envelope(a: &Answer, status: u16, error_type: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body["type"], "error");
    assert_eq!(a.body["error"]["type"], error_type);
    assert!(a.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(a.body["request_id"].as_str(), a.header("request-id"), "request id in body and header");
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_refused_with_401_authentication_error() {
    let fake = start(|_| {}).await;
    let body = ask("hi", vec![]);
    let none = post(&fake, None, Some("2023-06-01"), &body).await;
    assert_envelope(&none, 401, "authentication_error");
    let wrong = post(&fake, Some("sk-ant-nope"), Some("2023-06-01"), &body).await;
    assert_envelope(&wrong, 401, "authentication_error");
    assert_eq!(wrong.error_message(), "invalid x-api-key");
    assert_eq!(fake.request_count(), 2);
    assert_eq!(fake.messages_answered(), 0);
}

#[tokio::test]
async fn a_missing_anthropic_version_is_a_400() {
    let fake = start(|_| {}).await;
    let a = post(&fake, Some(fake.api_key()), None, &ask("hi", vec![])).await;
    assert_envelope(&a, 400, "invalid_request_error");
    assert!(a.error_message().contains("anthropic-version"));
}

#[tokio::test]
async fn missing_required_fields_are_named_in_the_400() {
    let fake = start(|_| {}).await;
    for field in ["model", "max_tokens", "messages"] {
        let mut body = ask("hi", vec![]);
        body.as_object_mut().expect("object").remove(field);
        let a = send(&fake, &body).await;
        assert_envelope(&a, 400, "invalid_request_error");
        assert_eq!(a.error_message(), format!("{field}: Field required"));
    }
    let mut body = ask("hi", vec![]);
    body["messages"] = json!([{ "role": "system", "content": "be nice" }]);
    assert!(send(&fake, &body).await.error_message().contains("top-level `system`"));
    body["messages"] = json!([]);
    assert_eq!(send(&fake, &body).await.status, 400);
    let mut body = ask("hi", vec![]);
    body["temprature"] = json!(0.2);
    assert_eq!(send(&fake, &body).await.error_message(), "temprature: Extra inputs are not permitted");
}

#[tokio::test]
async fn a_tool_use_without_its_tool_result_in_the_next_turn_is_refused() {
    let fake = start(|_| {}).await;
    let mut body = ask("hi", all_tools());
    body["messages"] = json!([
        { "role": "user", "content": "skip it" },
        { "role": "assistant", "content": [{ "type": "tool_use", "id": "toolu_A", "name": "skip_track", "input": {} }] },
        { "role": "user", "content": "well?" },
    ]);
    let a = send(&fake, &body).await;
    assert_envelope(&a, 400, "invalid_request_error");
    assert!(a.error_message().starts_with("messages.1: `tool_use` ids were found without `tool_result`"));
    assert!(a.error_message().contains("toolu_A"));

    body["messages"][2] =
        json!({ "role": "user", "content": [{ "type": "tool_result", "tool_use_id": "toolu_B", "content": "ok" }] });
    let a = send(&fake, &body).await;
    assert!(a.error_message().contains("unexpected `tool_use_id`"), "{}", a.body);

    body["messages"][2]["content"][0]["tool_use_id"] = json!("toolu_A");
    let a = send(&fake, &body).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["stop_reason"], "end_turn");
}

#[tokio::test]
async fn tool_definitions_are_checked() {
    let fake = start(|_| {}).await;
    let bad_name = send(&fake, &ask("hi", vec![tool("set volume", json!({}))])).await;
    assert!(bad_name.error_message().contains("String should match pattern"), "{}", bad_name.body);
    let no_type = json!({ "name": "x", "input_schema": { "properties": {} } });
    let a = send(&fake, &ask("hi", vec![no_type])).await;
    assert_eq!(a.error_message(), "tools.0.custom.input_schema.type: Field required");
    let mut forced = ask("hi", all_tools());
    forced["tool_choice"] = json!({ "type": "tool", "name": "reboot" });
    assert_eq!(send(&fake, &forced).await.status, 400);
}

#[tokio::test]
async fn a_message_echoes_the_model_with_usage_ids_and_rate_limit_headers() {
    let fake = start(|_| {}).await;
    let a = send(&fake, &ask("hello", vec![])).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["model"], "claude-sonnet-4-5-20250929");
    assert_eq!((a.body["type"].as_str(), a.body["role"].as_str()), (Some("message"), Some("assistant")));
    assert!(a.body["id"].as_str().is_some_and(|id| id.starts_with("msg_01")));
    assert!(a.body["usage"]["input_tokens"].as_u64().is_some_and(|n| n > 0));
    assert!(a.body["usage"]["output_tokens"].as_u64().is_some_and(|n| n > 0));
    assert!(a.header("request-id").is_some_and(|id| id.starts_with("req_")));
    assert_eq!(a.header("anthropic-ratelimit-requests-limit"), Some("4000"));
    assert_eq!(a.header("anthropic-ratelimit-requests-remaining"), Some("3999"));
    let reset = a.header("anthropic-ratelimit-requests-reset").expect("reset");
    time::OffsetDateTime::parse(reset, &time::format_description::well_known::Rfc3339).expect("RFC 3339 reset");
}

#[tokio::test]
async fn the_per_minute_limit_answers_429_with_retry_after() {
    let fake = start(|c| c.requests_per_minute = Some(2)).await;
    for _ in 0..2 {
        assert_eq!(send(&fake, &ask("hi", vec![])).await.status, 200);
    }
    let a = send(&fake, &ask("hi", vec![])).await;
    assert_envelope(&a, 429, "rate_limit_error");
    assert_eq!(a.header("anthropic-ratelimit-requests-remaining"), Some("0"));
    let wait: u64 = a.header("retry-after").and_then(|v| v.parse().ok()).expect("retry-after");
    assert!((1..=60).contains(&wait));
}

#[tokio::test]
async fn injected_failures_use_the_api_envelope_then_service_resumes() {
    let fake = start(|c| c.retry_after_secs = 7).await;
    fake.fail_next(1, 429);
    fake.fail_next(1, 529);
    fake.fail_next(1, 500);
    let body = ask("hi", vec![]);
    let a = send(&fake, &body).await;
    assert_envelope(&a, 429, "rate_limit_error");
    assert_eq!(a.header("retry-after"), Some("7"));
    let a = send(&fake, &body).await;
    assert_envelope(&a, 529, "overloaded_error");
    assert_eq!(a.error_message(), "Overloaded");
    let a = send(&fake, &body).await;
    assert_envelope(&a, 500, "api_error");
    assert_eq!(send(&fake, &body).await.status, 200);
}

#[tokio::test]
async fn scripted_replies_are_used_in_order_before_the_policy() {
    let fake = start(|_| {}).await;
    fake.script(vec![
        ScriptedReply::ToolUse { name: "zone_status".into(), input: json!({ "zone": "spa" }) },
        ScriptedReply::Text("Scripted hello".into()),
        ScriptedReply::Error {
            status: 413,
            error_type: "request_too_large".into(),
            message: "Request exceeds the maximum allowed number of bytes.".into(),
            retry_after: None,
        },
    ]);
    let body = ask("hi", all_tools());
    let first = send(&fake, &body).await;
    assert_eq!(first.body["stop_reason"], "tool_use");
    assert_eq!(first.tool_use().map(|t| t["input"].clone()), Some(json!({ "zone": "spa" })));
    assert_eq!(send(&fake, &body).await.body["content"][0]["text"], "Scripted hello");
    assert_envelope(&send(&fake, &body).await, 413, "request_too_large");
    assert_eq!(fake.scripted_left(), 0);
    assert_eq!(send(&fake, &body).await.body["stop_reason"], "end_turn", "policy: no keyword in 'hi'");
}

#[tokio::test]
async fn the_policy_picks_tools_by_keyword_with_inputs_read_from_the_text() {
    let fake = start(|_| {}).await;
    let cases = [
        ("Please make the lobby louder, level 12", "set_volume", json!({ "zone": "lobby", "level": 12 })),
        ("volume too high at the pool", "set_volume", json!({ "zone": "pool", "level": null })),
        ("skip this song in the bar", "skip_track", json!({ "zone": "bar" })),
        ("music is barely audible in the spa, volume up", "set_volume", json!({ "zone": "spa", "level": null })),
        ("our management wants to skip tracks at the pools", "skip_track", json!({ "zone": "pool" })),
        ("put on some jazz please", "assign_playlist", json!({ "query": "jazz" })),
        ("what's the status of the restaurant?", "zone_status", json!({ "zone": "restaurant" })),
        (
            "turn it down, no actually I need a human",
            "hand_over",
            json!({ "reason": "turn it down, no actually I need a human" }),
        ),
        ("เสียงที่ล็อบบี้ดังไป ลดเหลือ 4 หน่อย", "set_volume", json!({ "zone": "ล็อบบี้", "level": 4 })),
        ("ข้ามเพลงนี้ที", "skip_track", json!({ "zone": "" })),
        ("ขอคุยกับเจ้าหน้าที่", "hand_over", json!({ "reason": "ขอคุยกับเจ้าหน้าที่" })),
        ("ตอนนี้เล่นอะไรอยู่ที่สระ", "zone_status", json!({ "zone": "สระ" })),
    ];
    for (text, name, input) in cases {
        let a = send(&fake, &ask(text, all_tools())).await;
        assert_eq!(a.body["stop_reason"], "tool_use", "{text}");
        let used = a.tool_use().expect("tool_use block");
        assert_eq!((used["name"].clone(), used["input"].clone()), (json!(name), input), "{text}");
        assert!(used["id"].as_str().is_some_and(|id| id.starts_with("toolu_01")));
    }
}

#[tokio::test]
async fn the_policy_only_uses_tools_that_were_offered() {
    let fake = start(|_| {}).await;
    let only_volume = vec![tool("set_volume", json!({ "zone": {}, "level": {} }))];
    let a = send(&fake, &ask("skip this song", only_volume.clone())).await;
    assert_eq!(a.body["stop_reason"], "end_turn");
    assert!(a.tool_use().is_none());
    let a = send(&fake, &ask("skip this song", vec![])).await;
    assert_eq!(a.body["stop_reason"], "end_turn");
    let mut none = ask("louder please", only_volume);
    none["tool_choice"] = json!({ "type": "none" });
    assert!(send(&fake, &none).await.tool_use().is_none());
}

#[tokio::test]
async fn a_forced_tool_choice_is_obeyed_without_a_preamble() {
    let fake = start(|_| {}).await;
    let mut body = ask("hello", all_tools());
    body["tool_choice"] = json!({ "type": "tool", "name": "zone_status" });
    let a = send(&fake, &body).await;
    assert_eq!(a.body["content"].as_array().map(Vec::len), Some(1));
    assert_eq!(a.tool_use().map(|t| t["name"].clone()), Some(json!("zone_status")));
}

#[tokio::test]
async fn after_a_tool_result_the_policy_sums_it_up_in_the_users_language() {
    let fake = start(|_| {}).await;
    let mut body = ask("x", all_tools());
    body["messages"] = json!([
        { "role": "user", "content": "ข้ามเพลงที่บาร์หน่อย" },
        { "role": "assistant", "content": [
            { "type": "text", "text": "รับทราบค่ะ" },
            { "type": "tool_use", "id": "toolu_1", "name": "skip_track", "input": { "zone": "บาร์" } } ] },
        { "role": "user", "content": [{ "type": "tool_result", "tool_use_id": "toolu_1", "content": "skipped to Lofi Dreams" }] },
    ]);
    let a = send(&fake, &body).await;
    assert_eq!(a.body["stop_reason"], "end_turn");
    assert_eq!(a.body["content"][0]["text"], "เรียบร้อยค่ะ — skipped to Lofi Dreams");
}

#[tokio::test]
async fn a_small_max_tokens_cuts_the_text_and_says_so() {
    let fake = start(|_| {}).await;
    let mut body = ask("hello", vec![]);
    body["max_tokens"] = json!(3);
    let a = send(&fake, &body).await;
    assert_eq!(a.body["stop_reason"], "max_tokens");
    assert!(a.body["content"][0]["text"].as_str().is_some_and(|t| t.len() <= 12));
}

#[tokio::test]
async fn every_request_body_is_kept_for_inspection_and_latency_is_applied() {
    let fake = start(|c| c.latency = Duration::from_millis(120)).await;
    let started = std::time::Instant::now();
    send(&fake, &ask("first", vec![])).await;
    assert!(started.elapsed() >= Duration::from_millis(120));
    fake.set_latency(Duration::ZERO);
    send(&fake, &ask("second", vec![])).await;
    let texts: Vec<Value> = fake.requests().iter().map(|r| r["messages"][0]["content"].clone()).collect();
    assert_eq!(texts, [json!("first"), json!("second")]);
}
