use crate::driver::Browser;
use crate::support::helpers::{self, now};
use crate::support::{PASSWORD, admin_with_mfa, portal, zone_alert};
use bma_domain::access::Role;
use bma_domain::monitoring::{AlertKind, Severity};
use bma_fakes::soundtrack::{Fault, FaultKind, Target};
use serde_json::json;
use std::time::{Duration, Instant};

pub(crate) async fn sign_in(b: &Browser, email: &str, totp_secret: Option<&[u8]>) {
    b.goto("/").await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.click("main form button").await;
    if let Some(secret) = totp_secret {
        // The enrolment spent the current step; the next one is accepted.
        let code = bma_app::security::totp::code_at(secret, now() + 30);
        b.fill("#code", &code).await;
        b.click("main form button").await;
    }
    b.find("#fleet").await;
}

#[tokio::test]
async fn a_member_with_mfa_signs_in_with_the_code_and_lands_on_the_dashboard() {
    let app = portal().await;
    let (email, secret) = admin_with_mfa(&app).await;
    let b = Browser::open(&app.serve().await, "sign-in-mfa").await;
    b.goto("/").await;
    assert_eq!(b.path().await, "/sign-in");
    b.accessible().await;
    b.screenshots("sign-in").await;
    b.fill("#email", &email).await;
    b.fill("#password", PASSWORD).await;
    b.click("main form button").await;
    b.find("#code").await;
    b.accessible().await;
    b.screenshots("code").await;
    b.fill("#code", &bma_app::security::totp::code_at(&secret, now() + 30)).await;
    b.click("main form button").await;
    b.find("#fleet").await;
    assert_eq!(b.path().await, "/dashboard");
    b.accessible().await;
    b.screenshots("dashboard").await;
    b.goto("/profile").await;
    b.accessible().await;
    b.screenshots("profile").await;
    b.close().await;
}

#[tokio::test]
async fn an_admin_without_mfa_enrols_from_the_qr_code_page() {
    let app = portal().await;
    let email = app.member(Role::Admin).await;
    let b = Browser::open(&app.serve().await, "mfa-enrol").await;
    b.goto("/").await;
    b.fill("#email", &email).await;
    b.fill("#password", PASSWORD).await;
    b.click("main form button").await;
    b.find(".qr svg").await;
    assert_eq!(b.path().await, "/profile/mfa");
    b.accessible().await;
    b.screenshots("qr").await;
    let secret = helpers::base32_decode(&b.text("#mfa-secret").await);
    b.fill("#code", &bma_app::security::totp::code_at(&secret, now())).await;
    b.click("main form button").await;
    b.find("#fleet").await;
    b.close().await;
}

#[tokio::test]
async fn a_zone_going_silent_turns_red_on_the_open_dashboard_within_two_seconds() {
    let (app, fake, clock, monitor) = crate::monitoring::monitored(3).await;
    let silent =
        || async { bma_app::services::dashboard::build(&app.ctx).await.expect("dashboard").fleet.total.silent };
    assert_eq!(silent().await, 0);

    let email = app.member(Role::Manager).await;
    let b = Browser::open(&app.serve().await, "zone-silent").await;
    sign_in(&b, &email, None).await;
    assert_eq!(b.live_text("fleet-silent").await.trim(), "0");
    tokio::time::sleep(Duration::from_millis(800)).await; // the live stream connects

    let zone = fake.accounts()[0].zones[0].id.clone();
    fake.inject(Fault { kind: FaultKind::Paused, target: Target::Zone(zone), starts_at: None, duration: None });
    let mut ticks = 0;
    while silent().await == 0 {
        ticks += 1;
        assert!(ticks < 60, "the monitor never saw the zone go silent");
        monitor.tick().await.expect("tick");
        clock.advance(Duration::from_secs(5));
    }
    let seen = Instant::now();
    loop {
        if b.live_text("fleet-silent").await.trim() == "1" {
            break;
        }
        assert!(seen.elapsed() < Duration::from_secs(2), "the dashboard did not turn red within 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = seen.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
    let class = b.find("li.state.silent").await.attr("class").await.expect("class");
    assert!(class.is_some_and(|c| c.contains("bad")), "the silent counter is red");
    b.find("#problem-venues tr.bad").await;
    b.accessible().await;
    b.screenshots("dashboard-silent").await;
    b.close().await;
}

/// A page on another origin that posts a form to the portal as soon as it loads.
async fn attacker_site(target: &str) -> String {
    let html = format!(
        r#"<!doctype html><html lang="en"><title>x</title><body><form method="post" action="{target}"><input name="csrf" value="guess"></form><script>document.forms[0].submit()</script></body></html>"#
    );
    let app = axum::Router::new().route("/", axum::routing::get(move || async move { axum::response::Html(html) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}

#[tokio::test]
async fn a_viewer_sees_no_controls_and_forged_posts_are_refused() {
    let app = portal().await;
    let alert = zone_alert(&app).await;
    let email = app.member(Role::Viewer).await;
    let b = Browser::open(&app.serve().await, "viewer").await;
    sign_in(&b, &email, None).await;
    b.find("#alerts .alerts li").await;
    assert_eq!(b.count("form[action$='/resolve']").await, 0, "no resolve control for a viewer");
    b.accessible().await;
    b.screenshots("dashboard").await;

    let post = "const done = arguments[arguments.length - 1];
        fetch(arguments[0], {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: arguments[1]})
          .then(r => done(r.status));";
    let path = format!("/alerts/{alert}/resolve");
    assert_eq!(b.script(post, vec![json!(path), json!("")]).await, json!(403), "without the token");
    let token = b.find("input[name=csrf]").await.attr("value").await.expect("attr").expect("a token");
    assert_eq!(b.script(post, vec![json!(path), json!(format!("csrf={token}"))]).await, json!(403), "not the role");

    let evil = attacker_site(&format!("{}/sign-out", b.base)).await;
    b.client.goto(&evil).await.expect("the other site opens");
    b.find("main h1").await;
    assert!(b.client.source().await.expect("source").contains("You may not"), "the portal refused it");
    b.accessible().await;
    b.screenshots("forbidden").await;
    b.goto("/dashboard").await;
    assert_eq!(b.path().await, "/dashboard", "still signed in: the forged sign-out did nothing");
    assert_eq!(app.count("SELECT count(*) FROM alerts WHERE NOT resolved").await, 1);
    b.close().await;
}

#[tokio::test]
async fn switching_to_thai_translates_the_portal() {
    let app = portal().await;
    zone_alert(&app).await;
    let email = app.member(Role::Manager).await;
    let b = Browser::open(&app.serve().await, "thai").await;
    sign_in(&b, &email, None).await;
    b.goto("/profile").await;
    b.click("#lang option[value=th]").await;
    b.click("form[action='/profile/language'] button").await;
    b.find("#lang").await;
    assert_eq!(b.text("main h1").await, "โปรไฟล์ของคุณ");
    b.accessible().await;
    b.screenshots("profile").await;
    b.goto("/dashboard").await;
    assert_eq!(b.text("main h1").await, "แดชบอร์ด");
    let lang = b.client.execute("return document.documentElement.lang", vec![]).await.expect("lang");
    assert_eq!(lang, json!("th"));
    b.accessible().await;
    b.screenshots("dashboard").await;
    b.close().await;
}

#[tokio::test]
async fn the_status_page_shows_an_incident_to_anyone() {
    let app = portal().await;
    let at = time::OffsetDateTime::now_utc() - time::Duration::hours(2);
    bma_store::monitoring::open_alert(&app.ctx.db, None, None, AlertKind::Platform, Severity::Critical, "down", at, at)
        .await
        .expect("an incident");
    let b = Browser::open(&app.serve().await, "status").await;
    b.goto("/status").await;
    b.find(".incident").await;
    assert!(b.text(".incident").await.contains("Soundtrack platform disruption"));
    assert!(b.text(".overall").await.contains("degraded"));
    b.accessible().await;
    b.screenshots("status").await;
    b.close().await;
}

#[tokio::test]
async fn an_invited_member_sets_a_password_from_the_emailed_link_and_signs_in() {
    let app = portal().await;
    let email = format!("invited-{}@bma.test", uuid::Uuid::new_v4().simple());
    let invitation = bma_app::services::team::invite(
        &app.ctx,
        &bma_app::services::Actor::member(None, None, None),
        bma_domain::member::Email::parse(&email).expect("email"),
        bma_domain::member::PersonName::parse("Invited Person").expect("name"),
        Role::Viewer,
    )
    .await
    .expect("invited");
    let b = Browser::open(&app.serve().await, "invitation").await;
    b.goto(&format!("/accept-invitation#token={}", invitation.token)).await;
    b.fill("#password", PASSWORD).await;
    b.accessible().await;
    b.screenshots("form").await;
    b.click("main form button").await;
    b.find("p.ok").await;
    sign_in(&b, &email, None).await;
    b.close().await;
}
