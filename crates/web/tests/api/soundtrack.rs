//! The Soundtrack client inside the app, against the fake: discovery facing a partial GraphQL
//! answer, and the monitor on a virtual clock while the client learns the real refill rate.

use crate::helpers::TestApp;
use bma_app::monitoring::discovery;
use bma_app::monitoring::{Monitor, MonitorSettings};
use bma_domain::clock::Clock;
use bma_fakes::soundtrack::SoundtrackFake;
use bma_integrations::soundtrack::SoundtrackClient;
use std::sync::Arc;
use std::time::Duration;

struct Rig {
    app: TestApp,
    fake: SoundtrackFake,
    clock: Clock,
    client: Arc<SoundtrackClient>,
}

/// The app with a Soundtrack fake refilling `refill` tokens a second, while the client's setting
/// believes `believed`; discovery has run once.
async fn rig(accounts: usize, zones: usize, refill: f64, believed: f64) -> Rig {
    let (app, fake, clock) = crate::helpers::with_soundtrack(accounts, zones, refill, believed).await;
    let client = app.ctx.soundtrack.clone().expect("client");
    Rig { app, fake, clock, client }
}

impl Rig {
    /// Adds a zone row Soundtrack does not know under the venue of `account`.
    async fn stale_zone(&self, account: &str, remote: &str) {
        sqlx::query(
            "INSERT INTO zones (id, venue_id, name, soundtrack_device_id) \
             SELECT $1, id, 'Gone', $2 FROM venues WHERE soundtrack_account_id = $3",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(remote)
        .bind(account)
        .execute(&self.app.ctx.db)
        .await
        .expect("a stale zone");
    }

    /// The remote ids of the zones of `account` flagged missing.
    async fn missing(&self, account: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT z.soundtrack_device_id FROM zones z JOIN venues v ON v.id = z.venue_id \
             WHERE v.soundtrack_account_id = $1 AND z.soundtrack_missing_since IS NOT NULL ORDER BY 1",
        )
        .bind(account)
        .fetch_all(&self.app.ctx.db)
        .await
        .expect("missing zones")
    }
}

#[tokio::test]
async fn discovery_keeps_the_zones_of_an_account_answered_partially_and_syncs_the_others() {
    let r = rig(4, 12, 50.0, 50.0).await;
    let accounts = r.fake.accounts();
    let (broken, other) = (&accounts[1], &accounts[2]);
    // A zone gone from each account: only the complete list may say so.
    r.stale_zone(&broken.id, "U291bmRab25lLCxnb25lLWEv").await;
    r.stale_zone(&other.id, "U291bmRab25lLCxnb25lLWIv").await;
    r.fake.fail_account_field(&broken.id, "soundZones").expect("a partial error");

    let report = discovery::sync(&r.app.ctx, &r.client, "Asia/Bangkok").await.expect("discovery");
    assert_eq!(report.accounts_unread, 1);
    assert_eq!(report.zones_vanished, 1, "{report:?}");
    assert_eq!(r.missing(&broken.id).await, Vec::<String>::new(), "a partial answer flags nothing");
    assert_eq!(r.missing(&other.id).await, vec!["U291bmRab25lLCxnb25lLWIv".to_owned()]);
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM zones z JOIN venues v ON v.id = z.venue_id \
         WHERE v.soundtrack_account_id = $1 AND z.soundtrack_missing_since IS NULL AND z.name <> 'Gone'",
    )
    .bind(&broken.id)
    .fetch_one(&r.app.ctx.db)
    .await
    .expect("count");
    assert_eq!(live, i64::try_from(broken.zones.len()).expect("a small count"), "its zones stay monitored");

    r.fake.heal_fields();
    let report = discovery::sync(&r.app.ctx, &r.client, "Asia/Bangkok").await.expect("discovery");
    assert_eq!((report.accounts_unread, report.zones_vanished), (0, 1));
    assert_eq!(r.missing(&broken.id).await, vec!["U291bmRab25lLCxnb25lLWEv".to_owned()], "once read in full");
}

#[tokio::test]
async fn the_monitor_s_client_learns_a_slower_refill_than_configured_within_a_minute_without_a_run_of_429s() {
    // Soundtrack gives 5 tokens a second; SOUNDTRACK_REFILL_PER_SEC says 50.
    let r = rig(40, 120, 5.0, 50.0).await;
    let monitor = Monitor::load(
        r.app.ctx.clone(),
        r.client.clone(),
        r.clock.clone(),
        MonitorSettings::from_config(&r.app.ctx.config),
    )
    .await
    .expect("monitor");
    let run_for = |secs: i64| {
        let (monitor, clock) = (&monitor, &r.clock);
        async move {
            let end = clock.now() + time::Duration::seconds(secs);
            while clock.now() < end {
                monitor.tick().await.expect("tick");
                clock.advance(Duration::from_secs(5));
            }
        }
    };
    run_for(60).await;
    let learned = r.client.refill_per_sec();
    assert!((learned - 5.0).abs() < 0.5, "after a minute the client believes in {learned} tokens a second");
    // Then it keeps within the budget: believing in 50 a second would drain the bucket within
    // minutes and meet 429 after 429.
    run_for(240).await;
    let refused = r.fake.counts().rate_limited;
    assert!(refused <= 2, "the fake answered {refused} requests with 429");
    assert_eq!(r.client.rate_limited_answers(), refused);
    assert!((r.client.refill_per_sec() - 5.0).abs() < 0.5, "{}", r.client.refill_per_sec());
}
