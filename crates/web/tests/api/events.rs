//! The live feed: numbered events, `Last-Event-ID` resumption from the shared journal, a reload
//! when the gap is older than the journal, permission filtering, and delivery across two server
//! processes through Redis (in process through the routers, and over TCP between two served
//! instances).

use crate::helpers::{Options, TestApp, redis_url};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use bma_domain::access::Role;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

/// An open feed, read one event at a time, from the router in process or over HTTP.
struct Feed {
    chunks: futures_util::stream::BoxStream<'static, Vec<u8>>,
    buffer: String,
}

impl Feed {
    async fn open(app: &TestApp, token: &str, last_event_id: Option<u64>) -> Self {
        let mut req = axum::http::Request::get("/api/v1/events").header("authorization", format!("Bearer {token}"));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let mut req = req.body(Body::empty()).expect("a request");
        req.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from(([203, 0, 113, 7], 40_000))));
        let res = app.router.clone().oneshot(req).await.expect("an answer");
        assert_eq!(res.status(), StatusCode::OK);
        let chunks = futures_util::stream::unfold(res.into_body(), |mut body| async move {
            let frame = body.frame().await?.expect("no error");
            Some((frame.into_data().map(|d| d.to_vec()).unwrap_or_default(), body))
        });
        Feed { chunks: Box::pin(chunks), buffer: String::new() }
    }

    /// A feed opened over HTTP on a served instance at `base`.
    async fn open_remote(base: &str, token: &str, last_event_id: Option<u64>) -> Self {
        let mut req = reqwest::Client::new().get(format!("{base}/api/v1/events")).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let res = req.send().await.expect("the server answers");
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        let chunks = futures_util::stream::unfold(res, |mut res| async move {
            let chunk = res.chunk().await.expect("the stream reads")?;
            Some((chunk.to_vec(), res))
        });
        Feed { chunks: Box::pin(chunks), buffer: String::new() }
    }

    /// The next event as (id, name), within 5 seconds.
    async fn next(&mut self) -> (Option<u64>, String) {
        use futures_util::StreamExt;
        loop {
            if let Some(event) = take_event(&mut self.buffer) {
                return event;
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), self.chunks.next())
                .await
                .expect("an event within 5 s")
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// The first whole event in `buffer` as (id, name), taken out of it; blocks without an event
/// name (keep-alive comments) are dropped on the way.
fn take_event(buffer: &mut String) -> Option<(Option<u64>, String)> {
    while let Some(end) = buffer.find("\n\n") {
        let block: String = buffer.drain(..end + 2).collect();
        let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()));
        if let Some(event) = field("event:") {
            return Some((field("id:").and_then(|i| i.parse().ok()), event));
        }
    }
    None
}

#[tokio::test]
async fn a_client_reconnecting_with_last_event_id_gets_what_it_missed_then_live_events() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Viewer).await;
    for n in 1..=3 {
        bma_app::events::publish(&app.ctx, &json!({"type": "monitoring", "n": n})).await;
    }
    let mut feed = Feed::open(&app, &token, Some(1)).await;
    assert_eq!(feed.next().await, (Some(2), "monitoring".to_owned()));
    assert_eq!(feed.next().await, (Some(3), "monitoring".to_owned()));
    bma_app::events::publish(&app.ctx, &json!({"type": "conversation.updated"})).await;
    assert_eq!(feed.next().await, (Some(4), "conversation.updated".to_owned()), "then live, nothing twice");
}

#[tokio::test]
async fn a_gap_older_than_the_journal_asks_the_client_to_reload() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Viewer).await;
    for _ in 0..bma_app::events::REPLAY_KEEP + 2 {
        bma_app::events::publish(&app.ctx, &json!({"type": "monitoring"})).await;
    }
    let mut feed = Feed::open(&app, &token, Some(1)).await;
    assert_eq!(feed.next().await, (None, "reload".to_owned()), "event 2 is no longer kept");
    assert_eq!(feed.next().await, (Some(3), "monitoring".to_owned()), "then the oldest kept");
    let mut unknown = Feed::open(&app, &token, Some(99_999)).await;
    assert_eq!(unknown.next().await, (None, "reload".to_owned()), "an id never given");
}

#[tokio::test]
async fn members_see_only_the_events_their_role_may_see_live_and_replayed() {
    let app = TestApp::spawn().await;
    let viewer = app.token(Role::Viewer).await;
    let mut live = Feed::open(&app, &viewer, None).await;
    bma_app::events::publish(&app.ctx, &json!({"type": "job.dead"})).await;
    bma_app::events::publish(&app.ctx, &json!({"type": "monitoring"})).await;
    assert_eq!(live.next().await, (Some(2), "monitoring".to_owned()), "the admins-only event was not sent");
    let mut replayed = Feed::open(&app, &viewer, Some(0)).await;
    assert_eq!(replayed.next().await, (Some(2), "monitoring".to_owned()), "nor replayed");
}

/// Two instances of the service on one database, sharing Redis under a prefix of their own.
async fn two_instances() -> (TestApp, TestApp) {
    let prefix = format!("bma-test-events-{}:", uuid::Uuid::new_v4().simple());
    let a = TestApp::with(Options { redis_prefix: Some(prefix.clone()), ..Options::default() }).await;
    let b = TestApp::with(Options { redis_prefix: Some(prefix), db_url: Some(a.db_url.clone()), ..Options::default() })
        .await;
    (a, b)
}

#[tokio::test]
async fn an_event_published_by_one_server_reaches_a_client_of_another_through_redis() {
    let (a, b) = two_instances().await;
    assert_eq!(b.ctx.kv.backend_name(), "redis", "two processes share Redis at {}", redis_url());
    let token = b.token(Role::Viewer).await;
    bma_app::events::publish(&a.ctx, &json!({"type": "monitoring", "n": 1})).await;
    bma_app::events::publish(&a.ctx, &json!({"type": "monitoring", "n": 2})).await;
    let mut feed = Feed::open(&b, &token, Some(1)).await;
    assert_eq!(feed.next().await, (Some(2), "monitoring".to_owned()), "replayed from the shared journal");
    bma_app::events::publish(&a.ctx, &json!({"type": "conversation.updated"})).await;
    assert_eq!(feed.next().await, (Some(3), "conversation.updated".to_owned()), "live across processes");
}

#[tokio::test]
async fn assigning_a_conversation_and_resolving_an_alert_are_announced_on_the_feed() {
    let app = TestApp::spawn().await;
    let manager = app.token(Role::Manager).await;
    let member: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM team_members LIMIT 1").fetch_one(&app.ctx.db).await.expect("the manager");
    let (venue, zone, conversation, alert) =
        (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for (sql, id) in [
        ("INSERT INTO venues (id, name, timezone) VALUES ($1, 'Fed Hotel', 'UTC')", venue),
        ("INSERT INTO zones (id, venue_id, name) SELECT $1, id, 'Lobby' FROM venues", zone),
        (
            "INSERT INTO conversations (id, venue_id, channel, external_id, status) \
             SELECT $1, id, 'line', $1::text, 'open' FROM venues",
            conversation,
        ),
        (
            "INSERT INTO alerts (id, zone_id, alert_type, severity, message) SELECT $1, id, 'silent', 'warning', 'x' FROM zones",
            alert,
        ),
    ] {
        sqlx::query(sql).bind(id).execute(&app.ctx.db).await.expect("crafted row");
    }
    let mut feed = Feed::open(&app, &manager, None).await;
    let assigned = app
        .post(&format!("/api/v1/conversations/{conversation}/assign"), Some(&manager), json!({"member_id": member}))
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.text);
    assert_eq!(feed.next().await.1, "conversation.updated");
    let resolved = app.post(&format!("/api/v1/monitoring/alerts/{alert}/resolve"), Some(&manager), json!({})).await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text);
    assert_eq!(feed.next().await.1, "alert.resolved");
}

/// `app`'s router served on a port of its own, as `bma_web::serve` serves it, until the returned
/// sender is dropped; its base URL.
async fn served(app: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app.router.clone();
    tokio::spawn(async move {
        bma_web::serve_router(router, listener, async move {
            let _ = stopped.await;
        })
        .await
        .expect("the server runs");
    });
    (url, stop)
}

#[tokio::test]
async fn two_served_instances_share_the_feed_filter_it_by_role_and_resume_a_client_on_the_other() {
    let (a, b) = two_instances().await;
    let ((url_a, _stop_a), (url_b, _stop_b)) = (served(&a).await, served(&b).await);
    assert_ne!(url_a, url_b);
    let viewer = a.token(Role::Viewer).await;
    let manager = a.token(Role::Manager).await;
    let admin = b.token(Role::Admin).await;
    let (venue, zone, alert) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for (sql, id) in [
        ("INSERT INTO venues (id, name, timezone) VALUES ($1, 'Twin Hotel', 'UTC')", venue),
        ("INSERT INTO zones (id, venue_id, name) SELECT $1, id, 'Lobby' FROM venues", zone),
        (
            "INSERT INTO alerts (id, zone_id, alert_type, severity, message) SELECT $1, id, 'silent', 'warning', 'x' FROM zones",
            alert,
        ),
    ] {
        sqlx::query(sql).bind(id).execute(&a.ctx.db).await.expect("crafted row");
    }

    // Both members listen on B; events come from A: an admins-only one, then an alert resolved
    // through A's HTTP API.
    let mut viewer_on_b = Feed::open_remote(&url_b, &viewer, None).await;
    let mut admin_on_b = Feed::open_remote(&url_b, &admin, None).await;
    bma_app::events::publish(&a.ctx, &json!({"type": "job.dead"})).await;
    let resolved = reqwest::Client::new()
        .post(format!("{url_a}/api/v1/monitoring/alerts/{alert}/resolve"))
        .bearer_auth(&manager)
        .json(&json!({}))
        .send()
        .await
        .expect("A answers");
    assert_eq!(resolved.status(), reqwest::StatusCode::OK);
    assert_eq!(admin_on_b.next().await, (Some(1), "job.dead".to_owned()), "B's admin hears A's admins-only event");
    assert_eq!(admin_on_b.next().await, (Some(2), "alert.resolved".to_owned()));
    assert_eq!(
        viewer_on_b.next().await,
        (Some(2), "alert.resolved".to_owned()),
        "B's viewer hears A's alert, and not the admins-only event before it"
    );

    // The viewer drops B; while away, A publishes three more (one for admins only); the viewer
    // comes back on A with the last id it saw and gets what it may see of those, then live.
    drop(viewer_on_b);
    bma_app::events::publish(&a.ctx, &json!({"type": "monitoring", "n": 3})).await;
    bma_app::events::publish(&a.ctx, &json!({"type": "job.dead"})).await;
    bma_app::events::publish(&b.ctx, &json!({"type": "conversation.updated"})).await;
    let mut viewer_on_a = Feed::open_remote(&url_a, &viewer, Some(2)).await;
    assert_eq!(viewer_on_a.next().await, (Some(3), "monitoring".to_owned()), "replayed on the other server");
    assert_eq!(viewer_on_a.next().await, (Some(5), "conversation.updated".to_owned()), "4 is for admins only");
    bma_app::events::publish(&b.ctx, &json!({"type": "alert.opened"})).await;
    assert_eq!(viewer_on_a.next().await, (Some(6), "alert.opened".to_owned()), "then live from B, nothing twice");
}
