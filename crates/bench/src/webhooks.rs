//! The webhook benchmark: signed WhatsApp webhooks (one text message each) posted by a closed
//! loop of C connections, each message made durable (message, conversation, 24-hour window,
//! assignment) before the 200, against a bare `INSERT` + `COMMIT` loop at the same concurrency
//! on the same database, in the same run.

use bma_app::AppContext;
use bma_app::config::{Config, Strictness};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SECRET: &str = "bench-app-secret";

struct Opts {
    levels: Vec<usize>,
    seconds: u64,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts { levels: vec![1, 8, 32, 64, 128], seconds: 10 };
    let args: Vec<String> = std::env::args().skip(2).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--levels" => o.levels = v.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--seconds" => o.seconds = v.parse()?,
            other => anyhow::bail!("unknown option {other}"),
        }
        i += 2;
    }
    Ok(o)
}

fn payload(n: u64) -> Vec<u8> {
    let from = 66_800_000_000_u64 + n % 1000;
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Bench Venue"}, "wa_id": from.to_string()}],
            "messages": [{"from": from.to_string(), "id": format!("wamid.bench.{n}.{}", uuid::Uuid::new_v4().simple()),
                          "timestamp": "1764150000", "type": "text", "text": {"body": "The lobby music stopped"}}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

struct Level {
    done: u64,
    errors: u64,
    secs: f64,
    latencies_ms: Vec<f64>,
}

impl Level {
    fn rate(&self) -> f64 {
        self.done as f64 / self.secs
    }

    fn pct(&mut self, p: f64) -> f64 {
        crate::stats::percentile(&mut self.latencies_ms, p)
    }
}

async fn webhooks_level(
    addr: std::net::SocketAddr,
    conns: usize,
    secs: u64,
    seq: Arc<AtomicU64>,
) -> anyhow::Result<Level> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let seq = seq.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let (mut done, mut errors, mut lat) = (0_u64, 0_u64, Vec::new());
            while Instant::now() < deadline {
                let body = payload(seq.fetch_add(1, Ordering::Relaxed));
                let sig = bma_integrations::signature::sign_hex_sha256(SECRET.as_bytes(), &body);
                let req = hyper::Request::post("/api/v1/webhooks/whatsapp")
                    .header("host", "bench")
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sig)
                    .body(Full::new(Bytes::from(body)))?;
                let t = Instant::now();
                let res = sender.send_request(req).await?;
                let ok = res.status().is_success();
                let _ = res.into_body().collect().await?;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                if ok { done += 1 } else { errors += 1 }
            }
            anyhow::Ok((done, errors, lat))
        }));
    }
    let mut level = Level { done: 0, errors: 0, secs: 0.0, latencies_ms: Vec::new() };
    for t in tasks {
        let (d, e, l) = t.await??;
        level.done += d;
        level.errors += e;
        level.latencies_ms.extend(l);
    }
    level.secs = started.elapsed().as_secs_f64();
    Ok(level)
}

async fn baseline_level(db: &sqlx::PgPool, conns: usize, secs: u64) -> anyhow::Result<Level> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let (mut done, mut lat) = (0_u64, Vec::new());
            while Instant::now() < deadline {
                let t = Instant::now();
                sqlx::query("INSERT INTO bench_baseline (id, body) VALUES ($1, $2)")
                    .bind(uuid::Uuid::now_v7())
                    .bind("The lobby music stopped")
                    .execute(&db)
                    .await?;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                done += 1;
            }
            anyhow::Ok((done, lat))
        }));
    }
    let mut level = Level { done: 0, errors: 0, secs: 0.0, latencies_ms: Vec::new() };
    for t in tasks {
        let (d, l) = t.await??;
        level.done += d;
        level.latencies_ms.extend(l);
    }
    level.secs = started.elapsed().as_secs_f64();
    Ok(level)
}

pub async fn run() -> anyhow::Result<()> {
    let o = opts()?;
    let (db, url) = bma_store::testing::fresh_database().await?;
    db.close().await;
    let env: HashMap<&str, &str> = HashMap::from([
        ("JWT_SECRET_KEY", "bench-secret-bench-secret-bench-secret"),
        ("DATA_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        ("WHATSAPP_APP_SECRET", SECRET),
        ("DATABASE_MAX_CONNECTIONS", "20"),
    ]);
    let config = Config::from_source(&env, Strictness::Production).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = bma_store::connect(&url, config.database_max_connections).await?;
    sqlx::query("CREATE TABLE bench_baseline (id uuid PRIMARY KEY, body text NOT NULL)").execute(&db).await?;
    let ctx =
        AppContext::new(db.clone(), bma_kv::Kv::memory(), Arc::new(bma_integrations::email::Unconfigured), config);
    let (router, _) = bma_web::build_with_openapi(bma_web::AppState::new(ctx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
    });

    println!("Signed WhatsApp webhooks (1 message each, durable before the 200) vs a bare INSERT + COMMIT loop");
    println!("same PostgreSQL, same process, 20 pool connections each, {} s per level\n", o.seconds);
    println!(
        "{:>5} | {:>10} {:>9} {:>9} {:>6} | {:>10} {:>9} {:>9} | {:>6}",
        "conns", "webhook/s", "p50 ms", "p99 ms", "errors", "insert/s", "p50 ms", "p99 ms", "ratio"
    );
    let seq = Arc::new(AtomicU64::new(0));
    for &c in &o.levels {
        let mut w = webhooks_level(addr, c, o.seconds, seq.clone()).await?;
        let mut b = baseline_level(&db, c, o.seconds).await?;
        println!(
            "{:>5} | {:>10.0} {:>9.2} {:>9.2} {:>6} | {:>10.0} {:>9.2} {:>9.2} | {:>6.2}",
            c,
            w.rate(),
            w.pct(0.5),
            w.pct(0.99),
            w.errors,
            b.rate(),
            b.pct(0.5),
            b.pct(0.99),
            w.rate() / b.rate()
        );
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&db).await?;
    let sent = seq.load(Ordering::Relaxed);
    println!("\nmessages stored: {stored} of {sent} webhooks answered 200 or in flight at the end of a level");
    Ok(())
}
