use crate::helpers::{PASSWORD, TestApp};
use axum::http::{Method, StatusCode};
use bma_app::jobs::{Registry, Worker};
use bma_domain::access::Role;
use serde_json::json;

#[tokio::test]
async fn an_invitation_email_carries_a_one_time_link_that_sets_the_password() {
    let app = TestApp::spawn().await;
    let admin = app.token(Role::Admin).await;
    let r = app
        .post(
            "/api/v1/team/members",
            Some(&admin),
            json!({"email": "Somchai@Hotel.example", "name": "Somchai", "role": "manager"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["email"], "somchai@hotel.example");
    assert_eq!(r.body["has_password"], false);
    assert_eq!(app.count("SELECT count(*) FROM jobs WHERE kind = 'send_email'").await, 1, "enqueued with the member");

    let worker = Worker::new(app.ctx.clone(), Registry::standard());
    let done = worker.run_once().await.expect("worker run");
    assert_eq!(done.len(), 1);
    let mails = app.smtp.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["somchai@hotel.example".to_owned()]);
    assert!(mails[0].header("Message-ID").is_some_and(|m| m.starts_with('<')));
    let body = mails[0].body();
    let token = body
        .split("#token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("a token in the email")
        .to_owned();
    assert!(token.len() >= 40, "no token in {body}");

    let short = app.post("/api/v1/auth/accept-invitation", None, json!({"token": token, "password": "short"})).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = app.post("/api/v1/auth/accept-invitation", None, json!({"token": token, "password": PASSWORD})).await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.text);
    let again = app.post("/api/v1/auth/accept-invitation", None, json!({"token": token, "password": PASSWORD})).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "the link works once");
    assert_eq!(app.login("somchai@hotel.example", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn deactivating_a_member_blocks_sign_in_and_ends_their_sessions_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.token(Role::Admin).await;
    let email = app.member(Role::Manager).await;
    let token = app.login(&email, None).await.body["access_token"].as_str().expect("a string field").to_owned();
    assert_eq!(app.get("/api/v1/venues", &token).await.status, StatusCode::OK);
    let list = app.get("/api/v1/team/members", &admin).await;
    let id = list
        .body
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["email"] == email.as_str())
        .map(|m| m["id"].as_str().expect("a string field").to_owned())
        .expect("the new member in the list");

    let r = app
        .call(Method::PATCH, &format!("/api/v1/team/members/{id}"), Some(&admin), Some(json!({"active": false})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], false);
    assert_eq!(app.get("/api/v1/venues", &token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&email, None).await.status, StatusCode::UNAUTHORIZED);

    let renamed = app
        .call(
            Method::PATCH,
            &format!("/api/v1/team/members/{id}"),
            Some(&admin),
            Some(json!({"name": "Manee", "role": "viewer", "active": true})),
        )
        .await;
    assert_eq!(renamed.body["role"], "viewer");
    assert_eq!(app.login(&email, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_cannot_lock_themselves_out_and_emails_are_unique() {
    let app = TestApp::spawn().await;
    let admin = app.token(Role::Admin).await;
    let me = app.get("/api/v1/auth/me", &admin).await;
    let id = me.body["id"].as_str().expect("a string field");
    let r = app
        .call(Method::PATCH, &format!("/api/v1/team/members/{id}"), Some(&admin), Some(json!({"active": false})))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let email = me.body["email"].as_str().expect("a string field");
    let dup =
        app.post("/api/v1/team/members", Some(&admin), json!({"email": email, "name": "Twin", "role": "viewer"})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.code(), "email_taken");
    let bad = app
        .post("/api/v1/team/members", Some(&admin), json!({"email": "not-an-email", "name": "", "role": "root"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["fields"].as_array().map(Vec::len), Some(3));
}
