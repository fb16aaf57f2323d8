//! `bma-bench sse`: the live feed end to end. A small fleet on the Soundtrack fake (in this
//! process) is discovered and watched by a real `bma-social scheduler` process (the monitor runs
//! there), two `bma-social serve` processes on their own ports share Redis under a prefix of
//! their own, and 1,000 clients (half on each server) hold `GET /api/v1/events` open, signed in
//! as real members of three roles. Then a zone of the fake goes offline and comes back, again and
//! again, and every client's arrival of the matching `zone.changed` event is timed from the moment
//! of the change. A subscriber of this process on the same Redis channel times when the event
//! was published, which splits the latency into the monitor's detection (change → published) and
//! the fan-out (published → each client). Each server's RSS is read from `/proc` before the
//! clients connect and with them connected.

use crate::children::{Children, free_port, get_status, rss_kib, spawn, wait_for};
use anyhow::{Context, bail};
use bma_app::AppContext;
use bma_domain::access::Role;
use bma_domain::member::{Email, Password, PersonName};
use bma_fakes::soundtrack::{Fault, FaultKind, FleetConfig, SoundtrackFake, Target};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Opts {
    clients: usize,
    changes: usize,
    accounts: usize,
    zones: usize,
    latency_ms: u64,
    refill: f64,
    members_per_role: usize,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts {
        clients: 1_000,
        changes: 30,
        accounts: 5,
        zones: 15,
        latency_ms: 200,
        refill: 50.0,
        members_per_role: 4,
    };
    let args: Vec<String> = std::env::args().skip(2).collect();
    for pair in args.chunks(2) {
        let (k, v) = (pair[0].as_str(), pair.get(1).map(String::as_str).unwrap_or(""));
        match k {
            "--clients" => o.clients = v.parse()?,
            "--changes" => o.changes = v.parse()?,
            "--accounts" => o.accounts = v.parse()?,
            "--zones" => o.zones = v.parse()?,
            "--latency-ms" => o.latency_ms = v.parse()?,
            "--refill" => o.refill = v.parse()?,
            "--members-per-role" => o.members_per_role = v.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    if o.clients == 0 || o.changes == 0 || o.members_per_role == 0 {
        bail!("--clients, --changes and --members-per-role must be at least 1");
    }
    Ok(o)
}

/// How many Redis connections are subscribed to the feed's channel under `prefix` (one per open
/// stream, as `PubSub::subscribe` opens one each).
async fn redis_subscribers(redis: &str, prefix: &str) -> anyhow::Result<i64> {
    let client = redis::Client::open(redis)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let channel = format!("{prefix}{}", bma_app::events::CHANNEL);
    let (_, n): (String, i64) = redis::cmd("PUBSUB").arg("NUMSUB").arg(&channel).query_async(&mut conn).await?;
    Ok(n)
}

/// The change the clients are waiting for: its number, the zone (our id) and the state it goes to.
struct Expect {
    k: usize,
    zone: String,
    to: &'static str,
}

/// What the clients and the bench share while changes are made.
#[derive(Default)]
struct Board {
    expect: std::sync::Mutex<Option<Expect>>,
    /// Clients that received the current change.
    hits: AtomicUsize,
    connected: AtomicUsize,
    /// Streams that ended or failed before the bench stopped them.
    dropped: AtomicUsize,
    /// `zone.changed` events received that were not the change awaited (other zones, repeats).
    other: AtomicUsize,
}

impl Board {
    /// The number of the awaited change if this event is it.
    fn matches(&self, zone: &str, to: &str) -> Option<usize> {
        let e = self.expect.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        e.as_ref().filter(|e| e.zone == zone && e.to == to).map(|e| e.k)
    }

    /// Records an arrival at `at` of the `zone.changed` JSON `json` into `slots`; the change's
    /// number if it was the awaited change, seen for the first time.
    fn arrive(&self, json: &str, at: Instant, slots: &mut [Option<Instant>]) -> Option<usize> {
        let v = serde_json::from_str::<serde_json::Value>(json).ok()?;
        let zone = v.get("zone_id").and_then(|z| z.as_str()).unwrap_or("");
        let to = v.get("to").and_then(|z| z.as_str()).unwrap_or("");
        let k = self.matches(zone, to).filter(|k| slots.get(*k).is_some_and(Option::is_none))?;
        slots[k] = Some(at);
        Some(k)
    }
}

/// The `zone.changed` payloads among the whole events at the front of `buffer`, taken out of it.
pub(crate) fn take_zone_events(buffer: &mut String) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(end) = buffer.find("\n\n") {
        let block: String = buffer.drain(..end + 2).collect();
        let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()));
        if field("event:").as_deref() == Some("zone.changed")
            && let Some(data) = field("data:")
        {
            out.push(data);
        }
    }
    out
}

/// One SSE client: opens the feed, then records when each awaited change arrives until `stop`.
async fn client(
    addr: SocketAddr,
    token: Arc<str>,
    changes: usize,
    board: Arc<Board>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Vec<Option<Instant>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = hyper::Request::get("/api/v1/events")
        .header("host", "bench")
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "text/event-stream")
        .body(Empty::<Bytes>::new())?;
    let res = sender.send_request(req).await?;
    if !res.status().is_success() {
        bail!("GET /api/v1/events answered {}", res.status());
    }
    board.connected.fetch_add(1, Ordering::SeqCst);
    let mut body = res.into_body();
    let mut slots = vec![None; changes];
    let mut buffer = String::new();
    loop {
        tokio::select! {
            frame = body.frame() => {
                let at = Instant::now();
                let Some(Ok(frame)) = frame else {
                    board.dropped.fetch_add(1, Ordering::SeqCst);
                    return Ok(slots);
                };
                if let Some(data) = frame.data_ref() {
                    buffer.push_str(&String::from_utf8_lossy(data));
                    for json in take_zone_events(&mut buffer) {
                        if board.arrive(&json, at, &mut slots).is_some() {
                            board.hits.fetch_add(1, Ordering::SeqCst);
                        } else {
                            board.other.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            _ = stop.changed() => return Ok(slots),
        }
    }
}

/// A member of `role` signed in (admins enrol two-factor sign-in first): an access token.
async fn member_token(ctx: &AppContext, role: Role, n: usize) -> anyhow::Result<String> {
    let address = format!("sse-{}-{n}-{}@bma.test", role.as_str(), Uuid::new_v4().simple());
    let email = Email::parse(&address)?;
    let (name, password) = (PersonName::parse("Bench member")?, Password::parse("bench-password-1")?);
    let client = bma_app::services::auth::ClientInfo::default();
    let m = bma_app::services::team::create_with_password(ctx, &email, &name, role, &password).await?;
    let pair = bma_app::services::auth::login(ctx, &address, "bench-password-1", None, &client).await?;
    if pair.scope == "full" {
        return Ok(pair.access_token);
    }
    let claims = ctx
        .jwt
        .verify(&pair.access_token, time::OffsetDateTime::now_utc().unix_timestamp())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let enrolment = bma_app::services::auth::enroll_mfa(ctx, m.id).await?;
    let secret = base32_decode(&enrolment.secret).context("the enrolment's secret")?;
    let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    let code = bma_app::security::totp::code_at(&secret, now);
    let full = bma_app::services::auth::confirm_mfa(ctx, m.id, claims.sid, &code, &client).await?;
    Ok(full.access_token)
}

/// RFC 4648 base32 without padding (the enrolment's secret, as an authenticator app reads it).
fn base32_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut acc, mut out) = (0_u32, 0_u64, Vec::new());
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())?;
        acc = (acc << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// p50 / p99 / max in milliseconds of `v`, as table cells.
fn cells(v: &mut [f64]) -> String {
    let max = v.iter().copied().fold(f64::NAN, f64::max);
    format!("{:.0} | {:.0} | {:.0}", crate::stats::percentile(v, 0.50), crate::stats::percentile(v, 0.99), max)
}

pub async fn run() -> anyhow::Result<()> {
    let o = opts()?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let (db, url) = bma_store::testing::fresh_database().await?;
    db.close().await;
    let fake = SoundtrackFake::start(FleetConfig {
        seed: 11,
        accounts: o.accounts,
        zones: o.zones,
        refill_per_sec: o.refill,
        latency: Duration::from_millis(o.latency_ms),
        ..FleetConfig::default()
    })
    .await?;
    let (redis, prefix, mut env) = crate::child_env(&url, "bench-sse");
    env.extend([
        ("BCRYPT_COST", "4".into()),
        ("RATE_LIMIT_PER_IP", "1000000000".into()),
        ("RATE_LIMIT_PER_USER", "1000000000".into()),
        ("SOUNDTRACK_API_URL", fake.url()),
        ("SOUNDTRACK_CLIENT_ID", fake.client_id().to_owned()),
        ("SOUNDTRACK_CLIENT_SECRET", fake.client_secret().to_owned()),
        ("SOUNDTRACK_REFILL_PER_SEC", o.refill.to_string()),
    ]);
    let config = crate::config_of(&env)?;
    let db = bma_store::connect(&url, 10).await?;
    let kv = bma_kv::Kv::redis(&redis, &prefix).await?;
    let ctx = AppContext::new(db.clone(), kv, Arc::new(bma_integrations::email::Unconfigured), config);
    let log = std::env::temp_dir().join("bma-bench-sse.log");
    let _ = std::fs::remove_file(&log);

    // Members of three roles, each signed in once; the clients share their sessions.
    let roles = [Role::Viewer, Role::Manager, Role::Admin];
    let mut tokens: Vec<(Role, Arc<str>)> = Vec::new();
    for n in 0..o.members_per_role {
        for role in roles {
            tokens.push((role, member_token(&ctx, role, n).await?.into()));
        }
    }

    let mut children = Children::default();
    children.0.push(("scheduler", spawn("scheduler", &env, None, &log)?));
    let ports = [free_port()?, free_port()?];
    for p in ports {
        children.0.push(("serve", spawn("serve", &env, Some(p), &log)?));
    }
    let servers: Vec<SocketAddr> = ports.iter().map(|p| SocketAddr::from(([127, 0, 0, 1], *p))).collect();
    for addr in servers.clone() {
        wait_for(&format!("{addr} /health"), Duration::from_secs(60), &mut children, || async move {
            Ok(get_status(addr, "/health").await == Some(200))
        })
        .await
        .with_context(|| format!("see {}", log.display()))?;
    }

    // Discovery links the fake's zones; the monitor's first reads see every one of them.
    let fleet = fake.accounts();
    let total: i64 = fleet.iter().map(|a| a.zones.len() as i64).sum();
    let started = Instant::now();
    crate::children::wait_for_discovery(&db, total, &mut children)
        .await
        .with_context(|| format!("see {}", log.display()))?;
    let warmup = started.elapsed().as_secs_f64();
    let playing: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT z.soundtrack_device_id, z.id FROM zones z JOIN zone_monitor_state s ON s.zone_id = z.id \
         WHERE z.soundtrack_device_id IS NOT NULL AND s.observation = 'playing' ORDER BY z.soundtrack_device_id",
    )
    .fetch_all(&db)
    .await?;
    if playing.is_empty() {
        bail!("no zone of the fake is playing");
    }

    // This process's own subscriber on the feed's channel: when each change was published. It
    // runs on a thread and runtime of its own, so that it is not queued behind the clients.
    let board = Arc::new(Board::default());
    let (pub_tx, mut pub_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<anyhow::Result<()>>();
    {
        let (board, changes, redis, prefix) = (board.clone(), o.changes, redis.clone(), prefix.clone());
        std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            rt.block_on(async move {
                let subscribed = async {
                    let kv = bma_kv::Kv::redis(&redis, &prefix).await?;
                    anyhow::Ok(kv.pubsub.subscribe(bma_app::events::CHANNEL).await?)
                };
                let mut published = match subscribed.await {
                    Ok(s) => {
                        let _ = ready_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let mut slots = vec![None; changes];
                while let Some(raw) = published.next().await {
                    let at = Instant::now();
                    let e = bma_app::events::Incoming::parse(&raw);
                    if e.kind == "zone.changed"
                        && let Some(k) = board.arrive(&e.json, at, &mut slots)
                        && pub_tx.send((k, at)).is_err()
                    {
                        return;
                    }
                }
            });
        });
    }
    ready_rx.await.context("the bench's subscriber thread")??;

    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = [rss_kib(children.pid(1))?, rss_kib(children.pid(2))?];
    let subscribers_idle = redis_subscribers(&redis, &prefix).await?;

    // The clients, half on each server, members of each role in turn.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let connecting = Instant::now();
    let mut by_role: HashMap<Role, usize> = HashMap::new();
    for c in 0..o.clients {
        let addr = servers[c % 2];
        let (role, token) = tokens[(c / 2) % tokens.len()].clone();
        *by_role.entry(role).or_default() += 1;
        tasks.spawn(client(addr, token, o.changes, board.clone(), stop_rx.clone()));
        if c % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let clients = o.clients;
    let b = board.clone();
    let connect_wait = wait_for("every client's stream open", Duration::from_secs(120), &mut children, || {
        let b = b.clone();
        async move { Ok(b.connected.load(Ordering::SeqCst) >= clients) }
    })
    .await;
    if let Err(e) = connect_wait {
        let _ = stop_tx.send(true);
        while let Some(r) = tasks.join_next().await {
            if let Ok(Err(e)) = r {
                println!("client error: {e:#}");
                break;
            }
        }
        return Err(e);
    }
    let connect_secs = connecting.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_connected = [rss_kib(children.pid(1))?, rss_kib(children.pid(2))?];
    let subscribers_connected = redis_subscribers(&redis, &prefix).await?;

    // The changes: a zone goes offline, then comes back; the next zone; and so on.
    let mut changed_at = Vec::with_capacity(o.changes);
    let mut published_at: Vec<Option<Instant>> = vec![None; o.changes];
    let mut jitter = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(std::process::id());
    for k in 0..o.changes {
        let (st_id, zone) = &playing[(k / 2) % playing.len()];
        let to = if k % 2 == 0 { "offline" } else { "playing" };
        board.hits.store(0, Ordering::SeqCst);
        *board.expect.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Expect { k, zone: zone.to_string(), to });
        changed_at.push(Instant::now());
        if to == "offline" {
            fake.inject(Fault {
                kind: FaultKind::Offline,
                target: Target::Zone(st_id.clone()),
                starts_at: None,
                duration: None,
            });
        } else {
            fake.clear_faults();
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while (board.hits.load(Ordering::SeqCst) < clients || published_at[k].is_none()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            while let Ok((pk, at)) = pub_rx.try_recv() {
                if let Some(slot) = published_at.get_mut(pk) {
                    slot.get_or_insert(at);
                }
            }
        }
        // A pause of 0.3–1.3 s, so that changes do not fall at the same point of the monitor's tick.
        jitter ^= jitter << 13;
        jitter ^= jitter >> 7;
        jitter ^= jitter << 17;
        tokio::time::sleep(Duration::from_millis(300 + jitter % 1000)).await;
    }
    *board.expect.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    let rss_end = [rss_kib(children.pid(1))?, rss_kib(children.pid(2))?];
    let dropped = board.dropped.load(Ordering::SeqCst);
    let _ = stop_tx.send(true);
    let mut per_client = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(slots)) => per_client.push(slots),
            Ok(Err(e)) => {
                errors += 1;
                if errors == 1 {
                    println!("client error: {e:#}");
                }
            }
            Err(e) => bail!("a client task failed: {e}"),
        }
    }
    drop(children);

    // Figures.
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (mut total_ms, mut fanout_ms, mut detect_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut missed = 0_usize;
    let mut early = 0_usize;
    for slots in &per_client {
        for (k, at) in slots.iter().enumerate() {
            match at {
                Some(at) => {
                    total_ms.push(ms(at.saturating_duration_since(changed_at[k])));
                    if let Some(p) = published_at[k] {
                        fanout_ms.push(ms(at.saturating_duration_since(p)));
                        early += usize::from(*at < p);
                    }
                }
                None => missed += 1,
            }
        }
    }
    for (k, p) in published_at.iter().enumerate() {
        if let Some(p) = p {
            detect_ms.push(ms(p.saturating_duration_since(changed_at[k])));
        }
    }
    let unpublished = published_at.iter().filter(|p| p.is_none()).count();
    let samples = total_ms.len();
    let mib = |k: u64| k as f64 / 1024.0;
    let per_server = [o.clients.div_ceil(2), o.clients / 2];

    println!(
        "BMA Social live-feed benchmark: {} SSE clients on 2 `bma-social serve` processes ({} + {}), \
         members: {} viewer / {} manager / {} admin connections ({} members, one session each); \
         one `bma-social scheduler` runs the monitor (default settings: 200 ms between ticks; with {} accounts \
         every account's status counts are asked each tick) against the Soundtrack fake in this process \
         ({} accounts, {} zones, {} ms added to each answer, refill {}/s); Redis pub/sub under a prefix of its own; \
         bench, fake, servers, scheduler, PostgreSQL and Redis share the machine's cores",
        o.clients,
        per_server[0],
        per_server[1],
        by_role.get(&Role::Viewer).copied().unwrap_or(0),
        by_role.get(&Role::Manager).copied().unwrap_or(0),
        by_role.get(&Role::Admin).copied().unwrap_or(0),
        tokens.len(),
        o.accounts,
        o.accounts,
        total,
        o.latency_ms,
        o.refill
    );
    println!(
        "discovery and first observation of all {total} zones: {warmup:.1} s; {} streams open in {connect_secs:.1} s",
        per_client.len() + errors
    );
    println!(
        "\n{} changes (a zone offline, then back, zone after zone) × {} clients = {} expected arrivals",
        o.changes,
        per_client.len(),
        o.changes * per_client.len()
    );
    println!("\n| measure | samples | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    println!("| change in the fake → client receives the zone.changed event | {samples} | {} |", cells(&mut total_ms));
    println!(
        "| of which detection: change → published on Redis (seen by a subscriber in the bench) | {} | {} |",
        detect_ms.len(),
        cells(&mut detect_ms)
    );
    println!(
        "| of which fan-out: published → client receives (Redis → serve → SSE) | {} | {} |",
        fanout_ms.len(),
        cells(&mut fanout_ms)
    );
    println!(
        "\nfan-out samples where the client's arrival came before the bench's own subscriber's (counted as 0 ms): {early}"
    );
    println!(
        "\nmissed arrivals (a client never received an awaited change within 15 s): {missed}; \
         changes never published: {unpublished}; streams that ended early: {dropped}; clients that failed: {errors}; \
         other zone.changed events received (initial states, repeats): {}",
        board.other.load(Ordering::SeqCst)
    );
    println!(
        "\n| server | RSS before clients MiB | RSS with clients MiB | at the end MiB | clients | KiB per client |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for i in 0..2 {
        let per = (rss_connected[i] as f64 - rss_idle[i] as f64) / per_server[i].max(1) as f64;
        println!(
            "| serve #{} | {:.1} | {:.1} | {:.1} | {} | {:.1} |",
            i + 1,
            mib(rss_idle[i]),
            mib(rss_connected[i]),
            mib(rss_end[i]),
            per_server[i],
            per
        );
    }
    println!(
        "\nRedis connections subscribed to the feed's channel: {subscribers_idle} before the clients \
         (this bench's own subscriber), {subscribers_connected} with them connected"
    );
    println!("\ncommand: {command}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_reads_back_what_enrolment_writes() {
        let secret: Vec<u8> = (0_u8..20).map(|b| b.wrapping_mul(37)).collect();
        assert_eq!(base32_decode(&bma_app::security::totp::base32(&secret)), Some(secret));
    }

    #[test]
    fn only_whole_zone_events_are_taken_and_the_rest_waits() {
        let mut buffer = String::from(
            ": keep-alive\n\nevent: monitoring\ndata: {}\nid: 1\n\nevent: zone.changed\ndata: {\"to\":\"offline\"}\nid: 2\n\nevent: zone.ch",
        );
        assert_eq!(take_zone_events(&mut buffer), vec![r#"{"to":"offline"}"#.to_owned()]);
        assert_eq!(buffer, "event: zone.ch");
    }
}
