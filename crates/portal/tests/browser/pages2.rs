//! Journeys over the venues, team, audit, campaigns and analytics pages: axe on each of them at
//! desk width, screenshots at desk and phone width, and a campaign created, sent and watched in
//! the browser while the WhatsApp fake delivers its status webhooks.

use crate::driver::Browser;
use crate::journeys::sign_in;
use crate::support::helpers::{self, venue_body, venue_with_lobby};
use crate::support::{Options, admin_with_mfa, portal_with};
use bma_app::jobs::{Registry, Worker};
use bma_domain::access::Role;
use bma_fakes::line::{LineFake, LineFakeConfig};
use bma_fakes::whatsapp::{WhatsappFake, WhatsappFakeConfig};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn every_new_page_passes_axe_at_desk_and_phone_width() {
    let app = portal_with(Options::default()).await;
    let token = app.token(Role::Manager).await;
    let (venue, _) = venue_with_lobby(&app, &token, venue_body("Lotus Sukhumvit")).await;
    let contact = json!({"name": "Somchai", "channel": "email", "email": "somchai@example.com"});
    app.post(&format!("/api/v1/venues/{venue}/contacts"), Some(&token), contact).await;
    let body = json!({"name": "Notice", "type": "service", "channel": "email", "target_venues": [venue], "message_template": "Hi {{contact.name}}"});
    let campaign =
        app.post("/api/v1/campaigns", Some(&token), body).await.body["id"].as_str().expect("a campaign").to_owned();
    let (admin, secret) = admin_with_mfa(&app).await;
    let b = Browser::open(&app.serve().await, "pages2").await;
    sign_in(&b, &admin, Some(&secret)).await;
    let pages = [
        ("venues", "/venues".to_owned(), "#venues"),
        ("venue", format!("/venues/{venue}"), "#zones"),
        ("venue-new", "/venues/new".to_owned(), "#f-name"),
        ("venue-import", "/venues/import".to_owned(), "#csv"),
        ("team", "/team".to_owned(), "#members"),
        ("audit", "/audit".to_owned(), "#audit"),
        ("campaigns", "/campaigns".to_owned(), "#campaigns"),
        ("campaign-new", "/campaigns/new".to_owned(), "#f-message"),
        ("campaign", format!("/campaigns/{campaign}"), "#funnel-queued"),
        ("analytics", "/analytics".to_owned(), "#report"),
        ("analytics-uptime", "/analytics?report=uptime&group=venue".to_owned(), ".chart canvas"),
    ];
    for (step, path, marker) in pages {
        b.goto(&path).await;
        b.find(marker).await;
        b.accessible().await;
        b.screenshots(step).await;
    }
    // The forms with their errors shown.
    b.goto("/venues/new").await;
    b.click("main form button[type=submit]").await;
    b.find("#f-name[aria-invalid=true]").await;
    b.accessible().await;
    b.screenshots("venue-errors").await;
    b.goto("/venues/import").await;
    b.fill("#csv", "venue_ref,venue_name\nA,\n").await;
    b.click("main form button[type=submit]").await;
    b.find("#import-errors").await;
    b.accessible().await;
    b.screenshots("import-report").await;
    b.close().await;
}

#[tokio::test]
async fn a_campaign_is_created_and_sent_in_the_browser_and_its_funnel_moves_without_a_reload() {
    let wa = WhatsappFake::start(WhatsappFakeConfig::default()).await.expect("whatsapp fake");
    let line = LineFake::start(LineFakeConfig::default()).await.expect("line fake");
    let base_env = vec![("WHATSAPP_VERIFY_TOKEN", "verify-me".to_owned()), ("BOT_ENABLED", "false".to_owned())];
    let env = helpers::fake_channels_env_over(base_env, &wa, &line);
    let app = portal_with(Options { env, ..Options::default() }).await;
    let base = app.serve().await;
    wa.set_webhook(&format!("{base}/api/v1/webhooks/whatsapp"));
    let worker = Worker::new(app.ctx.clone(), Registry::standard()).with_backoff_base(Duration::ZERO);
    let token = app.token(Role::Manager).await;
    let (venue, _) = venue_with_lobby(&app, &token, venue_body("Hilton Pattaya")).await;
    let contact = json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": "+66812345678"});
    app.post(&format!("/api/v1/venues/{venue}/contacts"), Some(&token), contact).await;

    let email = app.member(Role::Manager).await;
    let b = Browser::open(&base, "campaign").await;
    sign_in(&b, &email, None).await;
    b.goto("/campaigns/new").await;
    b.fill("#f-name", "Maintenance tonight").await;
    b.click("#f-channel option[value=whatsapp]").await;
    b.click(&format!("#f-venues option[value='{venue}']")).await;
    let shown = Instant::now();
    while b.count("#audience-size").await == 0 {
        assert!(shown.elapsed() < Duration::from_secs(5), "the audience preview never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.text("#audience-size").await, "1");
    b.fill("#f-message", "Hello {{contact.name}}, maintenance at {{venue.name}} tonight.").await;
    b.click("#f-wa option[value='alert_notice|en_US']").await;
    b.fill("#f-wa-params", "{{venue.name}}\nmaintenance tonight").await;
    b.accessible().await;
    b.screenshots("form").await;
    b.click("form.campaign-form > button[type=submit]").await;
    b.find("#do-send").await;
    b.click("#do-send").await;
    b.find("p.ok").await;
    assert_eq!(b.text("#funnel-queued").await, "1");
    b.client.execute("window.stayed = true", vec![]).await.expect("marked");
    tokio::time::sleep(Duration::from_millis(800)).await; // the live stream connects

    for _ in 0..20 {
        if worker.run_once().await.expect("worker run").is_empty() {
            break;
        }
    }
    wa.flush().await;
    let sent = Instant::now();
    loop {
        worker.run_once().await.expect("worker run");
        wa.flush().await;
        if b.live_text("funnel-read").await == "1" {
            break;
        }
        assert!(sent.elapsed() < Duration::from_secs(10), "the funnel never showed the read receipt");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stayed = b.client.execute("return window.stayed === true", vec![]).await.expect("read");
    assert_eq!(stayed, json!(true), "the funnel moved without a reload");
    assert_eq!(b.live_text("funnel-queued").await, "0");
    b.accessible().await;
    b.screenshots("funnel").await;
    b.close().await;
}
