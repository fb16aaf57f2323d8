//! `bma-bench load`: the specification's load against real processes. A fleet is seeded, one
//! `bma-social serve` and one `bma-social worker` run as in production (the WhatsApp fake in this
//! process takes the team's replies), a month of history is seeded and rolled up as the hourly job
//! would have (`--history-days 31`), and virtual users send the day's mix: portal pages, API
//! reads, analytics, signed WhatsApp webhooks and team replies.
//!
//! * **Concurrent users** (`--users 1000,10000`): each user holds its own keep-alive connection
//!   and sends a request from the mix, then thinks for a random 0–2× `--think-ms`, for
//!   `--seconds`; then the same users do the same against `GET /livez` (same server, same layers,
//!   no database): the hello-world baseline of the same run.
//! * **A million calls** (`--calls 1000000` over `--connections 256`, closed loop): the mix
//!   until that many calls are answered, then as many `GET /livez`.
//!
//! Every phase reports throughput, p50 / p99 / max latency and errors per kind of request, and
//! the `serve` process's CPU (seconds and share of one core) and memory (resident at the end,
//! peak) read from `/proc`.

use crate::children::{Children, cpu_seconds, free_port, get_status, peak_rss_kib, rss_kib, spawn, wait_for};
use crate::stats::percentile;
use anyhow::{Context, bail};
use bma_domain::access::Role;
use bma_fakes::whatsapp::{WhatsappFake, WhatsappFakeConfig};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Opts {
    venues: usize,
    zones: usize,
    history_days: u32,
    users: Vec<usize>,
    seconds: u64,
    think_ms: u64,
    calls: u64,
    connections: usize,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts {
        venues: 10_000,
        zones: 50_000,
        history_days: 31,
        users: vec![1_000, 10_000],
        seconds: 60,
        think_ms: 5_000,
        calls: 1_000_000,
        connections: 256,
    };
    let args: Vec<String> = std::env::args().skip(2).collect();
    for pair in args.chunks(2) {
        let v = pair.get(1).map_or("", String::as_str);
        match pair[0].as_str() {
            "--venues" => o.venues = v.parse()?,
            "--zones" => o.zones = v.parse()?,
            "--history-days" => o.history_days = v.parse()?,
            "--users" => o.users = v.split(',').filter(|s| !s.is_empty()).map(str::parse).collect::<Result<_, _>>()?,
            "--seconds" => o.seconds = v.parse()?,
            "--think-ms" => o.think_ms = v.parse()?,
            "--calls" => o.calls = v.parse()?,
            "--connections" => o.connections = v.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    if o.connections == 0 || o.think_ms == 0 {
        bail!("--connections and --think-ms must be at least 1");
    }
    Ok(o)
}

/// The kinds of request in the mix, with their weights (out of 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Portal,
    ApiRead,
    Analytics,
    Webhook,
    Reply,
    Hello,
}

const MIX: [(Kind, u32); 5] =
    [(Kind::Portal, 25), (Kind::ApiRead, 35), (Kind::Analytics, 15), (Kind::Webhook, 20), (Kind::Reply, 5)];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Portal => "portal pages (/dashboard, /inbox, /venues, /alerts)",
            Kind::ApiRead => "API reads (venue lists and details, zones, conversations)",
            Kind::Analytics => "analytics (dashboard, satisfaction, uptime by brand)",
            Kind::Webhook => "WhatsApp webhooks (signed, one message each)",
            Kind::Reply => "team replies (queued for WhatsApp)",
            Kind::Hello => "GET /livez (baseline)",
        }
    }

    /// The kind of the `n`-th request of the mix (a fixed cycle of 100, so every phase has the
    /// same shares).
    fn of(n: u64) -> Kind {
        let mut at = u32::try_from(n.wrapping_mul(37) % 100).unwrap_or(0);
        for (k, w) in MIX {
            if at < w {
                return k;
            }
            at -= w;
        }
        Kind::ApiRead
    }
}

/// What every user shares: where to go, as whom, and the ids to ask about.
struct Target {
    addr: SocketAddr,
    cookie: String,
    bearer: String,
    venues: Vec<Uuid>,
    conversations: Vec<Uuid>,
    app_secret: String,
    phone_number_id: String,
    seq: AtomicU64,
    /// Webhooks answered 200.
    acked: AtomicU64,
}

impl Target {
    fn request(&self, kind: Kind, n: u64) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
        let pick = |ids: &[Uuid]| ids[usize::try_from(n).unwrap_or(0) % ids.len().max(1)];
        let get = |path: String, auth: (&str, &str)| {
            hyper::Request::get(path).header("host", "bench").header(auth.0, auth.1).body(Full::new(Bytes::new()))
        };
        let bearer = ("authorization", self.bearer.as_str());
        let cookie = ("cookie", self.cookie.as_str());
        Ok(match kind {
            Kind::Hello => get("/livez".into(), ("accept", "*/*"))?,
            Kind::Portal => {
                let page = ["/dashboard", "/inbox", "/venues", "/alerts"][usize::try_from(n % 4).unwrap_or(0)];
                get(page.into(), cookie)?
            }
            Kind::ApiRead => {
                let v = pick(&self.venues);
                let path = match n % 4 {
                    0 => format!("/api/v1/venues?per_page=50&page={}", 1 + n % 20),
                    1 => format!("/api/v1/venues/{v}"),
                    2 => format!("/api/v1/venues/{v}/zones"),
                    _ => "/api/v1/conversations?status=open".to_owned(),
                };
                get(path, bearer)?
            }
            Kind::Analytics => {
                let path = match n % 3 {
                    0 => "/api/v1/analytics/dashboard",
                    1 => "/api/v1/analytics/satisfaction",
                    _ => "/api/v1/analytics/uptime?group_by=brand",
                };
                get(path.into(), bearer)?
            }
            Kind::Webhook => {
                let body = self.webhook(self.seq.fetch_add(1, Ordering::Relaxed));
                let sig = bma_integrations::signature::sign_hex_sha256(self.app_secret.as_bytes(), &body);
                hyper::Request::post("/api/v1/webhooks/whatsapp")
                    .header("host", "bench")
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sig)
                    .body(Full::new(Bytes::from(body)))?
            }
            Kind::Reply => {
                let c = pick(&self.conversations);
                let body = serde_json::json!({"text": "Thank you, we are on it."}).to_string();
                hyper::Request::post(format!("/api/v1/conversations/{c}/messages"))
                    .header("host", "bench")
                    .header("content-type", "application/json")
                    .header("authorization", &self.bearer)
                    .body(Full::new(Bytes::from(body)))?
            }
        })
    }

    /// A venue's WhatsApp message as Meta delivers it: one of 500 senders, a unique message id.
    fn webhook(&self, n: u64) -> Vec<u8> {
        let wamid = format!("wamid.load.{n}.{}", Uuid::new_v4().simple());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        whatsapp_text(&self.phone_number_id, n % 500, &wamid, now, "The lobby music stopped")
    }
}

/// The WhatsApp number (`wa_id`) of sender 0; sender `n` writes from this + `n`.
pub(crate) const FIRST_SENDER: u64 = 66_800_000_000;

/// A venue's WhatsApp text as Meta delivers it: from sender number `sender`, message id `wamid`,
/// written at `timestamp` (Unix seconds).
pub(crate) fn whatsapp_text(phone_number_id: &str, sender: u64, wamid: &str, timestamp: i64, text: &str) -> Vec<u8> {
    let from = (FIRST_SENDER + sender).to_string();
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Load Venue"}, "wa_id": from}],
            "messages": [{"from": from, "id": wamid, "timestamp": timestamp.to_string(), "type": "text",
                          "text": {"body": text}}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

/// Latencies (ms) and failures of one kind of request in a phase.
#[derive(Default)]
struct Tally {
    ms: Vec<f64>,
    errors: u64,
    /// What the first failure was (a status and its body, or the transport error).
    first_error: Option<String>,
}

type Tallies = Vec<(Kind, Tally)>;

impl Tally {
    fn note(&mut self, ms: f64, outcome: Result<(), String>) {
        self.ms.push(ms);
        if let Err(e) = outcome {
            self.errors += 1;
            self.first_error.get_or_insert(e);
        }
    }
}

fn tally_of(t: &mut Tallies, k: Kind) -> &mut Tally {
    if let Some(i) = t.iter().position(|(x, _)| *x == k) {
        return &mut t[i].1;
    }
    t.push((k, Tally::default()));
    &mut t.last_mut().expect("just pushed").1
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// One request on `sender` (reconnecting first if the connection is gone): latency and success.
async fn call(target: &Target, sender: &mut Option<Sender>, kind: Kind, n: u64) -> (f64, Result<(), String>) {
    let started = Instant::now();
    let outcome = async {
        if sender.as_ref().is_none_or(|s| s.is_closed()) {
            *sender = Some(connect(target.addr).await?);
        }
        let s = sender.as_mut().context("a connection")?;
        s.ready().await?;
        let res = s.send_request(target.request(kind, n)?).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        anyhow::Ok(if status.is_success() {
            Ok(())
        } else {
            Err(format!("{status} {}", String::from_utf8_lossy(&body[..body.len().min(200)])))
        })
    }
    .await;
    let outcome = outcome.unwrap_or_else(|e| {
        *sender = None;
        Err(e.to_string())
    });
    if outcome.is_ok() && kind == Kind::Webhook {
        target.acked.fetch_add(1, Ordering::Relaxed);
    }
    (started.elapsed().as_secs_f64() * 1000.0, outcome)
}

/// `users` users, each thinking 0–2× `think` between requests, for `seconds`; `hello` sends the
/// baseline instead of the mix.
async fn users_phase(target: Arc<Target>, users: usize, think: Duration, seconds: u64, hello: bool) -> Tallies {
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for u in 0..users {
        let target = target.clone();
        tasks.spawn(async move {
            let mut tallies = Tallies::new();
            let mut sender = None;
            let mut rng = (u as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let next = |rng: &mut u64| {
                *rng ^= *rng << 13;
                *rng ^= *rng >> 7;
                *rng ^= *rng << 17;
                think.mul_f64((*rng % 2_000) as f64 / 1_000.0)
            };
            // Users arrive spread over the first think time, not all at once.
            tokio::time::sleep(think.mul_f64(u as f64 / users.max(1) as f64)).await;
            let mut n = u as u64;
            while Instant::now() < end {
                let kind = if hello { Kind::Hello } else { Kind::of(n) };
                let (ms, outcome) = call(&target, &mut sender, kind, n).await;
                tally_of(&mut tallies, kind).note(ms, outcome);
                n += users as u64;
                tokio::time::sleep(next(&mut rng)).await;
            }
            tallies
        });
    }
    merge(tasks.join_all().await)
}

/// `calls` requests over `connections` connections, each sent as soon as the last returned.
async fn calls_phase(target: Arc<Target>, calls: u64, connections: usize, hello: bool) -> Tallies {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (target, next) = (target.clone(), next.clone());
        tasks.spawn(async move {
            let mut tallies = Tallies::new();
            let mut sender = None;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= calls {
                    return tallies;
                }
                let kind = if hello { Kind::Hello } else { Kind::of(n) };
                let (ms, outcome) = call(&target, &mut sender, kind, n).await;
                tally_of(&mut tallies, kind).note(ms, outcome);
            }
        });
    }
    merge(tasks.join_all().await)
}

fn merge(parts: Vec<Tallies>) -> Tallies {
    let mut all = Tallies::new();
    for part in parts {
        for (k, t) in part {
            let into = tally_of(&mut all, k);
            into.ms.extend(t.ms);
            into.errors += t.errors;
            if into.first_error.is_none() {
                into.first_error = t.first_error;
            }
        }
    }
    all.sort_by_key(|(k, _)| *k as u8);
    all
}

/// The server's CPU and memory over a phase.
struct Server {
    cpu_s: f64,
    rss_mib: f64,
    peak_mib: f64,
}

fn print_phase(title: &str, tallies: &Tallies, secs: f64, server: &Server, baseline: Option<(f64, f64)>) -> (f64, f64) {
    let total: usize = tallies.iter().map(|(_, t)| t.ms.len()).sum();
    let errors: u64 = tallies.iter().map(|(_, t)| t.errors).sum();
    let mut all: Vec<f64> = tallies.iter().flat_map(|(_, t)| t.ms.iter().copied()).collect();
    let (p50, p99, max) = (percentile(&mut all, 0.50), percentile(&mut all, 0.99), percentile(&mut all, 1.0));
    println!(
        "\n{title}: {total} requests in {secs:.1} s = {:.0} req/s, {errors} errors; serve CPU {:.1} s ({:.0} % of one core), \
         RSS {:.0} MiB at the end, peak {:.0} MiB",
        total as f64 / secs,
        server.cpu_s,
        server.cpu_s * 100.0 / secs,
        server.rss_mib,
        server.peak_mib
    );
    println!("\n| request | count | req/s | p50 ms | p99 ms | max ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (k, t) in tallies {
        let mut ms = t.ms.clone();
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            k.name(),
            ms.len(),
            ms.len() as f64 / secs,
            percentile(&mut ms, 0.50),
            percentile(&mut ms, 0.99),
            percentile(&mut ms, 1.0),
            t.errors
        );
    }
    println!("| **all** | {total} | {:.0} | {p50:.2} | {p99:.2} | {max:.2} | {errors} |", total as f64 / secs);
    for (k, t) in tallies {
        if let Some(e) = &t.first_error {
            println!("\nFirst failure of {}: {e}", k.name());
        }
    }
    if let Some((base_rps, base_p99)) = baseline {
        println!(
            "\nAgainst the baseline of the same users: throughput {:.3} of it, p99 {:.2} × its p99.",
            (total as f64 / secs) / base_rps.max(1e-9),
            p99 / base_p99.max(1e-9)
        );
    }
    (total as f64 / secs, p99)
}

/// Runs `phase` and reads the server's CPU and memory around it.
async fn measured<F: std::future::Future<Output = Tallies>>(
    pid: u32,
    phase: F,
) -> anyhow::Result<(Tallies, f64, Server)> {
    let cpu0 = cpu_seconds(pid)?;
    let started = Instant::now();
    let tallies = phase.await;
    let secs = started.elapsed().as_secs_f64();
    let server = Server {
        cpu_s: cpu_seconds(pid)? - cpu0,
        rss_mib: rss_kib(pid)? as f64 / 1024.0,
        peak_mib: peak_rss_kib(pid)? as f64 / 1024.0,
    };
    Ok((tallies, secs, server))
}

pub async fn run() -> anyhow::Result<()> {
    let o = opts()?;
    let (db, url) = bma_store::testing::fresh_database().await?;
    let seeding = Instant::now();
    let plan = bma_store::seed::SeedPlan { venues: o.venues, zones: o.zones, seed: 42, soundtrack_ids: true };
    bma_store::seed::seed_fleet(&db, &plan, |_, _| {}).await?;
    let now = time::OffsetDateTime::now_utc();
    bma_store::seed_history::seed_history(&db, o.history_days, 42, now, |_, _| {}).await?;
    let seeded = seeding.elapsed().as_secs_f64();

    let wa = WhatsappFake::start(WhatsappFakeConfig::default()).await?;
    let (redis, prefix, mut env) = crate::child_env(&url, "bench-load");
    let w = wa.config().clone();
    env.extend([
        ("BCRYPT_COST", "4".into()),
        ("RATE_LIMIT_PER_IP", "1000000000".into()),
        ("RATE_LIMIT_PER_USER", "1000000000".into()),
    ]);
    env.extend(crate::whatsapp_env(&wa));
    let config = crate::config_of(&env)?;
    let kv = bma_kv::Kv::redis(&redis, &prefix).await?;
    let ctx = bma_app::AppContext::new(db.clone(), kv, Arc::new(bma_integrations::email::Unconfigured), config);
    // What the hourly job would have left since the history ends.
    bma_app::services::uptime::roll_up(&ctx, ctx.clock.now()).await?;
    sqlx::query("VACUUM (ANALYZE)").execute(&db).await?;
    let pair = crate::bench_member(&ctx, Role::Manager).await?;
    let log = std::env::temp_dir().join("bma-bench-load.log");
    let _ = std::fs::remove_file(&log);

    let port = free_port()?;
    let mut children = Children::default();
    children.0.push(("serve", spawn("serve", &env, Some(port), &log)?));
    children.0.push(("worker", spawn("worker", &env, None, &log)?));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for("serve to answer /health", Duration::from_secs(60), &mut children, || async move {
        Ok(get_status(addr, "/health").await == Some(200))
    })
    .await
    .with_context(|| format!("see {}", log.display()))?;
    let pid = children.pid(0);

    let venues: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM venues ORDER BY id LIMIT 2000").fetch_all(&db).await?;
    let mut target = Target {
        addr,
        cookie: format!(
            "{}={}; {}={}",
            bma_portal::session::ACCESS_COOKIE,
            pair.access_token,
            bma_portal::session::REFRESH_COOKIE,
            pair.refresh_token
        ),
        bearer: format!("Bearer {}", pair.access_token),
        venues,
        conversations: Vec::new(),
        app_secret: w.app_secret.clone(),
        phone_number_id: w.phone_number_id.clone(),
        seq: AtomicU64::new(0),
        acked: AtomicU64::new(0),
    };
    // The 500 senders write first, so that replies have open conversations to go to.
    let mut sender = None;
    for n in 0..500 {
        if let (_, Err(e)) = call(&target, &mut sender, Kind::Webhook, n).await {
            bail!("a webhook was refused while warming up ({e}); see {}", log.display());
        }
    }
    target.conversations =
        sqlx::query_scalar("SELECT id FROM conversations WHERE external_id NOT LIKE 'history-%' ORDER BY id")
            .fetch_all(&db)
            .await?;
    let target = Arc::new(target);

    println!(
        "BMA Social load benchmark: one `bma-social serve` and one `bma-social worker` (release), {} venues / {} zones \
         and {} days of history seeded in {seeded:.1} s, {} open conversations; the load generator, the WhatsApp \
         fake, PostgreSQL and Redis share the same 2 cores. Mix: {}.",
        o.venues,
        o.zones,
        o.history_days,
        target.conversations.len(),
        MIX.iter().map(|(k, w)| format!("{} {w} %", k.name())).collect::<Vec<_>>().join(", ")
    );

    let think = Duration::from_millis(o.think_ms);
    for &users in &o.users {
        let (t, secs, server) = measured(pid, users_phase(target.clone(), users, think, o.seconds, true)).await?;
        let base =
            print_phase(&format!("{users} users, think 0–{} ms, baseline", 2 * o.think_ms), &t, secs, &server, None);
        let (t, secs, server) = measured(pid, users_phase(target.clone(), users, think, o.seconds, false)).await?;
        print_phase(&format!("{users} users, think 0–{} ms, the mix", 2 * o.think_ms), &t, secs, &server, Some(base));
        children.check_alive()?;
    }
    if o.calls > 0 {
        let (t, secs, server) = measured(pid, calls_phase(target.clone(), o.calls, o.connections, true)).await?;
        let base = print_phase(
            &format!("{} calls over {} connections, baseline", o.calls, o.connections),
            &t,
            secs,
            &server,
            None,
        );
        let (t, secs, server) = measured(pid, calls_phase(target.clone(), o.calls, o.connections, false)).await?;
        print_phase(
            &format!("{} calls over {} connections, the mix", o.calls, o.connections),
            &t,
            secs,
            &server,
            Some(base),
        );
        children.check_alive()?;
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE direction = 'in'").fetch_one(&db).await?;
    let acked = target.acked.load(Ordering::Relaxed);
    println!(
        "\nWebhooks sent {}, acknowledged {acked}; inbound messages stored {stored}: {}.",
        target.seq.load(Ordering::Relaxed),
        if u64::try_from(stored).unwrap_or(0) >= acked {
            "none acknowledged was lost"
        } else {
            "ACKNOWLEDGED MESSAGES LOST"
        }
    );
    Ok(())
}
