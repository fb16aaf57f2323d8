use crate::support::{Visitor, admin_with_mfa, portal};
use axum::http::{Method, StatusCode};
use bma_domain::access::Role;

#[tokio::test]
async fn the_root_sends_a_stranger_to_sign_in_and_a_member_to_the_dashboard() {
    let app = portal().await;
    let v = Visitor::new(&app);
    let r = v.get("/").await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/sign-in"));
    let email = app.member(Role::Manager).await;
    let r = v.sign_in(&email, None).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/dashboard"), "{}", r.text);
    assert_eq!(v.get("/").await.location(), "/dashboard");
    let dash = v.get("/dashboard").await;
    assert_eq!(dash.status, StatusCode::OK, "{}", dash.text);
    assert!(dash.text.contains(r#"id="fleet-silent""#));
}

#[tokio::test]
async fn session_cookies_are_http_only_secure_and_same_site_lax() {
    let app = portal().await;
    let v = Visitor::new(&app);
    let email = app.member(Role::Viewer).await;
    let r = v.sign_in(&email, None).await;
    let cookies: Vec<&str> = r.headers.get_all("set-cookie").iter().filter_map(|c| c.to_str().ok()).collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for c in cookies {
        assert!(c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Lax"), "{c}");
    }
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_an_error_and_no_session() {
    let app = portal().await;
    let v = Visitor::new(&app);
    let email = app.member(Role::Manager).await;
    let r = v.post("/sign-in", &[("email", &email), ("password", "not the password")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains(r#"role="alert""#) && r.text.contains("incorrect"), "{}", r.text);
    assert!(v.cookie("bma_session").is_none());
    assert_eq!(v.get("/dashboard").await.location(), "/sign-in");
}

#[tokio::test]
async fn a_member_with_mfa_is_asked_for_the_code_and_a_wrong_one_is_refused() {
    let app = portal().await;
    let (email, secret) = admin_with_mfa(&app).await;
    let v = Visitor::new(&app);
    let first = v.post("/sign-in", &[("email", &email), ("password", crate::support::PASSWORD)]).await;
    assert_eq!(first.status, StatusCode::OK);
    let pending = first.field("pending").expect("the code step");
    assert!(v.cookie("bma_session").is_none(), "no session before the code");
    let wrong = v.post("/sign-in", &[("pending", &pending), ("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(v.cookie("bma_session").is_none());
    let r = v.sign_in(&email, Some(&secret)).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/dashboard"), "{}", r.text);
    assert_eq!(v.get("/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_without_mfa_is_led_to_enrol_with_a_qr_code_and_then_gets_in() {
    let app = portal().await;
    let email = app.member(Role::Admin).await;
    let v = Visitor::new(&app);
    let r = v.sign_in(&email, None).await;
    assert_eq!(r.location(), "/profile/mfa");
    assert_eq!(v.get("/dashboard").await.location(), "/profile/mfa", "nothing else before enrolment");
    let page = v.get("/profile/mfa").await;
    assert!(page.text.contains("<svg"), "an inline SVG QR code");
    let secret = crate::support::helpers::base32_decode(&page.field("secret").expect("the key"));
    let code = bma_app::security::totp::code_at(&secret, crate::support::helpers::now());
    let done = v.post("/profile/mfa", &[("csrf", &page.csrf()), ("code", &code), ("secret", "")]).await;
    assert_eq!(done.location(), "/dashboard", "{}", done.text);
    assert_eq!(v.get("/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn signing_out_ends_the_session_for_the_api_too() {
    let app = portal().await;
    let v = Visitor::new(&app);
    let email = app.member(Role::Manager).await;
    v.sign_in(&email, None).await;
    let token = v.cookie("bma_session").expect("a session");
    let dash = v.get("/dashboard").await;
    let out = v.post("/sign-out", &[("csrf", &dash.csrf())]).await;
    assert_eq!(out.location(), "/sign-in");
    assert!(v.cookie("bma_session").is_none());
    let api = app.call(Method::GET, "/api/v1/auth/me", Some(&token), None).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_deactivated_member_loses_the_portal_at_once() {
    let app = portal().await;
    let v = Visitor::new(&app);
    let email = app.member(Role::Manager).await;
    v.sign_in(&email, None).await;
    let admin = app.token(Role::Admin).await;
    let m = bma_store::members::find_by_email(&app.ctx.db, &email).await.expect("db").expect("member");
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/team/members/{}", m.id),
            Some(&admin),
            Some(serde_json::json!({"active": false})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_eq!(v.get("/dashboard").await.location(), "/sign-in");
}

#[tokio::test]
async fn a_forged_post_without_the_token_or_from_another_site_is_refused_and_changes_nothing() {
    let app = portal().await;
    let v = Visitor::new(&app);
    let email = app.member(Role::Manager).await;
    v.sign_in(&email, None).await;
    let token = v.get("/dashboard").await.csrf();
    let no_token = v.post("/sign-out", &[]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let wrong = v.post("/sign-out", &[("csrf", "0123456789abcdef0123456789abcdef01234567")]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let cross =
        v.request(Method::POST, "/sign-out", Some(format!("csrf={token}")), &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert_eq!(v.get("/dashboard").await.status, StatusCode::OK, "still signed in");
}

#[tokio::test]
async fn a_viewer_sees_no_resolve_controls_and_may_not_resolve_even_with_a_valid_token() {
    let app = portal().await;
    let zone_alert = crate::support::zone_alert(&app).await;
    let viewer = Visitor::new(&app);
    viewer.sign_in(&app.member(Role::Viewer).await, None).await;
    let page = viewer.get("/dashboard").await;
    assert!(page.text.contains("Zone silent"), "the viewer sees the alert");
    assert!(!page.text.contains("/resolve"), "but no control to resolve it");
    let r = viewer.post(&format!("/alerts/{zone_alert}/resolve"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM alerts WHERE NOT resolved").await, 1);

    let manager = Visitor::new(&app);
    manager.sign_in(&app.member(Role::Manager).await, None).await;
    let page = manager.get("/dashboard").await;
    assert!(page.text.contains("/resolve"));
    let r = manager.post(&format!("/alerts/{zone_alert}/resolve"), &[("csrf", &page.csrf())]).await;
    assert_eq!(r.location(), "/dashboard");
    assert_eq!(app.count("SELECT count(*) FROM alerts WHERE NOT resolved").await, 0);
}

#[tokio::test]
async fn the_navigation_follows_the_api_access_table() {
    let app = portal().await;
    let v = Visitor::new(&app);
    v.sign_in(&app.member(Role::Viewer).await, None).await;
    let page = v.get("/profile").await;
    for e in bma_portal::access::NAV {
        let shown = page.text.contains(&format!(r#"href="{}""#, e.href));
        assert_eq!(shown, bma_portal::access::can(Role::Viewer, &e.api.0, e.api.1), "{}", e.key);
    }
}

#[tokio::test]
async fn the_language_follows_the_saved_choice_then_the_browser_then_english() {
    let app = portal().await;
    let mut v = Visitor::new(&app);
    assert!(v.get("/sign-in").await.text.contains(r#"<html lang="en">"#));
    v.accept_language = Some("th-TH,th;q=0.9,en;q=0.5");
    let th = v.get("/sign-in").await;
    assert!(th.text.contains(r#"<html lang="th">"#) && th.text.contains("เข้าสู่ระบบ"));
    v.sign_in(&app.member(Role::Manager).await, None).await;
    let profile = v.get("/profile").await;
    let r = v.post("/profile/language", &[("csrf", &profile.csrf()), ("lang", "en")]).await;
    assert_eq!(r.location(), "/profile");
    assert!(v.get("/dashboard").await.text.contains(r#"<html lang="en">"#), "the saved choice wins");
}

#[tokio::test]
async fn the_saved_language_follows_the_member_to_another_browser() {
    let app = portal().await;
    let email = app.member(Role::Manager).await;
    let desk = Visitor::new(&app);
    desk.sign_in(&email, None).await;
    let csrf = desk.get("/profile").await.csrf();
    desk.post("/profile/language", &[("csrf", &csrf), ("lang", "th")]).await;
    let phone = Visitor::new(&app);
    phone.sign_in(&email, None).await;
    let page = phone.get("/dashboard").await;
    assert!(page.text.contains(r#"<html lang="th">"#), "the member's choice, not the browser's default");
}
