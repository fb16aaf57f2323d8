//! The WhatsApp client against the faithful fake: every kind of send, the 24-hour window,
//! template and rate-limit errors, media download with expired URLs, the token, timeouts, and a
//! webhook's round trip from the fake through the signature check into parsed items.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bma_domain::clock::Clock;
use bma_domain::contact::PhoneNumber;
use bma_domain::messaging::{ChoiceSource, DeliveryStatus, InboundItem, MediaKind, MessageBody, Sender};
use bma_fakes::whatsapp::{FakeTemplate, StatusProgression, UserMessage, WhatsappFake, WhatsappFakeConfig};
use bma_integrations::whatsapp::{
    Outbound, SendError, WhatsappClient, WhatsappSettings, parse_webhook, verify_signature,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const VENUE: &str = "66812345678";

fn quiet() -> WhatsappFakeConfig {
    WhatsappFakeConfig { statuses: StatusProgression::off(), ..WhatsappFakeConfig::default() }
}

/// A clock that moves only when the test advances it.
fn frozen() -> Clock {
    Clock::virtual_at(bma_domain::clock::test_start())
}

fn settings(fake: &WhatsappFake) -> WhatsappSettings {
    let cfg = fake.config();
    WhatsappSettings {
        graph_url: fake.base_url(),
        api_version: "v23.0".into(),
        phone_number_id: cfg.phone_number_id.clone(),
        business_account_id: cfg.business_account_id.clone(),
        access_token: cfg.access_token.clone(),
    }
}

async fn setup(cfg: WhatsappFakeConfig) -> (WhatsappFake, WhatsappClient) {
    let fake = WhatsappFake::start(cfg).await.expect("fake");
    let client = WhatsappClient::new(settings(&fake)).expect("client");
    (fake, client)
}

fn venue() -> PhoneNumber {
    PhoneNumber::parse(&format!("+{VENUE}")).expect("phone")
}

fn text(s: &str) -> Outbound {
    Outbound::Text { body: s.into() }
}

#[tokio::test]
async fn a_text_inside_the_window_returns_the_wamid_the_fake_recorded_with_our_id() {
    let (fake, client) = setup(quiet()).await;
    fake.open_window(VENUE);
    let wamid = client.send(&venue(), &text("Your lobby music is back on."), "msg-0001").await.expect("sent");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].wamid, wamid);
    assert_eq!((sent[0].to.as_str(), sent[0].kind.as_str()), (VENUE, "text"));
    assert_eq!(sent[0].biz_opaque_callback_data.as_deref(), Some("msg-0001"));
    assert_eq!(sent[0].body["text"]["body"], "Your lobby music is back on.");
    assert_eq!(sent[0].body["recipient_type"], "individual");
}

#[tokio::test]
async fn templates_buttons_lists_images_and_documents_are_accepted_as_sent() {
    let (fake, client) = setup(quiet()).await;
    fake.open_window(VENUE);
    let messages = [
        Outbound::Template {
            name: "csat_survey".into(),
            language: "th".into(),
            body_params: vec!["สมชาย".into()],
            quick_replies: (1..=5).map(|i| format!("csat:{i}")).collect(),
        },
        Outbound::Buttons {
            body: "Music stopped in which zone?".into(),
            buttons: vec![
                ("lobby".into(), "Lobby".into()),
                ("pool".into(), "Pool".into()),
                ("bar".into(), "Bar".into()),
            ],
        },
        Outbound::List {
            body: "Pick a playlist".into(),
            button: "Playlists".into(),
            rows: vec![
                ("p1".into(), "Chill Lounge".into(), Some("Soft evening".into())),
                ("p2".into(), "Pop".into(), None),
            ],
        },
        Outbound::Image { link: "https://example.com/a.png".into(), caption: Some("Your new schedule".into()) },
        Outbound::Document {
            link: "https://example.com/inv.pdf".into(),
            caption: None,
            filename: Some("invoice.pdf".into()),
        },
    ];
    for (i, m) in messages.iter().enumerate() {
        client.send(&venue(), m, &format!("m{i}")).await.unwrap_or_else(|e| panic!("{} refused: {e}", m.kind()));
    }
    let sent = fake.sent();
    let kinds: Vec<&str> = sent.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["template", "interactive", "interactive", "image", "document"]);
    assert_eq!(sent[0].body["template"]["components"][5]["parameters"][0]["payload"], "csat:5");
    assert_eq!(sent[1].body["interactive"]["action"]["buttons"][2]["reply"]["title"], "Bar");
    assert_eq!(sent[2].body["interactive"]["action"]["sections"][0]["rows"][1]["id"], "p2");
    assert_eq!(sent[4].body["document"]["filename"], "invoice.pdf");
}

#[tokio::test]
async fn a_free_form_message_outside_the_window_is_refused_as_window_closed_but_a_template_goes() {
    let (fake, client) = setup(quiet()).await;
    let err = client.send(&venue(), &text("hello"), "m1").await.expect_err("window closed");
    assert!(err.is_window_closed(), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.code(), "131047");
    fake.open_window(VENUE);
    fake.advance(Duration::from_secs(24 * 3600 + 1));
    let err = client.send(&venue(), &text("hello"), "m2").await.expect_err("closed again a day later");
    assert!(err.is_window_closed());
    let reopen = Outbound::Template {
        name: "conversation_reopen".into(),
        language: "en_US".into(),
        body_params: vec![],
        quick_replies: vec![],
    };
    client.send(&venue(), &reopen, "m3").await.expect("a template needs no window");
}

#[tokio::test]
async fn an_unknown_template_or_a_wrong_parameter_count_is_a_clear_permanent_error() {
    let (_fake, client) = setup(quiet()).await;
    let t = |name: &str, language: &str, params: &[&str]| Outbound::Template {
        name: name.into(),
        language: language.into(),
        body_params: params.iter().map(|p| (*p).to_owned()).collect(),
        quick_replies: vec![],
    };
    let err = client.send(&venue(), &t("summer_sale", "en_US", &[]), "m").await.expect_err("unknown");
    assert_eq!(err.code(), "132001");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("summer_sale"), "{err}");
    let err = client.send(&venue(), &t("alert_notice", "de", &["a", "b"]), "m").await.expect_err("language");
    assert_eq!(err.code(), "132001");
    let err = client.send(&venue(), &t("alert_notice", "en_US", &["Lobby"]), "m").await.expect_err("count");
    assert_eq!(err.code(), "132000");
    assert!(err.to_string().contains("expected number of params (2)"), "{err}");
    client.send(&venue(), &t("alert_notice", "en_US", &["Lobby", "no sound for 10 minutes"]), "m").await.expect("ok");
}

#[tokio::test]
async fn rate_limits_are_retryable_with_their_code_and_a_pause() {
    let cfg = WhatsappFakeConfig { throughput_per_second: 2, pair_limit_per_minute: 1, clock: frozen(), ..quiet() };
    let (fake, client) = setup(cfg).await;
    let other = PhoneNumber::parse("+66822222222").expect("phone");
    let third = PhoneNumber::parse("+66833333333").expect("phone");
    for n in [VENUE, "66822222222", "66833333333"] {
        fake.open_window(n);
    }
    client.send(&venue(), &text("1"), "a").await.expect("first");
    let pair = client.send(&venue(), &text("2"), "b").await.expect_err("pair limit");
    assert_eq!(pair.code(), "131056");
    assert!(pair.is_retryable() && pair.retry_after().is_some());
    client.send(&other, &text("1"), "c").await.expect("another recipient");
    let busy = client.send(&third, &text("1"), "d").await.expect_err("throughput");
    assert_eq!(busy.code(), "130429");
    assert!(busy.is_retryable());
    assert_eq!(busy.retry_after(), Some(Duration::from_secs(1)));
}

#[tokio::test]
async fn a_429_variant_of_the_throughput_error_is_read_the_same_way() {
    let cfg = WhatsappFakeConfig { throughput_per_second: 1, rate_limit_http_status: 429, clock: frozen(), ..quiet() };
    let (fake, client) = setup(cfg).await;
    fake.open_window(VENUE);
    client.send(&venue(), &text("1"), "a").await.expect("first");
    let e = client.send(&venue(), &text("2"), "b").await.expect_err("limited");
    assert!(matches!(e, SendError::Api { status: 429, code: 130429, .. }), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn server_errors_are_retryable_and_named_by_their_status() {
    let (fake, client) = setup(quiet()).await;
    fake.open_window(VENUE);
    fake.fail_next(1, 503);
    let e = client.send(&venue(), &text("1"), "a").await.expect_err("503");
    assert_eq!((e.code().as_str(), e.is_retryable()), ("http_503", true));
    assert!(fake.sent().is_empty());
    client.send(&venue(), &text("1"), "a").await.expect("the retry goes through");
}

#[tokio::test]
async fn a_held_answer_times_out_as_retryable_although_the_message_was_accepted() {
    let (fake, client) = setup(quiet()).await;
    let client = client.with_timeout(Duration::from_millis(500));
    fake.open_window(VENUE);
    fake.hold_next(1, Duration::from_secs(3));
    let e = client.send(&venue(), &text("held"), "our-7").await.expect_err("timeout");
    assert_eq!((e.code().as_str(), e.is_retryable()), ("timeout", true));
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].biz_opaque_callback_data.as_deref(), Some("our-7"), "our id lets the status webhook settle it");
}

#[tokio::test]
async fn messages_over_metas_limits_are_refused_without_calling_the_api() {
    let (fake, client) = setup(quiet()).await;
    fake.open_window(VENUE);
    let four = (0..4).map(|i| (format!("b{i}"), format!("B{i}"))).collect();
    let bad = [
        text(&"x".repeat(4097)),
        Outbound::Buttons { body: "Pick".into(), buttons: four },
        Outbound::Buttons { body: "Pick".into(), buttons: vec![("a".into(), "A title longer than 20".into())] },
    ];
    for m in &bad {
        let e = client.send(&venue(), m, "m").await.expect_err("invalid");
        assert!(matches!(e, SendError::Invalid(_)) && !e.is_retryable(), "{e:?}");
        assert_eq!(e.code(), "invalid_request");
    }
    assert_eq!(fake.requests(), 0);
}

#[tokio::test]
async fn a_bad_token_is_an_unauthorized_permanent_error() {
    let fake = WhatsappFake::start(quiet()).await.expect("fake");
    let client =
        WhatsappClient::new(WhatsappSettings { access_token: "expired".into(), ..settings(&fake) }).expect("c");
    fake.open_window(VENUE);
    let e = client.send(&venue(), &text("hi"), "m").await.expect_err("401");
    assert!(e.is_unauthorized() && !e.is_retryable(), "{e:?}");
    assert_eq!(e.code(), "190");
    assert!(client.templates().await.expect_err("401 too").is_unauthorized());
}

#[tokio::test]
async fn media_downloads_in_two_steps_and_an_expired_url_is_fetched_again() {
    let (fake, client) = setup(quiet()).await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let id = fake.add_media(bytes.clone(), "image/jpeg");
    let (got, mime) = client.download_media(&id).await.expect("download");
    assert_eq!((got.len(), mime.as_str()), (70_000, "image/jpeg"));
    assert_eq!(got, bytes);

    fake.expire_next_media_urls(1);
    let (again, _) = client.download_media(&id).await.expect("re-fetched after an expired url");
    assert_eq!(again, bytes);

    fake.expire_next_media_urls(2);
    let e = client.download_media(&id).await.expect_err("expired twice");
    assert_eq!(e.code(), "http_404");

    fake.advance(Duration::from_secs(8 * 24 * 3600));
    let e = client.download_media(&id).await.expect_err("media ids expire after 7 days");
    assert_eq!(e.code(), "100");
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn templates_lists_only_approved_ones_with_their_parameters_across_pages() {
    let (_fake, client) = setup(quiet()).await;
    let all = client.templates().await.expect("templates");
    assert!(all.iter().all(|t| t.status == "APPROVED"));
    assert!(!all.iter().any(|t| t.name == "holiday_promo"), "pending ones are left out");
    let csat = all.iter().find(|t| t.name == "csat_survey" && t.language == "th").expect("csat th");
    assert_eq!((csat.body_params, csat.quick_replies.len(), csat.category.as_str()), (1, 5, "UTILITY"));
    let alert = all.iter().find(|t| t.name == "alert_notice" && t.language == "en_US").expect("alert");
    assert_eq!(alert.body_params, 2);
    assert!(alert.body.contains("{{2}}"));

    let many: Vec<FakeTemplate> =
        (0..230).map(|i| FakeTemplate::new(&format!("t{i:03}"), "en_US", "MARKETING", "Hi", &[])).collect();
    let (_fake, client) = setup(WhatsappFakeConfig { templates: many, ..quiet() }).await;
    let all = client.templates().await.expect("templates");
    assert_eq!(all.len(), 230);
    assert_eq!(all.last().map(|t| t.name.as_str()), Some("t229"));
}

#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<Vec<u8>>>>);

async fn hook(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if !verify_signature("fake-whatsapp-app-secret", sig, &body) {
        return StatusCode::UNAUTHORIZED;
    }
    inbox.0.lock().expect("lock").push(body.to_vec());
    StatusCode::OK
}

async fn receiver(fake: &WhatsappFake) -> Inbox {
    let inbox = Inbox::default();
    let app = Router::new().route("/api/v1/webhooks/whatsapp", post(hook)).with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let url = format!("http://{}/api/v1/webhooks/whatsapp", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    fake.set_webhook(&url);
    inbox
}

fn parsed(inbox: &Inbox) -> Vec<InboundItem> {
    inbox.0.lock().expect("lock").iter().flat_map(|b| parse_webhook(b).expect("whatsapp envelope")).collect()
}

#[tokio::test]
async fn what_a_user_sends_arrives_signed_and_parses_into_inbound_messages() {
    let (fake, client) = setup(quiet()).await;
    let inbox = receiver(&fake).await;
    let media = fake.add_media(b"%PDF-1.7".to_vec(), "application/pdf");
    let w1 = fake.user_sends(VENUE, "คุณสมชาย", UserMessage::text("เพลงหยุดที่ล็อบบี้"));
    tokio::time::timeout(Duration::from_secs(5), fake.flush()).await.expect("flush");
    let w2 = fake.user_sends(
        VENUE,
        "คุณสมชาย",
        UserMessage::Document { media_id: media.clone(), filename: "contract.pdf".into(), caption: None },
    );
    tokio::time::timeout(Duration::from_secs(5), fake.flush()).await.expect("flush");
    let w3 = fake.user_sends(VENUE, "คุณสมชาย", UserMessage::ListReply { id: "p2".into(), title: "Pop".into() });
    let w4 = fake.user_sends(VENUE, "คุณสมชาย", UserMessage::Unsupported);
    tokio::time::timeout(Duration::from_secs(5), fake.flush()).await.expect("flush");

    let items = parsed(&inbox);
    assert_eq!(items.len(), 4);
    let by_id = |id: &str| {
        items
            .iter()
            .find_map(|i| match i {
                InboundItem::Message(m) if m.external_id == id => Some(m.clone()),
                _ => None,
            })
            .expect("message")
    };
    let first = by_id(&w1);
    assert_eq!(first.from, Sender::Whatsapp(venue()));
    assert_eq!(first.sender_name.as_deref(), Some("คุณสมชาย"));
    assert_eq!(first.body, MessageBody::Text { text: "เพลงหยุดที่ล็อบบี้".into() });
    assert!((fake.now() - first.sent_at).whole_seconds() < 5);
    let MessageBody::Media { kind, media_id, mime_type, filename, .. } = by_id(&w2).body else { panic!("media") };
    assert_eq!(
        (kind, media_id.as_deref(), mime_type.as_deref(), filename.as_deref()),
        (MediaKind::Document, Some(media.as_str()), Some("application/pdf"), Some("contract.pdf"))
    );
    assert_eq!(client.download_media(&media).await.expect("download").0, b"%PDF-1.7");
    assert_eq!(
        by_id(&w3).body,
        MessageBody::Choice { source: ChoiceSource::List, id: "p2".into(), title: "Pop".into() }
    );
    assert_eq!(by_id(&w4).body, MessageBody::Unsupported { kind: "unsupported".into() });

    client.mark_read(&w1).await.expect("mark read");
    assert_eq!(fake.reads(), [w1]);
    assert!(client.mark_read("wamid.unknown").await.is_err());
}

#[tokio::test]
async fn status_webhooks_parse_into_delivery_updates_carrying_our_id() {
    let statuses = StatusProgression {
        enabled: true,
        sent_after: Duration::from_millis(10),
        delivered_after: Duration::from_millis(200),
        read_after: Some(Duration::from_millis(400)),
        out_of_order: false,
    };
    let cfg =
        WhatsappFakeConfig { undeliverable: vec!["66800000000".into()], statuses, ..WhatsappFakeConfig::default() };
    let (fake, client) = setup(cfg).await;
    let inbox = receiver(&fake).await;
    fake.open_window(VENUE);
    let wamid = client.send(&venue(), &text("We restarted the player."), "our-1").await.expect("sent");
    let ghost = PhoneNumber::parse("+66800000000").expect("phone");
    let reopen = Outbound::Template {
        name: "conversation_reopen".into(),
        language: "th".into(),
        body_params: vec![],
        quick_replies: vec![],
    };
    let lost = client.send(&ghost, &reopen, "our-2").await.expect("accepted first");
    tokio::time::timeout(Duration::from_secs(5), fake.flush()).await.expect("flush");

    let updates: Vec<_> = parsed(&inbox)
        .into_iter()
        .filter_map(|i| match i {
            InboundItem::Delivery(d) => Some(d),
            _ => None,
        })
        .collect();
    let mine: Vec<DeliveryStatus> = updates.iter().filter(|d| d.external_id == wamid).map(|d| d.status).collect();
    assert_eq!(mine, [DeliveryStatus::Sent, DeliveryStatus::Delivered, DeliveryStatus::Read]);
    assert!(updates.iter().filter(|d| d.external_id == wamid).all(|d| d.our_id.as_deref() == Some("our-1")));
    let failed = updates.iter().find(|d| d.external_id == lost).expect("failed status");
    assert_eq!((failed.status, failed.our_id.as_deref()), (DeliveryStatus::Failed, Some("our-2")));
    assert_eq!(failed.error.as_ref().map(|e| e.code.as_str()), Some("131026"));
}

#[tokio::test]
async fn a_batch_of_two_entries_from_the_fake_parses_into_every_message() {
    let (fake, _client) = setup(quiet()).await;
    let inbox = receiver(&fake).await;
    let ids = fake.deliver_batch(vec![
        (VENUE.into(), "Som".into(), UserMessage::text("one")),
        (
            "66822222222".into(),
            "Bee".into(),
            UserMessage::TemplateButton { payload: "csat:4".into(), text: "4".into() },
        ),
        (
            VENUE.into(),
            "Som".into(),
            UserMessage::Location { latitude: 13.7563, longitude: 100.5018, name: Some("Hotel".into()), address: None },
        ),
    ]);
    tokio::time::timeout(Duration::from_secs(5), fake.flush()).await.expect("flush");
    let items = parsed(&inbox);
    let got: Vec<(String, Option<String>, &'static str)> = items
        .iter()
        .map(|i| match i {
            InboundItem::Message(m) => (m.external_id.clone(), m.sender_name.clone(), m.body.kind().as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (ids[0].clone(), Some("Som".into()), "text"),
            (ids[1].clone(), Some("Bee".into()), "choice"),
            (ids[2].clone(), Some("Som".into()), "location")
        ]
    );
}
