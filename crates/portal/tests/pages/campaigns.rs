use crate::support::helpers::{TestApp, venue_body, venue_with_lobby};
use crate::support::{Page, Visitor, portal};
use axum::http::StatusCode;
use bma_domain::access::Role;
use serde_json::json;

/// A venue with an email contact (staff), made through the API; returns its id.
pub async fn venue_with_email_contact(app: &TestApp, name: &str) -> uuid::Uuid {
    let token = app.token(Role::Manager).await;
    let (venue, _) = venue_with_lobby(app, &token, venue_body(name)).await;
    let body = json!({"name": "Somchai", "channel": "email", "email": "somchai@example.com"});
    let r = app.post(&format!("/api/v1/venues/{venue}/contacts"), Some(&token), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    venue
}

fn error_of(page: &Page, slot: &str) -> String {
    let marker = format!(r#"id="{slot}">"#);
    let at = page.text.find(&marker).map_or(0, |i| i + marker.len());
    page.text[at..].split("</span>").next().unwrap_or("").to_owned()
}

#[tokio::test]
async fn a_manager_previews_the_audience_fixes_a_bad_variable_sends_and_reads_the_funnel_and_recipients() {
    let app = portal().await;
    let venue = venue_with_email_contact(&app, "Lotus Sukhumvit").await;
    let email = app.member(Role::Manager).await;
    let v = Visitor::new(&app);
    v.sign_in(&email, None).await;
    let form = v.get("/campaigns/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    assert!(form.text.contains("Lotus Sukhumvit"), "the venue picker lists the venue");
    let csrf = form.csrf();
    let venue = venue.to_string();
    let base = |message: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Maintenance tonight".to_owned()),
            ("type", "service".to_owned()),
            ("channel", "email".to_owned()),
            ("audience", "venues".to_owned()),
            ("venue", venue.clone()),
            ("contacts", "staff".to_owned()),
            ("message", message.to_owned()),
            ("schedule", "draft".to_owned()),
        ]
    };
    let pairs = |b: &[(&'static str, String)]| b.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let owned = pairs(&base("Hello"));
    let fields: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let preview = v.post("/campaigns/audience", &fields).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert!(preview.text.contains(r#"<strong id="audience-size">1</strong>"#), "{}", preview.text);
    assert!(preview.text.contains("Somchai"), "a sample of the recipients");

    let owned = pairs(&base("Hello {{venue.nam}}"));
    let fields: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bad = v.post("/campaigns", &fields).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(error_of(&bad, "f-message-error").contains("venue.nam"), "{}", error_of(&bad, "f-message-error"));
    assert!(error_of(&bad, "f-name-error").is_empty());
    assert_eq!(app.count("SELECT count(*) FROM campaigns").await, 0);

    let owned = pairs(&base("Hello {{contact.name}}, maintenance at {{venue.name}} tonight."));
    let fields: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let made = v.post("/campaigns", &fields).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let page = v.get(made.location()).await;
    assert!(page.text.contains("Draft") && page.text.contains(r#"sse-connect="/live/campaigns/"#), "{}", page.text);
    assert!(page.text.contains("/do/send") && !page.text.contains("/do/pause"));

    let sent = v.post(&format!("{}/do/send", made.location()), &[("csrf", &csrf)]).await;
    assert!(sent.location().ends_with("?done=sent"), "{}", sent.location());
    let page = v.get(sent.location()).await;
    assert!(page.text.contains("Sending has started"));
    assert!(page.text.contains(r#"<span class="n" id="funnel-queued">1</span>"#), "{}", page.text);
    assert!(page.text.contains(r#"id="recipients""#) && page.text.contains("Somchai"));
    let csv = v.get(&format!("{}/recipients.csv", made.location())).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"].to_str().unwrap_or("").starts_with("text/csv") && csv.text.contains("Somchai"));
    let again = v.post(&format!("{}/do/send", made.location()), &[("csrf", &csrf)]).await;
    assert!(again.location().ends_with("?done=refused"), "a second send is refused");

    let copy = v.post(&format!("{}/do/duplicate", made.location()), &[("csrf", &csrf)]).await;
    assert!(copy.location().ends_with("?done=duplicated") && !copy.location().starts_with(made.location()));
    let list = v.get("/campaigns").await;
    assert!(list.text.contains("Maintenance tonight") && list.text.contains("Copy of Maintenance tonight"));
    assert!(v.get("/campaigns?status=draft").await.text.contains("Copy of"));
    assert!(!v.get("/campaigns?status=draft").await.text.contains(r#">Maintenance tonight<"#));
}

#[tokio::test]
async fn a_campaign_scheduled_at_a_venue_local_time_is_saved_as_such_and_can_be_cancelled() {
    let app = portal().await;
    let venue = venue_with_email_contact(&app, "Lotus Sukhumvit").await.to_string();
    let email = app.member(Role::Manager).await;
    let v = Visitor::new(&app);
    v.sign_in(&email, None).await;
    let csrf = v.get("/campaigns/new").await.csrf();
    let next_year = time::OffsetDateTime::now_utc().year() + 1;
    let local = format!("{next_year}-01-15T09:00");
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "New year"),
        ("type", "holiday"),
        ("channel", "line"),
        ("fallback", "email"),
        ("audience", "filter"),
        ("brand", "Lotus Grand"),
        ("contacts", "all"),
        ("message", "Happy new year, {{venue.name}}!"),
        ("schedule", "local"),
        ("local", local.as_str()),
        ("venue", venue.as_str()),
    ];
    let made = v.post("/campaigns", &fields).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let page = v.get(made.location()).await;
    assert!(page.text.contains("Scheduled") && page.text.contains("each venue&#39;s local time"), "{}", page.text);
    let edit = v.get(&format!("{}/edit", made.location())).await;
    assert!(edit.text.contains(&format!(r#"value="{local}""#)) && edit.text.contains(r#"value="filter" checked"#));
    let r = v.post(&format!("{}/do/cancel", made.location()), &[("csrf", &csrf)]).await;
    assert!(r.location().ends_with("?done=cancelled"));
    assert_eq!(app.count("SELECT count(*) FROM campaigns WHERE status = 'cancelled'").await, 1);
}

#[tokio::test]
async fn a_viewer_reads_campaigns_without_controls_and_may_not_create_or_send() {
    let app = portal().await;
    let venue = venue_with_email_contact(&app, "Lotus Sukhumvit").await;
    let token = app.token(Role::Manager).await;
    let body = json!({"name": "Notice", "type": "service", "channel": "email", "target_venues": [venue], "message_template": "Hi"});
    let c = app.post("/api/v1/campaigns", Some(&token), body).await;
    let id = c.body["id"].as_str().expect("a campaign").to_owned();
    let email = app.member(Role::Viewer).await;
    let v = Visitor::new(&app);
    v.sign_in(&email, None).await;
    let page = v.get(&format!("/campaigns/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(!page.text.contains("/do/") && !page.text.contains("/edit") && !page.text.contains("/test"));
    assert!(!v.get("/campaigns").await.text.contains("/campaigns/new"));
    assert_eq!(v.get("/campaigns/new").await.status, StatusCode::FORBIDDEN);
    let r = v.post(&format!("/campaigns/{id}/do/send"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM campaign_recipients").await, 0);
}
