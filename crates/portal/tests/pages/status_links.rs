use crate::support::helpers::{TestApp, venue_body};
use crate::support::{Visitor, admin_with_mfa, portal};
use axum::http::{StatusCode, header};
use bma_domain::access::Role;
use serde_json::json;
use time::{Duration, OffsetDateTime, Time};
use uuid::Uuid;

const PHONE: &str = "+66812345678";
const LINE_ID: &str = "U0123456789abcdef0123456789abcdef";
const EMAIL: &str = "somchai.private@lotus.test";

/// Everything the public page must not show.
struct Secrets {
    ids: Vec<Uuid>,
    text: Vec<String>,
}

/// A monitored zone of `venue` whose latest observation is `observation`.
async fn zone(app: &TestApp, token: &str, venue: Uuid, name: &str, observation: &str) -> Uuid {
    let soundtrack = format!("U291bmRab25lLCwx{}", &Uuid::new_v4().simple().to_string()[..12]);
    let r = app
        .post(
            &format!("/api/v1/venues/{venue}/zones"),
            Some(token),
            json!({"name": name, "zone_type": "lobby", "soundtrack_zone_id": soundtrack}),
        )
        .await;
    let id = Uuid::parse_str(r.body["id"].as_str().expect("a zone")).expect("an id");
    sqlx::query("INSERT INTO zone_monitor_state (zone_id, machine, observation) VALUES ($1, '{}'::jsonb, $2)")
        .bind(id)
        .bind(observation)
        .execute(&app.ctx.db)
        .await
        .expect("a state");
    id
}

async fn rollup(app: &TestApp, zone: Uuid, period: &str, starts_at: OffsetDateTime, up: i32, down: i32) {
    sqlx::query(
        "INSERT INTO uptime_rollups (zone_id, venue_id, period, starts_at, up_seconds, down_seconds, unknown_seconds, excluded_seconds) \
         SELECT id, venue_id, $2, $3, $4, $5, 1000, 2000 FROM zones WHERE id = $1",
    )
    .bind(zone)
    .bind(period)
    .bind(starts_at)
    .bind(up)
    .bind(down)
    .execute(&app.ctx.db)
    .await
    .expect("a rollup");
}

/// Brand "Lotus Grand": Lotus Sukhumvit (Lobby playing, Pool Bar silent) and Lotus Riverside
/// (Rooftop offline), with contacts; another brand's venue (Secret Garden); and daily rollups:
///
/// | zone     | day −1         | day −2          | day −3       | day −5             | day −31 (outside) |
/// |----------|----------------|-----------------|--------------|--------------------|-------------------|
/// | Lobby    | up 36,000      |                 |              | up 30,000 down 6,000 | down 50,000     |
/// | Pool Bar |                | up 10,000 down 10,000 |        |                    |                   |
/// | Rooftop  |                |                 | up 9,000 down 1,000 |             |                   |
///
/// So over 30 days: Lobby 66,000 / 72,000 = 91.7 %, Pool Bar 50.0 %, Rooftop 90.0 %, Lotus
/// Sukhumvit 76,000 / 92,000 = 82.6 %, the brand 85,000 / 102,000 = 83.3 %. Today the Lobby has
/// one hour rolled up, all music (100.0 %).
async fn fleet(app: &TestApp) -> (Uuid, Secrets) {
    let token = app.token(Role::Manager).await;
    let venue = |name: &str, brand: &str| {
        let mut b = venue_body(name);
        b["brand"] = json!(brand);
        b
    };
    let make = |body: serde_json::Value| async {
        let r = app.post("/api/v1/venues", Some(&token), body).await;
        Uuid::parse_str(r.body["id"].as_str().expect("a venue")).expect("an id")
    };
    let sukhumvit = make(venue("Lotus Sukhumvit", "Lotus Grand")).await;
    let riverside = make(venue("Lotus Riverside", "Lotus Grand")).await;
    let other = make(venue("Teakwood Garden", "Teakwood")).await;
    let lobby = zone(app, &token, sukhumvit, "Lobby", "playing").await;
    let pool = zone(app, &token, sukhumvit, "Pool Bar", "paused").await;
    let roof = zone(app, &token, riverside, "Rooftop", "offline").await;
    let secret = zone(app, &token, other, "Secret Garden", "playing").await;
    for c in [
        json!({"name": "Khun Somchai", "channel": "whatsapp", "whatsapp_number": PHONE}),
        json!({"name": "Khun Malee", "channel": "line", "line_user_id": LINE_ID}),
        json!({"name": "Khun Anan", "channel": "email", "email": EMAIL}),
    ] {
        let r = app.post(&format!("/api/v1/venues/{sukhumvit}/contacts"), Some(&token), c).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let today = OffsetDateTime::now_utc().replace_time(Time::MIDNIGHT);
    let day = |n: i64| today - Duration::days(n);
    rollup(app, lobby, "day", day(1), 36_000, 0).await;
    rollup(app, lobby, "day", day(5), 30_000, 6_000).await;
    rollup(app, lobby, "day", day(31), 0, 50_000).await;
    rollup(app, pool, "day", day(2), 10_000, 10_000).await;
    rollup(app, roof, "day", day(3), 9_000, 1_000).await;
    rollup(app, secret, "day", day(1), 0, 40_000).await;
    rollup(app, lobby, "hour", today, 3_000, 0).await;
    let soundtrack: Vec<String> =
        sqlx::query_scalar("SELECT soundtrack_device_id FROM zones UNION ALL SELECT soundtrack_account_id FROM venues")
            .fetch_all(&app.ctx.db)
            .await
            .expect("ids");
    let mut text: Vec<String> = vec![
        PHONE.into(),
        PHONE.trim_start_matches('+').into(),
        LINE_ID.into(),
        EMAIL.into(),
        "Khun Somchai".into(),
        "Khun Malee".into(),
        "Khun Anan".into(),
        "Secret Garden".into(),
        "Teakwood".into(),
    ];
    text.extend(soundtrack);
    (sukhumvit, Secrets { ids: vec![sukhumvit, riverside, other, lobby, pool, roof, secret], text })
}

/// Makes a link through the API; returns its id and the path of its page.
async fn link(app: &TestApp, body: serde_json::Value) -> (String, String) {
    let admin = app.token(Role::Admin).await;
    let r = app.post("/api/v1/status-links", Some(&admin), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let url = r.body["url"].as_str().expect("a url");
    let path = url.strip_prefix("https://portal.bma-social.com").expect("under PUBLIC_URL").to_owned();
    (r.body["id"].as_str().expect("an id").to_owned(), path)
}

/// Whether `text` holds anything shaped like a UUID (8-4-4-4-12 hexadecimal digits).
fn has_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(36).any(|w| {
        w.iter().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() })
    })
}

fn assert_nothing_private(html: &str, secrets: &Secrets) {
    assert!(!has_uuid(html), "a UUID is on the page");
    for id in &secrets.ids {
        assert!(!html.contains(&id.to_string()) && !html.contains(&id.simple().to_string()), "an internal id leaked");
    }
    for s in &secrets.text {
        assert!(!html.contains(s.as_str()), "{s} leaked");
    }
    assert!(!html.contains('@'), "no email address of any kind");
}

#[tokio::test]
async fn a_brand_link_shows_each_venue_s_zones_their_state_and_uptime_over_30_days_and_nothing_private() {
    let app = portal().await;
    let (_, secrets) = fleet(&app).await;
    let (_, path) = link(&app, json!({"brand": "Lotus Grand", "label": "Regional office"})).await;
    let page = Visitor::new(&app).get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let html = &page.text;
    assert!(html.contains("<h1>Lotus Grand</h1>"), "{html}");
    for name in ["Lotus Sukhumvit", "Lotus Riverside", "Lobby", "Pool Bar", "Rooftop"] {
        assert!(html.contains(name), "{name} is missing");
    }
    for (zone, state) in [("Lobby", "playing"), ("Pool Bar", "silent"), ("Rooftop", "offline")] {
        let row = html.split("<tr>").find(|r| r.contains(&format!(">{zone}<"))).expect("the zone's row");
        assert!(row.contains(&format!(r#"<span class="pill {state}">{state}</span>"#)), "{zone}: {row}");
    }
    let lobby = html.split("<tr>").find(|r| r.contains(">Lobby<")).expect("the lobby");
    assert!(lobby.contains("<td>100.0 %</td><td>91.7 %</td>"), "today, then 30 days: {lobby}");
    let pool = html.split("<tr>").find(|r| r.contains(">Pool Bar<")).expect("the pool bar");
    assert!(pool.contains("<td>–</td><td>50.0 %</td>"), "{pool}");
    assert!(html.contains("<strong>82.6 %</strong>"), "Lotus Sukhumvit over 30 days");
    assert!(html.contains("<strong>90.0 %</strong>"), "Lotus Riverside over 30 days");
    assert!(html.contains(r#"<dd id="uptime-30">83.3 %</dd>"#), "the brand over 30 days");
    assert_eq!(html.matches(r#"<div class="hours""#).count(), 2, "a strip of today per venue");
    assert!(!html.contains("Regional office"), "the label is for the team only");
    assert_nothing_private(html, &secrets);
    assert_eq!(page.headers.get(header::REFERRER_POLICY).and_then(|v| v.to_str().ok()), Some("no-referrer"));
    assert!(html.contains(r#"<meta name="robots" content="noindex">"#));
}

#[tokio::test]
async fn a_venue_link_shows_only_that_venue_and_speaks_thai() {
    let app = portal().await;
    let (venue, secrets) = fleet(&app).await;
    let (_, path) = link(&app, json!({"venue_id": venue})).await;
    let mut v = Visitor::new(&app);
    let page = v.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("<h1>Lotus Sukhumvit</h1>") && page.text.contains("Pool Bar"));
    assert!(!page.text.contains("Rooftop") && !page.text.contains("Lotus Riverside"));
    assert!(page.text.contains(r#"<dd id="uptime-30">82.6 %</dd>"#), "{}", page.text);
    assert_nothing_private(&page.text, &secrets);
    v.accept_language = Some("th");
    let thai = v.get(&path).await;
    assert!(thai.text.contains("30 วันที่ผ่านมา") && thai.text.contains("กำลังเล่น"), "{}", thai.text);
}

#[tokio::test]
async fn a_revoked_an_unknown_and_a_malformed_link_get_the_same_404_page() {
    let app = portal().await;
    let (venue, _) = fleet(&app).await;
    let (id, path) = link(&app, json!({"venue_id": venue})).await;
    let v = Visitor::new(&app);
    assert_eq!(v.get(&path).await.status, StatusCode::OK);
    let admin = app.token(Role::Admin).await;
    let r = app.call(axum::http::Method::DELETE, &format!("/api/v1/status-links/{id}"), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let unknown = format!("/status/{}", bma_app::security::tokens::random_token());
    let pages = [
        v.get(&path).await,
        v.get(&unknown).await,
        v.get("/status/abc").await,
        v.get("/status/%2e%2e").await,
        v.get("/status/%FF").await,
    ];
    for p in &pages {
        assert_eq!(p.status, StatusCode::NOT_FOUND);
        assert_eq!(p.text, pages[0].text, "indistinguishable");
        assert!(!p.text.contains("Lotus Sukhumvit"));
    }
    assert!(pages[0].text.contains("This page does not exist."));
    let archived = link(&app, json!({"venue_id": venue})).await.1;
    sqlx::query("UPDATE venues SET archived_at = now() WHERE id = $1")
        .bind(venue)
        .execute(&app.ctx.db)
        .await
        .expect("archived");
    let gone = v.get(&archived).await;
    assert_eq!((gone.status, gone.text.as_str()), (StatusCode::NOT_FOUND, pages[0].text.as_str()), "an archived venue");
}

#[tokio::test]
async fn an_admin_makes_a_link_in_the_portal_sees_its_url_once_and_revokes_it() {
    let app = portal().await;
    let (venue, _) = fleet(&app).await;
    let (admin, secret) = admin_with_mfa(&app).await;
    let v = Visitor::new(&app);
    v.sign_in(&admin, Some(&secret)).await;
    let page = v.get("/status-links").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csrf = page.csrf();
    assert!(!csrf.is_empty());
    let forms = page.text.matches("<form ").count();
    assert!(forms >= 3, "sign-out, a brand and a venue form");
    assert_eq!(page.text.matches(&format!(r#"name="csrf" value="{csrf}""#)).count(), forms, "every form carries it");
    assert!(page.text.contains(r#"<option>Lotus Grand</option>"#) && page.text.contains("Lotus Sukhumvit"));
    assert!(page.text.contains(r#"href="/status-links""#), "in the navigation");

    let forged = v.post("/status-links", &[("brand", "Lotus Grand")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF token");
    let bad = v.post("/status-links", &[("csrf", &csrf), ("brand", "Nobody's Brand"), ("label", "x")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.text.contains(r#"id="brand-error">no venue"#), "{}", bad.text);
    assert_eq!(app.count("SELECT count(*) FROM status_links").await, 0);

    let venue_id = venue.to_string();
    let made = v.post("/status-links", &[("csrf", &csrf), ("venue_id", &venue_id), ("label", "Owner")]).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    let start = made.text.find("https://portal.bma-social.com/status/").expect("the URL is shown");
    let url = made.text[start..].split('"').next().expect("the URL").to_owned();
    let path = url.strip_prefix("https://portal.bma-social.com").expect("a path").to_owned();
    assert_eq!(v.get(&path).await.status, StatusCode::OK);
    let listed = v.get("/status-links").await;
    assert!(listed.text.contains("Owner") && !listed.text.contains(&url), "shown once only");

    let id: Uuid = sqlx::query_scalar("SELECT id FROM status_links").fetch_one(&app.ctx.db).await.expect("the link");
    let r = v.post(&format!("/status-links/{id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/status-links?done=revoked"));
    assert!(v.get("/status-links?done=revoked").await.text.contains("The link has been revoked."));
    assert_eq!(v.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action LIKE 'status_link.%'").await, 2);
}

#[tokio::test]
async fn a_manager_or_viewer_can_neither_see_nor_use_the_status_links_page() {
    let app = portal().await;
    let (venue, _) = fleet(&app).await;
    let (id, _) = link(&app, json!({"venue_id": venue})).await;
    for role in [Role::Manager, Role::Viewer] {
        let email = app.member(role).await;
        let v = Visitor::new(&app);
        v.sign_in(&email, None).await;
        let home = v.get("/dashboard").await;
        assert!(!home.text.contains(r#"href="/status-links""#), "{role:?} has no such navigation entry");
        assert_eq!(v.get("/status-links").await.status, StatusCode::FORBIDDEN);
        let csrf = home.csrf();
        let venue_id = venue.to_string();
        let r = v.post("/status-links", &[("csrf", &csrf), ("venue_id", &venue_id)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = v.post(&format!("/status-links/{id}/revoke"), &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.count("SELECT count(*) FROM status_links").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM status_links WHERE revoked_at IS NULL").await, 1);
}
