use crate::helpers::{Options, TestApp, venue_body};
use axum::http::{Method, StatusCode};
use bma_domain::access::Role;
use bma_fakes::soundtrack::{Fault, FaultKind, FleetConfig, SoundtrackFake, Target};
use bma_integrations::soundtrack::{Auth, Settings};
use serde_json::json;

struct Rig {
    app: TestApp,
    fake: SoundtrackFake,
    token: String,
    zone: String,
    remote: String,
}

async fn rig() -> Rig {
    let fake = SoundtrackFake::start(FleetConfig::default()).await.expect("fake soundtrack");
    let mut settings = Settings::new(fake.url(), Auth::client(fake.client_id(), fake.client_secret()));
    settings.backoff_base = std::time::Duration::from_millis(10);
    let app = TestApp::with(Options { soundtrack: Some(settings), ..Options::default() }).await;
    let token = app.token(Role::Manager).await;
    let remote = fake.accounts()[0].zones[0].id.clone();
    let venue = app.post("/api/v1/venues", Some(&token), venue_body("Lotus Grand Sukhumvit")).await.body["id"]
        .as_str()
        .expect("a string field")
        .to_owned();
    let z = app
        .post(
            &format!("/api/v1/venues/{venue}/zones"),
            Some(&token),
            json!({"name": "Lobby", "zone_type": "lobby", "soundtrack_zone_id": remote}),
        )
        .await;
    assert_eq!(z.status, StatusCode::CREATED, "{}", z.text);
    let zone = z.body["id"].as_str().expect("a string field").to_owned();
    Rig { app, fake, token, zone, remote }
}

#[tokio::test]
async fn a_manager_sets_the_volume_and_the_player_follows() {
    let r = rig().await;
    let res = r.app.post(&format!("/api/v1/zones/{}/volume", r.zone), Some(&r.token), json!({"volume": 12})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["volume"], 12);
    assert_eq!(res.body["message"], "Lobby volume is now 12 of 16");
    assert_eq!(r.fake.zone_volume(&r.remote), Some(12));
    assert_eq!(r.app.count("SELECT count(*) FROM audit_log WHERE action = 'zone.control'").await, 1);
}

#[tokio::test]
async fn a_volume_outside_0_to_16_is_refused_and_the_player_is_untouched() {
    let r = rig().await;
    let before = r.fake.zone_volume(&r.remote);
    for bad in [json!({"volume": 17}), json!({"volume": -1}), json!({"volume": "loud"})] {
        let res = r.app.post(&format!("/api/v1/zones/{}/volume", r.zone), Some(&r.token), bad).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(res.body["error"]["fields"][0]["field"], "volume");
    }
    assert_eq!(r.fake.zone_volume(&r.remote), before);
}

#[tokio::test]
async fn pause_play_and_skip_reach_the_player() {
    let r = rig().await;
    let p = r.app.call(Method::POST, &format!("/api/v1/zones/{}/pause", r.zone), Some(&r.token), None).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(r.fake.zone_playing(&r.remote), Some(false));
    let p = r.app.call(Method::POST, &format!("/api/v1/zones/{}/play", r.zone), Some(&r.token), None).await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(r.fake.zone_playing(&r.remote), Some(true));
    let s = r.app.call(Method::POST, &format!("/api/v1/zones/{}/skip", r.zone), Some(&r.token), None).await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(s.body["message"], "Skipped to the next track in Lobby");
    let bad = r
        .app
        .post(&format!("/api/v1/zones/{}/playlist", r.zone), Some(&r.token), json!({"source_id": "not-a-playlist"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
}

#[tokio::test]
async fn controlling_an_offline_player_says_so_plainly() {
    let r = rig().await;
    r.fake.inject(Fault {
        kind: FaultKind::Offline,
        target: Target::Zone(r.remote.clone()),
        starts_at: None,
        duration: None,
    });
    let res = r.app.post(&format!("/api/v1/zones/{}/volume", r.zone), Some(&r.token), json!({"volume": 5})).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
    assert_eq!(res.code(), "player_offline");
    assert!(res.body["error"]["message"].as_str().expect("a string field").contains("Lobby is offline"));
}

#[tokio::test]
async fn a_check_reports_what_the_player_is_doing_and_is_kept_in_the_history() {
    let r = rig().await;
    let ok =
        r.app.call(Method::POST, &format!("/api/v1/monitoring/zones/{}/check", r.zone), Some(&r.token), None).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["observation"], "playing");
    assert_eq!(ok.body["soundtrack_zone_id"], r.remote.as_str());
    assert_eq!(ok.body["online"], true);
    assert_eq!(ok.body["volume"], 8);
    r.fake.inject(Fault {
        kind: FaultKind::Muted,
        target: Target::Zone(r.remote.clone()),
        starts_at: None,
        duration: None,
    });
    let muted =
        r.app.call(Method::POST, &format!("/api/v1/monitoring/zones/{}/check", r.zone), Some(&r.token), None).await;
    assert_eq!(muted.body["observation"], "muted");
    let history = r.app.get(&format!("/api/v1/monitoring/zones/{}/history", r.zone), &r.token).await;
    assert_eq!(history.status, StatusCode::OK);
    let statuses: Vec<&str> =
        history.body.as_array().into_iter().flatten().filter_map(|s| s["status"].as_str()).collect();
    assert_eq!(statuses, vec!["muted", "playing"]);
    let zone = r.app.get(&format!("/api/v1/zones/{}", r.zone), &r.token).await;
    assert!(zone.body["last_check"].is_string());
}

#[tokio::test]
async fn a_zone_without_a_soundtrack_id_or_a_service_without_soundtrack_is_refused_clearly() {
    let r = rig().await;
    let venue = r.app.get(&format!("/api/v1/zones/{}", r.zone), &r.token).await.body["venue_id"]
        .as_str()
        .expect("a string field")
        .to_owned();
    let unlinked =
        r.app.post(&format!("/api/v1/venues/{venue}/zones"), Some(&r.token), json!({"name": "Pool"})).await.body["id"]
            .as_str()
            .expect("a string field")
            .to_owned();
    let res = r.app.call(Method::POST, &format!("/api/v1/zones/{unlinked}/play"), Some(&r.token), None).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.code(), "zone_not_linked");

    let plain = TestApp::spawn().await;
    let t = plain.token(Role::Manager).await;
    let venue = plain.post("/api/v1/venues", Some(&t), venue_body("Lotus Grand Sukhumvit")).await.body["id"]
        .as_str()
        .expect("a venue")
        .to_owned();
    let z = plain
        .post(
            &format!("/api/v1/venues/{venue}/zones"),
            Some(&t),
            json!({"name": "Lobby", "soundtrack_zone_id": r.remote}),
        )
        .await;
    let zone = z.body["id"].as_str().expect("a zone").to_owned();
    let res = plain.call(Method::POST, &format!("/api/v1/zones/{zone}/play"), Some(&t), None).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.text);
    assert_eq!(res.code(), "soundtrack_not_configured");
}

#[tokio::test]
async fn a_control_or_check_on_a_zone_that_does_not_exist_is_404_whether_or_not_soundtrack_is_configured() {
    let r = rig().await;
    let plain = TestApp::spawn().await;
    let plain_token = plain.token(Role::Manager).await;
    let missing = uuid::Uuid::now_v7();
    for (app, token, label) in
        [(&r.app, r.token.as_str(), "configured"), (&plain, plain_token.as_str(), "not configured")]
    {
        let volume = app.post(&format!("/api/v1/zones/{missing}/volume"), Some(token), json!({"volume": 5})).await;
        assert_eq!(volume.status, StatusCode::NOT_FOUND, "volume, Soundtrack {label}: {}", volume.text);
        for path in [format!("/api/v1/zones/{missing}/play"), format!("/api/v1/monitoring/zones/{missing}/check")] {
            let res = app.call(Method::POST, &path, Some(token), None).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}, Soundtrack {label}: {}", res.text);
        }
    }
    assert_eq!(r.app.count("SELECT count(*) FROM audit_log WHERE action = 'zone.control'").await, 0);
}

#[tokio::test]
async fn an_api_volume_change_is_audited_as_the_team_member_not_the_bot() {
    let r = rig().await;
    let res = r.app.post(&format!("/api/v1/zones/{}/volume", r.zone), Some(&r.token), json!({"volume": 9})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let (kind, member, contact): (String, Option<uuid::Uuid>, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT actor_kind, actor_id, actor_contact_id FROM audit_log WHERE action = 'zone.control'")
            .fetch_one(&r.app.ctx.db)
            .await
            .expect("one control entry");
    assert_eq!(kind, "team");
    assert!(member.is_some(), "the signed-in manager is named");
    assert_eq!(contact, None);
}
