//! The WhatsApp fake as Meta behaves: signed webhooks with retries, the 24-hour window, body
//! validation, templates, limits, statuses and media, checked over raw HTTP.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bma_domain::clock::Clock;
use bma_fakes::whatsapp::{
    FakeTemplate, RetryPolicy, StatusProgression, UserMessage, WhatsappFake, WhatsappFakeConfig,
};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A webhook POST as received: its `X-Hub-Signature-256` and body.
type Received = (Option<String>, Vec<u8>);

#[derive(Clone, Default)]
struct Inbox {
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Inbox {
    fn bodies(&self) -> Vec<Value> {
        self.got.lock().expect("lock").iter().map(|(_, b)| serde_json::from_slice(b).expect("json")).collect()
    }

    fn statuses(&self) -> Vec<(String, String, Option<String>)> {
        self.bodies()
            .iter()
            .filter_map(|b| b["entry"][0]["changes"][0]["value"]["statuses"][0].as_object().cloned())
            .map(|s| {
                (
                    s["id"].as_str().expect("a string field").to_owned(),
                    s["status"].as_str().expect("a string field").to_owned(),
                    s.get("biz_opaque_callback_data").and_then(Value::as_str).map(str::to_owned),
                )
            })
            .collect()
    }
}

async fn hook(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()).map(str::to_owned);
    inbox.got.lock().expect("lock").push((sig, body.to_vec()));
    let answer = inbox.answers.lock().expect("lock").pop_front().unwrap_or(200);
    StatusCode::from_u16(answer).expect("status")
}

async fn challenge(Query(q): Query<HashMap<String, String>>) -> (StatusCode, String) {
    if q.get("hub.mode").map(String::as_str) == Some("subscribe")
        && q.get("hub.verify_token").map(String::as_str) == Some("verify-me")
    {
        (StatusCode::OK, q.get("hub.challenge").cloned().unwrap_or_default())
    } else {
        (StatusCode::FORBIDDEN, String::new())
    }
}

async fn receiver() -> (String, Inbox) {
    let inbox = Inbox::default();
    let app = Router::new().route("/hook", post(hook).get(challenge)).with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (url, inbox)
}

/// Statuses far enough apart that their order survives a loaded machine.
fn spaced(out_of_order: bool) -> StatusProgression {
    StatusProgression {
        enabled: true,
        sent_after: Duration::from_millis(10),
        delivered_after: Duration::from_millis(200),
        read_after: Some(Duration::from_millis(400)),
        out_of_order,
    }
}

/// A clock that moves only when the test advances it.
fn frozen() -> Clock {
    Clock::virtual_at(bma_domain::clock::test_start())
}

fn quiet() -> WhatsappFakeConfig {
    WhatsappFakeConfig { statuses: StatusProgression::off(), ..WhatsappFakeConfig::default() }
}

async fn started(cfg: WhatsappFakeConfig) -> (WhatsappFake, Inbox) {
    let fake = WhatsappFake::start(cfg).await.expect("fake");
    let (url, inbox) = receiver().await;
    fake.set_webhook(&url);
    (fake, inbox)
}

async fn flush(fake: &WhatsappFake) {
    tokio::time::timeout(Duration::from_secs(10), fake.flush()).await.expect("webhooks settle");
}

fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else { return false };
    let tag: Vec<u8> =
        (0..hex.len()).step_by(2).filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::verify(&key, body, &tag).is_ok()
}

async fn send(fake: &WhatsappFake, token: &str, body: Value) -> (u16, Value) {
    let url = format!("{}/v23.0/{}/messages", fake.base_url(), fake.config().phone_number_id);
    let r = reqwest::Client::new().post(url).bearer_auth(token).json(&body).send().await.expect("send");
    (r.status().as_u16(), r.json().await.expect("json"))
}

fn text_to(to: &str, body: &str) -> Value {
    json!({ "messaging_product": "whatsapp", "to": to, "type": "text", "text": { "body": body } })
}

fn template(name: &str, lang: &str, params: &[&str]) -> Value {
    let parameters: Vec<Value> = params.iter().map(|p| json!({ "type": "text", "text": p })).collect();
    json!({ "messaging_product": "whatsapp", "to": "66812345678", "type": "template",
        "template": { "name": name, "language": { "code": lang }, "components": [{ "type": "body", "parameters": parameters }] } })
}

#[tokio::test]
async fn a_user_message_arrives_as_metas_envelope_signed_over_the_exact_bytes() {
    let (fake, inbox) = started(quiet()).await;
    let wamid = fake.user_sends("66812345678", "คุณสมชาย", UserMessage::text("เพลงหยุด / music stopped"));
    flush(&fake).await;
    let got = inbox.got.lock().expect("lock").clone();
    assert_eq!(got.len(), 1);
    let (sig, bytes) = &got[0];
    assert!(verify(&fake.config().app_secret, sig.as_deref().expect("signed"), bytes));
    assert!(!verify("another-secret", sig.as_deref().expect("signed"), bytes));
    assert!(bytes.is_ascii(), "non-ASCII is escaped as Meta does");
    assert!(String::from_utf8_lossy(bytes).contains("\\/ music"), "slashes are escaped");
    let body: Value = serde_json::from_slice(bytes).expect("json");
    assert_eq!(body["object"], "whatsapp_business_account");
    let entry = &body["entry"][0];
    assert_eq!(entry["id"], fake.config().business_account_id);
    let change = &entry["changes"][0];
    assert_eq!(change["field"], "messages");
    let value = &change["value"];
    assert_eq!(value["metadata"]["phone_number_id"], fake.config().phone_number_id);
    assert_eq!(value["contacts"][0], json!({ "profile": { "name": "คุณสมชาย" }, "wa_id": "66812345678" }));
    let m = &value["messages"][0];
    assert_eq!(
        (m["id"].as_str(), m["from"].as_str(), m["type"].as_str()),
        (Some(wamid.as_str()), Some("66812345678"), Some("text"))
    );
    assert_eq!(m["text"]["body"], "เพลงหยุด / music stopped");
    assert!(m["timestamp"].as_str().expect("string").parse::<i64>().is_ok());
}

#[tokio::test]
async fn a_webhook_answered_500_is_retried_until_it_is_accepted() {
    let (fake, inbox) = started(quiet()).await;
    inbox.answers.lock().expect("lock").extend([500, 503]);
    fake.user_sends("66812345678", "Som", UserMessage::text("hello"));
    flush(&fake).await;
    let d = fake.deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].attempts, d[0].last_status, d[0].delivered), (3, Some(200), true));
    let got = inbox.got.lock().expect("lock").clone();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|g| g == &got[0]), "each retry carries the same bytes and signature");
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_is_given_up_after_the_last_attempt() {
    let cfg = WhatsappFakeConfig {
        webhook_retry: RetryPolicy { first_delay: Duration::from_millis(5), max_attempts: 3 },
        ..quiet()
    };
    let (fake, inbox) = started(cfg).await;
    inbox.answers.lock().expect("lock").extend([500, 500, 500, 500]);
    fake.user_sends("66812345678", "Som", UserMessage::text("hello"));
    flush(&fake).await;
    let d = &fake.deliveries()[0];
    assert_eq!((d.attempts, d.last_status, d.delivered, d.finished), (3, Some(500), false, true));
}

#[tokio::test]
async fn a_user_message_opens_the_24_hour_window_for_free_form_replies() {
    let (fake, _inbox) = started(quiet()).await;
    let token = fake.config().access_token.clone();
    let (status, body) = send(&fake, &token, text_to("66812345678", "hi")).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(131047)), "no inbound yet: {body}");
    assert!(!fake.window_open("66812345678"));

    fake.user_sends("66812345678", "Som", UserMessage::text("music stopped"));
    assert!(fake.window_open("+66812345678"));
    let (status, body) = send(&fake, &token, text_to("66812345678", "On it")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contacts"][0], json!({ "input": "66812345678", "wa_id": "66812345678" }));
    assert!(body["messages"][0]["id"].as_str().is_some_and(|id| id.starts_with("wamid.")));

    fake.advance(Duration::from_secs(24 * 3600));
    assert!(!fake.window_open("66812345678"));
    let (status, body) = send(&fake, &token, text_to("66812345678", "Still there?")).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(131047)));
    assert!(body["error"]["error_data"]["details"].as_str().is_some_and(|d| d.contains("24 hours")));
    let (status, _) = send(&fake, &token, template("conversation_reopen", "en_US", &[])).await;
    assert_eq!(status, 200, "a template goes through a closed window");
    assert_eq!(fake.sent().len(), 2);
}

#[tokio::test]
async fn sends_are_refused_with_metas_codes() {
    let (fake, _inbox) = started(quiet()).await;
    let token = fake.config().access_token.clone();
    fake.open_window("66812345678");

    let (status, body) = send(&fake, "wrong", text_to("66812345678", "x")).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64(), body["error"]["type"].as_str()),
        (401, Some(190), Some("OAuthException"))
    );

    let (status, body) =
        send(&fake, &token, json!({ "to": "66812345678", "type": "text", "text": { "body": "x" } })).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(131008)));
    let (_, body) = send(
        &fake,
        &token,
        json!({ "messaging_product": "whatsapp", "to": "66812345678", "type": "image", "text": {} }),
    )
    .await;
    assert_eq!(body["error"]["code"].as_i64(), Some(131008), "type without its object");
    let (_, body) = send(
        &fake,
        &token,
        json!({ "messaging_product": "whatsapp", "to": "not-a-number", "type": "text", "text": { "body": "x" } }),
    )
    .await;
    assert_eq!(body["error"]["code"].as_i64(), Some(131009));

    let (status, body) = send(&fake, &token, template("no_such_template", "en_US", &[])).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (404, Some(132001)));
    let (_, body) = send(&fake, &token, template("alert_notice", "fr_FR", &["Lobby", "silent"])).await;
    assert_eq!(body["error"]["code"].as_i64(), Some(132001), "wrong language");
    let (_, body) = send(&fake, &token, template("holiday_promo", "en_US", &["x"])).await;
    assert_eq!(body["error"]["code"].as_i64(), Some(132001), "a pending template cannot be sent");
    let (status, body) = send(&fake, &token, template("alert_notice", "th", &["Lobby"])).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(132000)));
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("(#132000)")));

    let four = json!({ "messaging_product": "whatsapp", "to": "66812345678", "type": "interactive", "interactive": {
        "type": "button", "body": { "text": "Pick" }, "action": { "buttons": (0..4).map(|i| json!({ "type": "reply",
        "reply": { "id": format!("b{i}"), "title": format!("B{i}") } })).collect::<Vec<_>>() } } });
    let (_, body) = send(&fake, &token, four).await;
    assert_eq!(body["error"]["code"].as_i64(), Some(131009), "four buttons");
    let (_, body) = send(&fake, &token, text_to("66812345678", &"a".repeat(4097))).await;
    assert_eq!(body["error"]["code"].as_i64(), Some(131009), "text over 4096");

    assert!(fake.sent().is_empty(), "nothing refused is recorded");
}

#[tokio::test]
async fn every_accepted_message_gets_sent_delivered_and_read_statuses_with_our_id() {
    let (fake, inbox) = started(WhatsappFakeConfig { statuses: spaced(false), ..WhatsappFakeConfig::default() }).await;
    let mut body = template("csat_survey", "en_US", &["Som"]);
    body["biz_opaque_callback_data"] = json!("our-42");
    let (status, answer) = send(&fake, &fake.config().access_token.clone(), body).await;
    assert_eq!(status, 200);
    let wamid = answer["messages"][0]["id"].as_str().expect("wamid").to_owned();
    flush(&fake).await;
    let statuses = inbox.statuses();
    let names: Vec<&str> = statuses.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(names, ["sent", "delivered", "read"]);
    assert!(statuses.iter().all(|s| s.0 == wamid && s.2.as_deref() == Some("our-42")));
    let sent = inbox.bodies()[0]["entry"][0]["changes"][0]["value"]["statuses"][0].clone();
    assert_eq!(sent["pricing"]["category"], "utility");
    assert_eq!(sent["recipient_id"], "66812345678");
    let recorded = &fake.sent()[0];
    assert_eq!((recorded.kind.as_str(), recorded.biz_opaque_callback_data.as_deref()), ("template", Some("our-42")));
}

#[tokio::test]
async fn statuses_can_arrive_out_of_order() {
    let cfg = WhatsappFakeConfig { statuses: spaced(true), ..WhatsappFakeConfig::default() };
    let (fake, inbox) = started(cfg).await;
    send(&fake, &fake.config().access_token.clone(), template("conversation_reopen", "th", &[])).await;
    flush(&fake).await;
    let names: Vec<String> = inbox.statuses().into_iter().map(|s| s.1).collect();
    assert_eq!(names, ["read", "delivered", "sent"]);
    let times: Vec<i64> = inbox
        .bodies()
        .iter()
        .map(|b| {
            b["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"].as_str().expect("ts").parse().expect("n")
        })
        .collect();
    assert!(times[0] >= times[2], "timestamps still tell the true order");
}

#[tokio::test]
async fn an_undeliverable_number_is_accepted_then_fails_with_131026() {
    let cfg = WhatsappFakeConfig { undeliverable: vec!["66800000000".into()], ..WhatsappFakeConfig::default() };
    let (fake, inbox) = started(cfg).await;
    let mut body = template("conversation_reopen", "en_US", &[]);
    body["to"] = json!("66800000000");
    let (status, _) = send(&fake, &fake.config().access_token.clone(), body).await;
    assert_eq!(status, 200);
    flush(&fake).await;
    let bodies = inbox.bodies();
    assert_eq!(bodies.len(), 1);
    let s = &bodies[0]["entry"][0]["changes"][0]["value"]["statuses"][0];
    assert_eq!((s["status"].as_str(), s["errors"][0]["code"].as_i64()), (Some("failed"), Some(131026)));
}

#[tokio::test]
async fn throughput_and_pair_limits_answer_130429_and_131056() {
    let cfg = WhatsappFakeConfig { throughput_per_second: 3, pair_limit_per_minute: 2, clock: frozen(), ..quiet() };
    let (fake, _inbox) = started(cfg).await;
    let token = fake.config().access_token.clone();
    for n in ["66811111111", "66822222222", "66833333333", "66844444444"] {
        fake.open_window(n);
    }
    let (a, _) = send(&fake, &token, text_to("66811111111", "1")).await;
    let (b, _) = send(&fake, &token, text_to("66811111111", "2")).await;
    let (c, body) = send(&fake, &token, text_to("66811111111", "3")).await;
    assert_eq!((a, b, c), (200, 200, 400));
    assert_eq!(body["error"]["code"].as_i64(), Some(131056));
    let (d, _) = send(&fake, &token, text_to("66822222222", "1")).await;
    let (e, body) = send(&fake, &token, text_to("66833333333", "1")).await;
    assert_eq!((d, e), (200, 400));
    assert_eq!(
        (body["error"]["code"].as_i64(), body["error"]["error_subcode"].as_i64()),
        (Some(130429), Some(2494055))
    );
    fake.advance(Duration::from_secs(61));
    let (f, _) = send(&fake, &token, text_to("66811111111", "later")).await;
    assert_eq!(f, 200, "both windows have moved on");
    assert_eq!(fake.sent().len(), 4);
}

#[tokio::test]
async fn a_batch_spans_two_entries_and_a_redelivery_repeats_the_same_bytes() {
    let (fake, inbox) = started(quiet()).await;
    let ids = fake.deliver_batch(vec![
        ("66811111111".into(), "Ann".into(), UserMessage::text("one")),
        (
            "66822222222".into(),
            "Bee".into(),
            UserMessage::ButtonReply { id: "restart".into(), title: "Restart".into() },
        ),
        (
            "66811111111".into(),
            "Ann".into(),
            UserMessage::Location { latitude: 13.75, longitude: 100.5, name: None, address: None },
        ),
    ]);
    flush(&fake).await;
    let body = &inbox.bodies()[0];
    assert_eq!(body["entry"].as_array().map(Vec::len), Some(2));
    let first = &body["entry"][0]["changes"][0]["value"];
    assert_eq!(first["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["contacts"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["entry"][1]["changes"][0]["value"]["messages"][0]["id"].as_str(), Some(ids[2].as_str()));
    assert_eq!(first["messages"][1]["interactive"]["button_reply"]["id"], "restart");
    assert!(fake.window_open("66822222222"));

    fake.deliver_twice(
        "66833333333",
        "Cee",
        UserMessage::TemplateButton { payload: "csat:5".into(), text: "5".into() },
    );
    flush(&fake).await;
    let got = inbox.got.lock().expect("lock").clone();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1], got[2]);
    assert!(fake.deliveries()[1].duplicated);
}

#[tokio::test]
async fn raw_deliveries_carry_whatever_signature_the_test_chose() {
    let (fake, inbox) = started(quiet()).await;
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#.to_vec();
    let good = fake.sign(&body);
    assert_eq!(fake.deliver_raw(body.clone(), Some(good.clone())).await.expect("post"), 200);
    assert_eq!(fake.deliver_raw(body, None).await.expect("post"), 200);
    let got = inbox.got.lock().expect("lock").clone();
    assert_eq!((got[0].0.as_deref(), got[1].0.as_deref()), (Some(good.as_str()), None));
}

#[tokio::test]
async fn subscribing_needs_the_challenge_echoed() {
    let fake = WhatsappFake::start(quiet()).await.expect("fake");
    let (url, _inbox) = receiver().await;
    assert!(fake.subscribe(&url, "wrong-token").await.is_err());
    fake.subscribe(&url, "verify-me").await.expect("handshake");
}

#[tokio::test]
async fn injected_failures_answer_5xx_without_recording_and_held_answers_are_recorded_first() {
    let (fake, _inbox) = started(quiet()).await;
    let token = fake.config().access_token.clone();
    fake.open_window("66812345678");
    fake.fail_next(2, 503);
    let (a, body) = send(&fake, &token, text_to("66812345678", "1")).await;
    let (b, _) = send(&fake, &token, text_to("66812345678", "1")).await;
    assert_eq!((a, b, body["error"]["is_transient"].as_bool()), (503, 503, Some(true)));
    assert!(fake.sent().is_empty());
    fake.hold_next(1, Duration::from_secs(3));
    let client = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().expect("client");
    let url = format!("{}/v23.0/{}/messages", fake.base_url(), fake.config().phone_number_id);
    let r = client.post(url).bearer_auth(&token).json(&text_to("66812345678", "held")).send().await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    assert_eq!(fake.sent().len(), 1, "accepted although the caller never saw the answer");
    let (c, _) = send(&fake, &token, text_to("66812345678", "2")).await;
    assert_eq!(c, 200);
}

#[tokio::test]
async fn media_urls_need_the_bearer_token_and_expire_after_five_minutes() {
    let fake = WhatsappFake::start(quiet()).await.expect("fake");
    let token = fake.config().access_token.clone();
    let id = fake.add_media(b"\x89PNG fake".to_vec(), "image/png");
    let http = reqwest::Client::new();
    let meta: Value = http
        .get(format!("{}/v21.0/{id}", fake.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (meta["mime_type"].as_str(), meta["file_size"].as_u64(), meta["id"].as_str()),
        (Some("image/png"), Some(9), Some(id.as_str()))
    );
    let url = meta["url"].as_str().expect("url").to_owned();
    assert_eq!(http.get(&url).send().await.expect("get").status(), 401, "a plain GET gets nothing");
    let r = http.get(&url).bearer_auth(&token).send().await.expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"\x89PNG fake");
    fake.advance(Duration::from_secs(301));
    assert_eq!(http.get(&url).bearer_auth(&token).send().await.expect("get").status(), 404);
    let unknown: Value = http
        .get(format!("{}/v23.0/999", fake.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!((unknown["error"]["code"].as_i64(), unknown["error"]["error_subcode"].as_i64()), (Some(100), Some(33)));
}

#[tokio::test]
async fn templates_are_listed_in_pages() {
    let templates: Vec<FakeTemplate> =
        (0..7).map(|i| FakeTemplate::new(&format!("t{i}"), "en_US", "UTILITY", "Hi {{1}}", &[])).collect();
    let fake = WhatsappFake::start(WhatsappFakeConfig { templates, ..quiet() }).await.expect("fake");
    let http = reqwest::Client::new();
    let mut url = format!("{}/v23.0/{}/message_templates?limit=3", fake.base_url(), fake.config().business_account_id);
    let mut names = Vec::new();
    for _ in 0..5 {
        let page: Value = http
            .get(&url)
            .bearer_auth(&fake.config().access_token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        names.extend(
            page["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|t| t["name"].as_str().expect("a string field").to_owned()),
        );
        match page["paging"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(names, ["t0", "t1", "t2", "t3", "t4", "t5", "t6"]);
}

#[tokio::test]
async fn the_control_api_injects_a_user_message() {
    let (fake, inbox) = started(quiet()).await;
    let r = reqwest::Client::new()
        .post(format!("{}/control/inbound", fake.base_url()))
        .json(&json!({ "from": "+66812345678", "name": "Demo", "text": "turn the pool down" }))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    flush(&fake).await;
    assert_eq!(
        inbox.bodies()[0]["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"],
        "turn the pool down"
    );
    assert!(fake.window_open("66812345678"));
}
