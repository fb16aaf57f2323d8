//! Benchmarks that print their figures (they are not timed tests). `bma-bench api` seeds a fleet,
//! serves the real router in this process and loads it with wrk (a separate process) at 1,000
//! connections: a hello-world route of the same server first, then the venue endpoints, so the
//! ratio to the baseline is measured in the same run. `bma-bench sse` times the live feed from a
//! zone's change on the Soundtrack fake to 1,000 clients of two server processes.

mod bot;
mod campaign;
mod children;
mod faults;
mod load;
mod monitor;
mod openloop;
mod portal;
mod sse;
mod stats;
mod webhooks;

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
    rate: f64,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts { venues: 10_000, zones: 50_000, connections: 1_000, seconds: 15, rate: 2_000.0 };
    let args: Vec<String> = std::env::args().skip(2).collect();
    for pair in args.chunks(2) {
        let (k, v) = (pair[0].as_str(), pair.get(1).map(String::as_str).unwrap_or(""));
        match k {
            "--venues" => o.venues = v.parse()?,
            "--zones" => o.zones = v.parse()?,
            "--connections" => o.connections = v.parse()?,
            "--seconds" => o.seconds = v.parse()?,
            "--rate" => o.rate = v.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

/// The environment of the `bma-social` processes a bench starts, and of its own context: the
/// bench's database, Redis under a prefix of the run's own (`{name}-…:`), fixed secrets and quiet
/// logs. Each bench adds its fakes' settings. Returns the Redis URL, the prefix and the variables.
fn child_env(url: &str, name: &str) -> (String, String, HashMap<&'static str, String>) {
    let redis = std::env::var("REDIS_URL")
        .or_else(|_| std::env::var("TEST_REDIS_URL"))
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("{name}-{}:", uuid::Uuid::new_v4().simple());
    let env = HashMap::from([
        ("DATABASE_URL", url.to_owned()),
        ("DATABASE_MAX_CONNECTIONS", "20".into()),
        ("REDIS_URL", redis.clone()),
        ("REDIS_KEY_PREFIX", prefix.clone()),
        ("JWT_SECRET_KEY", "bench-secret-bench-secret-bench-secret".into()),
        ("DATA_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into()),
        ("BOT_ENABLED", "false".into()),
        ("LOG_LEVEL", "warn".into()),
        ("RUST_LOG", "warn".into()),
    ]);
    (redis, prefix, env)
}

/// The settings that point a process at the WhatsApp fake `wa`.
fn whatsapp_env(wa: &bma_fakes::whatsapp::WhatsappFake) -> [(&'static str, String); 6] {
    let w = wa.config();
    [
        ("WHATSAPP_APP_SECRET", w.app_secret.clone()),
        ("WHATSAPP_VERIFY_TOKEN", "bench-verify".into()),
        ("WHATSAPP_ACCESS_TOKEN", w.access_token.clone()),
        ("WHATSAPP_PHONE_NUMBER_ID", w.phone_number_id.clone()),
        ("WHATSAPP_BUSINESS_ACCOUNT_ID", w.business_account_id.clone()),
        ("WHATSAPP_API_URL", wa.base_url()),
    ]
}

/// The configuration `env` gives, checked as in production.
fn config_of(env: &HashMap<&'static str, String>) -> anyhow::Result<Config> {
    let view: HashMap<&str, &str> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Config::from_source(&view, Strictness::Production).map_err(|e| anyhow::anyhow!("{e}"))
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

/// The application over the database at `url`, as a benchmark runs it: production settings with
/// rate limits out of the way, the in-process cache, no outgoing email.
async fn bench_context(url: &str) -> anyhow::Result<AppContext> {
    let env: HashMap<&str, &str> = HashMap::from([
        ("JWT_SECRET_KEY", "bench-secret-bench-secret-bench-secret"),
        ("DATA_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        ("BCRYPT_COST", "4"),
        ("RATE_LIMIT_PER_IP", "1000000000"),
        ("RATE_LIMIT_PER_USER", "1000000000"),
        ("DATABASE_MAX_CONNECTIONS", "20"),
    ]);
    let config = Config::from_source(&env, Strictness::Production).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = bma_store::connect(url, config.database_max_connections).await?;
    let mail = std::sync::Arc::new(bma_integrations::email::Unconfigured);
    Ok(AppContext::new(db, bma_kv::Kv::memory(), mail, config))
}

/// A member of `role` signed in: their session's tokens.
async fn bench_member(ctx: &AppContext, role: Role) -> anyhow::Result<bma_app::services::auth::TokenPair> {
    let address = format!("bench-{}@bma.test", uuid::Uuid::new_v4().simple());
    let email = Email::parse(&address)?;
    let (name, password) = (PersonName::parse("Bench")?, Password::parse("bench-password-1")?);
    bma_app::services::team::create_with_password(ctx, &email, &name, role, &password).await?;
    Ok(bma_app::services::auth::login(ctx, &address, "bench-password-1", None, &Default::default()).await?)
}

async fn api() -> anyhow::Result<()> {
    let o = opts()?;
    let (db, url) = bma_store::testing::fresh_database().await?;
    let started = Instant::now();
    let plan = bma_store::seed::SeedPlan { venues: o.venues, zones: o.zones, seed: 42, soundtrack_ids: true };
    let report = bma_store::seed::seed_fleet(&db, &plan, |_, _| {}).await?;
    let seed_secs = started.elapsed().as_secs_f64();

    db.close().await;
    let ctx = bench_context(&url).await?;
    let db = ctx.db.clone();
    let pair = bench_member(&ctx, Role::Viewer).await?;

    let extra = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }));
    let (cached, _) = bma_web::build_with_extra(bma_web::AppState::new(ctx.clone()), extra.clone());
    let mut uncached_config = (*ctx.config).clone();
    uncached_config.query_cache_ttl = std::time::Duration::ZERO;
    let uncached_ctx = AppContext { config: std::sync::Arc::new(uncached_config), ..ctx.clone() };
    let (uncached, _) = bma_web::build_with_extra(bma_web::AppState::new(uncached_ctx), extra);
    let mut addrs = Vec::new();
    for router in [cached, uncached] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        addrs.push(listener.local_addr()?);
        tokio::spawn(async move {
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
        });
    }
    let (cached_addr, uncached_addr) = (addrs[0], addrs[1]);

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
    let ids = std::sync::Arc::new(ids);

    println!(
        "BMA Social API benchmark: {} venues, {} zones; {} connections; server, PostgreSQL and load generator share 2 cores",
        report.venues, report.zones, o.connections
    );
    println!("seeding: {:.2} s ({:.0} zones/s)", seed_secs, report.zones as f64 / seed_secs);

    struct Scenario {
        name: &'static str,
        addr: std::net::SocketAddr,
        path: std::sync::Arc<dyn Fn(usize) -> String + Send + Sync>,
        wrk_path: Option<String>,
    }
    let fixed = |p: &'static str| -> std::sync::Arc<dyn Fn(usize) -> String + Send + Sync> {
        std::sync::Arc::new(move |_| p.to_owned())
    };
    let zones_path: std::sync::Arc<dyn Fn(usize) -> String + Send + Sync> = {
        let ids = ids.clone();
        std::sync::Arc::new(move |i| format!("/api/v1/venues/{}/zones", ids[(i * 7919) % ids.len()]))
    };
    const LIST_TH: &str = "/api/v1/venues?per_page=50&country=TH";
    const LIST_BRAND: &str = "/api/v1/venues?per_page=50&page=10&brand=Lotus%20Grand&sort=-name";
    let scenarios = [
        Scenario {
            name: "GET /hello (baseline: same server and layers, no auth, no database)",
            addr: cached_addr,
            path: fixed("/hello"),
            wrk_path: Some("/hello".into()),
        },
        Scenario {
            name: "GET /api/v1/venues?per_page=50&country=TH (5-min query cache)",
            addr: cached_addr,
            path: fixed(LIST_TH),
            wrk_path: Some(LIST_TH.into()),
        },
        Scenario {
            name: "GET /api/v1/venues?per_page=50&page=10&brand=…&sort=-name (5-min query cache)",
            addr: cached_addr,
            path: fixed(LIST_BRAND),
            wrk_path: Some(LIST_BRAND.into()),
        },
        Scenario {
            name: "GET /api/v1/venues?per_page=50&country=TH (cache off: PostgreSQL every time)",
            addr: uncached_addr,
            path: fixed(LIST_TH),
            wrk_path: Some(LIST_TH.into()),
        },
        Scenario {
            name: "GET /api/v1/venues?per_page=50&page=10&brand=…&sort=-name (cache off)",
            addr: uncached_addr,
            path: fixed(LIST_BRAND),
            wrk_path: Some(LIST_BRAND.into()),
        },
        Scenario {
            name: "GET /api/v1/venues/{id}/zones (random venue, never cached)",
            addr: cached_addr,
            path: zones_path,
            wrk_path: None,
        },
    ];

    println!(
        "\nOpen loop: {} connections sending {} requests/s in all for {} s; latency from when each request was due.",
        o.connections, o.rate, o.seconds
    );
    println!("\n| scenario | requests | achieved req/s | p50 ms | p99 ms | max ms | p99 / baseline p99 | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut base_p99 = 0.0;
    for (i, s) in scenarios.iter().enumerate() {
        let r = openloop::run(
            s.addr,
            s.path.clone(),
            &pair.access_token,
            o.connections as usize,
            o.rate,
            std::time::Duration::from_secs(o.seconds.into()),
        )
        .await?;
        if i == 0 {
            base_p99 = r.p99_ms.max(0.001);
        }
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            s.name,
            r.sent,
            r.achieved_rps,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.p99_ms / base_p99,
            r.errors
        );
    }

    println!(
        "\nClosed loop (saturation): wrk -t2 -c{} -d{}s; each connection sends its next request as soon as the last one returns.",
        o.connections, o.seconds
    );
    println!("\n| scenario | req/s | p50 ms | p99 ms | req/s / baseline req/s |");
    println!("|---|---:|---:|---:|---:|");
    let mut base_rps = 0.0;
    for (i, s) in scenarios.iter().enumerate() {
        let url = format!("http://{}{}", s.addr, s.wrk_path.as_deref().unwrap_or("/"));
        let r = wrk(&url, &pair.access_token, s.wrk_path.is_none().then_some(script.as_str()), &o)?;
        if i == 0 {
            base_rps = r.rps.max(0.001);
        }
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.3} |{}",
            s.name,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.rps / base_rps,
            if r.errors.is_empty() { String::new() } else { format!(" {}", r.errors.trim()) }
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match std::env::args().nth(1).as_deref() {
        Some("api") => rt.block_on(api()),
        Some("monitor") => rt.block_on(monitor::run()),
        Some("webhooks") => rt.block_on(webhooks::run()),
        Some("bot") => rt.block_on(bot::run()),
        Some("campaign") => rt.block_on(campaign::run()),
        Some("portal") => rt.block_on(portal::run()),
        Some("sse") => rt.block_on(sse::run()),
        Some("load") => rt.block_on(load::run()),
        Some("faults") => rt.block_on(faults::run()),
        _ => bail!(
            "usage: bma-bench api [--venues N] [--zones N] [--connections N] [--seconds N] [--rate R]\n       bma-bench webhooks [--levels 1,8,32,64,128] [--seconds N]\n       bma-bench bot [--seconds N] [--llm-latency-ms MS]\n       bma-bench campaign [--venues N] [--rate R] [--kills K]\n       bma-bench sse [--clients N] [--changes N] [--accounts N] [--zones N] [--latency-ms MS] [--refill R] [--members-per-role N]\n       bma-bench load [--venues N] [--zones N] [--history-days D] [--users 1000,10000] [--seconds S] [--think-ms MS] [--calls N] [--connections C]\n       bma-bench faults\n       bma-bench portal [--venues N] [--zones N] [--history-days D] [--samples N] [--database NAME]\n       bma-bench monitor [--zones N] [--accounts N] [--refill R] [--minutes M] [--seed S] [--rate F] [--rtt-ms MS] [--outage-minutes M] [--flapping N]"
        ),
    }
}
