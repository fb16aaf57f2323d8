use crate::helpers::{TestApp, now};
use axum::http::{Method, StatusCode};
use bma_domain::access::Role;
use serde_json::json;

#[tokio::test]
async fn an_admin_without_mfa_gets_a_setup_token_that_reaches_only_enrolment() {
    let app = TestApp::spawn().await;
    let email = app.member(Role::Admin).await;
    let r = app.login(&email, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["scope"], "mfa_setup");
    let setup = r.body["access_token"].as_str().expect("a string field");
    let blocked = app.get("/api/v1/venues", setup).await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    assert_eq!(blocked.code(), "mfa_enrolment_required");
    assert_eq!(app.get("/api/v1/team/members", setup).await.status, StatusCode::FORBIDDEN);
    let me = app.get("/api/v1/auth/me", setup).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["scope"], "mfa_setup");
}

#[tokio::test]
async fn after_enrolment_an_admin_signs_in_only_with_a_fresh_code() {
    let app = TestApp::spawn().await;
    let email = app.member(Role::Admin).await;
    let setup = app.login(&email, None).await.body["access_token"].as_str().expect("a string field").to_owned();

    let enrol = app.post("/api/v1/auth/mfa/enroll", Some(&setup), json!({})).await;
    assert_eq!(enrol.status, StatusCode::OK);
    assert!(enrol.body["otpauth_uri"].as_str().expect("a string field").starts_with("otpauth://totp/BMA%20Social:"));
    let secret = crate::helpers::base32_decode(enrol.body["secret"].as_str().expect("a string field"));
    let real = bma_app::security::totp::code_at(&secret, now());
    let wrong: String =
        real.chars().map(|c| char::from_digit((c.to_digit(10).unwrap_or(0) + 5) % 10, 10).unwrap_or('0')).collect();
    let bad = app.post("/api/v1/auth/mfa/confirm", Some(&setup), json!({"code": wrong})).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.code(), "invalid_code");
    let malformed = app.post("/api/v1/auth/mfa/confirm", Some(&setup), json!({"code": "12345"})).await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(malformed.body["error"]["fields"][0]["field"], "code");

    let (full, secret) = app.enrol_mfa(&setup).await;
    assert_eq!(app.get("/api/v1/venues", &full).await.status, StatusCode::OK);
    // The setup session was replaced.
    assert_eq!(app.get("/api/v1/auth/me", &setup).await.status, StatusCode::UNAUTHORIZED);

    let no_code = app.login(&email, None).await;
    assert_eq!(no_code.status, StatusCode::UNAUTHORIZED);
    assert_eq!(no_code.code(), "mfa_required");
    // The code used to confirm is spent; the next step's code works once.
    let next = bma_app::security::totp::code_at(&secret, now() + 30);
    let ok = app.login(&email, Some(&next)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["scope"], "full");
    let replay = app.login(&email, Some(&next)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.code(), "invalid_totp_code");
    let enrol_again = app
        .post("/api/v1/auth/mfa/enroll", Some(ok.body["access_token"].as_str().expect("a string field")), json!({}))
        .await;
    assert_eq!(enrol_again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn totp_secrets_are_stored_encrypted() {
    let app = TestApp::spawn().await;
    let email = app.member(Role::Admin).await;
    let setup = app.login(&email, None).await.body["access_token"].as_str().expect("a string field").to_owned();
    let (_, secret) = app.enrol_mfa(&setup).await;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT totp_secret_enc FROM team_members WHERE email = $1")
        .bind(&email)
        .fetch_one(&app.ctx.db)
        .await
        .expect("the query");
    assert!(stored.len() > secret.len());
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_slice()), "the raw secret is in the row");
    let _ = app.call(Method::POST, "/api/v1/auth/logout", Some(&setup), None).await;
}
