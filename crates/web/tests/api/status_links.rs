use crate::helpers::{TestApp, venue_body, venue_with_lobby};
use axum::http::{Method, StatusCode};
use bma_domain::access::Role;
use serde_json::{Value, json};

/// A live venue of brand "Lotus Grand" and an archived one; returns (live, archived) ids.
async fn fleet(app: &TestApp) -> (String, String) {
    let manager = app.token(Role::Manager).await;
    let (live, _) = venue_with_lobby(app, &manager, venue_body("Lotus Sukhumvit")).await;
    let mut gone = venue_body("Teakwood Closed");
    gone["brand"] = json!("Teakwood");
    let (archived, _) = venue_with_lobby(app, &manager, gone).await;
    sqlx::query("UPDATE venues SET archived_at = now() WHERE id = $1")
        .bind(archived)
        .execute(&app.ctx.db)
        .await
        .expect("archived");
    (live.to_string(), archived.to_string())
}

#[tokio::test]
async fn an_admin_makes_lists_and_revokes_links_and_the_token_is_shown_only_once() {
    let app = TestApp::spawn().await;
    let (venue, _) = fleet(&app).await;
    let admin = app.token(Role::Admin).await;

    let brand = app
        .post("/api/v1/status-links", Some(&admin), json!({"brand": "Lotus Grand", "label": "Regional office"}))
        .await;
    assert_eq!(brand.status, StatusCode::CREATED, "{}", brand.text);
    assert_eq!((brand.body["kind"].as_str(), brand.body["brand"].as_str()), (Some("brand"), Some("Lotus Grand")));
    assert_eq!(brand.body["label"], "Regional office");
    let url = brand.body["url"].as_str().expect("a url").to_owned();
    let token = url.strip_prefix("https://portal.bma-social.com/status/").expect("under PUBLIC_URL");
    assert_eq!(token.len(), 43, "256 random bits in URL-safe base64");
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    let one = app.post("/api/v1/status-links", Some(&admin), json!({"venue_id": venue})).await;
    assert_eq!(one.status, StatusCode::CREATED, "{}", one.text);
    assert_eq!(one.body["venue_name"], "Lotus Sukhumvit");
    assert_eq!(one.body["label"], Value::Null);
    assert_ne!(one.body["url"], brand.body["url"], "every link has its own token");

    let list = app.get("/api/v1/status-links", &admin).await;
    assert_eq!(list.status, StatusCode::OK);
    let links = list.body.as_array().expect("a list");
    assert_eq!(links.len(), 2);
    assert_eq!(links[0]["id"], one.body["id"], "newest first");
    assert!(!list.text.contains(token) && !list.text.contains("url"), "the list never carries a token");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM status_links WHERE brand = 'Lotus Grand'")
        .fetch_one(&app.ctx.db)
        .await
        .expect("the row");
    assert_eq!(stored, bma_app::security::tokens::hash_token(token), "only the hash is kept");

    let id = brand.body["id"].as_str().expect("an id");
    let r = app.call(Method::DELETE, &format!("/api/v1/status-links/{id}"), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let again = app.call(Method::DELETE, &format!("/api/v1/status-links/{id}"), Some(&admin), None).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "revoking twice changes nothing");
    let list = app.get("/api/v1/status-links", &admin).await;
    let revoked = list.body.as_array().into_iter().flatten().find(|l| l["id"] == id).expect("still listed");
    assert!(revoked["revoked_at"].is_string());
    let unknown = uuid::Uuid::now_v7();
    let r = app.call(Method::DELETE, &format!("/api/v1/status-links/{unknown}"), Some(&admin), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn managers_and_viewers_may_not_list_make_or_revoke_links() {
    let app = TestApp::spawn().await;
    let (venue, _) = fleet(&app).await;
    let admin = app.token(Role::Admin).await;
    let made = app.post("/api/v1/status-links", Some(&admin), json!({"venue_id": venue})).await;
    let id = made.body["id"].as_str().expect("an id").to_owned();
    for role in [Role::Manager, Role::Viewer] {
        let token = app.token(role).await;
        let list = app.get("/api/v1/status-links", &token).await;
        let make = app.post("/api/v1/status-links", Some(&token), json!({"brand": "Lotus Grand"})).await;
        let revoke = app.call(Method::DELETE, &format!("/api/v1/status-links/{id}"), Some(&token), None).await;
        for r in [list, make, revoke] {
            assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{role:?}: {}", r.text);
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM status_links").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM status_links WHERE revoked_at IS NOT NULL").await, 0);
}

#[tokio::test]
async fn bad_input_is_refused_with_422_naming_the_field_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let (venue, archived) = fleet(&app).await;
    let admin = app.token(Role::Admin).await;
    let audited = app.count("SELECT count(*) FROM audit_log").await;
    let cases = [
        (json!({"brand": "Lotus Grand", "venue_id": venue}), vec!["brand", "venue_id"]),
        (json!({}), vec!["brand", "venue_id"]),
        (json!({"label": "only a label"}), vec!["brand", "venue_id"]),
        (json!({"brand": "Nobody's Brand"}), vec!["brand"]),
        (json!({"brand": "Teakwood"}), vec!["brand"]),
        (json!({"brand": "   "}), vec!["brand"]),
        (json!({"venue_id": uuid::Uuid::now_v7()}), vec!["venue_id"]),
        (json!({"venue_id": archived}), vec!["venue_id"]),
        (json!({"venue_id": "not-a-uuid"}), vec!["venue_id"]),
        (json!({"venue_id": venue, "label": "x".repeat(101)}), vec!["label"]),
        (json!({"venue_id": venue, "label": ""}), vec!["label"]),
    ];
    for (body, fields) in cases {
        let r = app.post("/api/v1/status-links", Some(&admin), body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        assert_eq!(r.code(), "validation_failed", "{body}");
        assert!(r.body["error"]["request_id"].is_string(), "the stable error body");
        let named: Vec<&str> =
            r.body["error"]["fields"].as_array().into_iter().flatten().filter_map(|f| f["field"].as_str()).collect();
        assert_eq!(named, fields, "{body}");
    }
    assert_eq!(app.count("SELECT count(*) FROM status_links").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM audit_log").await, audited);
}

#[tokio::test]
async fn making_and_revoking_a_link_are_in_the_audit_log_without_its_token() {
    let app = TestApp::spawn().await;
    let (venue, _) = fleet(&app).await;
    let admin = app.token(Role::Admin).await;
    let made = app.post("/api/v1/status-links", Some(&admin), json!({"venue_id": venue, "label": "Owner"})).await;
    let id = made.body["id"].as_str().expect("an id").to_owned();
    let url = made.body["url"].as_str().expect("a url").to_owned();
    let r = app.call(Method::DELETE, &format!("/api/v1/status-links/{id}"), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    let log = app.get(&format!("/api/v1/audit-log?entity_type=status_link&entity_id={id}"), &admin).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let entries = log.body["data"].as_array().cloned().expect("entries");
    let actions: Vec<&str> = entries.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["status_link.revoke", "status_link.create"]);
    let (revoke, create) = (&entries[0], &entries[1]);
    assert_eq!(create["after"]["venue_id"], venue.as_str());
    assert_eq!(create["after"]["label"], "Owner");
    assert!(create["actor_email"].as_str().is_some_and(|e| e.starts_with("admin-")));
    assert_eq!(revoke["before"]["revoked_at"], Value::Null);
    assert!(revoke["after"]["revoked_at"].is_string());
    let token = url.rsplit('/').next().expect("a token");
    assert!(!log.text.contains(token), "the audit log never holds the token");
}

#[tokio::test]
async fn the_openapi_document_describes_the_status_link_routes_with_every_answer() {
    let app = TestApp::spawn().await;
    let doc = serde_json::to_value(&app.openapi).expect("json");
    let paths = &doc["paths"];
    let statuses = |p: &str, m: &str| -> Vec<String> {
        paths[p][m]["responses"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
    };
    for s in ["200", "401", "403", "429"] {
        assert!(statuses("/api/v1/status-links", "get").contains(&s.to_owned()), "GET lacks {s}");
    }
    for s in ["201", "400", "401", "403", "415", "422", "429"] {
        assert!(statuses("/api/v1/status-links", "post").contains(&s.to_owned()), "POST lacks {s}");
    }
    for s in ["204", "400", "401", "403", "404", "429"] {
        assert!(statuses("/api/v1/status-links/{id}", "delete").contains(&s.to_owned()), "DELETE lacks {s}");
    }
    let refused = &paths["/api/v1/status-links"]["post"]["responses"]["422"]["content"]["application/json"]["schema"];
    assert_eq!(refused["$ref"], "#/components/schemas/ErrorBody");
    let created = doc["components"]["schemas"]["CreatedStatusLink"].to_string();
    assert!(created.contains("\"url\"") && created.contains("StatusLinkView"), "{created}");
    assert!(doc["components"]["schemas"]["StatusLinkView"]["properties"].get("url").is_none());
}
