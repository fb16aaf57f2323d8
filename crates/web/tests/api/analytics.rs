//! Analytics read through their own pool: with DATABASE_READ_URL set, every analytics endpoint
//! reads the replica while writes still go to the primary.

use crate::helpers::{Options, TestApp, venue_body};
use axum::http::StatusCode;
use bma_domain::access::Role;
use time::OffsetDateTime;
use uuid::Uuid;

/// Writes into `db` a venue with one zone, and a conversation an hour old whose survey was
/// answered with a 5: figures that only a reader of `db` can see.
async fn distinguishable_figures(db: &sqlx::PgPool, venue_name: &str) {
    let now = OffsetDateTime::now_utc();
    let venue = Uuid::now_v7();
    sqlx::query("INSERT INTO venues (id, name, timezone) VALUES ($1, $2, 'UTC')")
        .bind(venue)
        .bind(venue_name)
        .execute(db)
        .await
        .expect("a venue in the replica");
    sqlx::query("INSERT INTO zones (id, venue_id, name) VALUES ($1, $2, 'Lobby')")
        .bind(Uuid::now_v7())
        .bind(venue)
        .execute(db)
        .await
        .expect("a zone in the replica");
    let conversation = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO conversations (id, venue_id, channel, external_id, status, created_at, survey_sent_at) \
         VALUES ($1, $2, 'line', 'replica-thread', 'closed', $3, $3)",
    )
    .bind(conversation)
    .bind(venue)
    .bind(now - time::Duration::HOUR)
    .execute(db)
    .await
    .expect("a conversation in the replica");
    sqlx::query("INSERT INTO satisfaction_scores (id, conversation_id, venue_id, score) VALUES ($1, $2, $3, 5)")
        .bind(Uuid::now_v7())
        .bind(conversation)
        .bind(venue)
        .execute(db)
        .await
        .expect("a score in the replica");
}

#[tokio::test]
async fn with_a_read_url_analytics_read_the_replica_while_writes_go_to_the_primary() {
    let (replica, replica_url) = bma_store::testing::fresh_database().await.expect("a second database");
    let app = TestApp::with(Options { env: vec![("DATABASE_READ_URL", replica_url)], ..Options::default() }).await;
    let token = app.token(Role::Manager).await;
    distinguishable_figures(&replica, "Replica Hotel").await;

    let convs = app.get("/api/v1/analytics/conversations", &token).await;
    assert_eq!(convs.status, StatusCode::OK, "{}", convs.text);
    assert_eq!(convs.body["conversations"], 1, "the replica's conversation is counted: {}", convs.text);
    let sat = app.get("/api/v1/analytics/satisfaction", &token).await;
    assert_eq!(sat.status, StatusCode::OK, "{}", sat.text);
    assert_eq!(sat.body["surveys_sent"], 1, "{}", sat.text);
    assert_eq!(sat.body["distribution"][4], 1, "the replica's 5 is counted: {}", sat.text);
    let uptime = app.get("/api/v1/analytics/uptime?group_by=venue", &token).await;
    assert_eq!(uptime.status, StatusCode::OK, "{}", uptime.text);
    let labels: Vec<&str> = uptime.body.as_array().expect("rows").iter().filter_map(|r| r["label"].as_str()).collect();
    assert_eq!(labels, vec!["Replica Hotel"], "uptime lists the replica's venue only");

    let in_primary: i64 =
        sqlx::query_scalar("SELECT count(*) FROM conversations").fetch_one(&app.ctx.db).await.expect("count");
    assert_eq!(in_primary, 0, "the figures came from the replica, not the primary");

    let made = app.post("/api/v1/venues", Some(&token), venue_body("Written Hotel")).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let named = "SELECT count(*) FROM venues WHERE name = 'Written Hotel'";
    let primary: i64 = sqlx::query_scalar(named).fetch_one(&app.ctx.db).await.expect("count in the primary");
    let read: i64 = sqlx::query_scalar(named).fetch_one(&replica).await.expect("count in the replica");
    assert_eq!((primary, read), (1, 0), "a write goes to the primary only");
}

#[tokio::test]
async fn without_a_read_url_analytics_read_the_primary() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Viewer).await;
    distinguishable_figures(&app.ctx.db, "Primary Hotel").await;
    let convs = app.get("/api/v1/analytics/conversations", &token).await;
    assert_eq!(convs.status, StatusCode::OK, "{}", convs.text);
    assert_eq!(convs.body["conversations"], 1, "{}", convs.text);
}
