use crate::helpers::{TestApp, venue_body};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bma_domain::access::Role;
use serde_json::json;

fn raw(path: &str, token: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(body.into())
        .expect("a request")
}

#[tokio::test]
async fn malformed_json_is_a_400_with_the_error_body_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Manager).await;
    let r = app.send(raw("/api/v1/venues", &t, "application/json", "{\"name\": \"Hotel")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "malformed_json");
    assert!(r.body["error"]["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(r.headers.get("x-request-id").and_then(|v| v.to_str().ok()), r.body["error"]["request_id"].as_str());
    assert_eq!(app.count("SELECT count(*) FROM venues").await, 0);
}

#[tokio::test]
async fn a_wrong_type_is_a_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Manager).await;
    let r = app.post("/api/v1/venues", Some(&t), json!({"name": 42, "timezone": "Asia/Bangkok"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["error"]["fields"][0]["field"], "name");
    let unknown = app.post("/api/v1/venues", Some(&t), json!({"name": "A", "timezone": "UTC", "colour": "red"})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Manager).await;
    let r = app
        .post("/api/v1/venues", Some(&t), json!({"name": "  ", "country": "Thailand", "timezone": "Bangkok; DROP TABLE venues", "brand": "x".repeat(101),
            "opening_hours": [{"weekday": 9, "opens": "25:00", "closes": "10:00"}]}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "validation_failed");
    let fields: Vec<&str> =
        r.body["error"]["fields"].as_array().into_iter().flatten().filter_map(|f| f["field"].as_str()).collect();
    for f in ["name", "country", "timezone", "brand", "opening_hours[0]"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    let tz = app.post("/api/v1/venues", Some(&t), json!({"name": "A", "timezone": "Asia/Atlantis"})).await;
    assert_eq!(tz.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(tz.body["error"]["fields"][0]["field"], "timezone");
    assert_eq!(app.count("SELECT count(*) FROM venues").await, 0);
}

#[tokio::test]
async fn out_of_range_pagination_and_unknown_sorts_are_400_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Viewer).await;
    for (q, field) in [
        ("per_page=0", "per_page"),
        ("per_page=1000", "per_page"),
        ("page=0", "page"),
        ("sort=password", "sort"),
        ("page=abc", "page"),
        ("per_page=-1", "per_page"),
        ("country=XYZ", "country"),
    ] {
        let r = app.get(&format!("/api/v1/venues?{q}"), &t).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text);
        assert_eq!(r.code(), "invalid_query");
        let fields = r.body["error"]["fields"].as_array().cloned().unwrap_or_default();
        assert!(fields.iter().any(|f| f["field"] == field), "{q} should name {field}: {}", r.text);
    }
    assert_eq!(app.count("SELECT count(*) FROM venues").await, 0);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Manager).await;
    let big = json!({"name": "x".repeat(2 * 1024 * 1024), "timezone": "UTC"}).to_string();
    let r = app.send(raw("/api/v1/venues", &t, "application/json", big)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "payload_too_large");
}

#[tokio::test]
async fn ids_that_are_not_uuids_are_400_and_unknown_ones_404() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Viewer).await;
    let r = app.get("/api/v1/venues/1%20OR%201=1", &t).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "invalid_id");
    let r = app.get(&format!("/api/v1/venues/{}", uuid::Uuid::now_v7()), &t).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "not_found");
}

#[tokio::test]
async fn injection_and_markup_are_stored_as_plain_text() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Manager).await;
    let name = "Robert'); DROP TABLE venues;-- <script>alert(1)</script>";
    let r = app.post("/api/v1/venues", Some(&t), venue_body(name)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["name"], name);
    assert!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("application/json"))
    );
    let search = app.get("/api/v1/venues?q=%27%3B%20DROP%20TABLE%20venues%3B--", &t).await;
    assert_eq!(search.status, StatusCode::OK);
    let like = app.get("/api/v1/venues?q=%25", &t).await;
    assert_eq!(like.body["pagination"]["total"], 0, "% is matched literally, not as a wildcard");
    assert_eq!(app.count("SELECT count(*) FROM venues").await, 1);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_the_error_body() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Viewer).await;
    let r = app.get("/api/v1/nothing-here", &t).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "not_found");
    let r = app.call(Method::PATCH, "/api/v1/venues", Some(&t), None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "method_not_allowed");
    let manager = app.token(Role::Manager).await;
    let r = app.send(raw("/api/v1/venues", &manager, "text/plain", "name=x")).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_body_with_a_nul_character_is_a_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Manager).await;
    let r = app
        .post("/api/v1/playlists", Some(&t), json!({"soundtrack_id": "p-1", "name": "Jazz", "moods": ["ja\u{0}zz"]}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["error"]["fields"][0]["field"], "body");
    assert_eq!(app.count("SELECT count(*) FROM playlist_catalogue").await, 0);
}

#[tokio::test]
async fn a_query_parameter_with_a_nul_character_is_a_400_naming_the_query() {
    // Found by schemathesis: PostgreSQL refused the search term, a 500.
    let app = TestApp::spawn().await;
    let t = app.token(Role::Viewer).await;
    for path in
        ["/api/v1/venues?q=ab%00c", "/api/v1/monitoring/status?brand=%00", "/api/v1/conversations?status=open%00"]
    {
        let r = app.get(path, &t).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert_eq!(r.code(), "invalid_query");
        assert_eq!(r.body["error"]["fields"][0]["field"], "query", "{}", r.text);
    }
}

#[tokio::test]
async fn whole_numbers_written_with_a_decimal_point_are_whole_numbers() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Manager).await;
    let hours = json!([{"weekday": 4.0, "opens": "08:00", "closes": "22:00"}]);
    let r = app
        .post(
            "/api/v1/venues",
            Some(&t),
            json!({"name": "Decimal Hotel", "timezone": "Asia/Bangkok", "opening_hours": hours}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let half = json!([{"weekday": 4.5, "opens": "08:00", "closes": "22:00"}]);
    let r = app
        .post(
            "/api/v1/venues",
            Some(&t),
            json!({"name": "Half Hotel", "timezone": "Asia/Bangkok", "opening_hours": half}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(app.count("SELECT count(*) FROM venues").await, 1);
}
