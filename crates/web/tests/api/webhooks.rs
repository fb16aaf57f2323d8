use crate::helpers::{Options, TestApp, venue_body};
use axum::http::{Method, StatusCode};
use bma_domain::access::Role;
use bma_integrations::signature::{sign_base64_sha256, sign_hex_sha256};
use serde_json::{Value, json};

pub const APP_SECRET: &str = "meta-app-secret";
pub const LINE_SECRET: &str = "line-channel-secret";
pub const VERIFY_TOKEN: &str = "verify-me";
pub const VENUE_PHONE: &str = "66812345678";
pub const VENUE_LINE: &str = "U0123456789abcdef0123456789abcdef";

pub fn channel_env() -> Vec<(&'static str, String)> {
    vec![
        ("WHATSAPP_APP_SECRET", APP_SECRET.into()),
        ("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN.into()),
        ("LINE_CHANNEL_SECRET", LINE_SECRET.into()),
        ("WEBHOOK_SECRET", "inbound-mail-secret".into()),
        ("BOT_ENABLED", "false".into()),
    ]
}

/// The channel settings of a service that talks to these WhatsApp and LINE fakes both ways.
pub fn fake_channels_env(
    wa: &bma_fakes::whatsapp::WhatsappFake,
    line: &bma_fakes::line::LineFake,
) -> Vec<(&'static str, String)> {
    crate::helpers::fake_channels_env_over(channel_env(), wa, line)
}

async fn app() -> TestApp {
    TestApp::with(Options { env: channel_env(), ..Options::default() }).await
}

pub async fn post_whatsapp(app: &TestApp, body: &Value) -> crate::helpers::Response {
    let bytes = body.to_string().into_bytes();
    let sig = sign_hex_sha256(APP_SECRET.as_bytes(), &bytes);
    app.post_raw("/api/v1/webhooks/whatsapp", &[("x-hub-signature-256", sig)], bytes).await
}

pub async fn post_line(app: &TestApp, body: &Value) -> crate::helpers::Response {
    let bytes = body.to_string().into_bytes();
    let sig = sign_base64_sha256(LINE_SECRET.as_bytes(), &bytes);
    app.post_raw("/api/v1/webhooks/line", &[("x-line-signature", sig)], bytes).await
}

pub fn wa_envelope(entries: Vec<Vec<Value>>) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": entries.into_iter().map(|messages| json!({
            "id": "102290129340398",
            "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "contacts": [{"profile": {"name": "Khun Somchai"}, "wa_id": VENUE_PHONE}],
                "messages": messages
            }}]
        })).collect::<Vec<_>>()
    })
}

pub fn wa_text(id: &str, text: &str) -> Value {
    json!({"from": VENUE_PHONE, "id": id, "timestamp": "1764150000", "type": "text", "text": {"body": text}})
}

fn line_event(id: &str, event: Value) -> Value {
    let mut e = json!({
        "mode": "active", "timestamp": 1_764_150_000_000_i64, "webhookEventId": id,
        "deliveryContext": {"isRedelivery": false},
        "source": {"type": "user", "userId": VENUE_LINE}
    });
    if let (Some(obj), Some(extra)) = (e.as_object_mut(), event.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    e
}

fn line_body(events: Vec<Value>) -> Value {
    json!({"destination": "U206d25c2ea6bd87c17655609a1c37cb8", "events": events})
}

#[tokio::test]
async fn the_whatsapp_handshake_echoes_the_challenge_only_for_the_right_token() {
    let app = app().await;
    let ok = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
            ),
            None,
            None,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.text, "1158201444");
    let legacy = app
        .call(
            Method::GET,
            "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42",
            None,
            None,
        )
        .await;
    assert_eq!(legacy.text, "42");
    let bad = app
        .call(
            Method::GET,
            "/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1",
            None,
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN);
    assert_eq!(bad.code(), "forbidden", "the challenge is not echoed: {}", bad.text);
}

#[tokio::test]
async fn every_whatsapp_message_type_in_a_batch_is_stored_once_and_a_redelivery_changes_nothing() {
    let app = app().await;
    let m = |id: &str, kind: &str, body: Value| {
        let mut v = json!({"from": VENUE_PHONE, "id": id, "timestamp": "1764150000", "type": kind});
        v[kind] = body;
        v
    };
    let batch = wa_envelope(vec![
        vec![
            wa_text("wamid.1", "The lobby music stopped"),
            m(
                "wamid.2",
                "image",
                json!({"id": "media-1", "mime_type": "image/jpeg", "sha256": "x", "caption": "screen"}),
            ),
            m(
                "wamid.3",
                "document",
                json!({"id": "media-2", "mime_type": "application/pdf", "sha256": "y", "filename": "invoice.pdf"}),
            ),
            m("wamid.4", "location", json!({"latitude": 13.7563, "longitude": 100.5018, "name": "Lotus Grand"})),
        ],
        vec![
            m(
                "wamid.5",
                "interactive",
                json!({"type": "button_reply", "button_reply": {"id": "vol_up", "title": "Louder"}}),
            ),
            m(
                "wamid.6",
                "interactive",
                json!({"type": "list_reply", "list_reply": {"id": "zone_lobby", "title": "Lobby"}}),
            ),
            m("wamid.7", "button", json!({"payload": "csat:5", "text": "Excellent"})),
            json!({"from": VENUE_PHONE, "id": "wamid.8", "timestamp": "1764150000", "type": "unsupported",
                   "errors": [{"code": 131051, "title": "Message type unknown"}]}),
        ],
    ]);
    let first = post_whatsapp(&app, &batch).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["stored"], 8);
    let again = post_whatsapp(&app, &batch).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["stored"], 0);
    assert_eq!(again.body["duplicates"], 8);
    assert_eq!(app.count("SELECT count(*) FROM messages WHERE direction = 'in'").await, 8);
    assert_eq!(app.count("SELECT count(*) FROM conversations").await, 1);
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM messages ORDER BY external_id")
        .fetch_all(&app.ctx.db)
        .await
        .expect("test setup");
    assert_eq!(kinds, ["text", "media", "media", "location", "choice", "choice", "choice", "unsupported"]);
    assert_eq!(
        app.count("SELECT count(*) FROM jobs WHERE kind = 'message.fetch_media'").await,
        2,
        "the image and the document are fetched by a job"
    );
}

#[tokio::test]
async fn a_wrong_or_missing_signature_is_refused_and_nothing_is_stored() {
    let app = app().await;
    let body = wa_envelope(vec![vec![wa_text("wamid.x", "hello")]]).to_string().into_bytes();
    let forged = sign_hex_sha256(b"not-the-secret", &body);
    for headers in
        [vec![("x-hub-signature-256", forged)], vec![], vec![("x-hub-signature-256", "sha256=zz".to_owned())]]
    {
        let r = app.post_raw("/api/v1/webhooks/whatsapp", &headers, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert_eq!(r.code(), "invalid_signature");
    }
    let line = line_body(vec![line_event(
        "01J0000000000000000000000A",
        json!({"type": "message", "replyToken": "t",
        "message": {"id": "1", "type": "text", "text": "hi", "quoteToken": "q"}}),
    )])
    .to_string()
    .into_bytes();
    let forged = sign_base64_sha256(b"wrong", &line);
    let r = app.post_raw("/api/v1/webhooks/line", &[("x-line-signature", forged)], line).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM conversations").await, 0);
}

#[tokio::test]
async fn a_malformed_payload_is_a_400_and_a_batch_with_one_bad_item_stores_the_rest() {
    let app = app().await;
    let junk = b"{not json".to_vec();
    let sig = sign_hex_sha256(APP_SECRET.as_bytes(), &junk);
    let r = app.post_raw("/api/v1/webhooks/whatsapp", &[("x-hub-signature-256", sig)], junk).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "malformed_payload");

    let batch = wa_envelope(vec![vec![
        wa_text("wamid.good1", "one"),
        json!({"id": "wamid.nofrom", "timestamp": "1764150000", "type": "text", "text": {"body": "who?"}}),
        wa_text("wamid.good2", "two"),
    ]]);
    let r = post_whatsapp(&app, &batch).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["stored"], 2);
    assert_eq!(r.body["skipped"], 1);
}

#[tokio::test]
async fn html_in_a_message_is_stored_as_text_exactly() {
    let app = app().await;
    let token = app.token(Role::Viewer).await;
    let evil = "<script>alert('x')</script><b>loud</b>";
    post_whatsapp(&app, &wa_envelope(vec![vec![wa_text("wamid.h", evil)]])).await;
    let list = app.get("/api/v1/conversations", &token).await;
    let id = list.body["data"][0]["id"].as_str().expect("test setup").to_owned();
    let one = app.get(&format!("/api/v1/conversations/{id}"), &token).await;
    assert_eq!(one.body["messages"][0]["content"], evil);
    assert!(
        one.headers
            .get("content-type")
            .expect("test setup")
            .to_str()
            .expect("test setup")
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn line_events_of_every_kind_are_stored_and_a_redelivery_is_stored_once() {
    let app = app().await;
    let empty = post_line(&app, &line_body(vec![])).await;
    assert_eq!(empty.status, StatusCode::OK, "LINE's connectivity check gets a 200");
    let events = vec![
        line_event(
            "01J0000000000000000000000A",
            json!({"type": "message", "replyToken": "r1",
            "message": {"id": "100", "type": "text", "text": "เพลงไม่ดังค่ะ", "quoteToken": "q"}}),
        ),
        line_event(
            "01J0000000000000000000000B",
            json!({"type": "message", "replyToken": "r2",
            "message": {"id": "101", "type": "image", "contentProvider": {"type": "line"}, "quoteToken": "q"}}),
        ),
        line_event(
            "01J0000000000000000000000C",
            json!({"type": "message", "replyToken": "r3",
            "message": {"id": "102", "type": "sticker", "packageId": "446", "stickerId": "1988", "stickerResourceType": "STATIC", "quoteToken": "q"}}),
        ),
        line_event(
            "01J0000000000000000000000D",
            json!({"type": "message", "replyToken": "r4",
            "message": {"id": "103", "type": "location", "latitude": 13.75, "longitude": 100.5, "address": "Sukhumvit"}}),
        ),
        line_event(
            "01J0000000000000000000000E",
            json!({"type": "postback", "replyToken": "r5",
            "postback": {"data": "menu=status"}}),
        ),
        line_event(
            "01J0000000000000000000000F",
            json!({"type": "follow", "replyToken": "r6", "follow": {"isUnblocked": false}}),
        ),
        line_event("01J0000000000000000000000G", json!({"type": "unfollow"})),
        line_event(
            "01J0000000000000000000000H",
            json!({"type": "beacon", "replyToken": "r7", "beacon": {"hwid": "d41d8cd98f", "type": "enter"}}),
        ),
    ];
    let r = post_line(&app, &line_body(events.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["stored"], 7);
    assert_eq!(r.body["skipped"], 1);
    let mut redelivered = events;
    for e in &mut redelivered {
        e["deliveryContext"]["isRedelivery"] = json!(true);
    }
    let r = post_line(&app, &line_body(redelivered)).await;
    assert_eq!(r.body["stored"], 0);
    assert_eq!(r.body["duplicates"], 7);
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 7);
    assert_eq!(
        app.count("SELECT count(*) FROM conversations WHERE channel = 'line' AND reply_token IS NOT NULL").await,
        1,
        "the newest reply token is kept for a free reply"
    );
}

#[tokio::test]
async fn a_known_contact_lands_on_its_venue_and_an_unknown_sender_is_flagged_then_linked() {
    let app = app().await;
    let token = app.token(Role::Manager).await;
    let venue = app.post("/api/v1/venues", Some(&token), venue_body("Lotus Grand")).await.body["id"]
        .as_str()
        .expect("test setup")
        .to_owned();
    let contact = app
        .post(
            &format!("/api/v1/venues/{venue}/contacts"),
            Some(&token),
            json!({"name": "Khun Somchai", "channel": "whatsapp", "whatsapp_number": format!("+{VENUE_PHONE}")}),
        )
        .await;
    assert_eq!(contact.status, StatusCode::CREATED, "{}", contact.text);
    post_whatsapp(&app, &wa_envelope(vec![vec![wa_text("wamid.k", "hello")]])).await;
    let known = app.get("/api/v1/conversations?channel=whatsapp", &token).await;
    assert_eq!(known.body["data"][0]["venue_id"], venue.as_str());
    assert_eq!(known.body["data"][0]["unknown_sender"], false);

    let stranger = line_body(vec![line_event(
        "01J000000000000000000000ZZ",
        json!({"type": "message", "replyToken": "r",
        "message": {"id": "9", "type": "text", "text": "hello?", "quoteToken": "q"}}),
    )]);
    post_line(&app, &stranger).await;
    let unknown = app.get("/api/v1/conversations?unknown_sender=true", &token).await;
    assert_eq!(unknown.body["pagination"]["total"], 1);
    let conv = unknown.body["data"][0]["id"].as_str().expect("test setup").to_owned();
    let line_contact = app
        .post(
            &format!("/api/v1/venues/{venue}/contacts"),
            Some(&token),
            json!({"name": "Khun Nok", "channel": "line", "line_user_id": VENUE_LINE}),
        )
        .await;
    let cid = line_contact.body["id"].as_str().expect("test setup").to_owned();
    let linked =
        app.post(&format!("/api/v1/conversations/{conv}/link"), Some(&token), json!({"contact_id": cid})).await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.text);
    assert_eq!(linked.body["venue_id"], venue.as_str());
    assert_eq!(linked.body["unknown_sender"], false);
}

#[tokio::test]
async fn delivery_statuses_move_forward_only_even_out_of_order() {
    let app = app().await;
    post_whatsapp(&app, &wa_envelope(vec![vec![wa_text("wamid.in", "hi")]])).await;
    let conv: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM conversations").fetch_one(&app.ctx.db).await.expect("test setup");
    let msg = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, channel, external_id, direction, sender_type, kind, content, \
         delivery_status) VALUES ($1, $2, 'whatsapp', 'wamid.out', 'out', 'team', 'text', 'ok', 'sent')",
    )
    .bind(msg)
    .bind(conv)
    .execute(&app.ctx.db)
    .await
    .expect("test setup");
    let status = |s: &str| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": "2"},
            "statuses": [{"id": "wamid.out", "status": s, "timestamp": "1764150100", "recipient_id": VENUE_PHONE}]}}]}]})
    };
    for s in ["read", "delivered", "sent"] {
        let r = post_whatsapp(&app, &status(s)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let now: String = sqlx::query_scalar("SELECT delivery_status FROM messages WHERE id = $1")
        .bind(msg)
        .fetch_one(&app.ctx.db)
        .await
        .expect("test setup");
    assert_eq!(now, "read");
}

#[tokio::test]
async fn the_live_feed_streams_a_new_conversation_to_a_signed_in_member() {
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let app = app().await;
    let token = app.token(Role::Viewer).await;
    let mut req = axum::http::Request::get("/api/v1/events")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    req.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from(([203, 0, 113, 7], 40_000))));
    let res = app.router.clone().oneshot(req).await.expect("answer");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    post_whatsapp(&app, &wa_envelope(vec![vec![wa_text("wamid.live", "hello")]])).await;
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
        .await
        .expect("an event within 5 s")
        .expect("a frame")
        .expect("no error");
    let text = String::from_utf8_lossy(frame.data_ref().expect("data")).into_owned();
    assert!(text.contains("event: conversation.updated"), "{text}");
    let anonymous = app.call(Method::GET, "/api/v1/events", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_oversized_webhook_is_refused_and_nothing_is_stored() {
    let app = app().await;
    let huge = wa_envelope(vec![vec![wa_text("wamid.big", &"x".repeat(2 * 1024 * 1024))]]);
    let r = post_whatsapp(&app, &huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 0);
}

#[tokio::test]
async fn a_webhook_of_a_channel_this_server_has_no_secret_for_is_a_404_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let body = wa_envelope(vec![vec![wa_text("wamid.none", "hello")]]);
    for path in ["/api/v1/webhooks/whatsapp", "/api/v1/webhooks/line", "/api/v1/webhooks/email"] {
        let r = app.post_raw(path, &[("content-type", "application/json".into())], body.to_string().into_bytes()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert_eq!(r.code(), "channel_not_configured", "{path}");
    }
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 0);
}

#[tokio::test]
async fn a_message_carrying_nul_characters_is_stored_once_without_them() {
    let app = app().await;
    let body = wa_envelope(vec![vec![wa_text("wamid.nul", "play\u{0} jazz\u{0}")]]);
    let r = post_whatsapp(&app, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(app.count("SELECT count(*) FROM messages WHERE content = 'play jazz'").await, 1);
    let line = line_body(vec![line_event(
        "nul-1",
        json!({"type": "message", "message": {"id": "m-nul", "type": "text", "text": "hi\u{0}"}}),
    )]);
    let r = post_line(&app, &line).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
