//! `bma-bench portal`: the server time of every portal page a manager sees, at fleet scale with
//! history, cold (the first request after start, nothing cached) and warm (the same page again),
//! beside a hello-world route behind the same layers in the same run; and the bytes each page
//! costs a browser (HTML and its assets, gzip-compressed as served).

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
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts { venues: 10_000, zones: 50_000, history_days: 365, samples: 200 };
    let args: Vec<String> = std::env::args().skip(2).collect();
    for pair in args.chunks(2) {
        let v = pair.get(1).map_or("", String::as_str);
        match pair[0].as_str() {
            "--venues" => o.venues = v.parse()?,
            "--zones" => o.zones = v.parse()?,
            "--history-days" => o.history_days = v.parse()?,
            "--samples" => o.samples = v.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

/// One GET on a fresh keep-alive connection's sender: latency in ms, status and body bytes.
async fn get(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    path: &str,
    cookie: &str,
) -> anyhow::Result<(f64, u16, Bytes)> {
    let req = hyper::Request::get(path)
        .header("host", "bench")
        .header("cookie", cookie)
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

pub async fn run() -> anyhow::Result<()> {
    let o = opts()?;
    let (db, url) = bma_store::testing::fresh_database().await?;
    let started = Instant::now();
    let plan = bma_store::seed::SeedPlan { venues: o.venues, zones: o.zones, seed: 42, soundtrack_ids: true };
    let fleet = bma_store::seed::seed_fleet(&db, &plan, |_, _| {}).await?;
    let fleet_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let history = if o.history_days > 0 {
        Some(
            bma_store::seed_history::seed_history(&db, o.history_days, 42, time::OffsetDateTime::now_utc(), |_, _| {})
                .await?,
        )
    } else {
        None
    };
    let history_secs = started.elapsed().as_secs_f64();
    db.close().await;

    let ctx: AppContext = crate::bench_context(&url).await?;
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

    println!(
        "BMA Social portal benchmark: {} venues, {} zones, {} days of history; server, PostgreSQL and client share 2 cores",
        fleet.venues, fleet.zones, o.history_days
    );
    println!("seeding: fleet {fleet_secs:.1} s, history {history_secs:.1} s ({history:?})");

    let (_, status, dashboard) = get(&mut sender, "/dashboard", &cookie).await?;
    if status != 200 {
        bail!("GET /dashboard answered {status}: sign-in did not take");
    }
    let (_, links) = gunzip_links(&dashboard);
    let mut pages: Vec<String> = links
        .iter()
        .filter(|l| !l.starts_with("/assets/") && !l.starts_with("/api/") && !l.contains('#') && *l != "/")
        .cloned()
        .collect();
    pages.retain(|p| p != "/sign-out" && !p.starts_with("/live"));
    pages.sort();
    pages.dedup();
    pages.insert(0, "/hello".into());

    println!(
        "\n| page | status | cold ms | warm p50 ms | warm p95 ms | warm p99 ms | HTML gzip bytes | assets gzip bytes |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut asset_bytes = std::collections::HashMap::new();
    for page in &pages {
        let (cold, status, body) = get(&mut sender, page, &cookie).await.with_context(|| format!("GET {page}"))?;
        let mut warm = Vec::with_capacity(o.samples);
        for _ in 0..o.samples {
            warm.push(get(&mut sender, page, &cookie).await?.0);
        }
        let (_, assets) = gunzip_links(&body);
        let mut assets_total = 0;
        for a in assets.iter().filter(|a| a.starts_with("/assets/")) {
            if !asset_bytes.contains_key(a) {
                let (_, _, b) = get(&mut sender, a, &cookie).await?;
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
    Ok(())
}
