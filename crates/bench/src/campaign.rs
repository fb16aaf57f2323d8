//! `bma-bench campaign`: a WhatsApp campaign to N venues (10,000 by default) against the fake at
//! its real per-number throughput (80 messages/s), sent by a separate `bma-social worker`
//! process: completion time against the limit (N / rate seconds), duplicates (messages the
//! fake accepted per recipient beyond one) and throughput refusals (130429). Then the same to
//! another N venues with the worker killed (`kill -9`) twice mid-send and restarted: still
//! exactly once, and how many recipients were flagged "outcome unknown" (and of those, how many
//! the fake had in fact received). Then a LINE campaign to N contacts by multicast: calls made
//! and time. The fakes run in this process, so their counts survive the worker's deaths.

use anyhow::bail;
use bma_app::AppContext;
use bma_app::services::Actor;
use bma_fakes::line::{LineFake, LineFakeConfig};
use bma_fakes::whatsapp::{WhatsappFake, WhatsappFakeConfig};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::process::Child;
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Opts {
    venues: i64,
    rate: u32,
    kills: usize,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts { venues: 10_000, rate: 80, kills: 2 };
    let args: Vec<String> = std::env::args().skip(2).collect();
    for pair in args.chunks(2) {
        let (k, v) = (pair[0].as_str(), pair.get(1).map(String::as_str).unwrap_or(""));
        match k {
            "--venues" => o.venues = v.parse()?,
            "--rate" => o.rate = v.parse()?,
            "--kills" => o.kills = v.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

/// `n` venues of `brand`, each with one contact reachable on WhatsApp and LINE.
async fn seed(db: &sqlx::PgPool, brand: &str, offset: i64, n: i64) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "CREATE TEMP TABLE bench_venues ON COMMIT DROP AS \
         SELECT gen_random_uuid() AS id, g FROM generate_series($1 + 1, $1 + $2) g",
    )
    .bind(offset)
    .bind(n)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO venues (id, name, brand, country, timezone) \
         SELECT id, 'Bench venue ' || g, $1, 'TH', 'Asia/Bangkok' FROM bench_venues",
    )
    .bind(brand)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO venue_contacts (id, venue_id, name, channel, whatsapp_number, line_user_id) \
         SELECT gen_random_uuid(), id, 'Manager ' || g, 'whatsapp', '+668' || lpad(g::text, 8, '0'), \
                'U' || lpad(to_hex(g), 32, '0') FROM bench_venues",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A maintenance notice; on LINE one text for all (multicast sends one text to many), on
/// WhatsApp a template with the venue's name.
fn campaign(name: &str, brand: &str, channel: &str) -> serde_json::Value {
    let text = if channel == "line" {
        "Planned maintenance of the music system tonight."
    } else {
        "Planned maintenance of the music system at {{venue.name}} tonight."
    };
    json!({
        "name": name, "type": "service", "channel": channel, "audience_filter": {"brand": brand},
        "message_template": text,
        "whatsapp_template": {"name": "alert_notice", "language": "en_US",
                              "params": ["{{venue.name}}", "planned maintenance tonight"]}
    })
}

/// The real `bma-social worker` next to this binary, with the bench's settings.
fn spawn_worker(env: &HashMap<&'static str, String>, log: &std::path::Path) -> anyhow::Result<Child> {
    crate::children::spawn("worker", env, None, log)
}

/// Recipients of the campaign whose message reached an end (accepted, or failed/unknown).
async fn settled(db: &sqlx::PgPool, campaign_id: Uuid) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM campaign_recipients r JOIN messages m ON m.id = r.message_id \
         WHERE r.campaign_id = $1 AND m.delivery_status NOT IN ('queued', 'sending')",
    )
    .bind(campaign_id)
    .fetch_one(db)
    .await?)
}

/// Whatsapp numbers (digits) of the campaign's recipients flagged "outcome unknown".
async fn unknown(db: &sqlx::PgPool, campaign_id: Uuid) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT ltrim(vc.whatsapp_number, '+') FROM campaign_recipients r JOIN messages m ON m.id = r.message_id \
         JOIN venue_contacts vc ON vc.id = r.contact_id \
         WHERE r.campaign_id = $1 AND m.delivery_error->>'code' = 'outcome_unknown'",
    )
    .bind(campaign_id)
    .fetch_all(db)
    .await?)
}

/// When the fake's refusals rose, as seen by the poll: (seconds since the send started, refusals).
#[derive(Default)]
struct Refusals {
    seen: u64,
    at: Vec<(f64, u64)>,
}

impl Refusals {
    fn note(&mut self, elapsed: Duration, total: u64) {
        if total > self.seen {
            self.at.push((elapsed.as_secs_f64(), total - self.seen));
            self.seen = total;
        }
    }

    fn timeline(&self) -> String {
        if self.at.is_empty() {
            return "none".into();
        }
        let shown: Vec<String> = self.at.iter().take(30).map(|(t, n)| format!("{n} by {t:.1} s")).collect();
        let more = if self.at.len() > 30 { format!(", … {} more polls", self.at.len() - 30) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    }
}

/// The most sends the fake accepted within any one second (its own clock): at most the rate.
fn busiest_second(sent: &[bma_fakes::whatsapp::SentMessage]) -> usize {
    let mut times: Vec<_> = sent.iter().map(|m| m.at).collect();
    times.sort();
    let (mut best, mut lo) = (0, 0);
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= time::Duration::SECOND {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

struct Run {
    seconds: f64,
    accepted: usize,
    distinct: usize,
    refusals: u64,
    unknown: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
async fn whatsapp_run(
    ctx: &AppContext,
    wa: &WhatsappFake,
    env: &HashMap<&'static str, String>,
    log: &std::path::Path,
    brand: &str,
    n: i64,
    kills: usize,
) -> anyhow::Result<Run> {
    let input = serde_json::from_value(campaign(&format!("Maintenance {brand}"), brand, "whatsapp"))?;
    let system = Actor::member(None, None, None);
    let c = bma_app::campaigns::create(ctx, &system, &input).await?;
    let before_sent = wa.sent_count();
    let before_refusals = wa.throughput_refusals();
    let mut worker = spawn_worker(env, log)?;
    let started = Instant::now();
    let report = bma_app::campaigns::send::start(ctx, &system, c.id).await?;
    anyhow::ensure!(report.recipients as i64 == n, "audience of {} instead of {n}", report.recipients);
    let kill_at: Vec<usize> = (1..=kills).map(|k| n as usize * k / (kills + 1)).collect();
    let mut killed = 0;
    let mut refused = Refusals::default();
    let deadline = started + Duration::from_secs(u64::try_from(n).unwrap_or(0) / 10 + 600);
    loop {
        // The fake's lock is what every send waits on: the poll only counts under it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let accepted = wa.sent_count() - before_sent;
        refused.note(started.elapsed(), wa.throughput_refusals() - before_refusals);
        if killed < kill_at.len() && accepted >= kill_at[killed] {
            worker.kill()?; // SIGKILL
            worker.wait()?;
            killed += 1;
            // What the scheduler's requeue_stalled does once the worker's lease has run out.
            bma_store::jobs::requeue_stalled(&ctx.db, time::Duration::ZERO).await?;
            println!(
                "  kill -9 of the worker after {accepted} accepted ({:.1} s); restarted",
                started.elapsed().as_secs_f64()
            );
            worker = spawn_worker(env, log)?;
        }
        if settled(&ctx.db, c.id).await? >= n {
            break;
        }
        if Instant::now() > deadline {
            let _ = worker.kill();
            bail!("the campaign did not finish in time ({accepted} of {n} accepted); see {}", log.display());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    worker.kill()?;
    worker.wait()?;
    refused.note(started.elapsed(), wa.throughput_refusals() - before_refusals);
    let sent = wa.sent();
    let ours = &sent[before_sent..];
    let distinct = ours.iter().map(|m| m.to.as_str()).collect::<HashSet<_>>().len();
    println!("  busiest second at the fake: {} accepted; refusals {}", busiest_second(ours), refused.timeline());
    Ok(Run {
        seconds,
        accepted: ours.len(),
        distinct,
        refusals: wa.throughput_refusals() - before_refusals,
        unknown: unknown(&ctx.db, c.id).await?,
    })
}

pub async fn run() -> anyhow::Result<()> {
    let o = opts()?;
    let (db, url) = bma_store::testing::fresh_database().await?;
    let wa = WhatsappFake::start(WhatsappFakeConfig { throughput_per_second: o.rate, ..WhatsappFakeConfig::default() })
        .await?;
    let line = LineFake::start(LineFakeConfig::default()).await?;
    let (redis, prefix, mut env) = crate::child_env(&url, "bench-campaign");
    env.extend([
        ("WHATSAPP_MESSAGES_PER_SECOND", o.rate.to_string()),
        ("LINE_CHANNEL_SECRET", line.channel_secret().to_owned()),
        ("LINE_CHANNEL_ACCESS_TOKEN", line.channel_access_token().to_owned()),
        ("LINE_API_URL", line.url()),
        ("LINE_DATA_URL", line.url()),
    ]);
    env.extend(crate::whatsapp_env(&wa));
    let config = crate::config_of(&env)?;
    db.close().await;
    let db = bma_store::connect(&url, 10).await?;
    let kv = bma_kv::Kv::redis(&redis, &prefix).await?;
    let ctx = AppContext::new(db.clone(), kv, std::sync::Arc::new(bma_integrations::email::Unconfigured), config);
    let log = std::env::temp_dir().join("bma-bench-campaign-worker.log");
    let _ = std::fs::remove_file(&log);

    let seeding = Instant::now();
    seed(&db, "Bench A", 0, o.venues).await?;
    seed(&db, "Bench B", o.venues, o.venues).await?;
    sqlx::query("VACUUM (ANALYZE) venues, venue_contacts").execute(&db).await?;
    let limit = o.venues as f64 / f64::from(o.rate);
    println!(
        "BMA Social campaign benchmark: {} venues a campaign, WhatsApp fake at {} messages/s per number \
         (130429 beyond), one `bma-social worker` process; bench, fakes, worker, PostgreSQL and Redis share 2 cores",
        o.venues, o.rate
    );
    println!("seeding 2 × {} venues and contacts: {:.1} s", o.venues, seeding.elapsed().as_secs_f64());

    println!("\nWhatsApp, no faults:");
    let clean = whatsapp_run(&ctx, &wa, &env, &log, "Bench A", o.venues, 0).await?;
    println!("\nWhatsApp, the worker killed {} times:", o.kills);
    let faulty = whatsapp_run(&ctx, &wa, &env, &log, "Bench B", o.venues, o.kills).await?;
    let wa_sent: HashSet<String> = wa.sent().into_iter().map(|m| m.to).collect();

    println!(
        "\n| run | recipients | completion s | limit s ({} / {}/s) | ratio limit/measured | accepted by the fake | duplicates | never received | 130429 refusals | flagged unknown (of which received) |",
        o.venues, o.rate
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, r) in [("no faults", &clean), (&*format!("kill -9 ×{}", o.kills), &faulty)] {
        let received_unknown = r.unknown.iter().filter(|u| wa_sent.contains(*u)).count();
        let never = (o.venues as usize).saturating_sub(r.distinct);
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.3} | {} | {} | {} | {} | {} ({}) |",
            o.venues,
            r.seconds,
            limit,
            limit / r.seconds,
            r.accepted,
            r.accepted - r.distinct,
            never,
            r.refusals,
            r.unknown.len(),
            received_unknown
        );
    }

    // LINE: one multicast campaign to the first set's contacts.
    let input = serde_json::from_value(campaign("Maintenance LINE", "Bench A", "line"))?;
    let system = Actor::member(None, None, None);
    let c = bma_app::campaigns::create(&ctx, &system, &input).await?;
    let mut worker = spawn_worker(&env, &log)?;
    let started = Instant::now();
    bma_app::campaigns::send::start(&ctx, &system, c.id).await?;
    let deadline = started + Duration::from_secs(600);
    while settled(&db, c.id).await? < o.venues {
        if Instant::now() > deadline {
            let _ = worker.kill();
            bail!("the LINE campaign did not finish; see {}", log.display());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    worker.kill()?;
    worker.wait()?;
    let sent = line.sent();
    let distinct = sent.iter().map(|s| s.to.as_str()).collect::<HashSet<_>>().len();
    println!("\n| LINE multicast | contacts | calls | seconds (send to last recorded) | received | duplicates |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| {} contacts | {} | {} | {:.2} | {} | {} |",
        o.venues,
        o.venues,
        line.multicast_calls(),
        seconds,
        sent.len(),
        sent.len() - distinct
    );
    Ok(())
}
