use crate::helpers::TestApp;
use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use bma_app::AppContext;
use bma_app::jobs::worker::Outcome;
use bma_app::jobs::{JobHandler, Periodic, Registry, Scheduler, Worker};
use bma_domain::access::Role;
use bma_domain::monitoring::Observation;
use bma_store::jobs::{self, NewJob, Priority};
use bma_store::monitoring::LogEntry;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Fails its first `fail_first` runs, then succeeds.
struct Flaky {
    runs: Arc<AtomicUsize>,
    fail_first: usize,
}

#[async_trait]
impl JobHandler for Flaky {
    async fn run(&self, _ctx: &AppContext, _payload: serde_json::Value) -> anyhow::Result<()> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        if n < self.fail_first { anyhow::bail!("remote said no (run {n})") } else { Ok(()) }
    }
}

#[tokio::test]
async fn a_failing_job_is_retried_into_the_dead_letter_state_and_an_admin_requeues_it() {
    let app = TestApp::spawn().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::standard();
    registry.register("flaky", Flaky { runs: runs.clone(), fail_first: 3 });
    let worker = Worker::new(app.ctx.clone(), registry).with_backoff_base(Duration::ZERO);
    let id = jobs::enqueue(
        &app.ctx.db,
        NewJob::new("flaky", serde_json::json!({"n": 1}), app.ctx.config.job_max_attempts()),
    )
    .await
    .expect("enqueued")
    .expect("a new job");
    assert_eq!(app.ctx.config.job_max_attempts(), 4, "MAX_RETRIES=3 means four attempts");

    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let done = worker.run_once().await.expect("the worker runs");
        outcomes.extend(done.into_iter().map(|(_, o)| o));
    }
    assert_eq!(outcomes, vec![Outcome::Retrying, Outcome::Retrying, Outcome::Retrying]);
    // It fails its first three runs, so the fourth (the last attempt allowed) succeeds.
    let fourth = worker.run_once().await.expect("the worker runs");
    assert_eq!(fourth.into_iter().map(|(_, o)| o).collect::<Vec<_>>(), vec![Outcome::Done]);
    assert_eq!(jobs::find(&app.ctx.db, id).await.expect("looked up").map(|j| j.id), None, "done jobs leave the queue");

    // A job that keeps failing ends dead after MAX_RETRIES + 1 attempts and stays there.
    let runs2 = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::standard();
    registry.register("hopeless", Flaky { runs: runs2.clone(), fail_first: 100 });
    let worker = Worker::new(app.ctx.clone(), registry).with_backoff_base(Duration::ZERO);
    let id = jobs::enqueue(&app.ctx.db, NewJob::new("hopeless", serde_json::json!({}), 4))
        .await
        .expect("enqueued")
        .expect("a new job");
    let mut last = None;
    for _ in 0..6 {
        if let Some((_, o)) = worker.run_once().await.expect("the worker runs").into_iter().next() {
            last = Some(o);
        }
    }
    assert_eq!(last, Some(Outcome::Dead));
    assert_eq!(runs2.load(Ordering::SeqCst), 4);
    let dead = jobs::find(&app.ctx.db, id).await.expect("looked up");
    assert_eq!(dead.as_ref().map(|j| j.status.as_str()), Some("dead"));
    assert!(dead.and_then(|j| j.last_error).is_some_and(|e| e.contains("remote said no")));

    let admin = app.token(Role::Admin).await;
    let list = app.get("/api/v1/admin/jobs", &admin).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["stats"]["dead"], 1);
    assert_eq!(list.body["dead"][0]["id"], id.to_string());
    let requeued = app.call(Method::POST, &format!("/api/v1/admin/jobs/{id}/requeue"), Some(&admin), None).await;
    assert_eq!(requeued.status, StatusCode::OK, "{}", requeued.text);
    assert_eq!(requeued.body["status"], "queued");
    assert_eq!(requeued.body["attempts"], 0);
    let again = app.call(Method::POST, &format!("/api/v1/admin/jobs/{id}/requeue"), Some(&admin), None).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "only dead jobs are re-queued");
    assert_eq!(worker.run_once().await.expect("the worker runs").len(), 1, "the re-queued job runs again");
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'job.requeue'").await, 1);
}

#[tokio::test]
async fn backoff_doubles_with_each_attempt() {
    let app = TestApp::spawn().await;
    let w = Worker::new(app.ctx.clone(), Registry::standard()).with_backoff_base(Duration::from_secs(10));
    let waits: Vec<f64> = (1..=4).map(|a| w.backoff(a).as_secs_f64()).collect();
    for (i, want) in [10.0, 20.0, 40.0, 80.0].iter().enumerate() {
        assert!(waits[i] >= *want && waits[i] <= want * 1.2, "attempt {}: {}", i + 1, waits[i]);
    }
}

#[tokio::test]
async fn urgent_jobs_run_before_older_normal_ones() {
    let app = TestApp::spawn().await;
    let low = jobs::enqueue(&app.ctx.db, NewJob::new("x", serde_json::json!({}), 1).priority(Priority::LOW))
        .await
        .expect("enqueued");
    let high = jobs::enqueue(&app.ctx.db, NewJob::new("x", serde_json::json!({}), 1).priority(Priority::URGENT))
        .await
        .expect("enqueued");
    assert!(low.is_some() && high.is_some());
    let claimed = jobs::claim(&app.ctx.db, "t", 1).await.expect("claimed");
    assert_eq!(claimed.first().map(|j| j.id), high);
    assert_ne!(high, low);
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_exists() {
    let app = TestApp::spawn().await;
    let mut tx = app.ctx.db.begin().await.expect("a transaction");
    let id = jobs::enqueue(&mut *tx, NewJob::new("x", serde_json::json!({}), 1)).await.expect("enqueued");
    assert!(id.is_some(), "the job exists inside the transaction");
    tx.rollback().await.expect("rolled back");
    assert_eq!(app.count("SELECT count(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn a_job_whose_worker_died_is_handed_to_another_worker() {
    let app = TestApp::spawn().await;
    let id =
        jobs::enqueue(&app.ctx.db, NewJob::new("x", serde_json::json!({}), 3)).await.expect("enqueued").expect("new");
    let claimed = jobs::claim(&app.ctx.db, "worker-that-dies", 1).await.expect("claimed");
    assert_eq!(claimed.len(), 1);
    // The worker vanishes; nothing claims a running job.
    assert!(jobs::claim(&app.ctx.db, "other", 1).await.expect("claim ran").is_empty());
    sqlx::query("UPDATE jobs SET locked_at = now() - interval '11 minutes' WHERE id = $1")
        .bind(id)
        .execute(&app.ctx.db)
        .await
        .expect("lock aged");
    assert_eq!(jobs::requeue_stalled(&app.ctx.db, bma_app::jobs::tasks::STALLED_AFTER).await.expect("requeued"), 1);
    let again = jobs::claim(&app.ctx.db, "other", 1).await.expect("claimed");
    assert_eq!(again.first().map(|j| (j.id, j.attempts)), Some((id, 2)));
}

#[tokio::test]
async fn a_periodic_job_fires_once_per_slot_with_two_schedulers_running() {
    let app = TestApp::spawn().await;
    let periodic = vec![Periodic {
        name: "tick",
        every: Duration::from_secs(60),
        job: |c: &AppContext| Ok(NewJob::new("tick", serde_json::json!({}), c.config.job_max_attempts())),
    }];
    let a = Scheduler::new(app.ctx.clone(), periodic.clone());
    let b = Scheduler::new(app.ctx.clone(), periodic);
    let now = time::OffsetDateTime::now_utc();
    for round in 0..3 {
        let t = now + time::Duration::seconds(round * 20);
        let (fa, fb) = tokio::join!(a.tick(t), b.tick(t));
        let fired = fa.expect("scheduler a ticks").len() + fb.expect("scheduler b ticks").len();
        assert!(fired <= 1, "round {round}: fired {fired} times");
    }
    let slots: std::collections::BTreeSet<i64> = (0..3)
        .map(|r| {
            bma_store::periodic::slot_of(now + time::Duration::seconds(r * 20), Duration::from_secs(60))
                .unix_timestamp()
        })
        .collect();
    let want = i64::try_from(slots.len()).expect("a small count");
    assert_eq!(app.count("SELECT count(*) FROM jobs WHERE kind = 'tick'").await, want);
    assert_eq!(app.count("SELECT count(*) FROM periodic_runs WHERE name = 'tick'").await, want);
}

/// Fires the standard periodic jobs (of the hour `hours_on` hours from now) and runs them;
/// returns the kinds that ran (each one done).
async fn run_standard_jobs(app: &TestApp, hours_on: i64) -> Vec<String> {
    let s = Scheduler::new(app.ctx.clone(), Scheduler::standard());
    let at = time::OffsetDateTime::now_utc() + time::Duration::hours(hours_on);
    let fired = s.tick(at).await.expect("the scheduler fires");
    assert!(fired.contains(&"partition_upkeep"), "{fired:?}");
    let worker = Worker::new(app.ctx.clone(), Registry::standard());
    let done = worker.run_once().await.expect("the worker runs the jobs");
    assert!(done.iter().all(|(_, o)| *o == Outcome::Done), "{done:?}");
    done.into_iter().map(|(j, _)| j.kind).collect()
}

const LOGS: &str = "music_status_logs";

/// The database's UTC date, which partition upkeep goes by.
async fn db_today(app: &TestApp) -> time::Date {
    sqlx::query_scalar("SELECT (now() AT TIME ZONE 'UTC')::date").fetch_one(&app.ctx.db).await.expect("today")
}

async fn partitions(app: &TestApp) -> Vec<String> {
    bma_store::partitions::list(&app.ctx.db, LOGS).await.expect("partitions listed")
}

#[tokio::test]
async fn the_standard_periodic_jobs_keep_partitions_ahead() {
    let app = TestApp::spawn().await;
    let ahead = db_today(&app).await + time::Duration::days(14);
    let name = bma_store::partitions::partition_name(LOGS, ahead);
    assert!(partitions(&app).await.contains(&name), "{name} should exist before the test removes it");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE \"{name}\""))).execute(&app.ctx.db).await.expect("dropped");
    assert!(!partitions(&app).await.contains(&name));
    let ran = run_standard_jobs(&app, 0).await;
    assert!(ran.iter().any(|k| k == "partition_upkeep"), "{ran:?}");
    let after = partitions(&app).await;
    assert!(after.contains(&name), "upkeep did not re-create {name}: {after:?}");
}

/// A zone to hang status rows on.
async fn a_zone(app: &TestApp) -> uuid::Uuid {
    let t = app.token(Role::Manager).await;
    let venue = app.post("/api/v1/venues", Some(&t), crate::helpers::venue_body("Log Hotel")).await;
    let venue = venue.body["id"].as_str().expect("the venue's id").to_owned();
    let zone = app
        .post(
            &format!("/api/v1/venues/{venue}/zones"),
            Some(&t),
            serde_json::json!({"name": "Bar", "zone_type": "bar"}),
        )
        .await;
    uuid::Uuid::parse_str(zone.body["id"].as_str().expect("the zone's id")).expect("a uuid")
}

/// Where each status row of `zone` sits, oldest first.
async fn homes(app: &TestApp, zone: uuid::Uuid) -> Vec<String> {
    sqlx::query_scalar("SELECT tableoid::regclass::text FROM music_status_logs WHERE zone_id = $1 ORDER BY created_at")
        .bind(zone)
        .fetch_all(&app.ctx.db)
        .await
        .expect("rows of the zone")
}

#[tokio::test]
async fn status_rows_for_days_without_a_partition_are_kept_and_upkeep_moves_them_to_their_own_day() {
    let app = TestApp::spawn().await;
    let zone = a_zone(&app).await;
    let today = db_today(&app).await;
    let days = [today - time::Duration::days(30), today, today + time::Duration::days(30)];
    let names: Vec<String> = days.iter().map(|d| bma_store::partitions::partition_name(LOGS, *d)).collect();
    assert!(!partitions(&app).await.contains(&names[0]) && !partitions(&app).await.contains(&names[2]));
    for day in days {
        let at = day.with_hms(10, 30, 0).expect("a time").assume_utc();
        bma_store::monitoring::log(&app.ctx.db, zone, LogEntry::Sample(Observation::Playing, None), at)
            .await
            .expect("a row is stored whether or not its day has a partition");
    }
    let default = bma_store::partitions::default_partition(LOGS);
    assert_eq!(homes(&app, zone).await, vec![default.clone(), names[1].clone(), default]);

    run_standard_jobs(&app, 0).await;
    assert_eq!(homes(&app, zone).await, names, "each row sits in its own day's partition");
    assert_eq!(app.count("SELECT count(*) FROM music_status_logs_default").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM music_status_logs").await, 3, "no row lost or doubled");
    let again = bma_store::monitoring::log(
        &app.ctx.db,
        zone,
        LogEntry::Sample(Observation::Playing, None),
        days[2].midnight().assume_utc(),
    );
    again.await.expect("a later row of that day goes straight to its partition");
    assert_eq!(homes(&app, zone).await.last(), Some(&names[2]));
}

async fn uptime_of(app: &TestApp, since: time::OffsetDateTime, until: time::OffsetDateTime) -> (i64, i64, i64, i64) {
    use bma_app::services::uptime::{GroupBy, report};
    let rows = report(&app.ctx, GroupBy::Venue, &Default::default(), since, until).await.expect("uptime report");
    assert_eq!(rows.len(), 1, "{rows:?}");
    (rows[0].up_seconds, rows[0].down_seconds, rows[0].unknown_seconds, rows[0].excluded_seconds)
}

#[tokio::test]
async fn retention_drops_a_day_past_its_age_once_rolled_up_and_uptime_over_it_and_after_it_reads_the_same() {
    let app = TestApp::with(crate::helpers::Options {
        env: vec![("MUSIC_LOG_RETENTION_DAYS", "30".to_owned())],
        ..crate::helpers::Options::default()
    })
    .await;
    let old = db_today(&app).await - time::Duration::days(40);
    let kept = db_today(&app).await - time::Duration::days(30);
    crate::monitor::craft_venue(&app, old).await;
    let (day, next) = (old.midnight().assume_utc(), old.midnight().assume_utc() + time::Duration::DAY);
    let (keep_from, week_end) = (kept.midnight().assume_utc(), kept.midnight().assume_utc() + time::Duration::days(7));
    let over_it = uptime_of(&app, day, next).await;
    assert_eq!(over_it, (14 * 3600 - 1800, 1800, 0, 10 * 3600), "open 08:00–22:00, down 08:00–08:30");
    let after_it = uptime_of(&app, keep_from, week_end).await;
    assert!(after_it.0 > 0, "the zone stays up after the old day: {after_it:?}");
    assert!(!bma_store::partitions::status_log_day_rolled_up(&app.ctx.db, old).await.expect("checked"));

    run_standard_jobs(&app, 0).await;
    let parts = partitions(&app).await;
    assert!(!parts.contains(&bma_store::partitions::partition_name(LOGS, old)), "{parts:?}");
    assert!(bma_store::partitions::status_log_day_rolled_up(&app.ctx.db, old).await.expect("checked"));
    let rolled: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT up_seconds, down_seconds, unknown_seconds, excluded_seconds FROM venue_uptime_rollups \
         WHERE period = 'day' AND starts_at = $1",
    )
    .bind(day)
    .fetch_one(&app.ctx.db)
    .await
    .expect("the old day's rollup");
    assert_eq!(rolled, over_it, "the daily rollup holds the dropped day exactly");
    assert_eq!(uptime_of(&app, keep_from, week_end).await, after_it, "the days kept read the same");
    let left: Vec<(time::OffsetDateTime, String)> =
        sqlx::query_as("SELECT created_at, status FROM music_status_logs WHERE created_at < $1 ORDER BY created_at")
            .bind(week_end)
            .fetch_all(&app.ctx.db)
            .await
            .expect("rows left");
    assert_eq!(left, vec![(keep_from, "up".to_owned())], "only the zone's last health, carried to the oldest day kept");

    run_standard_jobs(&app, 1).await;
    assert_eq!(uptime_of(&app, keep_from, week_end).await, after_it, "a second upkeep changes nothing");
    assert!(bma_store::partitions::days(&app.ctx.db, LOGS).await.expect("days").contains(&kept));
}

#[tokio::test]
async fn a_job_whose_payload_does_not_parse_goes_dead_at_once_with_a_clear_error() {
    let app = TestApp::spawn().await;
    let worker = Worker::new(app.ctx.clone(), Registry::standard()).with_backoff_base(Duration::ZERO);
    let id = jobs::enqueue(&app.ctx.db, NewJob::new("bot.reply", serde_json::json!({"conversation": "?"}), 4))
        .await
        .expect("enqueued")
        .expect("a new job");
    let outcomes: Vec<Outcome> = worker.run_once().await.expect("a run").into_iter().map(|(_, o)| o).collect();
    assert_eq!(outcomes, vec![Outcome::Dead], "no retry can fix a payload");
    let dead = jobs::find(&app.ctx.db, id).await.expect("a read").expect("the job is kept");
    assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 1));
    let error = dead.last_error.expect("an error");
    assert!(error.contains("bot.reply job does not parse"), "{error}");
}

#[tokio::test]
async fn a_typed_job_is_queued_under_its_kind_with_its_priority_and_dedup_key() {
    use bma_app::jobs::tasks::SendMessageJob;
    let app = TestApp::spawn().await;
    let job = SendMessageJob { message_id: uuid::Uuid::now_v7(), channel: bma_domain::contact::Channel::Line };
    let opts = bma_app::jobs::Options::default;
    let first = bma_app::jobs::enqueue(&app.ctx, &app.ctx.db, &job, opts()).await.expect("enqueued");
    let again = bma_app::jobs::enqueue(&app.ctx, &app.ctx.db, &job, opts()).await.expect("enqueued");
    assert!(first.is_some());
    assert_eq!(again, None, "one live send per message");
    let stored = jobs::find(&app.ctx.db, first.expect("an id")).await.expect("a read").expect("the job");
    assert_eq!((stored.kind.as_str(), stored.priority), ("message.send", Priority::HIGH.0));
    assert_eq!(stored.payload, serde_json::json!({"message_id": job.message_id, "channel": "line"}));
    let urgent = bma_app::jobs::Options::default().priority(Priority::URGENT).dedup("other");
    let id = bma_app::jobs::enqueue(&app.ctx, &app.ctx.db, &job, urgent).await.expect("enqueued").expect("an id");
    let stored = jobs::find(&app.ctx.db, id).await.expect("a read").expect("the job");
    assert_eq!(stored.priority, Priority::URGENT.0, "an enqueue may override the kind's priority");
}

#[tokio::test]
async fn every_job_kind_the_service_queues_has_a_handler() {
    use bma_app::jobs::Job;
    use bma_app::jobs::tasks::*;
    let wired = Registry::standard().kinds();
    for kind in [
        EmailJob::KIND,
        SendMessageJob::KIND,
        FetchMediaJob::KIND,
        BotReplyJob::KIND,
        PartitionUpkeepJob::KIND,
        HousekeepingJob::KIND,
        RequeueStalledJob::KIND,
        UptimeRollupJob::KIND,
        DashboardRefreshJob::KIND,
    ] {
        assert!(wired.contains(&kind), "{kind} has no handler: {wired:?}");
    }
    let periodic: Vec<&str> = Scheduler::standard().iter().map(|p| p.name).collect();
    assert!(periodic.iter().all(|name| wired.contains(name)), "{periodic:?}");
}

#[tokio::test]
async fn housekeeping_deletes_audit_entries_dead_jobs_and_hourly_rollups_past_their_retention_only() {
    use bma_domain::clock::{Clock, test_day_at};
    let now = test_day_at(0, 12, 0);
    let app = crate::helpers::TestApp::with(crate::helpers::Options {
        clock: Some(Clock::virtual_at(now)),
        env: vec![
            ("AUDIT_LOG_RETENTION_DAYS", "100".into()),
            ("DEAD_JOB_RETENTION_DAYS", "7".into()),
            ("UPTIME_HOURLY_RETENTION_DAYS", "10".into()),
            ("UPTIME_GROUP_HOURLY_RETENTION_DAYS", "30".into()),
        ],
        ..Default::default()
    })
    .await;
    let db = &app.ctx.db;
    let days = |n: i64| now - time::Duration::days(n);
    for (age, action) in [(101, "old.entry"), (99, "kept.entry")] {
        sqlx::query("INSERT INTO audit_log (id, action, entity_type, created_at) VALUES ($1, $2, 'test', $3)")
            .bind(uuid::Uuid::now_v7())
            .bind(action)
            .bind(days(age))
            .execute(db)
            .await
            .expect("an audit entry");
    }
    for (age, status, kind) in [(8, "dead", "old.dead"), (6, "dead", "kept.dead"), (30, "queued", "kept.queued")] {
        sqlx::query(
            "INSERT INTO jobs (id, kind, status, max_attempts, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $4)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(kind)
        .bind(status)
        .bind(days(age))
        .execute(db)
        .await
        .expect("a job");
    }
    let (venue, zone) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    sqlx::query("INSERT INTO venues (id, name, timezone) VALUES ($1, 'Kept Hotel', 'UTC')")
        .bind(venue)
        .execute(db)
        .await
        .expect("a venue");
    sqlx::query("INSERT INTO zones (id, venue_id, name) VALUES ($1, $2, 'Lobby')")
        .bind(zone)
        .bind(venue)
        .execute(db)
        .await
        .expect("a zone");
    for (period, age) in [("hour", 31), ("hour", 11), ("hour", 9), ("day", 11)] {
        sqlx::query(
            "INSERT INTO uptime_rollups (zone_id, venue_id, period, starts_at, up_seconds, down_seconds, unknown_seconds, \
                 excluded_seconds) VALUES ($1, $2, $3, $4, 1, 0, 0, 0)",
        )
        .bind(zone)
        .bind(venue)
        .bind(period)
        .bind(days(age))
        .execute(db)
        .await
        .expect("a rollup");
    }

    bma_app::jobs::Handler::run(
        &bma_app::jobs::tasks::Housekeeping,
        &app.ctx,
        bma_app::jobs::tasks::HousekeepingJob::default(),
    )
    .await
    .expect("housekeeping runs");

    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE entity_type = 'test'")
        .fetch_all(db)
        .await
        .expect("audit");
    assert_eq!(actions, vec!["kept.entry"]);
    let mut kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM jobs").fetch_all(db).await.expect("jobs");
    kinds.sort();
    assert_eq!(kinds, vec!["kept.dead", "kept.queued"], "only dead jobs past retention go");
    let mut rollups: Vec<(String, time::OffsetDateTime)> =
        sqlx::query_as("SELECT period, starts_at FROM uptime_rollups").fetch_all(db).await.expect("rollups");
    rollups.sort();
    assert_eq!(rollups, vec![("day".to_owned(), days(11)), ("hour".to_owned(), days(9))], "daily rollups stay");
    let mut groups: Vec<(String, String, time::OffsetDateTime, i32)> =
        sqlx::query_as("SELECT scope, period, starts_at, zones FROM uptime_group_rollups WHERE scope = 'fleet'")
            .fetch_all(db)
            .await
            .expect("group rollups");
    groups.sort();
    assert_eq!(
        groups,
        vec![
            ("fleet".to_owned(), "day".to_owned(), days(11), 1),
            ("fleet".to_owned(), "hour".to_owned(), days(11), 1),
            ("fleet".to_owned(), "hour".to_owned(), days(9), 1)
        ],
        "the fleet's hours outlive the zones' (their sums unchanged) and go at their own retention"
    );
}

#[tokio::test]
async fn the_monitors_leader_learns_it_lost_its_lock_when_its_database_session_ends() {
    use bma_app::monitoring::runner::{still_leading, try_lead};
    let app = crate::helpers::TestApp::spawn().await;
    let mut leader = app.ctx.db.acquire().await.expect("a connection").detach();
    assert!(try_lead(&mut leader).await.expect("asked"), "the lock is free");
    assert!(still_leading(&mut leader).await);
    let mut other = app.ctx.db.acquire().await.expect("another connection");
    assert!(!try_lead(&mut other).await.expect("asked"), "held by the leader");
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut leader).await.expect("its pid");
    sqlx::query("SELECT pg_terminate_backend($1)").bind(pid).execute(&mut *other).await.expect("terminated");
    assert!(!still_leading(&mut leader).await, "a session that ended holds nothing");
    let mut taken = false;
    for _ in 0..40 {
        if try_lead(&mut other).await.expect("asked") {
            taken = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(taken, "another scheduler may lead");
}
