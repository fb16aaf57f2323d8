use crate::helpers::TestApp;
use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use bma_app::AppContext;
use bma_app::jobs::worker::Outcome;
use bma_app::jobs::{JobHandler, Periodic, Registry, Scheduler, Worker};
use bma_domain::access::Role;
use bma_store::jobs::{self, NewJob, Priority};
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
    .ok()
    .flatten()
    .unwrap_or_default();
    assert_eq!(app.ctx.config.job_max_attempts(), 4, "MAX_RETRIES=3 means four attempts");

    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let done = worker.run_once().await.unwrap_or_default();
        outcomes.extend(done.into_iter().map(|(_, o)| o));
    }
    assert_eq!(outcomes, vec![Outcome::Retrying, Outcome::Retrying, Outcome::Retrying]);
    // The fourth attempt succeeds only after... no: it fails once more? fail_first = 3, so it succeeds.
    let fourth = worker.run_once().await.unwrap_or_default();
    assert_eq!(fourth.into_iter().map(|(_, o)| o).collect::<Vec<_>>(), vec![Outcome::Done]);
    assert_eq!(jobs::find(&app.ctx.db, id).await.ok().flatten().map(|j| j.id), None, "done jobs leave the queue");

    // A job that keeps failing ends dead after MAX_RETRIES + 1 attempts and stays there.
    let runs2 = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::standard();
    registry.register("hopeless", Flaky { runs: runs2.clone(), fail_first: 100 });
    let worker = Worker::new(app.ctx.clone(), registry).with_backoff_base(Duration::ZERO);
    let id = jobs::enqueue(&app.ctx.db, NewJob::new("hopeless", serde_json::json!({}), 4))
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut last = None;
    for _ in 0..6 {
        if let Some((_, o)) = worker.run_once().await.unwrap_or_default().into_iter().next() {
            last = Some(o);
        }
    }
    assert_eq!(last, Some(Outcome::Dead));
    assert_eq!(runs2.load(Ordering::SeqCst), 4);
    let dead = jobs::find(&app.ctx.db, id).await.ok().flatten();
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
    assert_eq!(worker.run_once().await.unwrap_or_default().len(), 1, "the re-queued job runs again");
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
        .ok()
        .flatten();
    let high = jobs::enqueue(&app.ctx.db, NewJob::new("x", serde_json::json!({}), 1).priority(Priority::URGENT))
        .await
        .ok()
        .flatten();
    let claimed = jobs::claim(&app.ctx.db, "t", 1).await.unwrap_or_default();
    assert_eq!(claimed.first().map(|j| j.id), high);
    assert_ne!(high, low);
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_exists() {
    let app = TestApp::spawn().await;
    let mut tx = app.ctx.db.begin().await.unwrap_or_else(|_| unreachable!());
    jobs::enqueue(&mut *tx, NewJob::new("x", serde_json::json!({}), 1)).await.unwrap_or_default();
    tx.rollback().await.unwrap_or_default();
    assert_eq!(app.count("SELECT count(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn a_job_whose_worker_died_is_handed_to_another_worker() {
    let app = TestApp::spawn().await;
    let id =
        jobs::enqueue(&app.ctx.db, NewJob::new("x", serde_json::json!({}), 3)).await.ok().flatten().unwrap_or_default();
    let claimed = jobs::claim(&app.ctx.db, "worker-that-dies", 1).await.unwrap_or_default();
    assert_eq!(claimed.len(), 1);
    // The worker vanishes; nothing claims a running job.
    assert!(jobs::claim(&app.ctx.db, "other", 1).await.unwrap_or_default().is_empty());
    sqlx::query("UPDATE jobs SET locked_at = now() - interval '11 minutes' WHERE id = $1")
        .bind(id)
        .execute(&app.ctx.db)
        .await
        .unwrap_or_default();
    assert_eq!(jobs::requeue_stalled(&app.ctx.db, bma_app::jobs::tasks::STALLED_AFTER).await.unwrap_or(0), 1);
    let again = jobs::claim(&app.ctx.db, "other", 1).await.unwrap_or_default();
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
        let fired = fa.unwrap_or_default().len() + fb.unwrap_or_default().len();
        assert!(fired <= 1, "round {round}: fired {fired} times");
    }
    let slots: std::collections::BTreeSet<i64> = (0..3)
        .map(|r| {
            bma_store::periodic::slot_of(now + time::Duration::seconds(r * 20), Duration::from_secs(60))
                .unix_timestamp()
        })
        .collect();
    let want = i64::try_from(slots.len()).unwrap_or(0);
    assert_eq!(app.count("SELECT count(*) FROM jobs WHERE kind = 'tick'").await, want);
    assert_eq!(app.count("SELECT count(*) FROM periodic_runs WHERE name = 'tick'").await, want);
}

#[tokio::test]
async fn the_standard_periodic_jobs_keep_partitions_ahead() {
    let app = TestApp::spawn().await;
    let s = Scheduler::new(app.ctx.clone(), Scheduler::standard());
    let fired = s.tick(time::OffsetDateTime::now_utc()).await.unwrap_or_default();
    assert!(fired.contains(&"partition_upkeep"));
    sqlx::query("DROP TABLE IF EXISTS music_status_logs_p20991231").execute(&app.ctx.db).await.unwrap_or_default();
    let before = bma_store::partitions::list(&app.ctx.db, "music_status_logs").await.unwrap_or_default();
    let worker = Worker::new(app.ctx.clone(), Registry::standard());
    let done = worker.run_once().await.unwrap_or_default();
    assert!(done.iter().all(|(_, o)| *o == Outcome::Done), "{done:?}");
    let after = bma_store::partitions::list(&app.ctx.db, "music_status_logs").await.unwrap_or_default();
    assert!(after.len() >= before.len());
    let today = time::OffsetDateTime::now_utc().date() + time::Duration::days(14);
    let name = format!("music_status_logs_p{}{:02}{:02}", today.year(), u8::from(today.month()), today.day());
    assert!(after.contains(&name), "{name} missing from {after:?}");
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
    ] {
        assert!(wired.contains(&kind), "{kind} has no handler: {wired:?}");
    }
    let periodic: Vec<&str> = Scheduler::standard().iter().map(|p| p.name).collect();
    assert!(periodic.iter().all(|name| wired.contains(name)), "{periodic:?}");
}
