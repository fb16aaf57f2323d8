use crate::helpers::{Options, TestApp, venue_body};
use axum::http::{Method, StatusCode};
use bma_app::jobs::{Registry, Worker};
use bma_domain::access::Role;
use bma_fakes::claude::{ClaudeFake, ClaudeFakeConfig, ScriptedReply};
use bma_fakes::soundtrack::{Fault, FaultKind, FleetConfig, SoundtrackFake, Target};
use bma_fakes::weather::{WeatherFake, WeatherFakeConfig, WeatherFixture};
use bma_fakes::whatsapp::{UserMessage, WhatsappFake, WhatsappFakeConfig};
use bma_integrations::soundtrack::{Auth, Settings};
use serde_json::json;
use std::time::Duration;

const STAFF: &str = "66812345678";
const STRANGER: &str = "66899999999";

struct Rig {
    app: TestApp,
    wa: WhatsappFake,
    st: SoundtrackFake,
    claude: ClaudeFake,
    weather: WeatherFake,
    worker: Worker,
    lobby: String,
    pool: String,
    token: String,
    venue: String,
}

async fn rig(with_llm: bool) -> Rig {
    let st = SoundtrackFake::start(FleetConfig::default()).await.expect("soundtrack fake");
    let wa = WhatsappFake::start(WhatsappFakeConfig::default()).await.expect("whatsapp fake");
    let claude = ClaudeFake::start(ClaudeFakeConfig::default()).await.expect("claude fake");
    let weather = WeatherFake::start(WeatherFakeConfig::default()).await.expect("weather fake");
    let c = wa.config().clone();
    let mut env = vec![
        ("WHATSAPP_APP_SECRET", c.app_secret.clone()),
        ("WHATSAPP_ACCESS_TOKEN", c.access_token.clone()),
        ("WHATSAPP_PHONE_NUMBER_ID", c.phone_number_id.clone()),
        ("WHATSAPP_API_URL", wa.base_url()),
        ("BOT_ENABLED", "true".into()),
        ("OPENWEATHERMAP_API_KEY", weather.api_key().to_owned()),
        ("OPENWEATHERMAP_API_URL", weather.base_url()),
    ];
    if with_llm {
        env.push(("CLAUDE_API_KEY", claude.api_key().to_owned()));
        env.push(("CLAUDE_API_URL", claude.base_url()));
    }
    let mut settings = Settings::new(st.url(), Auth::client(st.client_id(), st.client_secret()));
    settings.backoff_base = Duration::from_millis(10);
    let app = TestApp::with(Options { env, soundtrack: Some(settings), ..Options::default() }).await;
    let base = app.serve().await;
    wa.set_webhook(&format!("{base}/api/v1/webhooks/whatsapp"));
    let token = app.token(Role::Manager).await;
    let venue = app.post("/api/v1/venues", Some(&token), venue_body("Lotus Grand")).await.body["id"]
        .as_str()
        .expect("test setup")
        .to_owned();
    let remote = st.accounts().into_iter().find(|a| a.zones.len() >= 2).expect("an account with two zones").zones;
    let (lobby, pool) = (remote[0].id.clone(), remote[1].id.clone());
    for (name, kind, id) in [("Lobby", "lobby", &lobby), ("Pool Bar", "bar", &pool)] {
        let z = app
            .post(
                &format!("/api/v1/venues/{venue}/zones"),
                Some(&token),
                json!({"name": name, "zone_type": kind, "soundtrack_zone_id": id}),
            )
            .await;
        assert_eq!(z.status, StatusCode::CREATED, "{}", z.text);
    }
    let contact = app
        .post(
            &format!("/api/v1/venues/{venue}/contacts"),
            Some(&token),
            json!({"name": "Khun Somchai", "channel": "whatsapp", "whatsapp_number": format!("+{STAFF}"), "is_staff": true}),
        )
        .await;
    assert_eq!(contact.status, StatusCode::CREATED, "{}", contact.text);
    let worker = Worker::new(app.ctx.clone(), Registry::standard()).with_backoff_base(Duration::ZERO);
    Rig { app, wa, st, claude, weather, worker, lobby, pool, token, venue }
}

impl Rig {
    /// The venue writes; the bot runs; its reply goes out. Returns what the fake WhatsApp sent.
    async fn say(&self, from: &str, msg: UserMessage) -> Option<serde_json::Value> {
        let before = self.wa.sent().len();
        self.wa.user_sends(from, "Venue", msg);
        self.wa.flush().await;
        for _ in 0..6 {
            if self.worker.run_once().await.expect("the call").is_empty() {
                break;
            }
        }
        self.wa.sent().get(before).map(|m| m.body.clone())
    }

    async fn status(&self) -> String {
        sqlx::query_scalar("SELECT status FROM conversations ORDER BY created_at DESC LIMIT 1")
            .fetch_one(&self.app.ctx.db)
            .await
            .expect("test setup")
    }
}

fn text_of(body: &serde_json::Value) -> String {
    body["text"]["body"].as_str().or(body["interactive"]["body"]["text"].as_str()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn staff_turn_a_zone_down_in_english_and_set_it_in_thai_and_the_reply_says_the_level() {
    let r = rig(false).await;
    let volume = r.st.zone_volume(&r.lobby).expect("test setup");
    let reply = r.say(STAFF, UserMessage::text("can you turn the lobby down a bit please")).await.expect("a reply");
    let now = r.st.zone_volume(&r.lobby).expect("test setup");
    assert_eq!(now, volume.saturating_sub(2));
    assert!(text_of(&reply).contains("Lobby"), "{reply}");
    assert!(text_of(&reply).contains(&now.to_string()), "{reply}");

    let reply = r.say(STAFF, UserMessage::text("ปรับเสียงล็อบบี้เป็น 8 ค่ะ")).await.expect("a reply");
    assert_eq!(r.st.zone_volume(&r.lobby), Some(8));
    assert!(text_of(&reply).contains('8'), "{reply}");
    assert_eq!(r.status().await, "pending", "the bot keeps a conversation it handles");
}

#[tokio::test]
async fn an_unclear_zone_is_asked_with_buttons_and_the_tap_finishes_the_request() {
    let r = rig(false).await;
    let reply = r.say(STAFF, UserMessage::text("volume 10 please")).await.expect("a question");
    assert_eq!(reply["type"], "interactive", "{reply}");
    let buttons = reply["interactive"]["action"]["buttons"].as_array().cloned().expect("reply buttons");
    let pool = buttons.iter().find(|b| b["reply"]["title"] == "Pool Bar").expect("a Pool Bar button");
    let id = pool["reply"]["id"].as_str().expect("test setup").to_owned();
    r.say(STAFF, UserMessage::ButtonReply { id, title: "Pool Bar".into() }).await.expect("a reply");
    assert_eq!(r.st.zone_volume(&r.pool), Some(10));

    // A long Thai request still fits the buttons' id limit (256 bytes on WhatsApp).
    let long = format!("{} ปรับเสียงเป็น 4 หน่อยค่ะ", "ขอโทษที่รบกวนนะคะ ".repeat(12));
    let reply = r.say(STAFF, UserMessage::text(&long)).await.expect("a question");
    assert_eq!(reply["type"], "interactive", "{reply}");
    let buttons = reply["interactive"]["action"]["buttons"].as_array().cloned().expect("reply buttons");
    let lobby = buttons.iter().find(|b| b["reply"]["title"] == "Lobby").expect("a Lobby button");
    let id = lobby["reply"]["id"].as_str().expect("test setup").to_owned();
    assert!(id.len() <= 256, "{}", id.len());
    r.say(STAFF, UserMessage::ButtonReply { id, title: "Lobby".into() }).await.expect("a reply");
    assert_eq!(r.st.zone_volume(&r.lobby), Some(4));
}

#[tokio::test]
async fn an_unknown_sender_cannot_control_the_music_and_gets_a_person() {
    let r = rig(false).await;
    let before = r.st.zone_volume(&r.lobby);
    let reply = r.say(STRANGER, UserMessage::text("turn the lobby up")).await.expect("a reply");
    assert_eq!(r.st.zone_volume(&r.lobby), before, "the player is untouched");
    assert!(text_of(&reply).contains("registered staff"), "{reply}");
    assert_eq!(r.status().await, "open");
}

#[tokio::test]
async fn an_offline_player_is_reported_plainly_an_alert_opens_and_a_person_takes_over() {
    let r = rig(false).await;
    r.st.inject(Fault {
        kind: FaultKind::Offline,
        target: Target::Zone(r.lobby.clone()),
        starts_at: None,
        duration: None,
    });
    let reply = r.say(STAFF, UserMessage::text("the music stopped in the lobby")).await.expect("a reply");
    assert!(text_of(&reply).to_lowercase().contains("offline"), "{reply}");
    assert_eq!(r.app.count("SELECT count(*) FROM alerts WHERE resolved_at IS NULL").await, 1);
    assert_eq!(r.status().await, "open");
}

#[tokio::test]
async fn after_a_handover_the_bot_is_silent_until_the_team_hands_it_back() {
    let r = rig(false).await;
    r.say(STAFF, UserMessage::text("I want to talk to a person")).await.expect("handover notice");
    assert_eq!(r.status().await, "open");
    let silent = r.say(STAFF, UserMessage::text("volume 5 in the lobby")).await;
    assert!(silent.is_none(), "the bot does not answer a conversation a person owns");
    let conv: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM conversations").fetch_one(&r.app.ctx.db).await.expect("test setup");
    let back = r.app.call(Method::POST, &format!("/api/v1/conversations/{conv}/bot"), Some(&r.token), None).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    r.say(STAFF, UserMessage::text("volume 5 in the lobby")).await.expect("the bot answers again");
    assert_eq!(r.st.zone_volume(&r.lobby), Some(5));
}

#[tokio::test]
async fn two_messages_the_bot_cannot_read_bring_a_person_when_no_llm_is_configured() {
    let r = rig(false).await;
    r.say(STAFF, UserMessage::text("can you send me the contract for next year")).await.expect("a reply");
    assert_eq!(r.status().await, "pending");
    r.say(STAFF, UserMessage::text("the invoice from october is wrong")).await.expect("a reply");
    assert_eq!(r.status().await, "open");
}

#[tokio::test]
async fn the_llm_fallback_uses_a_tool_and_its_answer_is_sent() {
    let r = rig(true).await;
    r.claude.script(vec![
        ScriptedReply::ToolUse { name: "set_volume".into(), input: json!({"zone": "Lobby", "level": 5}) },
        ScriptedReply::Text("Done — the Lobby is at 5 now.".into()),
    ]);
    let reply =
        r.say(STAFF, UserMessage::text("is the quarterly brand review still on for friday")).await.expect("a reply");
    assert_eq!(r.st.zone_volume(&r.lobby), Some(5), "the tool call reached the player");
    assert_eq!(text_of(&reply), "Done — the Lobby is at 5 now.");
    assert_eq!(r.status().await, "pending");
}

#[tokio::test]
async fn an_llm_failure_is_a_polite_handover() {
    let r = rig(true).await;
    r.claude.fail_next(10, 529);
    let reply =
        r.say(STAFF, UserMessage::text("is the quarterly brand review still on for friday")).await.expect("a reply");
    assert!(!text_of(&reply).is_empty());
    assert_eq!(r.status().await, "open");
}

#[tokio::test]
async fn rich_menu_taps_reach_the_bot_a_status_tap_answers_and_talk_to_us_hands_over() {
    let r = rig(false).await;
    let status = r
        .say(STAFF, UserMessage::ButtonReply { id: "menu=status".into(), title: "Music status".into() })
        .await
        .expect("a status answer");
    assert!(text_of(&status).contains("Lobby"), "{status}");
    assert_eq!(r.status().await, "pending");
    r.say(STAFF, UserMessage::ButtonReply { id: "menu=human".into(), title: "Talk to us".into() })
        .await
        .expect("a reply");
    assert_eq!(r.status().await, "open");
}

#[tokio::test]
async fn an_angry_or_repeated_message_goes_to_a_person_at_once() {
    let r = rig(false).await;
    r.say(STAFF, UserMessage::text("THE MUSIC IS STILL OFF IN THE LOBBY")).await.expect("a reply");
    assert_eq!(r.status().await, "open", "shouting is handed over");

    let r = rig(false).await;
    r.say(STAFF, UserMessage::text("volume 6 in the lobby")).await.expect("a reply");
    assert_eq!(r.status().await, "pending");
    r.say(STAFF, UserMessage::text("volume 6 in the lobby")).await.expect("a reply");
    assert_eq!(r.status().await, "open", "the same request again means the bot did not help");

    let r = rig(false).await;
    r.say(STAFF, UserMessage::text("เพลงเงียบอีกแล้ว แย่มาก")).await.expect("a reply");
    assert_eq!(r.status().await, "open");
}

#[tokio::test]
async fn a_playlist_asked_for_by_mood_is_found_in_the_catalogue_and_assigned() {
    let r = rig(false).await;
    let playlist = r.st.playlists()[0].clone();
    let viewer = r.app.token(Role::Viewer).await;
    let refused = r
        .app
        .post(
            "/api/v1/playlists",
            Some(&viewer),
            json!({"soundtrack_id": playlist.id, "name": "Late Night Jazz", "moods": ["jazz"]}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let added = r
        .app
        .post(
            "/api/v1/playlists",
            Some(&r.token),
            json!({"soundtrack_id": playlist.id, "name": "Late Night Jazz", "moods": ["Jazz", "lounge"]}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(added.body["moods"], json!(["jazz", "lounge"]));
    let reply = r.say(STAFF, UserMessage::text("can we have some jazz in the lobby please")).await.expect("a reply");
    assert_eq!(r.st.zone_source(&r.lobby).as_deref(), Some(playlist.id.as_str()));
    assert!(text_of(&reply).contains("Late Night Jazz"), "{reply}");
}

#[tokio::test]
async fn with_no_style_named_the_weather_at_the_venue_picks_the_playlist() {
    let r = rig(false).await;
    let playlist = r.st.playlists()[1].clone();
    r.app
        .post(
            "/api/v1/playlists",
            Some(&r.token),
            json!({"soundtrack_id": playlist.id, "name": "Rainy Day Acoustic", "moods": ["acoustic"]}),
        )
        .await;
    let bad = r
        .app
        .call(
            Method::PUT,
            &format!("/api/v1/venues/{}/location", r.venue),
            Some(&r.token),
            Some(json!({"latitude": 99.0, "longitude": 0.0})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let set = r
        .app
        .call(
            Method::PUT,
            &format!("/api/v1/venues/{}/location", r.venue),
            Some(&r.token),
            Some(json!({"latitude": 13.74, "longitude": 100.56})),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    r.weather.set(13.74, 100.56, WeatherFixture::rain(26.0));
    let reply = r.say(STAFF, UserMessage::text("change the playlist in the lobby")).await.expect("a reply");
    assert_eq!(r.st.zone_source(&r.lobby).as_deref(), Some(playlist.id.as_str()));
    assert!(text_of(&reply).contains("Rainy"), "{reply}");
    r.say(STAFF, UserMessage::text("different playlist for the lobby please")).await.expect("a reply");
    assert_eq!(r.weather.requests(), 1, "the weather is cached per venue");
}

/// The venue contact the staff number belongs to, and the Lobby zone.
async fn staff_and_lobby(app: &TestApp) -> (uuid::Uuid, uuid::Uuid) {
    let contact = sqlx::query_scalar("SELECT id FROM venue_contacts WHERE whatsapp_number = $1")
        .bind(format!("+{STAFF}"))
        .fetch_one(&app.ctx.db)
        .await
        .expect("the staff contact");
    let lobby = sqlx::query_scalar("SELECT id FROM zones WHERE name = 'Lobby'")
        .fetch_one(&app.ctx.db)
        .await
        .expect("the lobby");
    (contact, lobby)
}

type ControlEntry = (String, Option<uuid::Uuid>, Option<uuid::Uuid>, Option<String>, Option<serde_json::Value>);

/// Every `zone.control` entry: actor kind, member, contact, zone, and what changed.
async fn control_entries(app: &TestApp) -> Vec<ControlEntry> {
    sqlx::query_as(
        "SELECT actor_kind, actor_id, actor_contact_id, entity_id, after FROM audit_log \
         WHERE action = 'zone.control' ORDER BY created_at",
    )
    .fetch_all(&app.ctx.db)
    .await
    .expect("the audit log")
}

#[tokio::test]
async fn a_volume_change_by_the_bot_is_audited_in_the_name_of_the_bot_and_the_contact_who_asked() {
    let r = rig(false).await;
    r.say(STAFF, UserMessage::text("volume 6 in the lobby")).await.expect("a reply");
    assert_eq!(r.st.zone_volume(&r.lobby), Some(6));
    r.say(STAFF, UserMessage::text("turn the lobby up a bit please")).await.expect("a reply");
    assert_eq!(r.st.zone_volume(&r.lobby), Some(8));
    let (contact, lobby) = staff_and_lobby(&r.app).await;
    let entries = control_entries(&r.app).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    for (kind, member, by, zone, _) in &entries {
        assert_eq!((kind.as_str(), *member, *by), ("bot", None, Some(contact)));
        assert_eq!(zone.as_deref(), Some(lobby.to_string().as_str()));
    }
    let up = entries[1].4.clone().expect("what changed");
    assert_eq!((up["volume"].as_u64(), up["previous_volume"].as_u64()), (Some(8), Some(6)));

    let admin = r.app.token(Role::Admin).await;
    let log = r.app.get("/api/v1/audit-log?action=zone.control", &admin).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    assert_eq!(log.body["data"][0]["actor_kind"], "bot", "{}", log.text);
    assert_eq!(log.body["data"][0]["actor_contact_id"], contact.to_string());
}

#[tokio::test]
async fn an_llm_tool_call_changes_the_player_through_the_audited_control_path() {
    let r = rig(true).await;
    r.claude.script(vec![
        ScriptedReply::ToolUse { name: "set_volume".into(), input: json!({"zone": "Lobby", "level": 3}) },
        ScriptedReply::Text("The Lobby is at 3.".into()),
    ]);
    r.say(STAFF, UserMessage::text("is the quarterly brand review still on for friday")).await.expect("a reply");
    assert_eq!(r.st.zone_volume(&r.lobby), Some(3));
    let (contact, lobby) = staff_and_lobby(&r.app).await;
    let entries = control_entries(&r.app).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (kind, member, by, zone, after) = &entries[0];
    assert_eq!((kind.as_str(), *member, *by), ("bot", None, Some(contact)));
    assert_eq!(zone.as_deref(), Some(lobby.to_string().as_str()));
    assert_eq!(after.as_ref().map(|a| a["volume"].clone()), Some(json!(3)));
}

#[tokio::test]
async fn the_bot_controls_a_zone_only_for_a_staff_contact_of_that_zones_venue() {
    use bma_app::services::{Actor, control};
    let r = rig(false).await;
    let (staff, lobby) = staff_and_lobby(&r.app).await;
    let other = r.app.post("/api/v1/venues", Some(&r.token), venue_body("Riverside Hotel")).await.body["id"]
        .as_str()
        .expect("a second venue")
        .to_owned();
    let mut outsiders = Vec::new();
    for (venue, name, number, is_staff) in
        [(other.as_str(), "Khun Anan", "+66811111111", true), (r.venue.as_str(), "Guest", "+66822222222", false)]
    {
        let c = r
            .app
            .post(
                &format!("/api/v1/venues/{venue}/contacts"),
                Some(&r.token),
                json!({"name": name, "channel": "whatsapp", "whatsapp_number": number, "is_staff": is_staff}),
            )
            .await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
        outsiders.push(uuid::Uuid::parse_str(c.body["id"].as_str().expect("an id")).expect("a uuid"));
    }
    let before = r.st.zone_volume(&r.lobby);
    for contact in outsiders {
        let refused = control::control(&r.app.ctx, &Actor::bot(contact), lobby, control::Action::Skip).await;
        assert!(matches!(refused, Err(bma_app::Error::Forbidden(_))), "{refused:?}");
        let read = control::status(&r.app.ctx, &Actor::bot(contact), lobby).await;
        assert!(matches!(read, Err(bma_app::Error::Forbidden(_))), "{read:?}");
    }
    assert_eq!(r.st.zone_volume(&r.lobby), before);
    assert!(control_entries(&r.app).await.is_empty());
    let volume = bma_domain::music::Volume::new(7).expect("a volume");
    let done = control::control(&r.app.ctx, &Actor::bot(staff), lobby, control::Action::Volume(volume)).await;
    assert_eq!(done.expect("the venue's own staff may").volume, Some(7));
}

#[tokio::test]
async fn a_message_for_the_bot_is_stored_together_with_its_bot_job() {
    let r = rig(false).await;
    r.wa.user_sends(STAFF, "Venue", UserMessage::text("volume 6 in the lobby"));
    r.wa.flush().await;
    let (message, conversation): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT id, conversation_id FROM messages WHERE direction = 'in'")
            .fetch_one(&r.app.ctx.db)
            .await
            .expect("the stored message");
    let jobs: Vec<(String, serde_json::Value, i16)> =
        sqlx::query_as("SELECT kind, payload, priority FROM jobs").fetch_all(&r.app.ctx.db).await.expect("the jobs");
    assert_eq!(
        jobs,
        vec![(
            "bot.reply".to_owned(),
            json!({"conversation_id": conversation, "message_id": message}),
            bma_store::jobs::Priority::URGENT.0
        )]
    );
}

/// Asking before silencing a zone, through whole conversations.
mod confirm;
