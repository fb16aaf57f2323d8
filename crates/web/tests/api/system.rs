use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

#[tokio::test]
async fn health_is_200_while_postgres_answers_and_503_when_it_does_not() {
    let app = TestApp::spawn().await;
    let r = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["postgres"], "ok");
    app.ctx.db.close().await;
    let r = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["status"], "degraded");
}

#[tokio::test]
async fn livez_answers_while_postgres_is_down_as_it_touches_neither_store() {
    let app = TestApp::spawn().await;
    app.ctx.db.close().await;
    let r = app.call(Method::GET, "/livez", None, None).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "ok"));
    assert_eq!(app.call(Method::GET, "/health", None, None).await.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn health_is_503_when_redis_stops_answering_while_signed_in_members_are_still_served() {
    let port = 20_000 + u16::try_from(std::process::id() % 20_000).unwrap_or(0);
    let child = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else { panic!("redis-server must be installed for this test") };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let app = crate::helpers::TestApp::with(crate::helpers::Options {
        env: vec![("REDIS_URL", format!("redis://127.0.0.1:{port}"))],
        ..Default::default()
    })
    .await;
    let kv = bma_kv::Kv::redis(&format!("redis://127.0.0.1:{port}"), "h:").await.expect("redis answers");
    let ctx = bma_app::AppContext { kv, ..app.ctx.clone() };
    let router = bma_web::build(bma_web::AppState::new(ctx));
    let ask = |router: axum::Router| async move {
        use tower::ServiceExt;
        router
            .oneshot(Request::get("/health").body(Body::empty()).expect("request"))
            .await
            .map(|r| r.status())
            .unwrap_or(StatusCode::IM_A_TEAPOT)
    };
    let token = app.token(bma_domain::access::Role::Viewer).await;
    let venues = |router: axum::Router| {
        let token = token.clone();
        async move {
            use tower::ServiceExt;
            let req = Request::get("/api/v1/venues?per_page=5")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request");
            router.oneshot(req).await.map(|r| r.status()).unwrap_or(StatusCode::IM_A_TEAPOT)
        }
    };
    assert_eq!(ask(router.clone()).await, StatusCode::OK);
    assert_eq!(venues(router.clone()).await, StatusCode::OK);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ask(router.clone()).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(venues(router).await, StatusCode::OK, "rate limits and the query cache are skipped, not the request");
}

#[tokio::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    let r = app
        .send(Request::get("/health").header("x-request-id", "trace-123").body(Body::empty()).expect("request"))
        .await;
    for h in [
        "content-security-policy",
        "strict-transport-security",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(r.headers.contains_key(h), "{h} missing");
    }
    assert!(r.headers["content-security-policy"].to_str().expect("a header value").contains("frame-ancestors 'none'"));
    assert_eq!(r.headers["x-request-id"], "trace-123");
    let weird = app
        .send(Request::get("/health").header("x-request-id", "<script>").body(Body::empty()).expect("request"))
        .await;
    assert_ne!(weird.headers["x-request-id"], "<script>");
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/v1/venues")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(Body::empty())
            .expect("a request")
    };
    let ok = app.send(preflight("https://portal.bma-social.com")).await;
    assert_eq!(
        ok.headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
        Some("https://portal.bma-social.com")
    );
    let evil = app.send(preflight("https://evil.example")).await;
    assert!(evil.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn metrics_are_exposed_in_prometheus_format_and_the_docs_work_offline() {
    let app = TestApp::spawn().await;
    let _ = app.call(Method::GET, "/health", None, None).await;
    let m = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.text.contains("http_requests_total"), "{}", m.text);
    assert!(m.text.contains("route=\"/health\""));

    let spec = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(spec.body["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in ["/api/v1/venues", "/api/v1/venues/{id}", "/api/v1/auth/login", "/api/v1/venues/import", "/health"] {
        assert!(spec.body["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    let docs = app.call(Method::GET, "/api/docs/", None, None).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text.contains("swagger"), "{}", &docs.text[..docs.text.len().min(300)]);
    assert!(!docs.text.contains("cdn.") && !docs.text.contains("unpkg"), "the docs page must not load from a CDN");
}
