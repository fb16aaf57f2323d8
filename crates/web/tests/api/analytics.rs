//! Analytics read through their own pool: with DATABASE_READ_URL set, every analytics endpoint
//! reads the replica while writes still go to the primary; answers are cached per role and a
//! write through the application invalidates what it changes.

use crate::helpers::{Options, TestApp, venue_body};
use axum::http::StatusCode;
use bma_domain::access::Role;
use serde_json::json;
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
async fn both_pools_run_their_queries_without_postgresqls_jit_compiler() {
    let (_replica, replica_url) = bma_store::testing::fresh_database().await.expect("a second database");
    let app = TestApp::with(Options { env: vec![("DATABASE_READ_URL", replica_url)], ..Options::default() }).await;
    for pool in [&app.ctx.db, &app.ctx.read_db] {
        let jit: String = sqlx::query_scalar("SHOW jit").fetch_one(pool).await.expect("shown");
        assert_eq!(jit, "off");
    }
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

/// A venue with one monitored zone, written straight into the database (no cache moves).
async fn zone_of_a_venue(db: &sqlx::PgPool) -> (Uuid, Uuid) {
    let (venue, zone) = (Uuid::now_v7(), Uuid::now_v7());
    sqlx::query("INSERT INTO venues (id, name, timezone) VALUES ($1, 'Cached Hotel', 'UTC')")
        .bind(venue)
        .execute(db)
        .await
        .expect("a venue");
    sqlx::query("INSERT INTO zones (id, venue_id, name, soundtrack_device_id) VALUES ($1, $2, 'Lobby', $1::text)")
        .bind(zone)
        .bind(venue)
        .execute(db)
        .await
        .expect("a zone");
    (venue, zone)
}

/// Opens an alert behind the application's back: the cache is not told.
async fn alert_behind_the_cache(db: &sqlx::PgPool, zone: Uuid, kind: &str, severity: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO alerts (id, zone_id, alert_type, severity, message) VALUES ($1, $2, $3, $4, 'x')")
        .bind(id)
        .bind(zone)
        .bind(kind)
        .bind(severity)
        .execute(db)
        .await
        .expect("an alert");
    id
}

fn open_of(d: &serde_json::Value, severity: usize) -> &serde_json::Value {
    &d["alerts"]["by_severity"][severity]["open"]
}

#[tokio::test]
async fn the_dashboard_is_served_from_the_cache_until_an_alert_is_resolved() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Manager).await;
    let (_, zone) = zone_of_a_venue(&app.ctx.db).await;
    let critical = alert_behind_the_cache(&app.ctx.db, zone, "silent", "critical").await;
    let first = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!((open_of(&first.body, 2), open_of(&first.body, 1)), (&json!(1), &json!(0)), "one critical alert");

    alert_behind_the_cache(&app.ctx.db, zone, "paused", "warning").await;
    let cached = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(cached.text, first.text, "a write the application did not make is not seen until the entry expires");

    let resolved = app.post(&format!("/api/v1/monitoring/alerts/{critical}/resolve"), Some(&token), json!({})).await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text);
    let fresh = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(
        (open_of(&fresh.body, 2), open_of(&fresh.body, 1)),
        (&json!(0), &json!(1)),
        "resolving an alert invalidated the dashboard: {}",
        fresh.text
    );
}

/// The conversation figures from a day ago to a day ahead, in whole seconds, so that every request
/// of a test asks for the same cache entry.
fn conversations_around_now() -> String {
    let day = |d: i64| {
        (OffsetDateTime::now_utc() + time::Duration::days(d))
            .replace_nanosecond(0)
            .expect("whole seconds")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("an RFC 3339 time")
    };
    format!("/api/v1/analytics/conversations?from={}&to={}", day(-1), day(1))
}

#[tokio::test]
async fn assigning_a_conversation_invalidates_the_cached_dashboard_and_conversation_figures() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Manager).await;
    let member: Uuid =
        sqlx::query_scalar("SELECT id FROM team_members LIMIT 1").fetch_one(&app.ctx.db).await.expect("the manager");
    let (venue, _) = zone_of_a_venue(&app.ctx.db).await;
    let insert = "INSERT INTO conversations (id, venue_id, channel, external_id, status, created_at) \
                  VALUES ($1, $2, 'line', $1::text, 'open', now() - interval '1 hour')";
    let conversation = Uuid::now_v7();
    sqlx::query(insert).bind(conversation).bind(venue).execute(&app.ctx.db).await.expect("a conversation");
    let before = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(before.body["conversations"]["unassigned"], 1, "{}", before.text);
    let range = conversations_around_now();
    let figures = app.get(&range, &token).await;
    assert_eq!(figures.body["conversations"], 1, "{}", figures.text);

    sqlx::query(insert).bind(Uuid::now_v7()).bind(venue).execute(&app.ctx.db).await.expect("a second one");
    let cached = app.get(&range, &token).await;
    assert_eq!(cached.body["conversations"], 1, "served from the cache: {}", cached.text);

    let assigned = app
        .post(&format!("/api/v1/conversations/{conversation}/assign"), Some(&token), json!({"member_id": member}))
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.text);
    let after = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(
        (after.body["conversations"]["with_people"].clone(), after.body["conversations"]["unassigned"].clone()),
        (json!(2), json!(1)),
        "the dashboard was recomputed: {}",
        after.text
    );
    let figures = app.get(&range, &token).await;
    assert_eq!(figures.body["conversations"], 2, "the conversation figures were recomputed: {}", figures.text);
}

#[tokio::test]
async fn cached_reports_are_kept_apart_per_role_and_the_dashboard_shared_by_all() {
    let app = TestApp::spawn().await;
    let viewer = app.token(Role::Viewer).await;
    let manager = app.token(Role::Manager).await;
    let (venue, zone) = zone_of_a_venue(&app.ctx.db).await;
    let range = conversations_around_now();
    let seen_by_viewer = app.get(&range, &viewer).await;
    assert_eq!(seen_by_viewer.body["conversations"], 0, "{}", seen_by_viewer.text);
    let dashboard_for_viewer = app.get("/api/v1/analytics/dashboard", &viewer).await;
    assert_eq!(dashboard_for_viewer.body["alerts"]["open"], 0, "{}", dashboard_for_viewer.text);

    sqlx::query(
        "INSERT INTO conversations (id, venue_id, channel, external_id, status, created_at) \
         VALUES ($1, $2, 'line', $1::text, 'open', now() - interval '1 hour')",
    )
    .bind(Uuid::now_v7())
    .bind(venue)
    .execute(&app.ctx.db)
    .await
    .expect("a conversation behind the cache");
    alert_behind_the_cache(&app.ctx.db, zone, "silent", "critical").await;
    let manager_sees = app.get(&range, &manager).await;
    assert_eq!(manager_sees.body["conversations"], 1, "the manager's entry is its own: {}", manager_sees.text);
    let viewer_again = app.get(&range, &viewer).await;
    assert_eq!(viewer_again.body["conversations"], 0, "the viewer's entry is still cached: {}", viewer_again.text);
    // The dashboard names no member, so its figures are the same for every role that may read
    // it: one cached entry serves them all.
    let dashboard_for_manager = app.get("/api/v1/analytics/dashboard", &manager).await;
    assert_eq!(dashboard_for_manager.body["alerts"]["open"], 0, "shared: {}", dashboard_for_manager.text);
}

#[tokio::test]
async fn no_analytics_answer_carries_a_phone_number_a_line_id_or_an_email_address() {
    let app = TestApp::spawn().await;
    let manager_email = app.member(Role::Manager).await;
    let token = app.login(&manager_email, None).await.body["access_token"].as_str().expect("a token").to_owned();
    let member: Uuid = sqlx::query_scalar("SELECT id FROM team_members WHERE email = $1")
        .bind(&manager_email)
        .fetch_one(&app.ctx.db)
        .await
        .expect("the manager");
    let db = &app.ctx.db;
    let (venue, zone) = zone_of_a_venue(db).await;
    sqlx::query("UPDATE venues SET brand = 'Lotus', country = 'TH' WHERE id = $1")
        .bind(venue)
        .execute(db)
        .await
        .expect("brand");
    sqlx::query("INSERT INTO zone_monitor_state (zone_id, machine, observation) VALUES ($1, '{}', 'playing')")
        .bind(zone)
        .execute(db)
        .await
        .expect("a state");
    let phone = "+66812345678";
    let line_id = "U0123456789abcdef0123456789abcdef";
    let email = "khun.somchai@lotus-hotel.example";
    let now = OffsetDateTime::now_utc();
    let mut contacts = Vec::new();
    for (channel, address) in [("whatsapp", phone), ("line", line_id), ("email", email)] {
        let contact = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO venue_contacts (id, venue_id, name, channel, whatsapp_number, line_user_id, email) \
             VALUES ($1, $2, 'Somchai', $3, $4, $5, $6)",
        )
        .bind(contact)
        .bind(venue)
        .bind(channel)
        .bind((channel == "whatsapp").then_some(phone))
        .bind((channel == "line").then_some(line_id))
        .bind((channel == "email").then_some(email))
        .execute(db)
        .await
        .expect("a contact");
        contacts.push(contact);
        let conversation = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO conversations (id, venue_id, contact_id, channel, external_id, status, assigned_to, contact_name, \
                 reply_to, created_at, first_response_at, closed_at, waiting_since, survey_sent_at, survey_member_id) \
             VALUES ($1, $2, $3, $4, $5, 'open', $6, 'Somchai', $7, $8, $8 + interval '1 minute', $8 + interval '5 minutes', \
                 $8, $8 + interval '5 minutes', $6)",
        )
        .bind(conversation)
        .bind(venue)
        .bind(contact)
        .bind(channel)
        .bind(address)
        .bind(member)
        .bind((channel == "email").then_some(email))
        .bind(now - time::Duration::minutes(30))
        .execute(db)
        .await
        .expect("a conversation");
        sqlx::query(
            "INSERT INTO messages (id, conversation_id, sender_type, content, channel, external_id, direction) \
             VALUES ($1, $2, 'user', $3, $4, $3, 'in')",
        )
        .bind(Uuid::now_v7())
        .bind(conversation)
        .bind(format!("call me on {address}"))
        .bind(channel)
        .execute(db)
        .await
        .expect("a message");
        sqlx::query(
            "INSERT INTO satisfaction_scores (id, conversation_id, venue_id, score, feedback, member_id, channel) \
             VALUES ($1, $2, $3, 5, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(conversation)
        .bind(venue)
        .bind(format!("reach me at {address}"))
        .bind(member)
        .bind(channel)
        .execute(db)
        .await
        .expect("a score");
    }

    let mut paths = vec!["/api/v1/analytics/dashboard".to_owned()];
    for g in ["member", "venue", "brand", "country", "contact", "channel", "day", "week", "month"] {
        paths.push(format!("/api/v1/analytics/satisfaction?group_by={g}"));
        paths.push(format!("/api/v1/analytics/conversations?group_by={g}"));
    }
    for g in ["venue", "brand", "country", "zone_type"] {
        paths.push(format!("/api/v1/analytics/uptime?group_by={g}"));
    }
    let exports: Vec<String> = paths.iter().skip(1).map(|p| format!("{p}&format=csv")).collect();
    for path in &exports {
        let r = app.get(path, &token).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert!(r.text.lines().count() >= 2, "{path} exports the crafted data: {}", r.text);
        for secret in [phone, "66812345678", line_id, email, manager_email.as_str()] {
            assert!(!r.text.contains(secret), "{path} carries {secret}: {}", r.text);
        }
    }
    for path in &paths {
        let r = app.get(path, &token).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        let reported = if path.contains("/satisfaction") {
            r.body["surveys_sent"] == 3 && r.body["groups"].as_array().is_some_and(|g| !g.is_empty())
        } else if path.contains("/conversations") {
            r.body["conversations"] == 3 && r.body["groups"].as_array().is_some_and(|g| !g.is_empty())
        } else if path.contains("/uptime") {
            r.body.as_array().is_some_and(|rows| rows.len() == 1)
        } else {
            r.body["messages"]["inbound"] == 3 && r.body["conversations"]["waiting"] == 3
        };
        assert!(reported, "{path} reports the crafted data: {}", r.text);
        for secret in [phone, "66812345678", line_id, email, manager_email.as_str()] {
            assert!(!r.text.contains(secret), "{path} carries {secret}: {}", r.text);
        }
    }
    let by_contact = |r: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = r["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| g["key"].as_str().expect("a pseudonym").to_owned())
            .collect();
        keys.sort();
        keys
    };
    let first = by_contact(&app.get("/api/v1/analytics/conversations?group_by=contact", &token).await.body);
    let again = by_contact(&app.get("/api/v1/analytics/satisfaction?group_by=contact", &token).await.body);
    assert_eq!(first.len(), 3, "one pseudonym per contact: {first:?}");
    assert_eq!(first, again, "a contact reads the same in every report");
    for key in &first {
        assert!(key.starts_with("contact-") && key.len() == 24, "{key}");
        assert!(contacts.iter().all(|c| !key.contains(&c.simple().to_string()[..8])), "{key} hides the contact's id");
    }
}

#[tokio::test]
async fn analytics_export_as_csv_with_the_total_first_then_a_row_per_group() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let (venue, _) = zone_of_a_venue(db).await;
    let at = OffsetDateTime::now_utc() - time::Duration::hours(2);
    for (channel, score) in [("line", 5), ("whatsapp", 2)] {
        let conversation = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO conversations (id, venue_id, channel, external_id, status, created_at, survey_sent_at) \
             VALUES ($1, $2, $3, $1::text, 'closed', $4, $4)",
        )
        .bind(conversation)
        .bind(venue)
        .bind(channel)
        .bind(at)
        .execute(db)
        .await
        .expect("a conversation");
        sqlx::query("INSERT INTO satisfaction_scores (id, conversation_id, venue_id, score) VALUES ($1, $2, $3, $4)")
            .bind(Uuid::now_v7())
            .bind(conversation)
            .bind(venue)
            .bind(score)
            .execute(db)
            .await
            .expect("a score");
    }

    let sat = app.get("/api/v1/analytics/satisfaction?group_by=channel&format=csv", &token).await;
    assert_eq!(sat.status, StatusCode::OK, "{}", sat.text);
    assert_eq!(sat.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(sat.headers["content-disposition"], "attachment; filename=\"satisfaction.csv\"");
    assert_eq!(
        sat.text,
        "key,label,surveys_sent,responses,response_rate,satisfied_share,average,score_1,score_2,score_3,score_4,score_5\n\
         ,all,2,2,1,0.5,3.5,0,1,0,0,1\n\
         line,line,1,1,1,1,5,0,0,0,0,1\n\
         whatsapp,whatsapp,1,1,1,0,2,0,1,0,0,0\n"
    );

    let convs = app.get("/api/v1/analytics/conversations?format=csv", &token).await;
    assert_eq!(convs.status, StatusCode::OK, "{}", convs.text);
    assert_eq!(
        convs.text,
        "key,label,conversations,inbound_messages,outbound_messages,responded,avg_first_response_seconds,\
         median_first_response_seconds,closed,avg_resolution_seconds,median_resolution_seconds\n\
         ,all,2,0,0,0,,,0,,\n"
    );

    let uptime = app.get("/api/v1/analytics/uptime?group_by=brand&format=csv", &token).await;
    assert_eq!(uptime.status, StatusCode::OK, "{}", uptime.text);
    let lines: Vec<&str> = uptime.text.lines().collect();
    assert_eq!(lines[0], "key,label,zones,up_seconds,down_seconds,unknown_seconds,excluded_seconds,uptime_percentage");
    assert_eq!(lines.len(), 2, "one brand row: {}", uptime.text);
    assert!(lines[1].starts_with("(none),,1,0,0,"), "the venue without a brand, nothing measured: {}", lines[1]);
    assert!(lines[1].ends_with(','), "no percentage without measurement: {}", lines[1]);

    let bad = app.get("/api/v1/analytics/satisfaction?format=xlsx", &token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert_eq!(bad.body["error"]["fields"][0]["field"], "format", "{}", bad.text);
}

#[tokio::test]
async fn days_follow_the_asked_time_zone_or_each_venues_own_and_groups_go_by_brand_and_country() {
    use bma_domain::clock::test_day_at;
    let app = TestApp::spawn().await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let mut venues = Vec::new();
    for (tz, brand, country) in [("Asia/Bangkok", Some("Lotus"), "TH"), ("UTC", None, "SG")] {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO venues (id, name, brand, country, timezone) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(format!("In {tz}"))
            .bind(brand)
            .bind(country)
            .bind(tz)
            .execute(db)
            .await
            .expect("a venue");
        venues.push(id);
    }
    // 23:30 UTC three days ago at the Bangkok venue (06:30 there the next day), and 23:30 UTC two
    // days ago at the UTC venue.
    for (venue, at) in [(venues[0], test_day_at(-3, 23, 30)), (venues[1], test_day_at(-2, 23, 30))] {
        sqlx::query(
            "INSERT INTO conversations (id, venue_id, channel, external_id, status, created_at) \
             VALUES ($1, $2, 'line', $1::text, 'open', $3)",
        )
        .bind(Uuid::now_v7())
        .bind(venue)
        .bind(at)
        .execute(db)
        .await
        .expect("a conversation");
    }
    let day = |d: i64| test_day_at(d, 0, 0).date().to_string();
    let rfc = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).expect("RFC 3339");
    let range = format!("from={}&to={}", rfc(test_day_at(-6, 0, 0)), rfc(test_day_at(0, 0, 0)));
    let groups = |body: &serde_json::Value| -> Vec<(String, i64)> {
        body["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| (g["label"].as_str().expect("a label").to_owned(), g["conversations"].as_i64().expect("a count")))
            .collect()
    };
    let by = |q: String| {
        let app = &app;
        let token = &token;
        async move {
            let r = app.get(&format!("/api/v1/analytics/conversations?{q}"), token).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
            r.body
        }
    };

    let utc = by(format!("{range}&group_by=day")).await;
    assert_eq!(groups(&utc), vec![(day(-3), 1), (day(-2), 1)], "UTC days by default");
    let bangkok = by(format!("{range}&group_by=day&tz=Asia/Bangkok")).await;
    assert_eq!(groups(&bangkok), vec![(day(-2), 1), (day(-1), 1)], "the viewer's days, seven hours ahead");
    let own = by(format!("{range}&group_by=day&tz=venue")).await;
    assert_eq!(groups(&own), vec![(day(-2), 2)], "each venue's own day");

    let brands = by(format!("{range}&group_by=brand")).await;
    assert_eq!(groups(&brands), vec![("(none)".to_owned(), 1), ("Lotus".to_owned(), 1)]);
    let countries = by(format!("{range}&group_by=country")).await;
    assert_eq!(groups(&countries), vec![("SG".to_owned(), 1), ("TH".to_owned(), 1)]);

    let bad = app.get(&format!("/api/v1/analytics/satisfaction?{range}&group_by=day&tz=Mars/Olympus"), &token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert_eq!(bad.body["error"]["fields"][0]["field"], "tz", "{}", bad.text);
}

#[tokio::test]
async fn uptime_reports_read_whole_rolled_up_days_from_their_rollups_and_the_rest_from_the_log() {
    use bma_domain::clock::test_day_at;
    let app = TestApp::spawn().await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let (venue, zone) = zone_of_a_venue(db).await;
    bma_store::monitoring::log(
        db,
        zone,
        bma_store::monitoring::LogEntry::Health(bma_domain::monitoring::Health::Down),
        test_day_at(-10, 0, 0),
    )
    .await
    .expect("down for ten days");
    sqlx::query(
        "INSERT INTO uptime_rollups (zone_id, venue_id, period, starts_at, up_seconds, down_seconds, unknown_seconds, \
             excluded_seconds) VALUES ($1, $2, 'day', $3, 72000, 0, 14400, 0)",
    )
    .bind(zone)
    .bind(venue)
    .bind(test_day_at(-3, 0, 0))
    .execute(db)
    .await
    .expect("a daily rollup");
    let rfc = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).expect("RFC 3339");
    let path = format!(
        "/api/v1/analytics/uptime?group_by=venue&since={}&until={}",
        rfc(test_day_at(-5, 12, 0)),
        rfc(test_day_at(0, 12, 0))
    );
    let r = app.get(&path, &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let row = &r.body[0];
    assert_eq!(
        (row["up_seconds"].clone(), row["down_seconds"].clone(), row["unknown_seconds"].clone()),
        (json!(72_000), json!(4 * 86_400), json!(14_400)),
        "day -3 from its rollup, the other four days from the log: {row}"
    );
    // By brand and by country the rolled-up day comes from the groups' sums, with the same result.
    for group in ["brand", "country"] {
        let r = app.get(&path.replace("group_by=venue", &format!("group_by={group}")), &token).await;
        let row = &r.body[0];
        assert_eq!(
            (
                row["zones"].clone(),
                row["up_seconds"].clone(),
                row["down_seconds"].clone(),
                row["unknown_seconds"].clone()
            ),
            (json!(1), json!(72_000), json!(4 * 86_400), json!(14_400)),
            "by {group}: {}",
            r.text
        );
    }
    let days = app.get(&path.replace("group_by=venue", "group_by=day"), &token).await;
    let rolled_day = days.body.as_array().and_then(|d| d.iter().find(|r| r["up_seconds"] == 72_000)).cloned();
    assert_eq!(
        rolled_day.map(|r| (r["zones"].clone(), r["down_seconds"].clone(), r["unknown_seconds"].clone())),
        Some((json!(1), json!(0), json!(14_400))),
        "the rolled-up day by day in UTC, from the fleet's sum: {}",
        days.text
    );
}

#[tokio::test]
async fn seeded_history_fills_every_analytics_figure_and_the_dashboard_reads_its_rollups() {
    use bma_domain::clock::{Clock, test_day_at};
    let now = test_day_at(0, 12, 0);
    let app = TestApp::with(Options { clock: Some(Clock::virtual_at(now)), ..Options::default() }).await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let plan = bma_store::seed::SeedPlan { venues: 30, zones: 80, seed: 7, soundtrack_ids: true };
    bma_store::seed::seed_fleet(db, &plan, |_, _| {}).await.expect("a fleet");
    let mut ticks = Vec::new();
    let h = bma_store::seed_history::seed_history(db, 40, 7, now, |done, total| ticks.push((done, total)))
        .await
        .expect("history");
    assert_eq!(ticks, vec![(30, 40), (40, 40)], "progress a month at a time");
    let zones: i64 = sqlx::query_scalar("SELECT count(*) FROM zones").fetch_one(db).await.expect("zones");
    assert_eq!(h.rollups, u64::try_from(zones * 40).expect("count"), "a daily rollup per zone and day");
    let downs: i64 = sqlx::query_scalar("SELECT count(*) FROM uptime_rollups WHERE down_seconds > 0")
        .fetch_one(db)
        .await
        .expect("down days");
    assert_eq!(h.alerts, u64::try_from(downs).expect("count"), "an alert for each day with downtime");
    assert!(h.conversations > 0 && h.messages >= 2 * h.conversations && h.scores > 0, "{h:?}");
    let last: OffsetDateTime =
        sqlx::query_scalar("SELECT max(created_at) FROM messages").fetch_one(db).await.expect("max");
    assert!(last < now, "no message from the future");

    let d = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let week = &d.body["uptime"]["last_7_days"];
    let rolled: i64 = sqlx::query_scalar(
        "SELECT sum(up_seconds)::bigint FROM uptime_rollups WHERE period = 'day' AND starts_at >= $1 AND starts_at < $2",
    )
    .bind(test_day_at(-6, 0, 0))
    .bind(test_day_at(0, 0, 0))
    .fetch_one(db)
    .await
    .expect("rolled-up seconds");
    let fleet_up = |period: &'static str, from: OffsetDateTime, to: OffsetDateTime| async move {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT sum(up_seconds)::bigint FROM uptime_group_rollups \
             WHERE scope = 'fleet' AND period = $1 AND starts_at >= $2 AND starts_at < $3",
        )
        .bind(period)
        .bind(from)
        .bind(to)
        .fetch_one(db)
        .await
        .expect("the fleet's seconds")
        .unwrap_or(0)
    };
    let (seventh, sixth) = (test_day_at(-7, 0, 0), test_day_at(-6, 0, 0));
    assert_eq!(
        fleet_up("hour", seventh, sixth).await,
        fleet_up("day", seventh, sixth).await,
        "a day's hours add up to it"
    );
    let afternoon = fleet_up("hour", now - time::Duration::days(7), sixth).await;
    assert!(afternoon > 0, "the seed wrote the fleet's hours");
    assert_eq!(
        week["up_seconds"],
        rolled + afternoon,
        "six whole days from the daily rollups, the seventh's last 12 hours from the fleet's hourly sums (the log is empty): {week}"
    );
    assert!(d.body["satisfaction"]["last_30_days"]["answers"].as_i64().unwrap_or(0) > 0, "{}", d.text);
    let convs = app.get("/api/v1/analytics/conversations?group_by=week", &token).await;
    assert!(convs.body["conversations"].as_i64().unwrap_or(0) > 0, "{}", convs.text);
}
