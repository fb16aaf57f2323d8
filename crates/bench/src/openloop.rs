//! An open-loop load generator: `connections` keep-alive connections send requests on a fixed
//! schedule that adds up to `rate` per second, and each latency is measured from the moment the
//! request was due (not sent), so a slow server cannot hide its queueing (no coordinated omission).

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Stats {
    pub sent: usize,
    pub errors: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub achieved_rps: f64,
}

pub async fn run(
    addr: std::net::SocketAddr,
    path: Arc<dyn Fn(usize) -> String + Send + Sync>,
    token: &str,
    connections: usize,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Stats> {
    let interval = Duration::from_secs_f64(connections as f64 / rate);
    let start = Instant::now() + Duration::from_millis(500);
    let end = start + duration;
    let auth = format!("Bearer {token}");
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        let (path, auth) = (path.clone(), auth.clone());
        let offset = Duration::from_secs_f64(c as f64 / rate);
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0_usize;
            let Ok(stream) = tokio::net::TcpStream::connect(addr).await else { return (lat, 1) };
            let Ok((mut sender, conn)) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
            else {
                return (lat, 1);
            };
            tokio::spawn(conn);
            let mut k = 0_u32;
            loop {
                let due = start + offset + interval * k;
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let req = hyper::Request::get(path(c + k as usize * connections))
                    .header("host", "bench")
                    .header("authorization", &auth)
                    .body(Empty::<Bytes>::new());
                let ok = match req {
                    Ok(req) => match sender.send_request(req).await {
                        Ok(res) => {
                            let good = res.status().is_success();
                            good && res.into_body().collect().await.is_ok()
                        }
                        Err(_) => false,
                    },
                    Err(_) => false,
                };
                lat.push(due.elapsed().as_micros() as u64);
                if !ok {
                    errors += 1;
                }
                k += 1;
            }
            (lat, errors)
        });
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    while let Some(Ok((lat, e))) = tasks.join_next().await {
        all.extend(lat);
        errors += e;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).map_or(0.0, |v| *v as f64 / 1000.0)
    };
    Ok(Stats {
        sent: all.len(),
        errors,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: all.last().map_or(0.0, |v| *v as f64 / 1000.0),
        achieved_rps: all.len() as f64 / duration.as_secs_f64(),
    })
}
