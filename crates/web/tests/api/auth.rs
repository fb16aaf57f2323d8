use crate::helpers::{PASSWORD, TestApp};
use axum::http::{Method, StatusCode};
use bma_domain::access::Role;
use serde_json::json;

#[tokio::test]
async fn login_returns_a_bearer_pair_whose_access_token_lasts_24_hours() {
    let app = TestApp::spawn().await;
    let email = app.member(Role::Manager).await;
    let r = app.login(&email, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 86_400);
    assert_eq!(r.body["scope"], "full");
    let token = r.body["access_token"].as_str().expect("a string field");
    let me = app.get("/api/v1/auth/me", token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], email.as_str());
    let refresh_expiry: i64 =
        app.count("SELECT extract(epoch FROM expires_at - created_at)::bigint FROM refresh_tokens LIMIT 1").await;
    assert_eq!(refresh_expiry, 7 * 24 * 3600);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = TestApp::spawn().await;
    let email = app.member(Role::Viewer).await;
    let wrong = app.post("/api/v1/auth/login", None, json!({"email": email, "password": "not the password"})).await;
    let unknown = app.post("/api/v1/auth/login", None, json!({"email": "nobody@bma.test", "password": PASSWORD})).await;
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.code(), "invalid_credentials");
    }
    assert_eq!(wrong.body["error"]["message"], unknown.body["error"]["message"]);
}

#[tokio::test]
async fn repeated_failed_logins_are_refused_with_429_and_retry_after_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    let email = app.member(Role::Viewer).await;
    for _ in 0..5 {
        let r = app.post("/api/v1/auth/login", None, json!({"email": email, "password": "wrong-password"})).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.login(&email, None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "rate_limited");
    let retry: u64 =
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!(retry > 0);
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token_every_time() {
    let app = TestApp::spawn().await;
    let email = app.member(Role::Manager).await;
    let first = app.login(&email, None).await;
    let r1 = first.body["refresh_token"].as_str().expect("a string field").to_owned();
    let second = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r1})).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let r2 = second.body["refresh_token"].as_str().expect("a string field").to_owned();
    assert_ne!(r1, r2);
    let third = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r2})).await;
    assert_eq!(third.status, StatusCode::OK);
    let token = third.body["access_token"].as_str().expect("a string field");
    assert_eq!(app.get("/api/v1/auth/me", token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn presenting_a_spent_refresh_token_revokes_the_whole_session() {
    let app = TestApp::spawn().await;
    let email = app.member(Role::Manager).await;
    let login = app.login(&email, None).await;
    let access = login.body["access_token"].as_str().expect("a string field").to_owned();
    let r1 = login.body["refresh_token"].as_str().expect("a string field").to_owned();
    let rotated = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r1})).await;
    let r2 = rotated.body["refresh_token"].as_str().expect("a string field").to_owned();
    let access2 = rotated.body["access_token"].as_str().expect("a string field").to_owned();

    let replay = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r1})).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.code(), "refresh_token_reused");

    // The thief's copy and the owner's newest token are both dead now, and so are access tokens.
    let newest = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r2})).await;
    assert_eq!(newest.status, StatusCode::UNAUTHORIZED);
    for t in [&access, &access2] {
        let r = app.get("/api/v1/auth/me", t).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.code(), "session_revoked");
    }
    // Other sessions of the same member are untouched.
    let other = app.login(&email, None).await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = TestApp::spawn().await;
    let email = app.member(Role::Viewer).await;
    let login = app.login(&email, None).await;
    let access = login.body["access_token"].as_str().expect("a string field").to_owned();
    let refresh = login.body["refresh_token"].as_str().expect("a string field").to_owned();
    assert_eq!(app.get("/api/v1/venues", &access).await.status, StatusCode::OK);
    let out = app.call(Method::POST, "/api/v1/auth/logout", Some(&access), None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/venues", &access).await.status, StatusCode::UNAUTHORIZED);
    let r = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": refresh})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_forged_and_alg_none_tokens_are_401() {
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let sub = uuid::Uuid::now_v7();
    let claims = |exp: i64| json!({"sub": sub, "sid": sub, "role": "admin", "scope": "full", "iat": 0, "exp": exp, "iss": "bma-social"});
    let alg_none =
        format!("{}.{}.", b64.encode(br#"{"alg":"none","typ":"JWT"}"#), b64.encode(claims(4_000_000_000).to_string()));
    let forged = bma_app::security::jwt::JwtKeys::new(b"not-our-secret-not-our-secret-00")
        .sign(&serde_json::from_value(claims(4_000_000_000)).unwrap_or_else(|_| unreachable!()));
    let expired = app.ctx.jwt.sign(&serde_json::from_value(claims(1_000)).unwrap_or_else(|_| unreachable!()));
    for (token, code) in [
        (alg_none.as_str(), "invalid_token"),
        (forged.as_str(), "invalid_token"),
        (expired.as_str(), "token_expired"),
        ("garbage", "invalid_token"),
    ] {
        let r = app.get("/api/v1/venues", token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(r.code(), code);
    }
    let none = app.call(Method::GET, "/api/v1/venues", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.code(), "unauthenticated");
}
