//! `bma-bench portal`: the server time of every portal page a manager sees, and of every analytics
//! endpoint of the API, at fleet scale with history, cold (the first request after start, nothing
//! in the query cache) and warm (the same request again), beside a hello-world route behind the
//! same layers in the same run; and the bytes each page costs a browser (HTML and its assets,
//! gzip-compressed as served). `--database NAME` keeps the seeded database for the next run.

use crate::stats::percentile;
use anyhow::{Context, bail};
use bma_app::AppContext;
use bma_domain::access::Role;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use std::collections::BTreeSet;
use std::time::Instant;

struct Opts {
    venues: usize,
    zones: usize,
    history_days: u32,
    samples: usize,
    database: Option<String>,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts { venues: 10_000, zones: 50_000, history_days: 365, samples: 200, database: None };
    let args: Vec<String> = std::env::args().skip(2).collect();
    for pair in args.chunks(2) {
        let v = pair.get(1).map_or("", String::as_str);
        match pair[0].as_str() {
            "--venues" => o.venues = v.parse()?,
            "--zones" => o.zones = v.parse()?,
            "--history-days" => o.history_days = v.parse()?,
            "--samples" => o.samples = v.parse()?,
            "--database" => o.database = Some(v.to_owned()),
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

/// How a request is signed in: the portal's cookies or the API's bearer token.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Cookie(&'a str),
    Bearer(&'a str),
}

/// One GET on a fresh keep-alive connection's sender: latency in ms, status and body bytes.
async fn get(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    path: &str,
    auth: Auth<'_>,
) -> anyhow::Result<(f64, u16, Bytes)> {
    let (name, value) = match auth {
        Auth::Cookie(c) => ("cookie", c.to_owned()),
        Auth::Bearer(t) => ("authorization", format!("Bearer {t}")),
    };
    let req = hyper::Request::get(path)
        .header("host", "bench")
        .header(name, value)
        .header("accept-encoding", "gzip")
        .body(Empty::<Bytes>::new())?;
    sender.ready().await?;
    let t = Instant::now();
    let res = sender.send_request(req).await?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((t.elapsed().as_secs_f64() * 1000.0, status, body))
}

fn gunzip_links(html_gz: &[u8]) -> (String, BTreeSet<String>) {
    use std::io::Read;
    let mut html = String::new();
    let _ = flate2::read::GzDecoder::new(html_gz).read_to_string(&mut html);
    if html.is_empty() {
        html = String::from_utf8_lossy(html_gz).into_owned();
    }
    let mut links = BTreeSet::new();
    for attr in ["href=\"", "src=\""] {
        for part in html.split(attr).skip(1) {
            let Some(url) = part.split('"').next() else { continue };
            if url.starts_with('/') && !url.starts_with("//") {
                links.insert(url.to_owned());
            }
        }
    }
    (html, links)
}

/// Seeds the fleet and its history into a fresh database, or into `--database NAME` unless that
/// one already holds a fleet; returns its URL.
async fn database(o: &Opts) -> anyhow::Result<String> {
    let (db, url) = match &o.database {
        None => bma_store::testing::fresh_database().await?,
        Some(name) => {
            let admin = bma_store::connect(&bma_store::testing::admin_url(), 1).await?;
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&admin)
                .await?;
            if !exists {
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&admin).await?;
            }
            admin.close().await;
            let url = bma_store::testing::named_url(name);
            let db = bma_store::connect(&url, 10).await?;
            bma_store::migrate(&db).await?;
            (db, url)
        }
    };
    let venues: i64 = sqlx::query_scalar("SELECT count(*) FROM venues").fetch_one(&db).await?;
    if venues > 0 {
        println!("reusing the fleet and history already in {url}");
    } else {
        let started = Instant::now();
        let plan = bma_store::seed::SeedPlan { venues: o.venues, zones: o.zones, seed: 42, soundtrack_ids: true };
        bma_store::seed::seed_fleet(&db, &plan, |_, _| {}).await?;
        let fleet_secs = started.elapsed().as_secs_f64();
        let started = Instant::now();
        if o.history_days > 0 {
            let now = time::OffsetDateTime::now_utc();
            bma_store::seed_history::seed_history(&db, o.history_days, 42, now, |_, _| {}).await?;
        }
        println!("seeding: fleet {fleet_secs:.1} s, history {:.1} s", started.elapsed().as_secs_f64());
    }
    let mut counts = Vec::new();
    for table in [
        "venues",
        "zones",
        "uptime_rollups",
        "uptime_group_rollups",
        "alerts",
        "conversations",
        "messages",
        "satisfaction_scores",
        "campaigns",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"))).fetch_one(&db).await?;
        counts.push(format!("{table} {n}"));
    }
    println!("rows: {}", counts.join(", "));
    db.close().await;
    Ok(url)
}

pub async fn run() -> anyhow::Result<()> {
    let o = opts()?;
    let url = database(&o).await?;
    let ctx: AppContext = crate::bench_context(&url).await?;
    // What the hourly job would have left: the hours since the history ends, rolled up.
    let started = Instant::now();
    let rows = bma_app::services::uptime::roll_up(&ctx, ctx.clock.now()).await?;
    println!(
        "rolled up the hours and days missing, as the hourly job would: {rows} zone rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let pair = crate::bench_member(&ctx, Role::Manager).await?;
    let cookie = format!(
        "{}={}; {}={}",
        bma_portal::session::ACCESS_COOKIE,
        pair.access_token,
        bma_portal::session::REFRESH_COOKIE,
        pair.refresh_token
    );
    let state = bma_web::AppState::new(ctx.clone());
    let extra = bma_portal::router(&state).route("/hello", axum::routing::get(|| async { "hello" }));
    let (app, _) = bma_web::build_with_extra(state, extra);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
    });
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);

    println!("BMA Social portal benchmark; server, PostgreSQL and client share 2 cores");

    // The navigation is read off the profile page, so that no measured page is requested before
    // its cold request.
    let (_, status, profile) = get(&mut sender, "/profile", Auth::Cookie(&cookie)).await?;
    if status != 200 {
        bail!("GET /profile answered {status}: sign-in did not take");
    }
    let (_, links) = gunzip_links(&profile);
    let mut pages: Vec<String> = links
        .iter()
        .filter(|l| !l.starts_with("/assets/") && !l.starts_with("/api/") && !l.contains('#') && *l != "/")
        .cloned()
        .collect();
    pages.retain(|p| p != "/sign-out" && !p.starts_with("/live"));
    pages.sort();
    pages.dedup();
    pages.insert(0, "/hello".into());
    if !pages.iter().any(|p| p == "/dashboard") {
        bail!("the navigation does not link /dashboard");
    }

    println!(
        "\n| page | status | cold ms | warm p50 ms | warm p95 ms | warm p99 ms | HTML gzip bytes | assets gzip bytes |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut asset_bytes = std::collections::HashMap::new();
    for page in &pages {
        let (cold, status, body) =
            get(&mut sender, page, Auth::Cookie(&cookie)).await.with_context(|| format!("GET {page}"))?;
        let mut warm = Vec::with_capacity(o.samples);
        for _ in 0..o.samples {
            warm.push(get(&mut sender, page, Auth::Cookie(&cookie)).await?.0);
        }
        let (_, assets) = gunzip_links(&body);
        let mut assets_total = 0;
        for a in assets.iter().filter(|a| a.starts_with("/assets/")) {
            if !asset_bytes.contains_key(a) {
                let (_, _, b) = get(&mut sender, a, Auth::Cookie(&cookie)).await?;
                asset_bytes.insert(a.clone(), b.len());
            }
            assets_total += asset_bytes.get(a).copied().unwrap_or(0);
        }
        println!(
            "| {page} | {status} | {cold:.1} | {:.2} | {:.2} | {:.2} | {} | {assets_total} |",
            percentile(&mut warm, 0.50),
            percentile(&mut warm, 0.95),
            percentile(&mut warm, 0.99),
            body.len(),
        );
    }
    api_endpoints(&mut sender, &pair.access_token, o.samples).await?;
    let started = Instant::now();
    bma_app::services::dashboard::refresh(&ctx).await?;
    println!(
        "\nthe scheduler's dashboard refresh (every section made afresh, every 2 minutes): {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

/// Every analytics endpoint of the API, with the ranges and groupings a manager asks for most.
fn analytics_requests() -> Vec<String> {
    let now = time::OffsetDateTime::now_utc();
    let ago = |days: i64| {
        let t = now - time::Duration::days(days);
        t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default().replace('+', "%2B")
    };
    vec![
        "/api/v1/analytics/dashboard".to_owned(),
        "/api/v1/analytics/uptime".to_owned(),
        format!("/api/v1/analytics/uptime?group_by=brand&since={}", ago(30)),
        format!("/api/v1/analytics/uptime?group_by=country&since={}", ago(365)),
        format!("/api/v1/analytics/uptime?group_by=month&tz=Asia/Bangkok&since={}", ago(365)),
        "/api/v1/analytics/satisfaction".to_owned(),
        format!("/api/v1/analytics/satisfaction?group_by=week&tz=Asia/Bangkok&from={}", ago(365)),
        "/api/v1/analytics/conversations".to_owned(),
        format!("/api/v1/analytics/conversations?group_by=channel&from={}", ago(365)),
        "/api/v1/campaigns/analytics?group=channel".to_owned(),
    ]
}

async fn api_endpoints(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    token: &str,
    samples: usize,
) -> anyhow::Result<()> {
    println!("\n| API request | status | cold ms | warm p50 ms | warm p95 ms | warm p99 ms | JSON gzip bytes |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for path in analytics_requests() {
        let (cold, status, body) =
            get(sender, &path, Auth::Bearer(token)).await.with_context(|| format!("GET {path}"))?;
        let mut warm = Vec::with_capacity(samples);
        for _ in 0..samples {
            warm.push(get(sender, &path, Auth::Bearer(token)).await?.0);
        }
        println!(
            "| {path} | {status} | {cold:.1} | {:.2} | {:.2} | {:.2} | {} |",
            percentile(&mut warm, 0.50),
            percentile(&mut warm, 0.95),
            percentile(&mut warm, 0.99),
            body.len(),
        );
    }
    Ok(())
}
