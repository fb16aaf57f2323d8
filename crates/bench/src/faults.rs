//! `bma-bench faults`: what the platform does when its parts fail under load, as one bounded,
//! reproducible script. Two `bma-social serve`, two `worker` and two `scheduler` processes share a
//! PostgreSQL and a Redis of the bench's own (so that restarting them touches nothing else); the
//! WhatsApp and Soundtrack fakes run in this process. Load runs throughout: signed WhatsApp
//! webhooks to both servers (20/s, each with its own wamid), team replies (2/s, each with its own
//! text) and one live-feed client per server. A request that fails is recorded as failed, never
//! retried: what counts is what was acknowledged.
//!
//! The faults, one after another: `kill -9` of a server, a worker and the monitor's scheduler
//! (each restarted at once), a PostgreSQL restart, Redis down for 10 s, Soundtrack down, slow,
//! answering 429 and answering one account with partial errors, WhatsApp answering 500 and then
//! too slowly, and a worker killed with sends in flight. Each recovery is timed from the fault's
//! end until everything works again (see [`Rig::unmet`]). Then the invariants are checked from
//! what was acknowledged, what the fakes received and what the database holds, and printed as
//! PASS / FAIL; any FAIL makes the command fail.

use crate::children::{Children, PrivatePostgres, PrivateRedis, get_status, spawn, wait_for};
use anyhow::{Context, bail};
use bma_domain::access::Role;
use bma_fakes::soundtrack::{Fault, FaultKind, FleetConfig, SoundtrackFake, Target};
use bma_fakes::whatsapp::{StatusProgression, WhatsappFake, WhatsappFakeConfig};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

mod checks;
mod traffic;

use checks::{arrivals_line, print_tables};
use traffic::{drain_bucket, exchange, feed, reply_load, webhook, webhook_load};

/// Distinct venue numbers writing on WhatsApp.
const SENDERS: u64 = 300;
const WEBHOOK_EVERY: Duration = Duration::from_millis(50);
const REPLY_EVERY: Duration = Duration::from_millis(500);
/// A request not answered within this is recorded as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Every recovery must take at most this (seconds)…
const RECOVERY_BOUND: f64 = 30.0;
/// …and a step waits this long before it records "not recovered" and the script goes on.
const RECOVERY_LIMIT: Duration = Duration::from_secs(60);
/// Between one recovery and the next fault.
const PAUSE: Duration = Duration::from_secs(3);
/// What `bma_app::monitoring::runner` logs (at info) when its process takes the monitor's lock.
const LEADER_LINE: &str = "this process runs the music monitor";
/// The processes, in the order of `Children`: (role, label).
const PROCS: [(&str, &str); 6] = [
    ("serve", "serve A"),
    ("serve", "serve B"),
    ("worker", "worker A"),
    ("worker", "worker B"),
    ("scheduler", "scheduler A"),
    ("scheduler", "scheduler B"),
];
const SERVE_A: usize = 0;
const WORKER_A: usize = 2;
const WORKER_B: usize = 3;
const SCHEDULER_A: usize = 4;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the load and the live-feed clients recorded.
#[derive(Default)]
struct Board {
    /// Webhooks answered 200: when, by which server, the wamid.
    acked: Mutex<Vec<(Instant, usize, String)>>,
    /// Webhooks not answered 200 (refused, cut or timed out): when.
    refused: Mutex<Vec<Instant>>,
    /// Replies answered 202: when, the message's id, its text.
    replies: Mutex<Vec<(Instant, Uuid, String)>>,
    /// Replies not answered 202: when.
    replies_refused: Mutex<Vec<Instant>>,
    /// `zone.changed` events received: when, on which server, the zone's id, the state it went to.
    events: Mutex<Vec<(Instant, usize, String, String)>>,
    feed_up: [AtomicBool; 2],
    feed_drops: [AtomicUsize; 2],
}

impl Board {
    fn acked_since(&self, server: usize, since: Instant) -> bool {
        lock(&self.acked).iter().rev().take_while(|a| a.0 >= since).any(|a| a.1 == server)
    }

    /// Webhooks acknowledged and not, between `from` and `to`.
    fn webhooks_between(&self, from: Instant, to: Instant) -> (usize, usize) {
        let acked = lock(&self.acked).iter().filter(|a| a.0 >= from && a.0 <= to).count();
        (acked, lock(&self.refused).iter().filter(|t| **t >= from && **t <= to).count())
    }

    fn replies_refused_between(&self, from: Instant, to: Instant) -> usize {
        lock(&self.replies_refused).iter().filter(|t| **t >= from && **t <= to).count()
    }

    /// When each server's client received `zone` going `to` after `since`, and how many times.
    fn arrivals(&self, zone: &str, to: &str, since: Instant) -> [(Option<Instant>, usize); 2] {
        let mut out = [(None, 0); 2];
        for (at, s, z, t) in lock(&self.events).iter() {
            if *at >= since && z == zone && t == to {
                out[*s].0.get_or_insert(*at);
                out[*s].1 += 1;
            }
        }
        out
    }
}

/// One `bma-social` process as started: which, its pid and log, and (schedulers) when it was
/// seen taking the monitor's lock.
struct Proc {
    label: &'static str,
    n: usize,
    pid: u32,
    log: PathBuf,
    leads_since: Option<Instant>,
    ended: Option<Instant>,
}

impl Proc {
    fn name(&self) -> String {
        if self.n == 1 { self.label.to_owned() } else { format!("{} #{}", self.label, self.n) }
    }
}

/// Notes, from each scheduler's log, when it took the monitor's lock, until `stop`.
async fn watch_leadership(procs: Arc<Mutex<Vec<Proc>>>, mut stop: watch::Receiver<bool>) {
    loop {
        let waiting: Vec<(usize, PathBuf)> = lock(&procs)
            .iter()
            .enumerate()
            .filter(|(_, p)| p.label.starts_with("scheduler") && p.leads_since.is_none() && p.ended.is_none())
            .map(|(i, p)| (i, p.log.clone()))
            .collect();
        for (i, log) in waiting {
            if std::fs::read_to_string(&log).is_ok_and(|s| s.contains(LEADER_LINE)) {
                lock(&procs)[i].leads_since = Some(Instant::now());
            }
        }
        tokio::select! { () = tokio::time::sleep(Duration::from_millis(250)) => {}, _ = stop.changed() => return }
    }
}

/// A zone's change, offline then back: for each, when each server's client received it (seconds
/// after the change; `None`: not within 30 s) and how many events it received for it; and the
/// Soundtrack requests made meanwhile (by the monitor or monitors).
struct Change {
    arrivals: [([Option<f64>; 2], [usize; 2]); 2],
    requests: u64,
    secs: f64,
}

/// One fault of the timeline.
struct Step {
    name: String,
    at: Instant,
    at_utc: OffsetDateTime,
    lasted: f64,
    recovered: Option<f64>,
    /// What recovery waited for last (or, not recovered, still waits for).
    unmet: String,
    refused: usize,
    replies_refused: usize,
    note: String,
}

/// The processes, the fakes and what the script has seen so far.
struct Rig {
    children: Children,
    env: HashMap<&'static str, String>,
    logs: PathBuf,
    ports: [u16; 2],
    procs: Arc<Mutex<Vec<Proc>>>,
    board: Arc<Board>,
    db: sqlx::PgPool,
    wa: WhatsappFake,
    st: SoundtrackFake,
    t0: Instant,
    steps: Vec<Step>,
    exits: Vec<String>,
    /// What a step gave up waiting for: later steps do not wait for it again.
    broken: Vec<String>,
}

impl Rig {
    fn servers(&self) -> [SocketAddr; 2] {
        self.ports.map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
    }

    fn secs(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.t0).as_secs_f64()
    }

    /// Starts process `i` of [`PROCS`] (schedulers log their leadership), each start with a log
    /// of its own.
    fn spawn(&self, i: usize) -> anyhow::Result<std::process::Child> {
        let (role, label) = PROCS[i];
        let mut procs = lock(&self.procs);
        let n = procs.iter().filter(|p| p.label == label).count() + 1;
        let log = self.logs.join(format!("{}-{n}.log", label.replace(' ', "-")));
        let mut env = self.env.clone();
        if role == "scheduler" {
            env.insert("RUST_LOG", "warn,bma_app::monitoring::runner=info".into());
        }
        let child = spawn(role, &env, (role == "serve").then(|| self.ports[i]), &log)?;
        procs.push(Proc { label, n, pid: child.id(), log, leads_since: None, ended: None });
        Ok(child)
    }

    /// `kill -9` of process `i`, started again at once: the dead one's pid.
    fn restart(&mut self, i: usize) -> anyhow::Result<u32> {
        let pid = self.children.kill(i)?;
        self.ended(pid);
        self.children.0[i].1 = self.spawn(i)?;
        Ok(pid)
    }

    fn ended(&self, pid: u32) {
        if let Some(p) = lock(&self.procs).iter_mut().find(|p| p.pid == pid) {
            p.ended = Some(Instant::now());
        }
    }

    /// The name of the process that had `pid`.
    fn name_of(&self, pid: u32) -> String {
        lock(&self.procs).iter().find(|p| p.pid == pid).map_or_else(|| format!("pid {pid}"), Proc::name)
    }

    /// Send jobs claimed by the worker in slot `i` now.
    async fn in_flight(&self, i: usize) -> i64 {
        let like = format!("worker-{}-%", self.children.pid(i));
        sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE kind = 'message.send' AND status = 'running' AND locked_by LIKE $1",
        )
        .bind(like)
        .fetch_one(&self.db)
        .await
        .unwrap_or(-1)
    }

    fn begin(&self, name: &str) -> Step {
        let at = Instant::now();
        println!("[{:6.1} s] {name}", self.secs(at));
        let at_utc = OffsetDateTime::now_utc();
        Step {
            name: name.into(),
            at,
            at_utc,
            lasted: 0.0,
            recovered: None,
            unmet: String::new(),
            refused: 0,
            replies_refused: 0,
            note: String::new(),
        }
    }

    /// The fault of `step` ends now: waits for recovery, records the step, pauses.
    async fn end(&mut self, mut step: Step, note: String) -> anyhow::Result<()> {
        let (ended, asked) = (Instant::now(), self.st.requests());
        step.lasted = ended.duration_since(step.at).as_secs_f64();
        loop {
            let mut unmet = self.unmet(ended, asked).await?;
            unmet.retain(|u| !self.broken.contains(u));
            if unmet.is_empty() {
                step.recovered = Some(ended.elapsed().as_secs_f64());
                break;
            }
            step.unmet = unmet.join(", ");
            if ended.elapsed() > RECOVERY_LIMIT {
                self.broken.extend(unmet);
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        step.refused = self.board.webhooks_between(step.at, Instant::now()).1;
        step.replies_refused = self.board.replies_refused_between(step.at, Instant::now());
        step.note = note;
        if step.recovered.is_some_and(|r| r >= 1.0) {
            step.note.push_str(&format!(" Last to come back: {}.", step.unmet));
        }
        if step.recovered.is_some() && !self.broken.is_empty() {
            step.note
                .push_str(&format!(" Not waited for (broken since an earlier fault): {}.", self.broken.join(", ")));
        }
        match step.recovered {
            Some(r) => println!("           fault lasted {:.1} s, recovered in {r:.1} s. {}", step.lasted, step.note),
            None => println!(
                "           NOT RECOVERED within {} s: still waiting for {}",
                RECOVERY_LIMIT.as_secs(),
                step.unmet
            ),
        }
        self.steps.push(step);
        tokio::time::sleep(PAUSE).await;
        Ok(())
    }

    /// What still does not work since `since` (empty: recovered): both servers answer `/health`
    /// 200 and each acknowledged a webhook; a reply posted since was sent to WhatsApp; the monitor
    /// asked Soundtrack again (its requests passed `asked`) and no platform alert is open; both
    /// live-feed clients are connected. A process that died by itself is started again and noted.
    async fn unmet(&mut self, since: Instant, asked: u64) -> anyhow::Result<Vec<String>> {
        let mut unmet = Vec::new();
        for (i, (_, label)) in PROCS.iter().enumerate() {
            if let Some(status) = self.children.0[i].1.try_wait()? {
                let pid = self.children.pid(i);
                self.ended(pid);
                self.exits.push(format!(
                    "{} exited by itself ({status}) at {:.1} s",
                    self.name_of(pid),
                    self.secs(Instant::now())
                ));
                self.children.0[i].1 = self.spawn(i)?;
                unmet.push(format!("{label} restarted"));
            }
        }
        for (s, addr) in self.servers().into_iter().enumerate() {
            let label = PROCS[s].1;
            if tokio::time::timeout(Duration::from_secs(2), get_status(addr, "/health")).await.ok().flatten()
                != Some(200)
            {
                unmet.push(format!("{label} /health"));
            }
            if !self.board.acked_since(s, since) {
                unmet.push(format!("a webhook acknowledged by {label}"));
            }
            if !self.board.feed_up[s].load(Ordering::SeqCst) {
                unmet.push(format!("the live feed of {label}"));
            }
        }
        let replies: Vec<Uuid> =
            lock(&self.board.replies).iter().rev().take_while(|r| r.0 >= since).map(|r| r.1).collect();
        if self.st.requests() <= asked {
            unmet.push("a Soundtrack request by the monitor".into());
        }
        let checks = sqlx::query_as::<_, (bool, bool)>(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE id = ANY($1) AND delivery_status IN ('sent', 'delivered', 'read')), \
                    NOT EXISTS (SELECT 1 FROM alerts WHERE alert_type = 'platform' AND NOT resolved)",
        )
        .bind(&replies)
        .fetch_one(&self.db)
        .await;
        match checks {
            Ok((sent, calm)) => {
                let wanted = [(sent, "a reply sent to WhatsApp"), (calm, "the platform alert resolved")];
                unmet.extend(wanted.iter().filter(|(ok, _)| !ok).map(|(_, what)| (*what).to_owned()));
            }
            Err(_) => unmet.push("the bench's own database queries".into()),
        }
        Ok(unmet)
    }

    /// A zone of the fake goes offline for at least 8 s, then back.
    async fn live_change(&self, zone: &(String, Uuid)) -> Change {
        let (started, requests) = (Instant::now(), self.st.requests());
        let mut arrivals = [([None; 2], [0; 2]); 2];
        for (k, to) in ["offline", "playing"].into_iter().enumerate() {
            let since = Instant::now();
            if k == 0 {
                self.st.inject(Fault {
                    kind: FaultKind::Offline,
                    target: Target::Zone(zone.0.clone()),
                    starts_at: None,
                    duration: None,
                });
            } else {
                self.st.clear_faults();
            }
            let id = zone.1.to_string();
            while since.elapsed() < Duration::from_secs(30)
                && self.board.arrivals(&id, to, since).iter().any(|a| a.0.is_none())
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // Each state is held at least 8 s, so that a second monitor, if any, sees the change
            // too and repeats it.
            tokio::time::sleep_until(tokio::time::Instant::from_std(since + Duration::from_secs(8))).await;
            let got = self.board.arrivals(&id, to, since);
            arrivals[k] = (got.map(|a| a.0.map(|t| t.duration_since(since).as_secs_f64())), got.map(|a| a.1));
        }
        Change { arrivals, requests: self.st.requests() - requests, secs: started.elapsed().as_secs_f64() }
    }
}

impl Rig {
    /// Starts the processes (scheduler A first, so that it leads the monitor), then waits for
    /// both servers and for the monitor to have seen every zone of the fake.
    async fn start(&mut self) -> anyhow::Result<()> {
        let see = format!("see the logs in {}", self.logs.display());
        for (i, (_, label)) in PROCS.iter().enumerate().take(PROCS.len() - 1) {
            let child = self.spawn(i)?;
            self.children.0.push((label, child));
        }
        let procs = self.procs.clone();
        wait_for(
            "scheduler A to take the monitor's lock (its log)",
            Duration::from_secs(60),
            &mut self.children,
            || {
                let procs = procs.clone();
                async move { Ok(lock(&procs).iter().any(|p| p.leads_since.is_some())) }
            },
        )
        .await
        .context(see.clone())?;
        let child = self.spawn(PROCS.len() - 1)?;
        self.children.0.push((PROCS[PROCS.len() - 1].1, child));
        for addr in self.servers() {
            wait_for(&format!("{addr} /health"), Duration::from_secs(60), &mut self.children, || async move {
                Ok(get_status(addr, "/health").await == Some(200))
            })
            .await
            .context(see.clone())?;
        }
        let total: i64 = self.st.accounts().iter().map(|a| a.zones.len() as i64).sum();
        crate::children::wait_for_discovery(&self.db, total, &mut self.children).await.context(see)
    }

    /// Every venue number writes once, so that replies have open conversations to go to (and
    /// the WhatsApp fake, which did not carry these webhooks, opens its 24-hour window too).
    async fn warm_up(&self) -> anyhow::Result<Vec<Uuid>> {
        let (secret, phone) = (&self.wa.config().app_secret, &self.wa.config().phone_number_id);
        for n in 0..SENDERS {
            self.wa.open_window(&(crate::load::FIRST_SENDER + n).to_string());
            let (s, wamid) = ((n % 2) as usize, format!("wamid.faults.warm.{n}"));
            let answer = exchange(self.servers()[s], webhook(secret, phone, n, &wamid)?).await;
            if answer.as_ref().map(|a| a.0) != Some(200) {
                bail!("a warm-up webhook was not acknowledged ({:?})", answer.map(|a| a.0));
            }
            lock(&self.board.acked).push((Instant::now(), s, wamid));
        }
        Ok(sqlx::query_scalar("SELECT id FROM conversations ORDER BY id").fetch_all(&self.db).await?)
    }

    /// The living processes that took the monitor's lock, most recent last.
    fn leaders(&self) -> String {
        let procs = lock(&self.procs);
        let mut leading: Vec<&Proc> = procs.iter().filter(|p| p.ended.is_none() && p.leads_since.is_some()).collect();
        leading.sort_by_key(|p| p.leads_since);
        let names: Vec<String> = leading.into_iter().map(Proc::name).collect();
        if names.is_empty() { "none".into() } else { names.join(" and ") }
    }

    /// A Soundtrack fault on the whole platform for `secs`, then cleared.
    async fn soundtrack(&mut self, name: &str, kind: FaultKind, secs: u64) -> anyhow::Result<()> {
        let step = self.begin(name);
        self.st.inject(Fault { kind, target: Target::Platform, starts_at: None, duration: None });
        tokio::time::sleep(Duration::from_secs(secs)).await;
        self.st.clear_faults();
        self.end(step, String::new()).await
    }

    /// The faults, one after another. Returns when Redis was down.
    async fn timeline(&mut self, pg: &PrivatePostgres, redis: &mut PrivateRedis) -> anyhow::Result<(Instant, Instant)> {
        let step = self.begin("kill -9 serve A, restarted");
        self.restart(SERVE_A)?;
        self.end(step, String::new()).await?;

        let step = self.begin("kill -9 worker A, restarted");
        let held = self.in_flight(WORKER_A).await;
        self.restart(WORKER_A)?;
        self.end(step, format!("{held} send jobs were in its hands.")).await?;

        let step = self.begin("kill -9 scheduler A (the monitor's leader), restarted");
        let before = self.leaders();
        self.restart(SCHEDULER_A)?;
        self.end(step, format!("Monitor led by {before} before.")).await?;
        let after = self.leaders();
        self.note(&format!("After: {after}."));

        let step = self.begin("PostgreSQL restarted (pg_ctl restart -m fast)");
        pg.restart().await?;
        self.end(step, String::new()).await?;
        tokio::time::sleep(Duration::from_secs(12)).await; // a follower retries the lock every 10 s
        let leading = self.leaders();
        self.note(&format!("Monitor run by {leading} 12 s after recovery."));

        let step = self.begin("Redis down (kill -9) for 10 s, then started again");
        redis.down()?;
        let down = Instant::now();
        tokio::time::sleep(Duration::from_secs(10)).await;
        let redis_window = (down, Instant::now());
        redis.up().await?;
        self.end(step, String::new()).await?;

        self.soundtrack("Soundtrack platform outage (every request 503) for 30 s", FaultKind::PlatformOutage, 30)
            .await?;
        let slow = FaultKind::Slow { delay: Duration::from_secs(3) };
        self.soundtrack("Soundtrack slow (3 s added to every answer) for 20 s", slow, 20).await?;
        let account = self.st.accounts().first().map(|a| a.id.clone()).context("a Soundtrack account")?;
        let step = self.begin("Soundtrack answering 429 (the bench spends the token bucket) for 20 s");
        let before = self.st.counts().rate_limited;
        let own = drain_bucket(&self.st, &account, Duration::from_secs(20)).await?;
        let monitor = (self.st.counts().rate_limited - before).saturating_sub(own);
        self.end(step, format!("The monitor met {monitor} 429s.")).await?;
        let step = self.begin("Soundtrack partial errors (one account's soundZoneStatuses fails) for 20 s");
        self.st.fail_account_field(&account, "soundZoneStatuses")?;
        tokio::time::sleep(Duration::from_secs(20)).await;
        self.st.heal_fields();
        self.end(step, String::new()).await?;

        let step = self.begin("WhatsApp answering 500 to the next 20 calls");
        let (before, since) = (self.wa.requests(), Instant::now());
        self.wa.fail_next(20, 500);
        while self.wa.requests() < before + 20 && since.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.end(step, "Failed sends go back to the queue.".into()).await?;
        let step = self.begin("WhatsApp holding its answers 25 s (our client waits 20 s) for 4 s of sends");
        self.wa.hold_responses(Duration::from_secs(25));
        tokio::time::sleep(Duration::from_secs(4)).await;
        self.wa.hold_responses(Duration::ZERO);
        self.end(step, "Sends that timed out are flagged, not repeated.".into()).await?;

        let step = self.begin("kill -9 worker B with sends in flight (WhatsApp answers held 5 s), restarted");
        self.wa.hold_responses(Duration::from_secs(5));
        tokio::time::sleep(Duration::from_secs(3)).await;
        let held = self.in_flight(WORKER_B).await;
        self.restart(WORKER_B)?;
        self.wa.hold_responses(Duration::ZERO);
        self.end(step, format!("{held} send jobs were in its hands.")).await?;
        Ok(redis_window)
    }

    /// Adds `text` to the last step's note, and prints it.
    fn note(&mut self, text: &str) {
        if let Some(s) = self.steps.last_mut() {
            s.note = format!("{} {text}", s.note.trim());
            println!("           {text}");
        }
    }
}

/// The environment of the `bma-social` processes: the bench's database and Redis, the fakes,
/// rate limits out of the way.
fn child_env(url: &str, redis: &str, wa: &WhatsappFake, st: &SoundtrackFake) -> HashMap<&'static str, String> {
    let (_, _, mut env) = crate::child_env(url, "bench-faults");
    env.extend([
        ("REDIS_URL", redis.to_owned()),
        ("BCRYPT_COST", "4".into()),
        ("RATE_LIMIT_PER_IP", "1000000000".into()),
        ("RATE_LIMIT_PER_USER", "1000000000".into()),
        ("SOUNDTRACK_API_URL", st.url()),
        ("SOUNDTRACK_CLIENT_ID", st.client_id().to_owned()),
        ("SOUNDTRACK_CLIENT_SECRET", st.client_secret().to_owned()),
    ]);
    env.extend(crate::whatsapp_env(wa));
    env
}

pub async fn run() -> anyhow::Result<()> {
    if std::env::args().len() > 2 {
        bail!("bma-bench faults takes no options");
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let t0 = Instant::now();
    let pg = PrivatePostgres::start("bma_faults").await?;
    let mut redis = PrivateRedis::start().await?;
    let db = bma_store::connect(&pg.url, 10).await?;
    bma_store::migrate(&db).await?;
    let wa =
        WhatsappFake::start(WhatsappFakeConfig { statuses: StatusProgression::off(), ..WhatsappFakeConfig::default() })
            .await?;
    let st = SoundtrackFake::start(FleetConfig { seed: 23, accounts: 4, zones: 40, ..FleetConfig::default() }).await?;
    let env = child_env(&pg.url, &redis.url(), &wa, &st);
    let mail = Arc::new(bma_integrations::email::Unconfigured);
    let ctx = bma_app::AppContext::new(db.clone(), bma_kv::Kv::memory(), mail, crate::config_of(&env)?);
    let bearer = format!("Bearer {}", crate::bench_member(&ctx, Role::Manager).await?.access_token);
    let logs = std::env::temp_dir().join("bma-bench-faults");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs)?;
    let ports = [crate::children::free_port()?, crate::children::free_port()?];
    let mut rig = Rig {
        children: Children::default(),
        env,
        logs,
        ports,
        procs: Arc::default(),
        board: Arc::default(),
        db: db.clone(),
        wa,
        st,
        t0,
        steps: Vec::new(),
        exits: Vec::new(),
        broken: Vec::new(),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(watch_leadership(rig.procs.clone(), stop_rx.clone()));
    let from = OffsetDateTime::now_utc();
    rig.start().await?;
    let conversations = rig.warm_up().await?;
    let zones: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT z.soundtrack_device_id, z.id FROM zones z JOIN zone_monitor_state s ON s.zone_id = z.id \
         WHERE z.soundtrack_device_id IS NOT NULL AND s.observation = 'playing' ORDER BY z.soundtrack_device_id LIMIT 2",
    )
    .fetch_all(&db)
    .await?;
    if zones.len() < 2 || conversations.is_empty() {
        bail!("{} playing zones and {} conversations: need 2 and 1", zones.len(), conversations.len());
    }
    println!(
        "BMA Social fault benchmark: 2 `bma-social serve`, 2 `worker` and 2 `scheduler` processes (release) on a private \
         PostgreSQL and Redis; Soundtrack fake with {} zones in 4 accounts, WhatsApp fake; load throughout: signed \
         webhooks at 20/s from {SENDERS} venue numbers to both servers, team replies at 2/s to {} conversations, one \
         live-feed client per server. Everything shares the machine's cores. Ready after {:.1} s; logs in {}.\n",
        rig.st.accounts().iter().map(|a| a.zones.len()).sum::<usize>(),
        conversations.len(),
        rig.secs(Instant::now()),
        rig.logs.display()
    );
    let servers = rig.servers();
    let keys = (rig.wa.config().app_secret.clone(), rig.wa.config().phone_number_id.clone());
    let mut load = tokio::task::JoinSet::new();
    load.spawn(webhook_load(servers, keys, rig.board.clone(), stop_rx.clone()));
    load.spawn(reply_load(servers, bearer.clone(), conversations, rig.board.clone(), stop_rx.clone()));
    for (s, addr) in servers.into_iter().enumerate() {
        load.spawn(feed(addr, bearer.clone(), s, rig.board.clone(), stop_rx.clone()));
    }
    let board = rig.board.clone();
    wait_for("both live-feed clients connected", Duration::from_secs(30), &mut rig.children, || {
        let board = board.clone();
        async move { Ok(board.feed_up.iter().all(|u| u.load(Ordering::SeqCst))) }
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let first = rig.live_change(&zones[0]).await;
    println!("[{:6.1} s] a zone changed before the faults: {}", rig.secs(Instant::now()), arrivals_line(&first));

    let redis_window = rig.timeline(&pg, &mut redis).await?;
    let last = rig.live_change(&zones[1]).await;
    println!("[{:6.1} s] a zone changed after the faults: {}", rig.secs(Instant::now()), arrivals_line(&last));
    let (to, end) = (OffsetDateTime::now_utc(), Instant::now());
    let _ = stop_tx.send(true);
    load.join_all().await;
    let settled = rig.settle().await?;
    println!("[{:6.1} s] load stopped; {settled}", rig.secs(Instant::now()));

    let mut verdicts = vec![rig.check_acknowledged().await?];
    verdicts.extend(rig.check_replies().await?);
    verdicts.extend(rig.check_alerts().await?);
    verdicts.push(rig.check_periodic(from, to).await?);
    verdicts.push(rig.check_monitor_once(end).await?);
    verdicts.push(rig.check_live(&last));
    verdicts.push(rig.check_recovery());
    verdicts.push(rig.check_redis_down(redis_window));
    verdicts.push(rig.check_detection(&first, &last));
    print_tables(&rig.steps, &verdicts, |at| rig.secs(at));
    println!("\nwhole run {:.0} s; command: {command}", rig.secs(Instant::now()));
    let failed = verdicts.iter().filter(|v| !v.pass).count();
    if failed > 0 {
        bail!("{failed} invariants failed");
    }
    Ok(())
}
