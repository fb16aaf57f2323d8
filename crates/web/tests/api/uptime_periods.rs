//! `GET /api/v1/analytics/uptime?group_by=day|week|month` on crafted data: a Bangkok venue
//! whose zone goes silent across midnight and a UTC venue playing throughout, grouped in UTC,
//! in Asia/Bangkok (midnight there is 17:00 UTC) and in each venue's own calendar; every figure
//! computed by hand in the comments.

use crate::helpers::{Options, TestApp};
use axum::http::StatusCode;
use bma_domain::access::Role;
use bma_domain::clock::{Clock, test_day_at};
use bma_domain::monitoring::Health;
use bma_store::monitoring::LogEntry;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

const H: i64 = 3600;

/// `h:00` UTC on the test's day D (`day` 0) or D+1 (`day` 1).
fn at(day: i64, h: u8) -> OffsetDateTime {
    test_day_at(day, h, 0)
}

async fn zone_in(app: &TestApp, name: &str, tz: &str, changes: &[(OffsetDateTime, Health)]) {
    let (venue, zone) = (Uuid::now_v7(), Uuid::now_v7());
    sqlx::query("INSERT INTO venues (id, name, timezone) VALUES ($1, $2, $3)")
        .bind(venue)
        .bind(name)
        .bind(tz)
        .execute(&app.ctx.db)
        .await
        .expect("a venue");
    sqlx::query("INSERT INTO zones (id, venue_id, name) VALUES ($1, $2, 'Lobby')")
        .bind(zone)
        .bind(venue)
        .execute(&app.ctx.db)
        .await
        .expect("a zone");
    for (when, h) in changes {
        bma_store::monitoring::log(&app.ctx.db, zone, LogEntry::Health(*h), *when).await.expect("a health change");
    }
}

/// From D 12:00 to D+1 12:00 UTC, neither venue with opening hours (expected all day) nor
/// maintenance: Bangkok's zone is up 12:00–20:00, down 20:00–02:00 (across UTC midnight, and
/// from 03:00 to 09:00 Bangkok time), up again from 02:00; London's is up throughout.
async fn crafted() -> (TestApp, String) {
    let app = TestApp::with(Options { clock: Some(Clock::virtual_at(at(1, 12))), ..Options::default() }).await;
    let token = app.token(Role::Viewer).await;
    let bangkok = [(at(0, 12), Health::Up), (at(0, 20), Health::Down), (at(1, 2), Health::Up)];
    zone_in(&app, "Bangkok Hotel", "Asia/Bangkok", &bangkok).await;
    zone_in(&app, "London Bar", "UTC", &[(at(0, 12), Health::Up)]).await;
    (app, token)
}

fn range() -> String {
    let f = |t: OffsetDateTime| t.format(&Rfc3339).expect("RFC 3339").replace('+', "%2B");
    format!("since={}&until={}", f(at(0, 12)), f(at(1, 12)))
}

fn date(t: OffsetDateTime) -> String {
    t.date().to_string()
}

/// (key, zones, up, down, unknown, excluded) of each row.
fn rows(body: &Value) -> Vec<(String, i64, i64, i64, i64, i64)> {
    body.as_array()
        .expect("a list of rows")
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap_or_else(|| panic!("{k} in {r}"));
            let key = r["key"].as_str().expect("a key").to_owned();
            (key, n("zones"), n("up_seconds"), n("down_seconds"), n("unknown_seconds"), n("excluded_seconds"))
        })
        .collect()
}

async fn ask(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app.get(&format!("/api/v1/analytics/uptime?{query}&{}", range()), token).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
    r.body
}

#[tokio::test]
async fn uptime_by_day_in_utc_splits_at_utc_midnight() {
    let (app, token) = crafted().await;
    let body = ask(&app, &token, "group_by=day").await;
    // D (12:00–24:00 UTC): Bangkok up 8 h (12–20), down 4 h (20–24); London up 12 h.
    // D+1 (00:00–12:00): Bangkok down 2 h (00–02), up 10 h; London up 12 h.
    assert_eq!(rows(&body), [(date(at(0, 0)), 2, 20 * H, 4 * H, 0, 0), (date(at(1, 0)), 2, 22 * H, 2 * H, 0, 0)]);
    let pct = body[0]["uptime_percentage"].as_f64().expect("a percentage");
    assert!((pct - 20.0 * 100.0 / 24.0).abs() < 1e-9, "{pct}");
}

#[tokio::test]
async fn uptime_by_day_in_bangkok_splits_at_bangkok_midnight_which_is_five_pm_utc() {
    let (app, token) = crafted().await;
    let body = ask(&app, &token, "group_by=day&tz=Asia/Bangkok").await;
    // Local D ends at D 17:00 UTC: 12:00–17:00 is up for both zones, 5 h each.
    // Local D+1 is cut to D 17:00 – D+1 12:00 UTC (19 h): Bangkok up 17–20 and 02–12 (13 h),
    // down 20–02 (6 h); London up 19 h.
    assert_eq!(rows(&body), [(date(at(0, 0)), 2, 10 * H, 0, 0, 0), (date(at(1, 0)), 2, 32 * H, 6 * H, 0, 0)]);
    assert_eq!(body[0]["uptime_percentage"], 100.0);
}

#[tokio::test]
async fn uptime_by_day_in_each_venues_own_calendar_sums_local_days() {
    let (app, token) = crafted().await;
    let body = ask(&app, &token, "group_by=day&tz=venue").await;
    // Local D: Bangkok's zone 12:00–17:00 UTC up (5 h); London's 12:00–24:00 up (12 h).
    // Local D+1: Bangkok's 13 h up and 6 h down as above; London's 00:00–12:00 up (12 h).
    assert_eq!(rows(&body), [(date(at(0, 0)), 2, 17 * H, 0, 0, 0), (date(at(1, 0)), 2, 25 * H, 6 * H, 0, 0)]);
}

#[tokio::test]
async fn uptime_by_week_starts_on_monday_and_by_month_on_the_first() {
    let (app, token) = crafted().await;
    let d = at(0, 0).date();
    let monday =
        |day: time::Date| (day - time::Duration::days(i64::from(day.weekday().number_days_from_monday()))).to_string();
    let week = rows(&ask(&app, &token, "group_by=week").await);
    let next = d + time::Duration::days(1);
    if next.weekday() == time::Weekday::Monday {
        // D is a Sunday: its week and the next split at UTC midnight, as the days do.
        assert_eq!(week, [(monday(d), 2, 20 * H, 4 * H, 0, 0), (monday(next), 2, 22 * H, 2 * H, 0, 0)]);
    } else {
        assert_eq!(week, [(monday(d), 2, 42 * H, 6 * H, 0, 0)]);
    }
    let month = rows(&ask(&app, &token, "group_by=month").await);
    assert!(month.iter().all(|r| r.0.ends_with("-01")), "{month:?}");
    let (up, down): (i64, i64) = (month.iter().map(|r| r.2).sum(), month.iter().map(|r| r.3).sum());
    assert_eq!((up, down), (42 * H, 6 * H), "the months add up to the whole range");
}

#[tokio::test]
async fn uptime_by_day_exports_as_csv_one_row_per_day() {
    let (app, token) = crafted().await;
    let r =
        app.get(&format!("/api/v1/analytics/uptime?group_by=day&tz=Asia/Bangkok&format=csv&{}", range()), &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(lines[0], "key,label,zones,up_seconds,down_seconds,unknown_seconds,excluded_seconds,uptime_percentage");
    assert_eq!(lines[1], format!("{},,2,36000,0,0,0,100", date(at(0, 0))));
    assert_eq!(lines.len(), 3, "{}", r.text);
}

#[tokio::test]
async fn an_unknown_grouping_or_time_zone_is_refused_with_the_field_named() {
    let (app, token) = crafted().await;
    for (query, field) in [("group_by=year", "group_by"), ("group_by=day&tz=Mars/Olympus", "tz")] {
        let r = app.get(&format!("/api/v1/analytics/uptime?{query}"), &token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
        assert!(r.text.contains(field), "{query}: {}", r.text);
    }
}
