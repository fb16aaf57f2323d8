//! The load and the clients: webhooks, replies, the live feed, and the drain of Soundtrack's
//! token bucket.

use super::{Board, REPLY_EVERY, REQUEST_TIMEOUT, SENDERS, WEBHOOK_EVERY, lock};
use bma_fakes::soundtrack::SoundtrackFake;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

/// One request on a fresh connection, within [`REQUEST_TIMEOUT`]: status, headers and body;
/// `None` when no answer came.
pub(super) async fn exchange(
    addr: SocketAddr,
    req: hyper::Request<Full<Bytes>>,
) -> Option<(u16, hyper::HeaderMap, Bytes)> {
    let call = async {
        let mut sender = crate::load::connect(addr).await.ok()?;
        let (parts, body) = sender.send_request(req).await.ok()?.into_parts();
        Some((parts.status.as_u16(), parts.headers, body.collect().await.ok()?.to_bytes()))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, call).await.ok().flatten()
}

fn post(path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
    let mut req = hyper::Request::post(path).header("host", "bench").header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Ok(req.body(Full::new(Bytes::from(body)))?)
}

/// A signed WhatsApp webhook from sender `n % SENDERS`, written now, with message id `wamid`.
pub(super) fn webhook(
    secret: &str,
    phone_number_id: &str,
    n: u64,
    wamid: &str,
) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let body = crate::load::whatsapp_text(phone_number_id, n % SENDERS, wamid, now, "The lobby music stopped");
    let signature = bma_integrations::signature::sign_hex_sha256(secret.as_bytes(), &body);
    post("/api/v1/webhooks/whatsapp", &[("x-hub-signature-256", &signature)], body)
}

/// Webhooks at 20/s, alternately to each server, until `stop`; each outcome on the board.
pub(super) async fn webhook_load(
    servers: [SocketAddr; 2],
    wa: (String, String),
    board: Arc<Board>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(WEBHOOK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut inflight = tokio::task::JoinSet::new();
    for n in 0_u64.. {
        tokio::select! { _ = tick.tick() => {}, _ = stop.changed() => break }
        let (s, wamid, board) = ((n % 2) as usize, format!("wamid.faults.{n}"), board.clone());
        let req = webhook(&wa.0, &wa.1, n, &wamid);
        inflight.spawn(async move {
            let ok = match req {
                Ok(req) => exchange(servers[s], req).await.is_some_and(|r| r.0 == 200),
                Err(_) => false,
            };
            if ok {
                lock(&board.acked).push((Instant::now(), s, wamid));
            } else {
                lock(&board.refused).push(Instant::now());
            }
        });
        while inflight.try_join_next().is_some() {}
    }
    inflight.join_all().await;
}

/// Team replies at 2/s ("reply-N"), alternately through each server, to the conversations in
/// turn, until `stop`; each 202's message id on the board.
pub(super) async fn reply_load(
    servers: [SocketAddr; 2],
    bearer: String,
    conversations: Vec<Uuid>,
    board: Arc<Board>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(REPLY_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut inflight = tokio::task::JoinSet::new();
    for n in 0_usize.. {
        tokio::select! { _ = tick.tick() => {}, _ = stop.changed() => break }
        let text = format!("reply-{n}");
        let path = format!("/api/v1/conversations/{}/messages", conversations[n % conversations.len()]);
        let req = post(&path, &[("authorization", &bearer)], serde_json::json!({ "text": text }).to_string().into());
        let (addr, board) = (servers[n % 2], board.clone());
        inflight.spawn(async move {
            let answer = match req {
                Ok(req) => exchange(addr, req).await,
                Err(_) => None,
            };
            let id = answer.filter(|a| a.0 == 202).and_then(|a| {
                let v: serde_json::Value = serde_json::from_slice(&a.2).ok()?;
                v.get("message_id")?.as_str()?.parse::<Uuid>().ok()
            });
            match id {
                Some(id) => lock(&board.replies).push((Instant::now(), id, text)),
                None => lock(&board.replies_refused).push(Instant::now()),
            }
        });
        while inflight.try_join_next().is_some() {}
    }
    inflight.join_all().await;
}

/// The live-feed client of server `s`: holds `GET /api/v1/events` open, records each
/// `zone.changed` event and, as a browser's EventSource does, reconnects when the stream ends.
pub(super) async fn feed(
    addr: SocketAddr,
    bearer: String,
    s: usize,
    board: Arc<Board>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! { _ = follow(addr, &bearer, s, &board) => {}, _ = stop.changed() => return }
        if board.feed_up[s].swap(false, Ordering::SeqCst) {
            board.feed_drops[s].fetch_add(1, Ordering::SeqCst);
        }
        tokio::select! { () = tokio::time::sleep(Duration::from_millis(500)) => {}, _ = stop.changed() => return }
    }
}

async fn follow(addr: SocketAddr, bearer: &str, s: usize, board: &Board) -> anyhow::Result<()> {
    let mut sender = crate::load::connect(addr).await?;
    let req = hyper::Request::get("/api/v1/events")
        .header("host", "bench")
        .header("authorization", bearer)
        .header("accept", "text/event-stream")
        .body(Full::new(Bytes::new()))?;
    let res = sender.send_request(req).await?;
    anyhow::ensure!(res.status() == 200, "GET /api/v1/events answered {}", res.status());
    board.feed_up[s].store(true, Ordering::SeqCst);
    let (mut body, mut buffer) = (res.into_body(), String::new());
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            buffer.push_str(&String::from_utf8_lossy(data));
            for json in crate::sse::take_zone_events(&mut buffer) {
                let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
                let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_owned();
                lock(&board.events).push((Instant::now(), s, field("zone_id"), field("to")));
            }
        }
    }
    Ok(())
}

/// Spends the Soundtrack fake's API-client token bucket as fast as it refills, for `d`, so that
/// the monitor's own requests meet 429. Returns the 429s this drain itself met.
pub(super) async fn drain_bucket(st: &SoundtrackFake, account: &str, d: Duration) -> anyhow::Result<u64> {
    const DRAIN: &str =
        "query Drain($id: ID!, $n: Int!) { account(id: $id) { soundZones(first: $n) { edges { node { id } } } } }";
    let addr: SocketAddr = st.base_url().trim_start_matches("http://").parse()?;
    let auth = format!("Basic {}", st.basic_token());
    let (started, mut n, mut refused) = (Instant::now(), 1_u64, 0);
    while started.elapsed() < d {
        // The query costs 1 + n tokens: n is what the last answer said was left, less one.
        let body = serde_json::json!({ "query": DRAIN, "variables": { "id": account, "n": n } });
        if let Some((status, headers, _)) =
            exchange(addr, post("/v2", &[("authorization", &auth)], body.to_string().into())?).await
        {
            refused += u64::from(status == 429);
            let left =
                headers.get("x-ratelimiting-tokens-available").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            n = left.unwrap_or(1).saturating_sub(1).max(1);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(refused)
}
