//! Benchmarks that print their figures (they are not timed tests). `bma-bench api` seeds a fleet,
//! serves the real router in this process and loads it with wrk (a separate process) at 1,000
//! connections: a hello-world route of the same server first, then the venue endpoints, so the
//! ratio to the baseline is measured in the same run.

use anyhow::{Context, bail};
use bma_app::AppContext;
use bma_app::config::{Config, Strictness};
use bma_domain::access::Role;
use bma_domain::member::{Email, Password, PersonName};
use std::collections::HashMap;
use std::process::Command;
use std::time::Instant;

struct Opts {
    venues: usize,
    zones: usize,
    connections: u32,
    seconds: u32,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts { venues: 10_000, zones: 50_000, connections: 1_000, seconds: 20 };
    let args: Vec<String> = std::env::args().skip(2).collect();
    for pair in args.chunks(2) {
        let (k, v) = (pair[0].as_str(), pair.get(1).map(String::as_str).unwrap_or(""));
        match k {
            "--venues" => o.venues = v.parse()?,
            "--zones" => o.zones = v.parse()?,
            "--connections" => o.connections = v.parse()?,
            "--seconds" => o.seconds = v.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

#[derive(Debug)]
struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    errors: String,
}

fn to_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mult) = if let Some(v) = s.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (s, 1.0)
    };
    num.parse::<f64>().ok().map(|n| n * mult)
}

fn wrk(url: &str, token: &str, script: Option<&str>, o: &Opts) -> anyhow::Result<WrkResult> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t",
        "2",
        "-c",
        &o.connections.to_string(),
        "-d",
        &format!("{}s", o.seconds),
        "--latency",
        "--timeout",
        "10s",
    ]);
    cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
    if let Some(s) = script {
        cmd.args(["-s", s]);
    }
    cmd.arg(url);
    let out = cmd.output().context("running wrk (install it: apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut r = WrkResult { rps: 0.0, p50_ms: 0.0, p99_ms: 0.0, requests: 0, errors: String::new() };
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = t.strip_prefix("50%") {
            r.p50_ms = to_ms(v).unwrap_or(0.0);
        } else if let Some(v) = t.strip_prefix("99%") {
            r.p99_ms = to_ms(v).unwrap_or(0.0);
        } else if t.contains("requests in") {
            r.requests = t.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
        } else if t.starts_with("Socket errors") || t.starts_with("Non-2xx") {
            r.errors.push_str(t);
            r.errors.push(' ');
        }
    }
    if r.requests == 0 {
        bail!("wrk produced no result:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(r)
}

async fn api() -> anyhow::Result<()> {
    let o = opts()?;
    let (db, url) = bma_store::testing::fresh_database().await?;
    let started = Instant::now();
    let plan = bma_store::seed::SeedPlan { venues: o.venues, zones: o.zones, seed: 42 };
    let report = bma_store::seed::seed_fleet(&db, &plan, |_, _| {}).await?;
    let seed_secs = started.elapsed().as_secs_f64();

    let env: HashMap<&str, &str> = HashMap::from([
        ("JWT_SECRET_KEY", "bench-secret-bench-secret-bench-secret"),
        ("DATA_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        ("BCRYPT_COST", "4"),
        ("RATE_LIMIT_PER_IP", "1000000000"),
        ("RATE_LIMIT_PER_USER", "1000000000"),
        ("DATABASE_MAX_CONNECTIONS", "20"),
    ]);
    let config = Config::from_source(&env, Strictness::Production).map_err(|e| anyhow::anyhow!("{e}"))?;
    db.close().await;
    let db = bma_store::connect(&url, config.database_max_connections).await?;
    let ctx = AppContext::new(
        db.clone(),
        bma_kv::Kv::memory(),
        std::sync::Arc::new(bma_integrations::email::Unconfigured),
        config,
    );
    let email = Email::parse("bench@bma.test")?;
    bma_app::services::team::create_with_password(
        &ctx,
        &email,
        &PersonName::parse("Bench")?,
        Role::Viewer,
        &Password::parse("bench-password-1")?,
    )
    .await?;
    let pair =
        bma_app::services::auth::login(&ctx, "bench@bma.test", "bench-password-1", None, &Default::default()).await?;

    let extra = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }));
    let (router, _) = bma_web::build_with_extra(bma_web::AppState::new(ctx.clone()), extra);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
    });

    let ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM venues ORDER BY random() LIMIT 2000").fetch_all(&db).await?;
    let script = std::env::temp_dir().join("bma-bench-zones.lua");
    let list = ids.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(",");
    std::fs::write(
        &script,
        format!(
            "local ids = {{{list}}}\nmath.randomseed(os.time())\nrequest = function()\n  return wrk.format(nil, \"/api/v1/venues/\" .. ids[math.random(#ids)] .. \"/zones\")\nend\n"
        ),
    )?;
    let script = script.to_string_lossy().into_owned();

    println!(
        "BMA Social API benchmark: {} venues, {} zones; {} connections, {} s per scenario, wrk -t2, server in this process, 2 cores shared",
        report.venues, report.zones, o.connections, o.seconds
    );
    println!("seeding: {:.2} s ({:.0} zones/s)", seed_secs, report.zones as f64 / seed_secs);
    let base = format!("http://{addr}");
    let hello = wrk(&format!("{base}/hello"), &pair.access_token, None, &o)?;
    let scenarios = [
        (
            "GET /api/v1/venues?per_page=50&country=TH",
            wrk(&format!("{base}/api/v1/venues?per_page=50&country=TH"), &pair.access_token, None, &o)?,
        ),
        (
            "GET /api/v1/venues?per_page=50&page=40&brand=Lotus%20Grand&sort=-name",
            wrk(
                &format!("{base}/api/v1/venues?per_page=50&page=40&brand=Lotus%20Grand&sort=-name"),
                &pair.access_token,
                None,
                &o,
            )?,
        ),
        (
            "GET /api/v1/venues/{id}/zones (random of 2,000 venues)",
            wrk(&format!("{base}/"), &pair.access_token, Some(&script), &o)?,
        ),
    ];
    println!("\n| scenario | req/s | p50 ms | p99 ms | p99 / hello p99 | errors |");
    println!("|---|---:|---:|---:|---:|---|");
    println!(
        "| GET /hello (baseline, same server and layers) | {:.0} | {:.2} | {:.2} | 1.00 | {} |",
        hello.rps,
        hello.p50_ms,
        hello.p99_ms,
        hello.errors.trim()
    );
    for (name, r) in &scenarios {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.p99_ms / hello.p99_ms.max(0.001),
            r.errors.trim()
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match std::env::args().nth(1).as_deref() {
        Some("api") => rt.block_on(api()),
        _ => bail!("usage: bma-bench api [--venues N] [--zones N] [--connections N] [--seconds N]"),
    }
}
