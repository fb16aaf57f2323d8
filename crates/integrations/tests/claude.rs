//! The Claude client against the faithful fake: the tool-use loop end to end, the SDK's retry
//! policy (429 with retry-after, 529, limits, the overall deadline), errors that must not be
//! retried, latency, and keys kept out of debug output.

use bma_fakes::claude::{ClaudeFake, ClaudeFakeConfig, ScriptedReply};
use bma_integrations::claude::{
    Block, ClaudeClient, ClaudeError, ClaudeSettings, MessagesRequest, Role, StopReason, ToolDef, Turn, run_tools,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MODEL: &str = "claude-haiku-4-5-20251001";

async fn fake(tune: impl FnOnce(&mut ClaudeFakeConfig)) -> ClaudeFake {
    let mut cfg = ClaudeFakeConfig::default();
    tune(&mut cfg);
    ClaudeFake::start(cfg).await.expect("fake")
}

fn settings(fake: &ClaudeFake) -> ClaudeSettings {
    ClaudeSettings {
        base_url: fake.base_url(),
        timeout: Duration::from_secs(30),
        max_tokens: 512,
        ..ClaudeSettings::new(fake.api_key(), MODEL)
    }
}

fn client(fake: &ClaudeFake) -> ClaudeClient {
    ClaudeClient::new(settings(fake)).expect("client")
}

fn tool(name: &str, properties: Value) -> ToolDef {
    ToolDef {
        name: name.into(),
        description: format!("{name} for a zone of the venue"),
        input_schema: json!({ "type": "object", "properties": properties }),
    }
}

fn venue_tools() -> Vec<ToolDef> {
    vec![
        tool("set_volume", json!({ "zone": { "type": "string" }, "level": { "type": ["integer", "null"] } })),
        tool("skip_track", json!({ "zone": { "type": "string" } })),
        tool("zone_status", json!({ "zone": { "type": "string" } })),
        tool("hand_over", json!({ "reason": { "type": "string" } })),
    ]
}

fn ask(text: &str) -> MessagesRequest {
    MessagesRequest {
        system: Some("You help hotel staff with their background music.".into()),
        messages: vec![Turn::user(text)],
        tools: venue_tools(),
        tool_choice: None,
    }
}

#[tokio::test]
async fn a_tool_round_trip_calls_the_tool_with_the_models_input_and_returns_the_final_text() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let (answer, calls) = run_tools(&c, &ask("The pool is too loud, please set the volume to 6"), 4, |name, input| {
        log.lock().expect("log").push((name.clone(), input.clone()));
        async move { Ok::<_, String>(format!("{name}: pool volume is now 6")) }
    })
    .await
    .expect("tool loop");

    let seen = seen.lock().expect("log").clone();
    assert_eq!(seen, vec![("set_volume".to_owned(), json!({ "zone": "pool", "level": 6 }))]);
    assert_eq!(answer.stop_reason, StopReason::EndTurn);
    assert!(answer.text().contains("pool volume is now 6"), "{}", answer.text());
    assert_eq!(calls.len(), 1);
    assert!(calls[0].id.starts_with("toolu_"));
    assert_eq!((calls[0].turn, calls[0].is_error), (1, false));

    let sent = fake.requests();
    assert_eq!(sent.len(), 2);
    let messages = sent[1]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3, "user, assistant verbatim, user with the result");
    assert_eq!(messages[1]["role"], "assistant");
    let tool_use = messages[1]["content"]
        .as_array()
        .and_then(|c| c.iter().find(|b| b["type"] == "tool_use"))
        .expect("assistant turn keeps its tool_use block");
    assert_eq!(tool_use["id"], json!(calls[0].id));
    assert_eq!(tool_use["input"], json!({ "zone": "pool", "level": 6 }));
    assert_eq!(messages[2]["role"], "user");
    assert_eq!(
        messages[2]["content"],
        json!([{
            "type": "tool_result",
            "tool_use_id": calls[0].id,
            "content": "set_volume: pool volume is now 6",
            "is_error": false,
        }])
    );
    assert_eq!(sent[1]["model"], MODEL);
    assert_eq!(sent[1]["max_tokens"], 512);
    assert_eq!(sent[1]["tools"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn a_failing_tool_goes_back_flagged_as_an_error_and_the_model_apologises() {
    let fake = fake(|_| {}).await;
    let c = client(&fake);
    let (answer, calls) = run_tools(&c, &ask("Skip this track in the lobby"), 3, |_, _| async {
        Err::<String, _>("zone is offline".to_owned())
    })
    .await
    .expect("tool loop");
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].name.as_str(), calls[0].is_error), ("skip_track", true));
    let last = &fake.requests()[1]["messages"][2]["content"][0];
    assert_eq!((last["is_error"].clone(), last["content"].clone()), (json!(true), json!("zone is offline")));
    assert!(answer.text().starts_with("Sorry"), "{}", answer.text());
}

#[tokio::test]
async fn the_loop_stops_with_an_error_when_the_model_keeps_asking_for_tools_past_max_turns() {
    let fake = fake(|_| {}).await;
    let status = || ScriptedReply::ToolUse { name: "zone_status".into(), input: json!({ "zone": "bar" }) };
    fake.script(vec![status(), status(), status()]);
    let c = client(&fake);
    let mut count = 0;
    let err = run_tools(&c, &ask("what's playing in the bar?"), 2, |_, _| {
        count += 1;
        async { Ok::<_, String>("playing".to_owned()) }
    })
    .await
    .expect_err("too many turns");
    assert!(matches!(err, ClaudeError::TooManyTurns { max_turns: 2 }), "{err:?}");
    assert!(err.to_string().contains("2 turns"));
    assert_eq!(count, 2, "each of the two answers had its tool run");
    assert_eq!(fake.request_count(), 2);
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_then_succeeds() {
    let fake = fake(|c| c.retry_after_secs = 1).await;
    fake.fail_next(1, 429);
    let c = client(&fake);
    let started = Instant::now();
    let answer = c.create(&ask("hello")).await.expect("succeeds on the retry");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "retry-after: 1 honoured, waited {waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(fake.request_count(), 2);
    assert_eq!(answer.stop_reason, StopReason::EndTurn);
}

#[tokio::test]
async fn overloaded_529s_are_retried_with_growing_backoff() {
    let fake = fake(|_| {}).await;
    fake.fail_next(2, 529);
    let c = client(&fake);
    let started = Instant::now();
    c.create(&ask("hello")).await.expect("third try succeeds");
    let waited = started.elapsed();
    assert_eq!(fake.request_count(), 3);
    assert!(waited >= Duration::from_millis(375 + 750), "0.5 s then 1 s, less jitter: {waited:?}");
}

#[tokio::test]
async fn retries_stop_at_max_retries_with_the_last_error_in_the_api_envelope() {
    let fake = fake(|_| {}).await;
    fake.fail_next(5, 529);
    let c = ClaudeClient::new(ClaudeSettings { max_retries: 1, ..settings(&fake) }).expect("client");
    let err = c.create(&ask("hello")).await.expect_err("still overloaded");
    assert_eq!(err.status(), Some(529));
    assert_eq!(err.error_type(), Some("overloaded_error"));
    assert!(err.request_id().is_some_and(|id| id.starts_with("req_")));
    assert!(err.is_retryable());
    assert!(err.to_string().contains("Overloaded"), "{err}");
    assert_eq!(fake.request_count(), 2, "one try and one retry");
}

#[tokio::test]
async fn a_server_error_500_is_retried() {
    let fake = fake(|_| {}).await;
    fake.fail_next(1, 500);
    let answer = client(&fake).create(&ask("hello")).await.expect("retry succeeds");
    assert_eq!(fake.request_count(), 2);
    assert_eq!(answer.model, MODEL);
}

#[tokio::test]
async fn a_wrong_key_gets_401_and_is_not_retried() {
    let fake = fake(|_| {}).await;
    let c = ClaudeClient::new(ClaudeSettings { api_key: "sk-ant-wrong".into(), ..settings(&fake) }).expect("client");
    let err = c.create(&ask("hello")).await.expect_err("unauthorised");
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.error_type(), Some("authentication_error"));
    assert!(!err.is_retryable());
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn a_scripted_400_comes_back_unretried_with_its_message() {
    let fake = fake(|_| {}).await;
    fake.script(vec![ScriptedReply::Error {
        status: 400,
        error_type: "invalid_request_error".into(),
        message: "Your credit balance is too low".into(),
        retry_after: None,
    }]);
    let err = client(&fake).create(&ask("hello")).await.expect_err("rejected");
    assert_eq!((err.status(), err.error_type()), (Some(400), Some("invalid_request_error")));
    assert!(err.to_string().contains("credit balance"));
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn retries_never_outlast_the_overall_timeout() {
    let fake = fake(|c| c.retry_after_secs = 1).await;
    fake.fail_next(3, 429);
    let c =
        ClaudeClient::new(ClaudeSettings { timeout: Duration::from_millis(1500), ..settings(&fake) }).expect("client");
    let started = Instant::now();
    let err = c.create(&ask("hello")).await.expect_err("no time for a second wait");
    let took = started.elapsed();
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(fake.request_count(), 2, "one wait fits in 1.5 s, the second would not");
    assert!(took >= Duration::from_secs(1) && took < Duration::from_millis(1500), "{took:?}");
}

#[tokio::test]
async fn a_slow_answer_past_the_timeout_is_a_timeout_error() {
    let fake = fake(|c| c.latency = Duration::from_millis(800)).await;
    let c =
        ClaudeClient::new(ClaudeSettings { timeout: Duration::from_millis(300), ..settings(&fake) }).expect("client");
    let err = c.create(&ask("hello")).await.expect_err("too slow");
    assert!(matches!(err, ClaudeError::Timeout(_)), "{err:?}");
}

#[tokio::test]
async fn the_configured_latency_is_what_the_client_observes() {
    let fake = fake(|c| c.latency = Duration::from_millis(150)).await;
    let c = client(&fake);
    let started = Instant::now();
    c.create(&ask("hello")).await.expect("answer");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(150) && took < Duration::from_millis(1500), "{took:?}");
}

#[tokio::test]
async fn an_answer_echoes_the_model_and_reports_usage_and_its_request_id() {
    let fake = fake(|_| {}).await;
    let answer = client(&fake).create(&ask("hello there")).await.expect("answer");
    assert_eq!(answer.model, MODEL);
    assert!(answer.id.starts_with("msg_"));
    assert!(answer.usage.input_tokens > 10 && answer.usage.output_tokens > 0, "{:?}", answer.usage);
    assert!(answer.request_id.as_deref().is_some_and(|id| id.starts_with("req_")));
    assert!(matches!(answer.content.as_slice(), [Block::Text { .. }]));
}

#[tokio::test]
async fn the_tool_loop_runs_on_a_spawned_task() {
    let fake = fake(|_| {}).await;
    let c = Arc::new(client(&fake));
    let handle = tokio::spawn(async move {
        run_tools(&c, &ask("can I talk to a human please"), 3, |name, input| async move {
            Ok::<_, String>(format!("{name} queued: {}", input["reason"]))
        })
        .await
    });
    let (answer, calls) = handle.await.expect("joined").expect("loop");
    assert_eq!(calls[0].name, "hand_over");
    assert!(answer.text().contains("hand_over queued"));
}

#[tokio::test]
async fn a_conversation_with_earlier_turns_is_sent_in_order() {
    let fake = fake(|_| {}).await;
    let mut req = ask("and now?");
    req.messages = vec![Turn::user("hi"), Turn::assistant("Hello! How can I help?"), Turn::user("and now?")];
    client(&fake).create(&req).await.expect("answer");
    let sent = &fake.requests()[0]["messages"];
    let roles: Vec<&str> = sent.as_array().expect("messages").iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(sent[1]["content"], json!([{ "type": "text", "text": "Hello! How can I help?" }]));
    assert_eq!(req.messages[1].role, Role::Assistant);
}

#[test]
fn settings_and_client_never_print_the_api_key() {
    let key = "sk-ant-api03-very-secret";
    let s = ClaudeSettings::new(key, MODEL);
    assert!(!format!("{s:?}").contains(key));
    let c = ClaudeClient::new(s).expect("client");
    assert!(!format!("{c:?}").contains(key));
    assert!(matches!(
        ClaudeClient::new(ClaudeSettings::new(" ", MODEL)),
        Err(ClaudeError::Config(m)) if m.contains("key")
    ));
}
