//! The bot's latency: a venue's WhatsApp message (a signed webhook from the fake) → stored → the
//! bot's job → Soundtrack read and volume change on the fake → reply accepted by the fake
//! WhatsApp, with 50 conversations writing at once. Then the LLM path alone (rules cannot read
//! the message; one turn of the fake Claude with a configured latency).

use crate::stats::percentile;
use bma_app::AppContext;
use bma_app::config::{Config, Strictness};
use bma_app::jobs::{Registry, Worker};
use bma_fakes::whatsapp::{StatusProgression, UserMessage, WhatsappFake, WhatsappFakeConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const CONVERSATIONS: usize = 50;

struct Run {
    latencies_ms: Vec<f64>,
    unanswered: usize,
}

async fn scenario(llm_latency: Option<Duration>, seconds: u64, every: Duration) -> anyhow::Result<Run> {
    let st = bma_fakes::soundtrack::SoundtrackFake::start(bma_fakes::soundtrack::FleetConfig {
        seed: 7,
        accounts: CONVERSATIONS,
        zones: CONVERSATIONS,
        bucket_max: 1.0e9,
        refill_per_sec: 1.0e9,
        ..Default::default()
    })
    .await?;
    let wa = WhatsappFake::start(WhatsappFakeConfig {
        statuses: StatusProgression::off(),
        throughput_per_second: 10_000,
        pair_limit_per_minute: 10_000,
        ..Default::default()
    })
    .await?;
    let claude = bma_fakes::claude::ClaudeFake::start(bma_fakes::claude::ClaudeFakeConfig {
        latency: llm_latency.unwrap_or_default(),
        ..Default::default()
    })
    .await?;
    let (db, url) = bma_store::testing::fresh_database().await?;
    db.close().await;
    let c = wa.config().clone();
    let wa_url = wa.base_url();
    let (claude_key, claude_url) = (claude.api_key().to_owned(), claude.base_url());
    let mut env: HashMap<&str, &str> = HashMap::from([
        ("JWT_SECRET_KEY", "bench-secret-bench-secret-bench-secret"),
        ("DATA_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        ("WHATSAPP_APP_SECRET", c.app_secret.as_str()),
        ("WHATSAPP_ACCESS_TOKEN", c.access_token.as_str()),
        ("WHATSAPP_PHONE_NUMBER_ID", c.phone_number_id.as_str()),
        ("WHATSAPP_API_URL", wa_url.as_str()),
        ("BOT_ENABLED", "true"),
    ]);
    if llm_latency.is_some() {
        env.insert("CLAUDE_API_KEY", claude_key.as_str());
        env.insert("CLAUDE_API_URL", claude_url.as_str());
    }
    let config = Config::from_source(&env, Strictness::Production).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = bma_store::connect(&url, config.database_max_connections).await?;
    let mut settings = bma_integrations::soundtrack::Settings::new(
        st.url(),
        bma_integrations::soundtrack::Auth::client(st.client_id(), st.client_secret()),
    );
    settings.bucket_max = 1.0e9;
    settings.refill_per_sec = 1.0e9;
    settings.requests_per_minute = 1_000_000;
    let client = bma_integrations::soundtrack::SoundtrackClient::new(settings, bma_domain::clock::Clock::Real)?;
    let ctx =
        AppContext::new(db.clone(), bma_kv::Kv::memory(), Arc::new(bma_integrations::email::Unconfigured), config)
            .with_soundtrack(Arc::new(client));

    let mut numbers = Vec::new();
    for (i, account) in st.accounts().iter().take(CONVERSATIONS).enumerate() {
        let venue = bma_domain::ids::new_id();
        sqlx::query("INSERT INTO venues (id, name, country, timezone) VALUES ($1, $2, 'TH', 'Asia/Bangkok')")
            .bind(venue)
            .bind(format!("Bench Venue {i}"))
            .execute(&db)
            .await?;
        sqlx::query(
            "INSERT INTO zones (id, venue_id, name, zone_type, soundtrack_device_id) VALUES ($1, $2, 'Lobby', 'lobby', $3)",
        )
        .bind(bma_domain::ids::new_id())
        .bind(venue)
        .bind(&account.zones[0].id)
        .execute(&db)
        .await?;
        let number = format!("6681{:07}", i);
        sqlx::query(
            "INSERT INTO venue_contacts (id, venue_id, name, channel, whatsapp_number, is_staff) \
             VALUES ($1, $2, 'Staff', 'whatsapp', $3, true)",
        )
        .bind(bma_domain::ids::new_id())
        .bind(venue)
        .bind(format!("+{number}"))
        .execute(&db)
        .await?;
        numbers.push(number);
    }

    let (router, _) = bma_web::build_with_openapi(bma_web::AppState::new(ctx.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
    });
    wa.set_webhook(&format!("http://{addr}/api/v1/webhooks/whatsapp"));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(Worker::new(ctx.clone(), Registry::standard()).run(stop_rx));

    let text_for = |k: usize| match llm_latency {
        Some(_) => format!("is the brand review of week {k} still on for friday"),
        None => format!("volume {} in the lobby please", 5 + k % 6),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let mut sends: Vec<(String, OffsetDateTime)> = Vec::new();
    let mut k = 0;
    let mut tick = tokio::time::interval(every / u32::try_from(CONVERSATIONS).unwrap_or(1));
    while tokio::time::Instant::now() < deadline {
        tick.tick().await;
        let number = &numbers[k % numbers.len()];
        sends.push((number.clone(), OffsetDateTime::now_utc()));
        wa.user_sends(number, "Staff", UserMessage::text(&text_for(k / numbers.len())));
        k += 1;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = stop_tx.send(true);
    let _ = worker.await;

    let mut replies: HashMap<String, Vec<OffsetDateTime>> = HashMap::new();
    for m in wa.sent() {
        replies.entry(m.to.clone()).or_default().push(m.at);
    }
    let mut by_number: HashMap<String, Vec<OffsetDateTime>> = HashMap::new();
    for (n, t) in sends {
        by_number.entry(n).or_default().push(t);
    }
    let mut run = Run { latencies_ms: Vec::new(), unanswered: 0 };
    for (n, mut sent) in by_number {
        sent.sort();
        let mut got = replies.remove(&n).unwrap_or_default();
        got.sort();
        for (i, s) in sent.iter().enumerate() {
            match got.get(i) {
                Some(r) => run.latencies_ms.push((*r - *s).as_seconds_f64() * 1000.0),
                None => run.unanswered += 1,
            }
        }
    }
    Ok(run)
}

pub async fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(2).collect();
    let seconds: u64 =
        args.iter().position(|a| a == "--seconds").and_then(|i| args.get(i + 1)).map_or(Ok(20), |s| s.parse())?;
    let llm_ms: u64 = args
        .iter()
        .position(|a| a == "--llm-latency-ms")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(400), |s| s.parse())?;
    println!("Bot round trip: signed webhook from the fake WhatsApp → stored → bot job → Soundtrack (fake) →");
    println!(
        "reply accepted by the fake WhatsApp. {CONVERSATIONS} conversations, one message each every 5 s, {seconds} s.\n"
    );
    let mut rules = scenario(None, seconds, Duration::from_secs(5)).await?;
    let n = rules.latencies_ms.len();
    println!(
        "rules path (\"volume N in the lobby\": read zone, set volume, reply): {n} replies, {} unanswered; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        rules.unanswered,
        percentile(&mut rules.latencies_ms, 0.5),
        percentile(&mut rules.latencies_ms, 0.99),
        percentile(&mut rules.latencies_ms, 1.0)
    );
    let mut llm = scenario(Some(Duration::from_millis(llm_ms)), seconds, Duration::from_secs(5)).await?;
    let n = llm.latencies_ms.len();
    println!(
        "LLM path (rules cannot read it; one Claude turn, fake latency {llm_ms} ms): {n} replies, {} unanswered; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        llm.unanswered,
        percentile(&mut llm.latencies_ms, 0.5),
        percentile(&mut llm.latencies_ms, 0.99),
        percentile(&mut llm.latencies_ms, 1.0)
    );
    Ok(())
}
