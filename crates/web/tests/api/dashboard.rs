//! `GET /api/v1/analytics/dashboard` on crafted data: zones in known states, alerts of known
//! severities and ages, conversations with known waits and times, messages per channel, scores
//! and health changes; every figure checked against values computed by hand in the comments.

use crate::helpers::{Options, TestApp};
use axum::http::{Method, StatusCode};
use bma_domain::access::Role;
use bma_domain::clock::{Clock, test_day_at};
use bma_domain::monitoring::Health;
use bma_store::monitoring::LogEntry;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Noon UTC on the test's day: "today" runs from midnight, twelve hours.
fn now() -> OffsetDateTime {
    test_day_at(0, 12, 0)
}

fn mins(n: i64) -> Duration {
    Duration::minutes(n)
}

async fn venue(db: &PgPool, name: &str, brand: Option<&str>, country: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO venues (id, name, brand, country, timezone) VALUES ($1, $2, $3, $4, 'UTC')")
        .bind(id)
        .bind(name)
        .bind(brand)
        .bind(country)
        .execute(db)
        .await
        .expect("a venue");
    id
}

/// A zone linked to Soundtrack (unless `linked` is false) whose latest observation is
/// `observation` (None: never observed).
async fn zone(db: &PgPool, venue: Uuid, observation: Option<&str>, linked: bool, archived: bool) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO zones (id, venue_id, name, soundtrack_device_id, archived_at) \
         VALUES ($1, $2, 'Zone', CASE WHEN $3 THEN $1::text END, CASE WHEN $4 THEN now() END)",
    )
    .bind(id)
    .bind(venue)
    .bind(linked)
    .bind(archived)
    .execute(db)
    .await
    .expect("a zone");
    if let Some(o) = observation {
        sqlx::query("INSERT INTO zone_monitor_state (zone_id, machine, observation) VALUES ($1, '{}', $2)")
            .bind(id)
            .bind(o)
            .execute(db)
            .await
            .expect("a zone state");
    }
    id
}

async fn alert(db: &PgPool, zone: Uuid, kind: &str, severity: &str, opened: OffsetDateTime, resolved: bool) {
    sqlx::query(
        "INSERT INTO alerts (id, zone_id, alert_type, severity, message, created_at, resolved) \
         VALUES ($1, $2, $3, $4, 'crafted', $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(zone)
    .bind(kind)
    .bind(severity)
    .bind(opened)
    .bind(resolved)
    .execute(db)
    .await
    .expect("an alert");
}

#[derive(Default)]
struct Conv {
    channel: &'static str,
    status: &'static str,
    assigned_to: Option<Uuid>,
    created: Option<OffsetDateTime>,
    waiting_since: Option<OffsetDateTime>,
    first_response: Option<OffsetDateTime>,
    closed: Option<OffsetDateTime>,
}

async fn conversation(db: &PgPool, venue: Uuid, c: Conv) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO conversations (id, venue_id, channel, external_id, status, assigned_to, created_at, waiting_since, \
             first_response_at, closed_at) VALUES ($1, $2, $3, $1::text, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(venue)
    .bind(c.channel)
    .bind(c.status)
    .bind(c.assigned_to)
    .bind(c.created.unwrap_or_else(|| now() - Duration::days(90)))
    .bind(c.waiting_since)
    .bind(c.first_response)
    .bind(c.closed)
    .execute(db)
    .await
    .expect("a conversation");
    id
}

/// A message of `conversation`; `channel` None leaves the message's own channel unset (older
/// rows), so the conversation's counts.
async fn message(db: &PgPool, conversation: Uuid, channel: Option<&str>, direction: &str, at: OffsetDateTime) {
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, sender_type, content, channel, direction, created_at) \
         VALUES ($1, $2, CASE WHEN $4 = 'in' THEN 'user' ELSE 'team' END, 'crafted', $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(conversation)
    .bind(channel)
    .bind(direction)
    .bind(at)
    .execute(db)
    .await
    .expect("a message");
}

async fn score(db: &PgPool, venue: Uuid, score: i32, at: OffsetDateTime) {
    let c = conversation(db, venue, Conv { channel: "line", status: "closed", ..Conv::default() }).await;
    sqlx::query("INSERT INTO satisfaction_scores (id, conversation_id, venue_id, score, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(Uuid::now_v7())
        .bind(c)
        .bind(venue)
        .bind(score)
        .bind(at)
        .execute(db)
        .await
        .expect("a score");
}

async fn health(db: &PgPool, zone: Uuid, h: Health, at: OffsetDateTime) {
    bma_store::monitoring::log(db, zone, LogEntry::Health(h), at).await.expect("a health change");
}

#[tokio::test]
async fn each_section_is_cached_on_its_own_and_moves_only_with_the_scope_of_its_writes() {
    let app = app_at_noon().await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let v = venue(db, "Hilton Pattaya", None, "TH").await;
    zone(db, v, Some("playing"), true, false).await;
    let first = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(first.body["fleet"]["total"]["zones"], 1, "{}", first.text);
    assert_eq!(first.body["satisfaction"]["last_7_days"]["answers"], 0, "{}", first.text);

    // Written behind the application's back: no scope moves, both sections stay as cached.
    zone(db, v, Some("paused"), true, false).await;
    score(db, v, 5, now() - Duration::hours(1)).await;
    let cached = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(cached.body["fleet"]["total"]["zones"], 1, "{}", cached.text);
    assert_eq!(cached.body["satisfaction"]["last_7_days"]["answers"], 0, "{}", cached.text);

    bma_app::cache::bump(&app.ctx, bma_app::cache::FLEET).await.expect("the fleet scope moves");
    let fleet_moved = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(fleet_moved.body["fleet"]["total"]["silent"], 1, "the fleet is made afresh: {}", fleet_moved.text);
    assert_eq!(fleet_moved.body["satisfaction"]["last_7_days"]["answers"], 0, "scores still cached");

    bma_app::cache::bump(&app.ctx, bma_app::cache::SCORES).await.expect("the scores scope moves");
    let scores_moved = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(scores_moved.body["satisfaction"]["last_7_days"]["answers"], 1, "{}", scores_moved.text);
}

#[tokio::test]
async fn the_refresh_job_remakes_every_section_so_members_find_them_made() {
    let app = app_at_noon().await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let v = venue(db, "Hilton Pattaya", None, "TH").await;
    let first = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(first.body["satisfaction"]["last_7_days"]["answers"], 0, "{}", first.text);
    // Written behind the application's back: only a remake can show it.
    score(db, v, 5, now() - Duration::hours(1)).await;
    zone(db, v, Some("playing"), true, false).await;
    bma_app::jobs::Handler::run(
        &bma_app::services::dashboard::RefreshDashboard,
        &app.ctx,
        bma_app::jobs::tasks::DashboardRefreshJob::default(),
    )
    .await
    .expect("the refresh runs");
    let after = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(after.body["satisfaction"]["last_7_days"]["answers"], 1, "{}", after.text);
    assert_eq!(after.body["fleet"]["total"]["playing"], 1, "{}", after.text);
}

#[tokio::test]
async fn group_rollups_follow_every_insert_rewrite_and_delete_of_zone_rollups() {
    use bma_store::monitoring::{Rollup, save_rollups};
    let app = app_at_noon().await;
    let db = &app.ctx.db;
    let hilton = venue(db, "Hilton Pattaya", Some("Hilton"), "TH").await;
    let plain = venue(db, "Corner Cafe", None, "SG").await;
    let (a, b) = (zone(db, hilton, None, true, false).await, zone(db, plain, None, true, false).await);
    let day = test_day_at(-1, 0, 0);
    let r =
        |zone_id, venue_id, up, down| Rollup { zone_id, venue_id, up, down, unknown: 0, excluded: 0, ends: Health::Up };
    save_rollups(db, bma_domain::monitoring::RollupPeriod::Day, day, &[r(a, hilton, 100, 10), r(b, plain, 200, 20)])
        .await
        .expect("written");
    save_rollups(db, bma_domain::monitoring::RollupPeriod::Day, day, &[r(b, plain, 300, 30)]).await.expect("rewritten");
    let groups = || async {
        let mut g: Vec<(String, String, i32, i64, i64)> = sqlx::query_as(
            "SELECT scope, key, zones, up_seconds, down_seconds FROM uptime_group_rollups WHERE starts_at = $1",
        )
        .bind(day)
        .fetch_all(db)
        .await
        .expect("groups");
        g.sort();
        g
    };
    let row = |scope: &str, key: &str, zones, up, down| (scope.to_owned(), key.to_owned(), zones, up, down);
    assert_eq!(
        groups().await,
        vec![
            row("brand", "", 1, 300, 30),
            row("brand", "Hilton", 1, 100, 10),
            row("country", "SG", 1, 300, 30),
            row("country", "TH", 1, 100, 10),
            row("fleet", "", 2, 400, 40),
        ],
        "a rewrite replaces the zone's share; it does not add to it"
    );
    sqlx::query("DELETE FROM zones WHERE id = $1").bind(a).execute(db).await.expect("the zone goes");
    assert_eq!(
        groups().await,
        vec![
            row("brand", "", 1, 300, 30),
            row("brand", "Hilton", 0, 0, 0),
            row("country", "SG", 1, 300, 30),
            row("country", "TH", 0, 0, 0),
            row("fleet", "", 1, 300, 30),
        ],
        "a zone's deletion takes its rollups out of every group"
    );
}

fn close(v: &Value, expected: f64, what: &str) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{what} is a number: {v}"));
    assert!((got - expected).abs() < 1e-6, "{what}: expected {expected}, got {got}");
}

async fn app_at_noon() -> TestApp {
    TestApp::with(Options { clock: Some(Clock::virtual_at(now())), ..Options::default() }).await
}

#[tokio::test]
async fn the_dashboard_reports_every_figure_of_crafted_data_as_computed_by_hand() {
    let app = app_at_noon().await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let n = now();
    let midnight = test_day_at(0, 0, 0);
    let member: Uuid = sqlx::query_scalar("SELECT id FROM team_members LIMIT 1").fetch_one(db).await.expect("member");

    // Fleet: 8 monitored zones; an archived and an unlinked zone are not in it.
    let v1 = venue(db, "Alpha", Some("Lotus"), "TH").await;
    let v2 = venue(db, "Bravo", Some("Lotus"), "SG").await;
    let v3 = venue(db, "Charlie", None, "TH").await;
    let z1 = zone(db, v1, Some("playing"), true, false).await;
    let _z2 = zone(db, v1, Some("offline_cached"), true, false).await;
    let z3 = zone(db, v1, Some("paused"), true, false).await;
    let z4 = zone(db, v1, Some("offline"), true, false).await;
    let z5 = zone(db, v2, Some("muted"), true, false).await;
    let _z6 = zone(db, v2, None, true, false).await;
    let z7 = zone(db, v3, Some("unpaired"), true, false).await;
    let z8 = zone(db, v3, Some("unknown"), true, false).await;
    let _archived = zone(db, v1, Some("playing"), true, true).await;
    let _unlinked = zone(db, v3, Some("playing"), false, false).await;

    // Alerts: critical 30 min, 3 h, 10 days old; warning exactly 1 h and 2 days old; an
    // info alert already resolved.
    alert(db, z1, "silent", "critical", n - mins(30), false).await;
    alert(db, z4, "silent", "critical", n - Duration::hours(3), false).await;
    alert(db, z3, "paused", "critical", n - Duration::days(10), false).await;
    alert(db, z5, "muted", "warning", n - Duration::HOUR, false).await;
    alert(db, z7, "unpaired", "warning", n - Duration::days(2), false).await;
    alert(db, z8, "flapping", "info", n - mins(5), true).await;

    // Conversations: c1 open, unassigned, waiting 40 min; c2 open, assigned, waiting 15 min,
    // answered today after 600 s; c3 with the bot, answered after 120 s; c4 snoozed, answered
    // yesterday; c5 closed today 13 h after it began (a stale wait is not counted); c6 answered
    // after 3600 s and closed after 9000 s.
    let at = |m: i64| Some(n - mins(m));
    let c1 = conversation(
        db,
        v1,
        Conv { channel: "whatsapp", status: "open", created: at(50), waiting_since: at(40), ..Conv::default() },
    )
    .await;
    let c2 = conversation(
        db,
        v1,
        Conv {
            channel: "line",
            status: "open",
            assigned_to: Some(member),
            created: at(120),
            waiting_since: at(15),
            first_response: at(110),
            ..Conv::default()
        },
    )
    .await;
    let c3 = conversation(
        db,
        v2,
        Conv { channel: "line", status: "pending", created: at(60), first_response: at(58), ..Conv::default() },
    )
    .await;
    conversation(
        db,
        v2,
        Conv {
            channel: "email",
            status: "snoozed",
            assigned_to: Some(member),
            created: Some(n - Duration::DAY),
            first_response: Some(n - Duration::DAY + mins(5)),
            ..Conv::default()
        },
    )
    .await;
    let c5 = conversation(
        db,
        v3,
        Conv {
            channel: "email",
            status: "closed",
            created: Some(midnight - Duration::hours(2)),
            waiting_since: Some(n - Duration::hours(5)),
            first_response: Some(midnight - Duration::HOUR),
            closed: at(60),
            ..Conv::default()
        },
    )
    .await;
    let c6 = conversation(
        db,
        v3,
        Conv {
            channel: "whatsapp",
            status: "closed",
            created: at(180),
            first_response: at(120),
            closed: at(30),
            ..Conv::default()
        },
    )
    .await;

    // Messages today: WhatsApp 3 in, 2 out (a note and yesterday's message left out); LINE 2 in,
    // 2 out (c3's rows carry no channel of their own); email none today.
    message(db, c1, Some("whatsapp"), "in", n - mins(50)).await;
    message(db, c1, Some("whatsapp"), "out", n - mins(45)).await;
    message(db, c1, Some("whatsapp"), "in", n - mins(40)).await;
    message(db, c6, Some("whatsapp"), "in", n - mins(180)).await;
    message(db, c6, Some("whatsapp"), "out", n - mins(120)).await;
    message(db, c6, Some("whatsapp"), "note", n - mins(119)).await;
    message(db, c6, Some("whatsapp"), "in", midnight - Duration::HOUR).await;
    message(db, c2, Some("line"), "in", n - mins(120)).await;
    message(db, c2, Some("line"), "out", n - mins(110)).await;
    message(db, c3, None, "in", n - mins(60)).await;
    message(db, c3, None, "out", n - mins(58)).await;
    message(db, c5, Some("email"), "in", midnight - Duration::hours(2)).await;

    // Scores: last 7 days 5, 4, 2 (avg 11/3); the 7 before 3, 3 (avg 3); last 30 days adds a 1
    // (5, 4, 2, 3, 3, 1: avg 3, 2 of 6 satisfied); the 30 before a 4.
    for (s, days) in [(5, 1), (4, 2), (2, 6), (3, 8), (3, 13), (1, 20), (4, 45)] {
        score(db, v1, s, n - Duration::days(days)).await;
    }

    // Health: z1 down 20 days ago, up 48 h ago; z4 up 48 h ago, down 2 h ago; the other seven
    // live zones (the unlinked one included, as uptime counts every live zone) have no evidence.
    health(db, z1, Health::Down, n - Duration::days(20)).await;
    health(db, z1, Health::Up, n - Duration::hours(48)).await;
    health(db, z4, Health::Up, n - Duration::hours(48)).await;
    health(db, z4, Health::Down, n - Duration::hours(2)).await;

    let r = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let d = &r.body;

    assert_eq!(d["today_since"], json!(midnight.format(&time::format_description::well_known::Rfc3339).expect("fmt")));
    assert_eq!(d["fleet"]["total"], json!({"zones": 8, "playing": 2, "silent": 2, "offline": 2, "unknown": 2}));
    assert_eq!(
        d["fleet"]["by_brand"],
        json!([
            {"key": null, "zones": 2, "playing": 0, "silent": 0, "offline": 1, "unknown": 1},
            {"key": "Lotus", "zones": 6, "playing": 2, "silent": 2, "offline": 1, "unknown": 1},
        ])
    );
    assert_eq!(
        d["fleet"]["by_country"],
        json!([
            {"key": "SG", "zones": 2, "playing": 0, "silent": 1, "offline": 0, "unknown": 1},
            {"key": "TH", "zones": 6, "playing": 2, "silent": 1, "offline": 2, "unknown": 1},
        ])
    );

    // Venues with a zone silent or offline, most first, ties by name.
    assert_eq!(
        d["fleet"]["venues_with_problems"],
        json!([
            {"venue_id": v1, "name": "Alpha", "zones": 4, "playing": 2, "silent": 1, "offline": 1, "unknown": 0},
            {"venue_id": v2, "name": "Bravo", "zones": 2, "playing": 0, "silent": 1, "offline": 0, "unknown": 1},
            {"venue_id": v3, "name": "Charlie", "zones": 2, "playing": 0, "silent": 0, "offline": 1, "unknown": 1},
        ])
    );

    assert_eq!(d["alerts"]["open"], 5);
    assert_eq!(
        d["alerts"]["by_severity"],
        json!([
            {"severity": "info", "open": 0, "under_one_hour": 0, "one_to_twenty_four_hours": 0, "one_to_seven_days": 0, "seven_days_or_more": 0},
            {"severity": "warning", "open": 2, "under_one_hour": 0, "one_to_twenty_four_hours": 1, "one_to_seven_days": 1, "seven_days_or_more": 0},
            {"severity": "critical", "open": 3, "under_one_hour": 1, "one_to_twenty_four_hours": 1, "one_to_seven_days": 0, "seven_days_or_more": 1},
        ])
    );
    let oldest = (n - Duration::days(10)).format(&time::format_description::well_known::Rfc3339).expect("fmt");
    assert_eq!(d["alerts"]["oldest_opened_at"], json!(oldest));

    assert_eq!(
        d["conversations"],
        json!({"open": 4, "with_people": 2, "with_bot": 1, "snoozed": 1, "unassigned": 1, "waiting": 2,
               "longest_wait_seconds": 2400})
    );

    let t = &d["response_times"];
    assert_eq!(t["first_responses"], 3, "600 s, 120 s and 3600 s today: {t}");
    close(&t["avg_first_response_seconds"], 1440.0, "average first response");
    close(&t["median_first_response_seconds"], 600.0, "median first response");
    assert_eq!(t["resolved"], 2, "{t}");
    close(&t["avg_resolution_seconds"], 27_900.0, "average resolution (46800 and 9000)");
    close(&t["median_resolution_seconds"], 27_900.0, "median resolution");

    assert_eq!(
        d["messages"],
        json!({"inbound": 5, "outbound": 4, "by_channel": [
            {"channel": "whatsapp", "inbound": 3, "outbound": 2},
            {"channel": "line", "inbound": 2, "outbound": 2},
            {"channel": "email", "inbound": 0, "outbound": 0},
        ]})
    );

    let s7 = &d["satisfaction"]["last_7_days"];
    assert_eq!(
        (s7["days"].clone(), s7["answers"].clone(), s7["previous_answers"].clone()),
        (json!(7), json!(3), json!(2))
    );
    close(&s7["average"], 11.0 / 3.0, "7-day average");
    close(&s7["satisfied_share"], 2.0 / 3.0, "7-day satisfied share");
    close(&s7["previous_average"], 3.0, "previous 7-day average");
    close(&s7["change"], 11.0 / 3.0 - 3.0, "7-day change");
    assert_eq!(s7["trend"], "up");
    let s30 = &d["satisfaction"]["last_30_days"];
    assert_eq!((s30["answers"].clone(), s30["previous_answers"].clone()), (json!(6), json!(1)));
    close(&s30["average"], 3.0, "30-day average");
    close(&s30["satisfied_share"], 2.0 / 6.0, "30-day satisfied share");
    close(&s30["change"], -1.0, "30-day change");
    assert_eq!(s30["trend"], "down");

    // 24 h: z1 up 86400; z4 up 79200, down 7200; seven zones unknown 7 × 86400.
    let u = &d["uptime"]["last_24_hours"];
    assert_eq!(
        (
            u["up_seconds"].clone(),
            u["down_seconds"].clone(),
            u["unknown_seconds"].clone(),
            u["excluded_seconds"].clone()
        ),
        (json!(165_600), json!(7200), json!(604_800), json!(0))
    );
    close(&u["uptime_percentage"], 165_600.0 * 100.0 / 172_800.0, "24-hour uptime");
    // 7 days: z1 down 120 h then up 48 h; z4 unknown 120 h, up 46 h, down 2 h; seven × 168 h unknown.
    let u = &d["uptime"]["last_7_days"];
    assert_eq!(
        (u["up_seconds"].clone(), u["down_seconds"].clone(), u["unknown_seconds"].clone()),
        (json!(338_400), json!(439_200), json!(432_000 + 7 * 604_800))
    );
    close(&u["uptime_percentage"], 338_400.0 * 100.0 / 777_600.0, "7-day uptime");
    // 30 days: z1 unknown 240 h, down 432 h, up 48 h; z4 unknown 672 h, up 46 h, down 2 h.
    let u = &d["uptime"]["last_30_days"];
    assert_eq!(
        (u["up_seconds"].clone(), u["down_seconds"].clone(), u["unknown_seconds"].clone()),
        (json!(338_400), json!(1_562_400), json!(864_000 + 2_419_200 + 7 * 2_592_000))
    );
    close(&u["uptime_percentage"], 338_400.0 * 100.0 / 1_900_800.0, "30-day uptime");
}

#[tokio::test]
async fn an_empty_fleet_gives_zeros_and_nulls_not_errors() {
    let app = app_at_noon().await;
    let token = app.token(Role::Manager).await;
    let r = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["fleet"]["total"]["zones"], 0);
    assert_eq!(r.body["alerts"]["open"], 0);
    assert_eq!(r.body["alerts"]["oldest_opened_at"], Value::Null);
    assert_eq!(r.body["conversations"]["longest_wait_seconds"], Value::Null);
    assert_eq!(r.body["response_times"]["avg_first_response_seconds"], Value::Null);
    assert_eq!(r.body["satisfaction"]["last_7_days"]["trend"], Value::Null);
    assert_eq!(r.body["uptime"]["last_30_days"]["uptime_percentage"], Value::Null);
}

#[tokio::test]
async fn the_dashboard_is_for_signed_in_members_only() {
    let app = app_at_noon().await;
    let anonymous = app.call(Method::GET, "/api/v1/analytics/dashboard", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{}", anonymous.text);
    let viewer = app.token(Role::Viewer).await;
    assert_eq!(app.get("/api/v1/analytics/dashboard", &viewer).await.status, StatusCode::OK);
}

#[tokio::test]
async fn dashboard_uptime_counts_opening_hours_only_and_leaves_maintenance_out() {
    let app = app_at_noon().await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let n = now();
    // Open 08:00–20:00 UTC every day: the last 24 hours hold 12 open hours (yesterday 12–20,
    // today 08–12). Playing throughout, but under maintenance from 11:00 to 11:30 today.
    let v = venue(db, "Hours Hotel", None, "TH").await;
    for weekday in 0..7 {
        sqlx::query(
            "INSERT INTO venue_opening_hours (venue_id, weekday, opens_at, closes_at) VALUES ($1, $2, 480, 1200)",
        )
        .bind(v)
        .bind(weekday)
        .execute(db)
        .await
        .expect("opening hours");
    }
    let z = zone(db, v, Some("playing"), true, false).await;
    health(db, z, Health::Up, n - Duration::days(3)).await;
    sqlx::query("INSERT INTO maintenance_windows (id, venue_id, starts_at, ends_at) VALUES ($1, $2, $3, $4)")
        .bind(Uuid::now_v7())
        .bind(v)
        .bind(n - mins(60))
        .bind(n - mins(30))
        .execute(db)
        .await
        .expect("a maintenance window");
    let r = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = &r.body["uptime"]["last_24_hours"];
    assert_eq!(
        (
            u["up_seconds"].clone(),
            u["down_seconds"].clone(),
            u["unknown_seconds"].clone(),
            u["excluded_seconds"].clone()
        ),
        (json!(12 * 3600 - 1800), json!(0), json!(0), json!(12 * 3600 + 1800)),
        "{u}"
    );
    close(&u["uptime_percentage"], 100.0, "up whenever open and not in maintenance");
    assert_eq!(r.body["fleet"]["venues_with_problems"], json!([]), "a playing venue is no problem");
}

#[tokio::test]
async fn whole_days_with_daily_rollups_are_read_from_them_and_the_rest_is_computed_exactly() {
    let app = app_at_noon().await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let n = now();
    let v = venue(db, "Rolled Hotel", None, "TH").await;
    let z = zone(db, v, Some("playing"), true, false).await;
    // The status log says the zone has been down for 10 days; the daily rollup of three days ago
    // (distinguishable on purpose) says it was up for 20 hours that day and unknown for 4.
    health(db, z, Health::Down, n - Duration::days(10)).await;
    sqlx::query(
        "INSERT INTO uptime_rollups (zone_id, venue_id, period, starts_at, up_seconds, down_seconds, unknown_seconds, \
             excluded_seconds) VALUES ($1, $2, 'day', $3, 72000, 0, 14400, 0)",
    )
    .bind(z)
    .bind(v)
    .bind(test_day_at(-3, 0, 0))
    .execute(db)
    .await
    .expect("a daily rollup");
    let r = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = &r.body["uptime"]["last_7_days"];
    assert_eq!(
        (u["up_seconds"].clone(), u["down_seconds"].clone(), u["unknown_seconds"].clone()),
        (json!(72_000), json!(7 * 86_400 - 86_400), json!(14_400)),
        "the rolled-up day from its rollup, the other six from the log: {u}"
    );
    let day = &r.body["uptime"]["last_24_hours"];
    assert_eq!(day["down_seconds"], 86_400, "no whole day in the last 24 hours: {day}");
}

#[tokio::test]
async fn dashboard_windows_start_on_the_hour_read_whole_hours_from_the_fleets_hourly_rollups_and_compute_the_hour_so_far()
 {
    let later = now() + mins(20);
    let app = TestApp::with(Options { clock: Some(Clock::virtual_at(later)), ..Options::default() }).await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let v = venue(db, "Hourly Hotel", None, "TH").await;
    let z = zone(db, v, Some("playing"), true, false).await;
    // The status log says down for 10 days; the hourly rollup of 10:00 today (distinguishable on
    // purpose) says up for the whole hour.
    health(db, z, Health::Down, now() - Duration::days(10)).await;
    sqlx::query(
        "INSERT INTO uptime_rollups (zone_id, venue_id, period, starts_at, up_seconds, down_seconds, unknown_seconds, \
             excluded_seconds) VALUES ($1, $2, 'hour', $3, 3600, 0, 0, 0)",
    )
    .bind(z)
    .bind(v)
    .bind(test_day_at(0, 10, 0))
    .execute(db)
    .await
    .expect("an hourly rollup");
    let r = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = &r.body["uptime"]["last_24_hours"];
    let since = (now() - Duration::hours(24)).format(&time::format_description::well_known::Rfc3339).expect("a time");
    assert_eq!(u["since"], json!(since), "on the hour: {u}");
    assert_eq!(
        (u["up_seconds"].clone(), u["down_seconds"].clone(), u["unknown_seconds"].clone()),
        (json!(3600), json!(23 * 3600 + 20 * 60), json!(0)),
        "the rolled-up hour from its rollup, the other 23 and the 20 minutes so far from the log: {u}"
    );
}

#[tokio::test]
async fn a_stretch_starts_from_the_health_the_latest_rollup_recorded_at_its_end_not_from_the_log_before_it() {
    let later = now() + mins(20);
    let app = TestApp::with(Options { clock: Some(Clock::virtual_at(later)), ..Options::default() }).await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let v = venue(db, "Anchored Hotel", None, "TH").await;
    let z = zone(db, v, Some("playing"), true, false).await;
    // The log's last word is "down" ten days ago; the rollup of 10:00 today (distinguishable on
    // purpose) says the zone was up at 11:00. From 11:00 on, no log: the stretches after the
    // rollup start from its word, the ones before it from the log's.
    health(db, z, Health::Down, now() - Duration::days(10)).await;
    sqlx::query(
        "INSERT INTO uptime_rollups (zone_id, venue_id, period, starts_at, up_seconds, down_seconds, unknown_seconds, \
             excluded_seconds, ends_health) VALUES ($1, $2, 'hour', $3, 3600, 0, 0, 0, 'up')",
    )
    .bind(z)
    .bind(v)
    .bind(test_day_at(0, 10, 0))
    .execute(db)
    .await
    .expect("an hourly rollup");
    let r = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = &r.body["uptime"]["last_24_hours"];
    assert_eq!(
        (u["up_seconds"].clone(), u["down_seconds"].clone()),
        (json!(3600 + 3600 + 20 * 60), json!(22 * 3600)),
        "10:00 from its rollup, 11:00 and the 20 minutes so far up from its end, the 22 hours before down: {u}"
    );
}

async fn campaign(db: &PgPool, name: &str, channel: &str, status: &str, created: OffsetDateTime) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO campaigns (id, name, type, channel, message_template, status, created_at) \
         VALUES ($1, $2, 'marketing', $3, 'Hello', $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(channel)
    .bind(status)
    .bind(created)
    .execute(db)
    .await
    .expect("a campaign");
    id
}

/// One recipient of `campaign` at `venue`: with `sent` (when, delivery status) a message carried
/// it, and with `reply` the contact wrote back at that time; `reachable` false leaves it without
/// a contact (the venue's one unreachable row).
struct Rcpt {
    status: &'static str,
    sent: Option<(OffsetDateTime, &'static str)>,
    reply: Option<OffsetDateTime>,
    reachable: bool,
}

async fn recipient(db: &PgPool, campaign: Uuid, venue: Uuid, r: Rcpt) {
    let contact = r.reachable.then(Uuid::now_v7);
    if let Some(c) = contact {
        sqlx::query(
            "INSERT INTO venue_contacts (id, venue_id, name, channel, whatsapp_number) \
             VALUES ($1, $2, 'Contact', 'whatsapp', '+66' || (1000000000 + floor(random() * 899999999))::bigint)",
        )
        .bind(c)
        .bind(venue)
        .execute(db)
        .await
        .expect("a contact");
    }
    let (mut conv, mut carried) = (None, None);
    if let Some((at, delivery)) = r.sent {
        let c = conversation(db, venue, Conv { channel: "whatsapp", status: "closed", ..Conv::default() }).await;
        let m = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO messages (id, conversation_id, sender_type, content, channel, direction, created_at, delivery_status) \
             VALUES ($1, $2, 'system', 'Hello', 'whatsapp', 'out', $3, $4)",
        )
        .bind(m)
        .bind(c)
        .bind(at)
        .bind(delivery)
        .execute(db)
        .await
        .expect("a campaign message");
        if let Some(reply) = r.reply {
            message(db, c, Some("whatsapp"), "in", reply).await;
        }
        (conv, carried) = (Some(c), Some(m));
    }
    sqlx::query(
        "INSERT INTO campaign_recipients (id, campaign_id, venue_id, contact_id, channel, status, conversation_id, message_id) \
         VALUES ($1, $2, $3, $4, 'whatsapp', $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(campaign)
    .bind(venue)
    .bind(contact)
    .bind(r.status)
    .bind(conv)
    .bind(carried)
    .execute(db)
    .await
    .expect("a recipient");
}

fn rcpt(status: &'static str, sent: Option<(OffsetDateTime, &'static str)>) -> Rcpt {
    Rcpt { status, sent, reply: None, reachable: true }
}

#[tokio::test]
async fn campaigns_in_flight_show_their_funnel_and_today_totals_as_computed_by_hand() {
    let app = app_at_noon().await;
    let token = app.token(Role::Viewer).await;
    let db = &app.ctx.db;
    let n = now();
    let midnight = n - Duration::hours(12);
    let v = venue(db, "Hilton Pattaya", Some("Hilton"), "TH").await;

    // Songkran (sending, WhatsApp), nine recipients, each counted once in the stage it stands at:
    let songkran = campaign(db, "Songkran", "whatsapp", "sending", n - Duration::days(3)).await;
    let today_9 = midnight + Duration::hours(9);
    // 1. sent today 09:00, delivered, replied at 10:00 → replied.
    let replied = Rcpt { reply: Some(midnight + Duration::hours(10)), ..rcpt("sent", Some((today_9, "delivered"))) };
    recipient(db, songkran, v, replied).await;
    // 2. sent today, delivered → delivered.
    recipient(db, songkran, v, rcpt("sent", Some((today_9, "delivered")))).await;
    // 3. sent today, read → read.
    recipient(db, songkran, v, rcpt("sent", Some((today_9, "read")))).await;
    // 4. sent yesterday 23:00, accepted only → sent; not today's.
    recipient(db, songkran, v, rcpt("sent", Some((midnight - Duration::hours(1), "sent")))).await;
    // 5. sent today, failed → failed.
    recipient(db, songkran, v, rcpt("sent", Some((today_9, "failed")))).await;
    // 6. not yet handed over → queued.
    recipient(db, songkran, v, rcpt("queued", None)).await;
    // 7. opted out before sending.
    recipient(db, songkran, v, rcpt("opted_out", None)).await;
    // 8. no reachable contact → skipped.
    recipient(db, songkran, v, Rcpt { reachable: false, ..rcpt("skipped", None) }).await;
    // 9. handed over today 11:00, the channel has not accepted it yet → queued, but handed today.
    recipient(db, songkran, v, rcpt("sent", Some((midnight + Duration::hours(11), "queued")))).await;

    // Finished this morning: not in flight, but its message of 08:00 (delivered) counts today.
    let morning = campaign(db, "Morning notice", "whatsapp", "sent", n - Duration::days(4)).await;
    recipient(db, morning, v, rcpt("sent", Some((midnight + Duration::hours(8), "delivered")))).await;
    // Finished two days ago: neither in flight nor today.
    let old = campaign(db, "Old news", "whatsapp", "sent", n - Duration::days(5)).await;
    recipient(db, old, v, rcpt("sent", Some((n - Duration::days(2), "delivered")))).await;
    // Paused on LINE with one recipient waiting; scheduled with nobody written down yet; a draft.
    let paused = campaign(db, "Loy Krathong", "line", "paused", n - Duration::days(2)).await;
    recipient(db, paused, v, rcpt("queued", None)).await;
    let christmas = campaign(db, "Christmas", "preferred", "scheduled", n - Duration::days(1)).await;
    campaign(db, "Draft", "email", "draft", n - Duration::hours(1)).await;

    let r = app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = &r.body["campaigns"];
    // Today: handed over 1, 2, 3, 5, 9 of Songkran and the morning notice's one = 6; delivered
    // or further 1, 2, 3 and the morning notice = 4; replied 1.
    assert_eq!(c["sent_today"], 6, "{c}");
    assert_eq!(c["delivered_today"], 4, "{c}");
    assert_eq!(c["replied_today"], 1, "{c}");
    let flight = c["in_flight"].as_array().expect("a list");
    let names: Vec<&str> = flight.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, ["Songkran", "Loy Krathong", "Christmas"], "oldest first, in flight only");
    assert_eq!(
        flight[0],
        json!({"id": songkran, "name": "Songkran", "channel": "whatsapp", "status": "sending", "recipients": 9,
               "funnel": {"queued": 2, "sent": 1, "delivered": 1, "read": 1, "replied": 1,
                          "failed": 1, "opted_out": 1, "skipped": 1}})
    );
    assert_eq!(flight[1]["status"], "paused");
    assert_eq!(flight[1]["channel"], "line");
    assert_eq!((flight[1]["recipients"].clone(), flight[1]["funnel"]["queued"].clone()), (json!(1), json!(1)));
    assert_eq!(
        flight[2],
        json!({"id": christmas, "name": "Christmas", "channel": "preferred", "status": "scheduled", "recipients": 0,
               "funnel": {"queued": 0, "sent": 0, "delivered": 0, "read": 0, "replied": 0,
                          "failed": 0, "opted_out": 0, "skipped": 0}})
    );
}

#[tokio::test]
async fn a_campaign_changing_state_invalidates_the_cached_dashboard() {
    let app = app_at_noon().await;
    let viewer = app.token(Role::Viewer).await;
    let admin = app.token(Role::Admin).await;
    let v = venue(&app.ctx.db, "Hilton Pattaya", None, "TH").await;
    let paused = campaign(&app.ctx.db, "Loy Krathong", "line", "paused", now() - Duration::days(2)).await;
    recipient(&app.ctx.db, paused, v, rcpt("queued", None)).await;
    let before = app.get("/api/v1/analytics/dashboard", &viewer).await;
    assert_eq!(before.body["campaigns"]["in_flight"][0]["status"], "paused", "{}", before.text);

    let cancel = app.post(&format!("/api/v1/campaigns/{paused}/cancel"), Some(&admin), json!({})).await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.text);
    let after = app.get("/api/v1/analytics/dashboard", &viewer).await;
    assert_eq!(after.body["campaigns"]["in_flight"], json!([]), "the cancelled campaign is no longer in flight");
}

#[tokio::test]
async fn fifty_readers_missing_the_same_cache_entry_at_once_compute_it_once() {
    let app = app_at_noon().await;
    let computed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let readers = (0..50).map(|_| {
        let (ctx, computed) = (app.ctx.clone(), computed.clone());
        tokio::spawn(async move {
            bma_app::cache::json(&ctx, bma_app::cache::UPTIME, "herd", || async move {
                computed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                Ok("figures".to_owned())
            })
            .await
        })
    });
    for r in futures_util::future::join_all(readers).await {
        assert_eq!(r.expect("the reader ran").expect("an answer"), "figures");
    }
    assert_eq!(computed.load(std::sync::atomic::Ordering::SeqCst), 1, "one computation for fifty readers");
    assert_eq!(app.ctx.flights.in_flight(), 0, "nothing left in flight");
}
