use crate::helpers::{Options, TestApp};
use axum::http::{Method, StatusCode};
use bma_domain::access::Role;

#[tokio::test]
async fn requests_past_the_per_ip_limit_get_429_with_retry_after() {
    let app = TestApp::with(Options { env: vec![("RATE_LIMIT_PER_IP", "5".into())], ..Options::default() }).await;
    for _ in 0..5 {
        assert_eq!(app.call(Method::GET, "/health", None, None).await.status, StatusCode::OK);
    }
    let r = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "rate_limited");
    let retry: u64 =
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!((1..=60).contains(&retry), "retry-after {retry}");
}

#[tokio::test]
async fn the_per_user_limit_is_shared_through_redis_by_two_instances() {
    let prefix = format!("bma-test-{}:", uuid::Uuid::new_v4().simple());
    let env = || vec![("RATE_LIMIT_PER_USER", "6".to_owned())];
    let a = TestApp::with(Options { env: env(), redis_prefix: Some(prefix.clone()), ..Options::default() }).await;
    let b = TestApp::with(Options {
        env: env(),
        redis_prefix: Some(prefix),
        db_url: Some(a.db_url.clone()),
        ..Options::default()
    })
    .await;
    let token = a.token(Role::Viewer).await;
    for i in 0..6 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(app.get("/api/v1/venues", &token).await.status, StatusCode::OK, "request {i}");
    }
    for app in [&a, &b] {
        let r = app.get("/api/v1/venues", &token).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers.contains_key("retry-after"));
    }
}

#[tokio::test]
async fn a_session_revoked_on_one_instance_is_refused_by_the_other_at_once() {
    let prefix = format!("bma-test-{}:", uuid::Uuid::new_v4().simple());
    let a = TestApp::with(Options { redis_prefix: Some(prefix.clone()), ..Options::default() }).await;
    let b = TestApp::with(Options { redis_prefix: Some(prefix), db_url: Some(a.db_url.clone()), ..Options::default() })
        .await;
    let token = a.token(Role::Viewer).await;
    assert_eq!(b.get("/api/v1/venues", &token).await.status, StatusCode::OK, "b caches the session as live");
    assert_eq!(a.call(Method::POST, "/api/v1/auth/logout", Some(&token), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(b.get("/api/v1/venues", &token).await.status, StatusCode::UNAUTHORIZED);
}
