//! The LINE adapter: the webhook parser over LINE-shaped bodies, and the client against the
//! faithful fake (reply tokens, retry keys, limits, quotas, rich menus, content, profiles).

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use bma_domain::contact::LineUserId;
use bma_domain::messaging::{ChoiceSource, InboundItem, MediaKind, MessageBody, Sender};
use bma_fakes::line::{LineFake, LineFakeConfig, UserEvent, Via};
use bma_integrations::line::{
    LineClient, LineMessage, LineSettings, QuickReply, RichMenu, SendError, parse_webhook, verify_signature,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const USER: &str = "U4af4980629e7d9f2b4c1b2d0e5e1a9b0";

fn user() -> LineUserId {
    LineUserId::parse(USER).expect("user id")
}

async fn fake(tune: impl FnOnce(&mut LineFakeConfig)) -> LineFake {
    let mut cfg = LineFakeConfig::default();
    tune(&mut cfg);
    LineFake::start(cfg).await.expect("fake starts")
}

fn client(fake: &LineFake) -> LineClient {
    let settings = LineSettings {
        api_url: fake.url(),
        data_url: fake.url(),
        channel_access_token: fake.channel_access_token().to_owned(),
    };
    LineClient::new(settings).expect("client").with_retries(0, Duration::from_millis(1))
}

/// A webhook receiver that stores what it gets and answers 200.
async fn receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
    let got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let store = got.clone();
    let app = axum::Router::new().route(
        "/webhook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                store.lock().expect("lock").push((headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let url = format!("http://{}/webhook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// A reply token as LINE issues it: a user's text delivered through the webhook.
async fn live_reply_token(fake: &LineFake) -> String {
    let (url, _) = receiver().await;
    fake.set_webhook(&url);
    let id = fake.user_sends(USER, UserEvent::Text("hello".into())).await.expect("delivered");
    fake.reply_token_of(&id).expect("reply token")
}

fn messages(items: &[InboundItem]) -> Vec<&bma_domain::messaging::InboundMessage> {
    items
        .iter()
        .filter_map(|i| match i {
            InboundItem::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn event(kind: &str, id: &str, extra: Value) -> Value {
    let mut e = json!({
        "type": kind, "mode": "active", "timestamp": 1_462_629_479_859i64,
        "source": { "type": "user", "userId": USER },
        "webhookEventId": id, "deliveryContext": { "isRedelivery": false },
        "replyToken": format!("token-{id}"),
    });
    if let (Some(e), Value::Object(mut x)) = (e.as_object_mut(), extra) {
        e.append(&mut x);
    }
    e
}

fn body(events: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "destination": "U206d25c2ea6bd87c17655609a1c37cb8", "events": events })).expect("json")
}

// --- the parser -------------------------------------------------------------------------------

#[test]
fn every_event_type_becomes_the_matching_inbound_item() {
    let msg = |t: Value| json!({ "message": t });
    let events = vec![
        event("message", "01A", msg(json!({"id":"1","type":"text","text":"Hello, world","quoteToken":"q"}))),
        event(
            "message",
            "01B",
            msg(json!({"id":"2","type":"image","contentProvider":{"type":"line"},"quoteToken":"q"})),
        ),
        event(
            "message",
            "01C",
            msg(
                json!({"id":"3","type":"image","contentProvider":{"type":"external","originalContentUrl":"https://x/a.jpg"}}),
            ),
        ),
        event(
            "message",
            "01D",
            msg(json!({"id":"4","type":"video","duration":6000,"contentProvider":{"type":"line"}})),
        ),
        event(
            "message",
            "01E",
            msg(json!({"id":"5","type":"audio","duration":3000,"contentProvider":{"type":"line"}})),
        ),
        event("message", "01F", msg(json!({"id":"6","type":"file","fileName":"invoice.pdf","fileSize":2048}))),
        event(
            "message",
            "01G",
            msg(json!({"id":"7","type":"sticker","packageId":"446","stickerId":"1988","stickerResourceType":"STATIC"})),
        ),
        event(
            "message",
            "01H",
            msg(
                json!({"id":"8","type":"location","title":"Lobby","address":"Bangkok","latitude":13.75,"longitude":100.5}),
            ),
        ),
        event("message", "01J", msg(json!({"id":"9","type":"hologram"}))),
        event("postback", "01K", json!({"postback":{"data":"menu=status"}})),
        event("postback", "01M", json!({"postback":{"data":"zone=1","displayText":"Lobby"}})),
        event("follow", "01N", json!({"follow":{"isUnblocked":false}})),
        event("unfollow", "01P", json!({})),
        event("join", "01Q", json!({})),
        event("unsend", "01R", json!({"unsend":{"messageId":"1"}})),
    ];
    let items = parse_webhook(&body(events)).expect("parses");
    assert_eq!(items.len(), 15);
    let m = messages(&items);
    assert_eq!(m.len(), 11);
    assert_eq!(m[0].body, MessageBody::Text { text: "Hello, world".into() });
    assert_eq!(m[0].external_id, "01A");
    assert_eq!(m[0].from, Sender::Line(user()));
    assert_eq!(m[0].reply_token.as_deref(), Some("token-01A"));
    assert_eq!(m[0].sent_at.unix_timestamp(), 1_462_629_479);
    assert_eq!(m[0].raw["message"]["quoteToken"], "q");
    let media = |b: &MessageBody| match b {
        MessageBody::Media { kind, media_id, filename, .. } => Some((*kind, media_id.clone(), filename.clone())),
        _ => None,
    };
    assert_eq!(media(&m[1].body), Some((MediaKind::Image, Some("2".into()), None)));
    assert_eq!(media(&m[2].body), Some((MediaKind::Image, None, None)), "external content has no LINE id");
    assert_eq!(media(&m[3].body), Some((MediaKind::Video, Some("4".into()), None)));
    assert_eq!(media(&m[4].body), Some((MediaKind::Audio, Some("5".into()), None)));
    assert_eq!(media(&m[5].body), Some((MediaKind::Document, Some("6".into()), Some("invoice.pdf".into()))));
    assert_eq!(media(&m[6].body).map(|x| x.0), Some(MediaKind::Sticker));
    assert_eq!(m[6].raw["message"]["stickerId"], "1988");
    assert_eq!(
        m[7].body,
        MessageBody::Location {
            latitude: 13.75,
            longitude: 100.5,
            name: Some("Lobby".into()),
            address: Some("Bangkok".into())
        }
    );
    assert_eq!(m[8].body, MessageBody::Unsupported { kind: "hologram".into() });
    assert_eq!(
        m[9].body,
        MessageBody::Choice { source: ChoiceSource::Postback, id: "menu=status".into(), title: "menu=status".into() }
    );
    assert_eq!(
        m[10].body,
        MessageBody::Choice { source: ChoiceSource::Postback, id: "zone=1".into(), title: "Lobby".into() }
    );
    assert!(
        matches!(&items[11], InboundItem::Follow { event_id, reply_token: Some(t), .. } if event_id == "01N" && t == "token-01N")
    );
    assert!(matches!(&items[12], InboundItem::Unfollow { event_id, .. } if event_id == "01P"));
    assert!(matches!(&items[13], InboundItem::Skipped { kind, .. } if kind == "join"));
    assert!(matches!(&items[14], InboundItem::Skipped { kind, .. } if kind == "unsend"));
}

#[test]
fn an_empty_events_list_is_a_valid_webhook_with_nothing_in_it() {
    assert_eq!(parse_webhook(br#"{"destination":"U123","events":[]}"#).expect("parses"), vec![]);
}

#[test]
fn a_redelivered_event_keeps_its_webhook_event_id_so_it_dedupes() {
    let first = event("message", "01FZ74A0TDDPYRVKNK77XKC3ZR", json!({"message":{"id":"1","type":"text","text":"hi"}}));
    let mut again = first.clone();
    again["deliveryContext"]["isRedelivery"] = json!(true);
    let a = parse_webhook(&body(vec![first])).expect("parses");
    let b = parse_webhook(&body(vec![again])).expect("parses");
    let (a, b) = (messages(&a)[0], messages(&b)[0]);
    assert_eq!(a.external_id, b.external_id);
    assert_eq!(b.raw["deliveryContext"]["isRedelivery"], true);
}

#[test]
fn a_malformed_event_is_skipped_and_the_rest_of_the_batch_is_kept() {
    let good = event("message", "01A", json!({"message":{"id":"1","type":"text","text":"ok"}}));
    let mut no_id = good.clone();
    no_id.as_object_mut().expect("object").remove("webhookEventId");
    let mut bad_user = event("message", "01B", json!({"message":{"id":"2","type":"text","text":"x"}}));
    bad_user["source"]["userId"] = json!("not-a-user");
    let group_without_user = event("message", "01C", json!({"message":{"id":"3","type":"text","text":"x"}}));
    let mut group_without_user = group_without_user;
    group_without_user["source"] = json!({"type":"group","groupId":"Cabc"});
    let mut group_with_user = event("message", "01D", json!({"message":{"id":"4","type":"text","text":"from group"}}));
    group_with_user["source"] = json!({"type":"group","groupId":"Cabc","userId":USER});
    let items = parse_webhook(&body(vec![no_id, good, bad_user, group_without_user, group_with_user])).expect("parses");
    assert_eq!(items.len(), 5);
    assert!(matches!(&items[0], InboundItem::Skipped { reason, .. } if reason.contains("webhookEventId")));
    assert!(matches!(&items[2], InboundItem::Skipped { reason, .. } if reason.contains("userId")));
    assert!(matches!(&items[3], InboundItem::Skipped { reason, .. } if reason.contains("group")));
    let kept: Vec<&str> = messages(&items).iter().map(|m| m.external_id.as_str()).collect();
    assert_eq!(kept, vec!["01A", "01D"]);
}

#[test]
fn a_body_that_is_not_a_line_webhook_is_an_error() {
    assert!(parse_webhook(b"<html>").is_err());
    assert!(parse_webhook(br#"{"object":"whatsapp_business_account","entry":[]}"#).is_err());
    assert!(parse_webhook(br#"{"destination":"U1","events":{}}"#).is_err());
    assert!(parse_webhook(br#"[]"#).is_err());
}

// --- webhook end to end -----------------------------------------------------------------------

#[tokio::test]
async fn a_users_text_arrives_signed_parses_and_is_answered_with_its_reply_token() {
    let fake = fake(|_| {}).await;
    let (url, got) = receiver().await;
    fake.set_webhook(&url);
    let event_id = fake.user_sends(USER, UserEvent::Text("music stopped in the lobby".into())).await.expect("sent");

    let (headers, body) = got.lock().expect("lock").first().cloned().expect("one delivery");
    let signature = headers.get("x-line-signature").and_then(|v| v.to_str().ok());
    assert!(verify_signature(fake.channel_secret(), signature, &body));
    assert!(!verify_signature("another secret", signature, &body));
    let items = parse_webhook(&body).expect("parses");
    let m = messages(&items)[0].clone();
    assert_eq!(m.external_id, event_id);
    assert_eq!(m.body, MessageBody::Text { text: "music stopped in the lobby".into() });

    let ids = client(&fake)
        .reply(m.reply_token.as_deref().expect("token"), &[LineMessage::text("Checking the lobby now.")])
        .await
        .expect("replied");
    assert_eq!(ids.len(), 1);
    let sent = fake.sent();
    assert_eq!((sent[0].to.as_str(), sent[0].via), (USER, Via::Reply));
    assert_eq!(sent[0].messages[0]["text"], "Checking the lobby now.");
}

#[tokio::test]
async fn an_image_a_user_sent_is_downloaded_from_the_content_endpoint() {
    let fake = fake(|_| {}).await;
    let (url, got) = receiver().await;
    fake.set_webhook(&url);
    let png = RichMenu::standard().placeholder_png();
    let id = fake.add_content(png.clone(), "image/png");
    fake.user_sends(USER, UserEvent::Image { message_id: id }).await.expect("sent");
    let body = got.lock().expect("lock")[0].1.clone();
    let items = parse_webhook(&body).expect("parses");
    let MessageBody::Media { media_id: Some(media_id), kind: MediaKind::Image, .. } = &messages(&items)[0].body else {
        panic!("not an image with a LINE id: {items:?}");
    };
    let (bytes, mime) = client(&fake).content(media_id).await.expect("downloaded");
    assert_eq!((bytes, mime.as_str()), (png, "image/png"));
    let missing = client(&fake).content("999").await.expect_err("unknown id");
    assert_eq!(missing.code(), "http_404");
}

// --- sending ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_reply_token_works_once() {
    let fake = fake(|_| {}).await;
    let token = live_reply_token(&fake).await;
    let line = client(&fake);
    line.reply(&token, &[LineMessage::text("one"), LineMessage::text("two")]).await.expect("first use");
    let again = line.reply(&token, &[LineMessage::text("three")]).await.expect_err("second use");
    assert!(again.is_invalid_reply_token());
    assert!(!again.is_retryable());
    assert_eq!(again.code(), "invalid_reply_token");
    assert!(again.request_id().is_some());
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn a_reply_token_expires_after_a_minute() {
    let fake = fake(|_| {}).await;
    let token = live_reply_token(&fake).await;
    fake.advance(Duration::from_secs(61));
    let err = client(&fake).reply(&token, &[LineMessage::text("late")]).await.expect_err("expired");
    assert!(err.is_invalid_reply_token());
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn a_push_returns_the_ids_of_its_messages_and_its_request_id() {
    let fake = fake(|_| {}).await;
    let key = uuid::Uuid::new_v4();
    let quick = LineMessage::Text {
        text: "Which zone?".into(),
        quick_replies: vec![
            QuickReply::postback("Lobby", "zone=1", Some("Lobby".into())),
            QuickReply::message("Pool", "Pool"),
        ],
    };
    let out = client(&fake).push(&user(), &[quick, LineMessage::text("or type its name")], key).await.expect("pushed");
    assert_eq!(out.sent_ids.len(), 2);
    assert!(!out.already_accepted);
    let sent = fake.sent();
    assert_eq!(sent[0].via, Via::Push);
    assert_eq!(sent[0].retry_key, Some(key.to_string()));
    assert_eq!(out.request_id.as_deref(), Some(sent[0].request_id.as_str()));
    assert_eq!(sent[0].sent_ids, out.sent_ids);
    assert_eq!(sent[0].messages[0]["quickReply"]["items"][0]["action"]["data"], "zone=1");
}

#[tokio::test]
async fn a_push_retried_with_the_same_key_after_the_sender_died_is_already_accepted_and_sent_once() {
    let fake = fake(|_| {}).await;
    let key = uuid::Uuid::new_v4();
    fake.hold_next(Duration::from_secs(30));
    let line = client(&fake);
    let worker = {
        let line = line.clone();
        tokio::spawn(async move { line.push(&user(), &[LineMessage::text("Volume set to 8")], key).await })
    };
    for _ in 0..200 {
        if !fake.sent().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.sent().len(), 1, "LINE accepted the push before the worker died");
    worker.abort();

    let again = line.push(&user(), &[LineMessage::text("Volume set to 8")], key).await.expect("retry answered");
    assert!(again.already_accepted);
    assert_eq!(again.sent_ids, fake.sent()[0].sent_ids);
    assert_eq!(again.request_id.as_deref(), Some(fake.sent()[0].request_id.as_str()));
    assert_eq!(fake.sent().len(), 1, "one message, not two");
}

#[tokio::test]
async fn a_server_error_is_retried_in_place_with_the_same_key_and_sends_once() {
    let fake = fake(|_| {}).await;
    fake.fail_next(1, 500);
    let line = client(&fake).with_retries(2, Duration::from_millis(1));
    let out = line.push(&user(), &[LineMessage::text("hi")], uuid::Uuid::new_v4()).await.expect("pushed on retry");
    assert_eq!(out.sent_ids.len(), 1);
    assert_eq!(fake.sent().len(), 1);
    assert_eq!(fake.requests(), 2);

    fake.fail_next(1, 503);
    let err = client(&fake).push(&user(), &[LineMessage::text("hi")], uuid::Uuid::new_v4()).await.expect_err("503");
    assert!(err.is_retryable());
    assert_eq!(err.code(), "http_503");
}

#[tokio::test]
async fn six_messages_are_refused_before_any_request() {
    let fake = fake(|_| {}).await;
    let line = client(&fake);
    let six = vec![LineMessage::text("x"); 6];
    let err = line.push(&user(), &six, uuid::Uuid::new_v4()).await.expect_err("too many");
    assert!(!err.is_retryable());
    assert_eq!(err.code(), "invalid_request");
    assert!(line.reply("token", &[]).await.is_err());
    let label = LineMessage::Text {
        text: "x".into(),
        quick_replies: vec![QuickReply::message("a label over twenty chars", "x")],
    };
    assert!(line.push(&user(), &[label], uuid::Uuid::new_v4()).await.is_err());
    let fourteen = LineMessage::Text { text: "x".into(), quick_replies: vec![QuickReply::message("a", "a"); 14] };
    assert!(line.push(&user(), &[fourteen], uuid::Uuid::new_v4()).await.is_err());
    let data =
        LineMessage::Text { text: "x".into(), quick_replies: vec![QuickReply::postback("a", "d".repeat(301), None)] };
    assert!(line.push(&user(), &[data], uuid::Uuid::new_v4()).await.is_err());
    assert_eq!(fake.requests(), 0);
}

#[tokio::test]
async fn the_rate_limit_is_a_retryable_429() {
    let fake = fake(|c| c.rate_limit_per_sec = 1).await;
    let line = client(&fake);
    line.push(&user(), &[LineMessage::text("1")], uuid::Uuid::new_v4()).await.expect("within the limit");
    let err = line.push(&user(), &[LineMessage::text("2")], uuid::Uuid::new_v4()).await.expect_err("over the limit");
    assert!(matches!(err, SendError::RateLimited { .. }));
    assert!(err.is_retryable());
    assert_eq!(err.code(), "rate_limited");
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn the_monthly_quota_is_a_429_that_is_not_retryable() {
    let fake = fake(|c| c.monthly_quota = Some(2)).await;
    let line = client(&fake);
    line.push(&user(), &[LineMessage::text("1"), LineMessage::text("2")], uuid::Uuid::new_v4())
        .await
        .expect("in quota");
    let err = line.push(&user(), &[LineMessage::text("3")], uuid::Uuid::new_v4()).await.expect_err("quota used");
    assert!(matches!(err, SendError::MonthlyLimit { .. }));
    assert!(!err.is_retryable());
    assert_eq!(err.code(), "monthly_limit");
    let token = live_reply_token(&fake).await;
    line.reply(&token, &[LineMessage::text("replies are free")]).await.expect("a reply is not counted");
    assert_eq!(fake.monthly_used(), 2);
}

#[tokio::test]
async fn a_wrong_access_token_is_a_401_that_is_not_retryable() {
    let fake = fake(|_| {}).await;
    let settings = LineSettings { api_url: fake.url(), data_url: fake.url(), channel_access_token: "wrong".into() };
    let err = LineClient::new(settings)
        .expect("client")
        .push(&user(), &[LineMessage::text("x")], uuid::Uuid::new_v4())
        .await
        .expect_err("unauthorised");
    assert_eq!(err.code(), "http_401");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("Authentication failed"));
}

#[tokio::test]
async fn an_unreachable_line_is_a_retryable_connection_error() {
    let settings = LineSettings {
        api_url: "http://127.0.0.1:9".into(),
        data_url: "http://127.0.0.1:9".into(),
        channel_access_token: "t".into(),
    };
    let err = LineClient::new(settings)
        .expect("client")
        .with_retries(0, Duration::ZERO)
        .push(&user(), &[LineMessage::text("x")], uuid::Uuid::new_v4())
        .await
        .expect_err("nothing listens");
    assert_eq!(err.code(), "connection");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_profile_is_read_for_a_friend_and_is_404_for_a_stranger() {
    let fake = fake(|_| {}).await;
    fake.add_user(USER, "Lobby Bar Manager");
    let p = client(&fake).profile(&user()).await.expect("friend");
    assert_eq!((p.user_id.as_str(), p.display_name.as_str()), (USER, "Lobby Bar Manager"));
    let stranger = LineUserId::parse("U0000000000000000000000000000000f").expect("id");
    assert_eq!(client(&fake).profile(&stranger).await.expect_err("stranger").code(), "http_404");
}

// --- rich menus -------------------------------------------------------------------------------

#[tokio::test]
async fn the_standard_rich_menu_is_created_illustrated_made_default_and_linked() {
    let fake = fake(|_| {}).await;
    let line = client(&fake);
    let menu = RichMenu::standard();
    let id = line.create_rich_menu(&menu).await.expect("created");
    assert!(id.starts_with("richmenu-"));

    let early = line.set_default_rich_menu(&id).await.expect_err("no image yet");
    assert_eq!(early.code(), "http_400");
    line.upload_rich_menu_image(&id, menu.placeholder_png(), "image/png").await.expect("image accepted");
    line.set_default_rich_menu(&id).await.expect("default set");
    line.link_rich_menu(&user(), &id).await.expect("linked");

    assert_eq!(fake.default_rich_menu(), Some(id.clone()));
    assert_eq!(fake.rich_menu_of(USER), Some(id.clone()));
    assert_eq!(line.rich_menus().await.expect("listed"), vec![(id.clone(), "BMA standard".to_owned())]);
    let stored = &fake.rich_menus()[0];
    assert_eq!(stored.1["areas"][1]["action"]["data"], "menu=volume");
    assert!(stored.2);
}

#[tokio::test]
async fn a_rich_menu_image_of_the_wrong_size_is_refused() {
    let fake = fake(|_| {}).await;
    let line = client(&fake);
    let id = line.create_rich_menu(&RichMenu::standard()).await.expect("created");
    let mut small = RichMenu::standard();
    small.width = 800;
    small.height = 270;
    small.areas.truncate(1);
    small.areas[0].width = 800;
    small.areas[0].height = 270;
    let err = line.upload_rich_menu_image(&id, small.placeholder_png(), "image/png").await.expect_err("800x270");
    assert_eq!(err.code(), "http_400");
    let err = line.upload_rich_menu_image(&id, b"GIF89a".to_vec(), "image/gif").await.expect_err("gif");
    assert_eq!(err.code(), "http_415");
    let mut narrow = RichMenu::standard();
    narrow.height = 2000;
    let SendError::Api { status: 400, details, .. } = line.create_rich_menu(&narrow).await.expect_err("too tall")
    else {
        panic!("not a 400");
    };
    assert!(details.iter().any(|d| d.property == "size"));
}
