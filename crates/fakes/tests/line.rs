//! The LINE fake through HTTP, as LINE's clients and webhook receivers see it: signed webhook
//! bodies and their redelivery, auth, request ids, message limits, retry keys, body size, rich
//! menu rules, profiles, content, faults and the control API.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use bma_fakes::line::{LineFake, LineFakeConfig, UserEvent, Via, sign};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const USER: &str = "U4af4980629e7d9f2b4c1b2d0e5e1a9b0";

type Inbox = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook receiver answering with `script` in turn, then 200.
async fn receiver(script: Vec<u16>) -> (String, Inbox) {
    let got: Inbox = Arc::default();
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let store = got.clone();
    let app = axum::Router::new().route(
        "/webhook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (store, script) = (store.clone(), script.clone());
            async move {
                store.lock().expect("lock").push((headers, body));
                let code = script.lock().expect("lock").pop_front().unwrap_or(200);
                StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let url = format!("http://{}/webhook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

async fn start(tune: impl FnOnce(&mut LineFakeConfig)) -> LineFake {
    let mut cfg = LineFakeConfig::default();
    tune(&mut cfg);
    LineFake::start(cfg).await.expect("fake starts")
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn call(
    fake: &LineFake,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Answer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut rq = reqwest::Client::new().request(method, format!("{}{path}", fake.url()));
    if let Some(t) = token {
        rq = rq.bearer_auth(t);
    }
    for (k, v) in extra {
        rq = rq.header(*k, *v);
    }
    if let Some(b) = body {
        rq = rq.json(&b);
    }
    let r = rq.send().await.expect("answered");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.expect("body");
    Answer { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

async fn post(fake: &LineFake, path: &str, body: Value, extra: &[(&str, &str)]) -> Answer {
    call(fake, reqwest::Method::POST, path, Some(fake.channel_access_token()), Some(body), extra).await
}

fn text(t: &str) -> Value {
    json!({ "type": "text", "text": t })
}

fn verify(secret: &str, signature: &str, body: &[u8]) -> bool {
    let Ok(tag) = base64::engine::general_purpose::STANDARD.decode(signature) else { return false };
    ring::hmac::verify(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()), body, &tag).is_ok()
}

#[tokio::test]
async fn the_connectivity_check_is_signed_exactly_as_the_reference_test_vector() {
    let fake = start(|c| {
        c.channel_secret = "channelsecret".into();
        c.bot_user_id = "U123".into();
    })
    .await;
    let (url, got) = receiver(vec![]).await;
    fake.set_webhook(&url);
    assert_eq!(fake.verify_empty().await.expect("delivered"), 200);
    let (headers, body) = got.lock().expect("lock")[0].clone();
    assert_eq!(&body[..], br#"{"destination":"U123","events":[]}"#);
    assert_eq!(headers["x-line-signature"], "7FPl1ND8IvDlA1pSrvPg+JRSaknKZ9X7TP2/HMyJfPI=");
    assert_eq!(sign("channelsecret", &body), "7FPl1ND8IvDlA1pSrvPg+JRSaknKZ9X7TP2/HMyJfPI=");
}

#[tokio::test]
async fn a_users_text_is_delivered_as_lines_exact_body_and_signed_over_its_bytes() {
    let fake = start(|_| {}).await;
    let (url, got) = receiver(vec![]).await;
    fake.set_webhook(&url);
    let id = fake.user_sends(USER, UserEvent::Text("Hello, world".into())).await.expect("sent");
    let (headers, body) = got.lock().expect("lock")[0].clone();
    let sig = headers["x-line-signature"].to_str().expect("ascii");
    assert!(verify(fake.channel_secret(), sig, &body));
    assert!(!verify("wrong", sig, &body));

    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["destination"], fake.bot_user_id());
    let e = &v["events"][0];
    assert_eq!(e["type"], "message");
    assert_eq!(e["mode"], "active");
    assert_eq!(e["webhookEventId"], id.as_str());
    assert_eq!(id.len(), 26);
    assert_eq!(e["deliveryContext"]["isRedelivery"], false);
    assert_eq!(e["source"], json!({"type":"user","userId":USER}));
    assert!(e["timestamp"].as_i64().is_some_and(|ms| (ms - fake.now().unix_timestamp() * 1000).abs() < 5_000));
    assert!(e["replyToken"].as_str().is_some_and(|t| t.len() >= 30));
    assert_eq!(e["message"]["type"], "text");
    assert_eq!(e["message"]["text"], "Hello, world");
    assert!(e["message"]["id"].as_str().is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit())));
    assert!(e["message"]["quoteToken"].is_string());
    assert_eq!(fake.deliveries()[0].event_ids, vec![id]);
}

#[tokio::test]
async fn a_delivery_answered_500_is_redelivered_with_the_same_event_id_until_accepted() {
    let fake = start(|_| {}).await;
    let (url, got) = receiver(vec![500, 503]).await;
    fake.set_webhook(&url);
    let id = fake.user_sends(USER, UserEvent::Text("anyone there?".into())).await.expect("sent");
    fake.flush().await;
    let got = got.lock().expect("lock").clone();
    assert_eq!(got.len(), 3);
    let events: Vec<Value> =
        got.iter().map(|(_, b)| serde_json::from_slice::<Value>(b).expect("json")["events"][0].clone()).collect();
    assert!(events.iter().all(|e| e["webhookEventId"] == id.as_str()));
    assert!(events.iter().all(|e| e["replyToken"] == events[0]["replyToken"]));
    let flags: Vec<&Value> = events.iter().map(|e| &e["deliveryContext"]["isRedelivery"]).collect();
    assert_eq!(flags, vec![&json!(false), &json!(true), &json!(true)]);
    for (h, b) in &got {
        assert!(verify(fake.channel_secret(), h["x-line-signature"].to_str().expect("ascii"), b));
    }
    let d = fake.deliveries();
    assert_eq!(
        d.iter().map(|d| (d.attempt, d.status)).collect::<Vec<_>>(),
        vec![(1, Some(500)), (2, Some(503)), (3, Some(200))]
    );
    assert!(d[2].ok() && d[2].redelivery);
}

#[tokio::test]
async fn redelivery_gives_up_after_the_configured_attempts() {
    let fake = start(|c| c.webhook_max_attempts = 3).await;
    let (url, got) = receiver(vec![500; 10]).await;
    fake.set_webhook(&url);
    fake.user_sends(USER, UserEvent::Follow).await.expect("sent");
    fake.flush().await;
    assert_eq!(got.lock().expect("lock").len(), 3);
    assert!(fake.deliveries().iter().all(|d| !d.ok()));
}

#[tokio::test]
async fn duplicates_and_explicit_redeliveries_carry_the_same_event_id() {
    let fake = start(|_| {}).await;
    let (url, got) = receiver(vec![]).await;
    fake.set_webhook(&url);
    fake.set_duplicate_deliveries(true);
    let id = fake.user_sends(USER, UserEvent::Text("twice".into())).await.expect("sent");
    fake.set_duplicate_deliveries(false);
    assert_eq!(fake.redeliver(&id).await.expect("redelivered"), 200);
    let got = got.lock().expect("lock").clone();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].1, got[1].1, "a duplicate is byte for byte the same");
    let third: Value = serde_json::from_slice(&got[2].1).expect("json");
    assert_eq!(third["events"][0]["webhookEventId"], id.as_str());
    assert_eq!(third["events"][0]["deliveryContext"]["isRedelivery"], true);
}

#[tokio::test]
async fn every_kind_of_user_event_has_lines_shape() {
    let fake = start(|_| {}).await;
    let (url, got) = receiver(vec![]).await;
    fake.set_webhook(&url);
    let img = fake.add_content(vec![0xff, 0xd8, 0xff], "image/jpeg");
    let file = fake.add_content(b"%PDF-1.7".to_vec(), "application/pdf");
    let events = [
        UserEvent::Image { message_id: img.clone() },
        UserEvent::File { message_id: file.clone(), file_name: "invoice.pdf".into() },
        UserEvent::Sticker { package_id: "446".into(), sticker_id: "1988".into() },
        UserEvent::Location { title: Some("Lobby".into()), address: None, latitude: 13.75, longitude: 100.5 },
        UserEvent::Postback { data: "menu=status".into(), display_text: Some("Music status".into()) },
        UserEvent::Unfollow,
        UserEvent::Follow,
    ];
    for e in events {
        fake.user_sends(USER, e).await.expect("sent");
    }
    let e: Vec<Value> = got
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, b)| serde_json::from_slice::<Value>(b).expect("json")["events"][0].clone())
        .collect();
    assert_eq!(
        e[0]["message"],
        json!({"id": img, "type": "image", "contentProvider": {"type": "line"}, "quoteToken": e[0]["message"]["quoteToken"]})
    );
    assert_eq!((&e[1]["message"]["fileName"], &e[1]["message"]["fileSize"]), (&json!("invoice.pdf"), &json!(8)));
    assert_eq!((&e[2]["message"]["packageId"], &e[2]["message"]["stickerId"]), (&json!("446"), &json!("1988")));
    assert_eq!(e[3]["message"]["title"], "Lobby");
    assert!(e[3]["message"].get("address").is_none());
    assert_eq!(e[4]["postback"], json!({"data": "menu=status"}), "displayText stays in the user's chat");
    assert_eq!(e[5]["type"], "unfollow");
    assert!(e[5].get("replyToken").is_none());
    assert_eq!(e[6]["follow"], json!({"isUnblocked": true}));
    assert!(fake.user_sends(USER, UserEvent::Image { message_id: "404".into() }).await.is_err());
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_wrong_token_is_401() {
    let fake = start(|_| {}).await;
    let bad = call(&fake, reqwest::Method::POST, "/v2/bot/message/push", Some("nope"), Some(json!({})), &[]).await;
    assert_eq!(bad.status, 401);
    assert!(bad.body["message"].as_str().is_some_and(|m| m.starts_with("Authentication failed")));
    assert!(bad.header("x-line-request-id").is_some());
    let none = call(&fake, reqwest::Method::GET, "/v2/bot/nothing", Some(fake.channel_access_token()), None, &[]).await;
    assert_eq!(none.status, 404);
    assert!(none.header("x-line-request-id").is_some());
    let ok = post(&fake, "/v2/bot/message/push", json!({"to": USER, "messages": [text("hi")]}), &[]).await;
    assert_eq!(ok.status, 200);
    assert_ne!(ok.header("x-line-request-id"), bad.header("x-line-request-id"));
}

#[tokio::test]
async fn message_limits_are_reported_with_lines_details() {
    let fake = start(|_| {}).await;
    let six = post(&fake, "/v2/bot/message/push", json!({"to": USER, "messages": vec![text("x"); 6]}), &[]).await;
    assert_eq!(six.status, 400);
    assert_eq!(six.body["details"][0]["property"], "messages");
    assert!(six.body["message"].as_str().is_some_and(|m| m.contains("1 error")));
    let empty = post(&fake, "/v2/bot/message/push", json!({"to": USER, "messages": [text("")]}), &[]).await;
    assert_eq!(empty.body["details"][0]["property"], "messages[0].text");
    let items = vec![json!({"type":"action","action":{"type":"message","label":"a","text":"a"}}); 14];
    let quick = json!({"to": USER, "messages": [{"type":"text","text":"x","quickReply":{"items": items}}]});
    let quick = post(&fake, "/v2/bot/message/push", quick, &[]).await;
    assert_eq!(quick.body["details"][0]["property"], "messages[0].quickReply.items");
    let http = post(&fake, "/v2/bot/message/push", json!({"to": USER, "messages": [{"type":"image","originalContentUrl":"http://x","previewImageUrl":"https://x"}]}), &[]).await;
    assert_eq!(http.body["details"][0]["property"], "messages[0].originalContentUrl");
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn a_retry_key_is_executed_once_and_then_answered_409_with_the_first_request_id() {
    let fake = start(|_| {}).await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"to": USER, "messages": [text("once")]});
    let first = post(&fake, "/v2/bot/message/push", body.clone(), &[("X-Line-Retry-Key", &key)]).await;
    assert_eq!(first.status, 200);
    let again = post(&fake, "/v2/bot/message/push", body, &[("X-Line-Retry-Key", &key)]).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["message"], "The retry key is already accepted");
    assert_eq!(again.body["sentMessages"], first.body["sentMessages"]);
    assert_eq!(again.header("x-line-accepted-request-id"), first.header("x-line-request-id"));
    assert_ne!(again.header("x-line-request-id"), first.header("x-line-request-id"));
    assert_eq!(fake.sent().len(), 1);
    assert_eq!(fake.sent()[0].retry_key.as_deref(), Some(key.as_str()));

    let bad = post(
        &fake,
        "/v2/bot/message/push",
        json!({"to": USER, "messages": [text("x")]}),
        &[("X-Line-Retry-Key", "not-a-uuid")],
    )
    .await;
    assert_eq!(bad.status, 400);
    let on_reply = post(
        &fake,
        "/v2/bot/message/reply",
        json!({"replyToken": "t", "messages": [text("x")]}),
        &[("X-Line-Retry-Key", &key)],
    )
    .await;
    assert_eq!(on_reply.status, 400);
    assert!(on_reply.body["message"].as_str().is_some_and(|m| m.contains("X-Line-Retry-Key")));
}

#[tokio::test]
async fn a_reply_token_is_single_use_expires_and_replies_to_its_user() {
    let fake = start(|c| c.reply_token_lifetime = Duration::from_secs(30)).await;
    let (url, _) = receiver(vec![]).await;
    fake.set_webhook(&url);
    let a = fake.user_sends(USER, UserEvent::Text("a".into())).await.expect("sent");
    let b = fake.user_sends(USER, UserEvent::Text("b".into())).await.expect("sent");
    let (ta, tb) = (fake.reply_token_of(&a).expect("token"), fake.reply_token_of(&b).expect("token"));
    let reply =
        |t: String| post(&fake, "/v2/bot/message/reply", json!({"replyToken": t, "messages": [text("ok")]}), &[]);
    let first = reply(ta.clone()).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["sentMessages"].as_array().map(Vec::len), Some(1));
    let used = reply(ta).await;
    assert_eq!((used.status, used.body["message"].clone()), (400, json!("Invalid reply token")));
    fake.advance(Duration::from_secs(31));
    assert_eq!(reply(tb).await.body["message"], "Invalid reply token");
    assert_eq!(reply("made-up".into()).await.status, 400);
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].to.as_str(), sent[0].via), (USER, Via::Reply));
}

#[tokio::test]
async fn a_body_over_two_megabytes_is_413() {
    let fake = start(|_| {}).await;
    let big = json!({"to": USER, "messages": [text(&"x".repeat(2 * 1024 * 1024 + 10))]});
    let r = post(&fake, "/v2/bot/message/push", big, &[]).await;
    assert_eq!(r.status, 413);
    assert!(r.header("x-line-request-id").is_some());
}

#[tokio::test]
async fn rate_limits_and_the_monthly_quota_are_429s_told_apart_by_message() {
    let fake = start(|c| {
        c.rate_limit_per_sec = 2;
        c.monthly_quota = Some(3);
    })
    .await;
    let push = || post(&fake, "/v2/bot/message/push", json!({"to": USER, "messages": [text("x"), text("y")]}), &[]);
    assert_eq!(push().await.status, 200);
    let quota = push().await;
    assert_eq!((quota.status, quota.body["message"].clone()), (429, json!("You have reached your monthly limit.")));
    let rate = push().await;
    assert_eq!((rate.status, rate.body["message"].clone()), (429, json!("Too many requests")));
    fake.advance(Duration::from_secs(1));
    assert_eq!(push().await.body["message"], "You have reached your monthly limit.", "the bucket refilled");
    assert_eq!(fake.monthly_used(), 2);
}

#[tokio::test]
async fn faults_fail_calls_before_they_act_and_held_answers_still_act() {
    let fake = start(|_| {}).await;
    fake.fail_next(2, 502);
    let body = json!({"to": USER, "messages": [text("x")]});
    assert_eq!(post(&fake, "/v2/bot/message/push", body.clone(), &[]).await.status, 502);
    assert_eq!(post(&fake, "/v2/bot/message/push", body.clone(), &[]).await.status, 502);
    assert!(fake.sent().is_empty());
    fake.hold_next(Duration::from_millis(300));
    let started = std::time::Instant::now();
    assert_eq!(post(&fake, "/v2/bot/message/push", body, &[]).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(fake.sent().len(), 1);
}

fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&w.to_be_bytes());
    png.extend_from_slice(&h.to_be_bytes());
    png.extend_from_slice(&[8, 3, 0, 0, 0]);
    png
}

async fn upload(fake: &LineFake, id: &str, bytes: Vec<u8>, ct: &str) -> u16 {
    let r = reqwest::Client::new()
        .post(format!("{}/v2/bot/richmenu/{id}/content", fake.url()))
        .bearer_auth(fake.channel_access_token())
        .header("content-type", ct)
        .body(bytes)
        .send()
        .await
        .expect("answered");
    r.status().as_u16()
}

#[tokio::test]
async fn rich_menus_are_validated_and_need_an_image_of_their_size_before_use() {
    let fake = start(|_| {}).await;
    let menu = json!({"size": {"width": 2500, "height": 843}, "selected": false, "name": "main", "chatBarText": "Menu",
        "areas": [{"bounds": {"x": 0, "y": 0, "width": 2500, "height": 843}, "action": {"type": "postback", "data": "menu=status"}}]});
    let mut bad = menu.clone();
    bad["chatBarText"] = json!("a chat bar text that is too long");
    bad["areas"][0]["bounds"]["width"] = json!(2600);
    let r = post(&fake, "/v2/bot/richmenu/validate", bad, &[]).await;
    assert_eq!(r.status, 400);
    let props: Vec<&str> =
        r.body["details"].as_array().expect("details").iter().filter_map(|d| d["property"].as_str()).collect();
    assert_eq!(props, vec!["richmenu.chatBarText", "areas[0].bounds"]);
    assert_eq!(post(&fake, "/v2/bot/richmenu/validate", menu.clone(), &[]).await.status, 200);
    assert!(fake.rich_menus().is_empty(), "validate creates nothing");

    let id = post(&fake, "/v2/bot/richmenu", menu, &[]).await.body["richMenuId"].as_str().expect("id").to_owned();
    let link = format!("/v2/bot/user/{USER}/richmenu/{id}");
    assert_eq!(
        post(&fake, &link, json!({}), &[]).await.body["message"],
        "Must upload richmenu image before applying it to user"
    );
    assert_eq!(upload(&fake, &id, png_header(2500, 1686), "image/png").await, 400);
    assert_eq!(upload(&fake, &id, png_header(2500, 843), "image/jpeg").await, 400);
    assert_eq!(upload(&fake, &id, png_header(2500, 843), "text/plain").await, 415);
    let mut huge = png_header(2500, 843);
    huge.resize(1024 * 1024 + 1, 0);
    assert_eq!(upload(&fake, &id, huge, "image/png").await, 400);
    assert_eq!(upload(&fake, &id, png_header(2500, 843), "image/png").await, 200);
    assert_eq!(upload(&fake, &id, png_header(2500, 843), "image/png").await, 400, "an image is uploaded once");
    assert_eq!(upload(&fake, "richmenu-missing", png_header(2500, 843), "image/png").await, 404);

    assert_eq!(post(&fake, &link, json!({}), &[]).await.status, 200);
    assert_eq!(fake.rich_menu_of(USER), Some(id.clone()));
    assert_eq!(post(&fake, &format!("/v2/bot/user/all/richmenu/{id}"), json!({}), &[]).await.status, 200);
    let token = Some(fake.channel_access_token());
    let default = call(&fake, reqwest::Method::GET, "/v2/bot/user/all/richmenu", token, None, &[]).await;
    assert_eq!(default.body["richMenuId"], id.as_str());
    let unlink = call(&fake, reqwest::Method::DELETE, &format!("/v2/bot/user/{USER}/richmenu"), token, None, &[]).await;
    assert_eq!(unlink.status, 200);
    assert_eq!(fake.rich_menu_of(USER), None);
    let delete = call(&fake, reqwest::Method::DELETE, &format!("/v2/bot/richmenu/{id}"), token, None, &[]).await;
    assert_eq!(delete.status, 200);
    assert_eq!(fake.default_rich_menu(), None, "deleting the menu clears the default");
}

#[tokio::test]
async fn profiles_exist_for_friends_and_content_for_stored_messages() {
    let fake = start(|_| {}).await;
    let token = Some(fake.channel_access_token());
    let path = format!("/v2/bot/profile/{USER}");
    let get = || call(&fake, reqwest::Method::GET, &path, token, None, &[]);
    assert_eq!(get().await.status, 404);
    fake.add_user(USER, "Pool Bar");
    let p = get().await;
    assert_eq!((p.body["displayName"].clone(), p.body["userId"].clone()), (json!("Pool Bar"), json!(USER)));
    let id = fake.add_content(b"%PDF".to_vec(), "application/pdf");
    let r = reqwest::Client::new()
        .get(format!("{}/v2/bot/message/{id}/content", fake.url()))
        .bearer_auth(fake.channel_access_token())
        .send()
        .await
        .expect("answered");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(&r.bytes().await.expect("bytes")[..], b"%PDF");
}

#[tokio::test]
async fn the_control_api_sends_a_users_text_to_the_webhook() {
    let fake = start(|_| {}).await;
    let (url, got) = receiver(vec![]).await;
    let none = call(&fake, reqwest::Method::POST, "/control/webhook", None, Some(json!({"url": url})), &[]).await;
    assert_eq!(none.status, 200);
    let r =
        call(&fake, reqwest::Method::POST, "/control/inbound", None, Some(json!({"user_id": USER, "text": "hi"})), &[])
            .await;
    assert_eq!(r.status, 200);
    let body: Value = serde_json::from_slice(&got.lock().expect("lock")[0].1).expect("json");
    assert_eq!(body["events"][0]["webhookEventId"], r.body["webhookEventId"]);
    assert_eq!(body["events"][0]["message"]["text"], "hi");
    let bad = call(&fake, reqwest::Method::POST, "/control/inbound", None, Some(json!({"user_id": "x"})), &[]).await;
    assert_eq!(bad.status, 400);
}
