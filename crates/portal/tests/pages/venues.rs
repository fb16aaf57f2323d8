use crate::support::helpers::{venue_body, venue_with_lobby};
use crate::support::{Visitor, portal};
use axum::http::StatusCode;
use bma_domain::access::Role;

const HEADER: &str = "venue_ref,venue_name,brand,country,timezone,soundtrack_account_id,opening_hours,zone_name,zone_type,soundtrack_zone_id,contact_name,contact_role,contact_channel,contact_whatsapp,contact_line_user_id,contact_email\n";

#[tokio::test]
async fn a_manager_searches_the_venues_and_opens_one_with_its_zones_and_hours() {
    let app = portal().await;
    let token = app.token(Role::Manager).await;
    let (lotus, _) = venue_with_lobby(&app, &token, venue_body("Lotus Sukhumvit")).await;
    venue_with_lobby(&app, &token, venue_body("Orchid Silom")).await;
    let email = app.member(Role::Manager).await;
    let v = Visitor::new(&app);
    v.sign_in(&email, None).await;
    let all = v.get("/venues").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert!(all.text.contains("Lotus Sukhumvit") && all.text.contains("Orchid Silom"));
    assert!(all.text.contains(r#"href="/venues""#), "the navigation lists the venues");
    let found = v.get("/venues?q=lotus&sort=-name").await;
    assert!(found.text.contains("Lotus Sukhumvit") && !found.text.contains("Orchid Silom"), "{}", found.text);
    let bad = v.get("/venues?country=Thailand").await;
    assert!(bad.text.contains(r#"id="country-error""#), "an invalid filter is shown next to its field");
    let one = v.get(&format!("/venues/{lotus}")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert!(one.text.contains("Lobby") && one.text.contains("Not checked yet"), "{}", one.text);
    assert_eq!(v.get(&format!("/venues/{}", uuid::Uuid::new_v4())).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_venue_form_shows_errors_next_to_their_fields_then_creates_and_edits_the_venue() {
    let app = portal().await;
    let email = app.member(Role::Manager).await;
    let v = Visitor::new(&app);
    v.sign_in(&email, None).await;
    let form = v.get("/venues/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.csrf();
    let bad = v
        .post("/venues", &[("csrf", &csrf), ("name", ""), ("country", "Thailand"), ("timezone", "Asia/Bangkok")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let near = |field: &str| {
        let marker = format!(r#"id="f-{field}-error">"#);
        let at = bad.text.find(&marker).expect("the field's error slot") + marker.len();
        bad.text[at..].split("</span>").next().unwrap_or("").contains(char::is_alphabetic)
    };
    assert!(near("name") && near("country") && !near("timezone"), "{}", bad.text);
    let hours = "Mon-Fri 08:00-22:00, Sat-Sun 09:00-02:00";
    let made = v
        .post(
            "/venues",
            &[
                ("csrf", &csrf),
                ("name", "Lotus Riverside"),
                ("country", "th"),
                ("timezone", "Asia/Bangkok"),
                ("opening_hours", hours),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let page = v.get(made.location()).await;
    assert!(
        page.text.contains("Lotus Riverside") && page.text.contains("Saturday") && page.text.contains("09:00–02:00")
    );
    let edit = v.get(&format!("{}/edit", made.location())).await;
    assert!(edit.text.contains("Sat 09:00-02:00"), "the hours come back in the form's own notation");
    let saved = v
        .post(
            made.location(),
            &[
                ("csrf", &csrf),
                ("name", "Lotus Riverside Hotel"),
                ("timezone", "Asia/Bangkok"),
                ("opening_hours", "daily 10:00-20:00"),
            ],
        )
        .await;
    assert_eq!(saved.location(), made.location());
    assert_eq!(app.count("SELECT count(*) FROM venues WHERE name = 'Lotus Riverside Hotel'").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'venue.update'").await, 1);
}

#[tokio::test]
async fn a_csv_import_with_one_bad_row_imports_nothing_and_reports_the_row_then_a_good_one_imports() {
    let app = portal().await;
    let email = app.member(Role::Manager).await;
    let v = Visitor::new(&app);
    v.sign_in(&email, None).await;
    let csrf = v.get("/venues/import").await.csrf();
    let bad = format!(
        "{HEADER}A,Good Hotel,,TH,Asia/Bangkok,,,Lobby,lobby,OK-1,,,,,,\nB,Bad Country,,Thailand,Asia/Bangkok,,,Lobby,lobby,OK-2,,,,,,\n"
    );
    let r = v.post("/venues/import", &[("csrf", &csrf), ("csv", &bad)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains(r#"id="import-errors""#) && r.text.contains("<td>3</td>") && r.text.contains("country"));
    assert!(r.text.contains("nothing was imported"));
    assert_eq!(app.count("SELECT count(*) FROM venues").await, 0);
    let good = format!(
        "{HEADER}A,Good Hotel,,TH,Asia/Bangkok,,Mon-Sun 07:00-23:00,Lobby,lobby,OK-1,Somchai,GM,whatsapp,+66812340001,,\n"
    );
    let ok = v.post("/venues/import", &[("csrf", &csrf), ("csv", &good)]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert!(ok.text.contains("Imported 1 venues"), "{}", ok.text);
    assert_eq!(app.count("SELECT count(*) FROM zones").await, 1);
}

#[tokio::test]
async fn a_viewer_reads_venues_but_gets_no_controls_and_may_not_create_one() {
    let app = portal().await;
    let email = app.member(Role::Viewer).await;
    let v = Visitor::new(&app);
    v.sign_in(&email, None).await;
    let list = v.get("/venues").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.text.contains("/venues/new") && !list.text.contains("/venues/import"));
    assert_eq!(v.get("/venues/new").await.status, StatusCode::FORBIDDEN);
    let r = v.post("/venues", &[("csrf", &list.csrf()), ("name", "X"), ("timezone", "Asia/Bangkok")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM venues").await, 0);
}
