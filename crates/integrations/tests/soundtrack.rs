//! The Soundtrack client against the faithful fake: discovery over Relay pages and partial
//! answers, both ways to authenticate (the user's session refreshed ahead of expiry), the budget
//! model and its learned refill rate, retries, and how each kind of failure comes back.

use bma_domain::clock::Clock;
use bma_domain::music::Volume;
use bma_fakes::soundtrack::{Fault, FaultKind, FleetConfig, SoundtrackFake, Target};
use bma_integrations::soundtrack::{Auth, Settings, SoundtrackClient, SoundtrackError};
use std::time::Duration;

/// Noon in Bangkok (05:00 UTC) on the test's today (see `bma_domain::clock::test_start`).
fn noon() -> time::OffsetDateTime {
    bma_domain::clock::test_day_at(0, 5, 0)
}

fn client(fake: &SoundtrackFake, auth: Auth, clock: &Clock, tune: impl FnOnce(&mut Settings)) -> SoundtrackClient {
    let mut s = Settings::new(fake.url(), auth);
    s.backoff_base = Duration::from_millis(5);
    tune(&mut s);
    SoundtrackClient::new(s, clock.clone()).expect("client")
}

/// The fake fleet on `clock`, with the settings `f` changes.
async fn fleet(clock: &Clock, f: impl FnOnce(&mut FleetConfig)) -> SoundtrackFake {
    let mut config = FleetConfig { clock: clock.clone(), ..FleetConfig::default() };
    f(&mut config);
    SoundtrackFake::start(config).await.expect("fake")
}

fn basic(fake: &SoundtrackFake) -> Auth {
    Auth::client(fake.client_id(), fake.client_secret())
}

#[tokio::test]
async fn discovery_walks_every_account_and_zone_through_relay_pages() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |c| {
        c.accounts = 230;
        c.zones = 700;
    })
    .await;
    let c = client(&fake, basic(&fake), &clock, |_| {});
    let found = c.discover().await.expect("discover");
    let truth = fake.accounts();
    assert_eq!(found.len(), truth.len());
    let zones: usize = found.iter().map(|a| a.zones.as_ref().expect("every account's zones").len()).sum();
    assert_eq!(zones, 700);
    let biggest = truth.iter().max_by_key(|a| a.zones.len()).expect("an account");
    let mine = found.iter().find(|a| a.id == biggest.id).expect("found");
    assert_eq!(
        mine.zones.as_ref().expect("its zones").len(),
        biggest.zones.len(),
        "accounts larger than a page are paged through"
    );
}

#[tokio::test]
async fn the_budget_model_waits_for_tokens_instead_of_meeting_a_429() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |c| {
        c.accounts = 60;
        c.zones = 200;
        c.bucket_max = 300.0;
        c.refill_per_sec = 5.0;
    })
    .await;
    let c = client(&fake, basic(&fake), &clock, |s| {
        s.bucket_max = 300.0;
        s.refill_per_sec = 5.0;
        s.max_retries = 0;
    });
    let ids: Vec<String> = fake.accounts().into_iter().map(|a| a.id).collect();
    let started = clock.now();
    for _ in 0..5 {
        for (_, r) in c.zone_statuses(&ids).await {
            assert!(r.is_ok(), "{r:?}");
        }
    }
    // 5 rounds × 60 accounts × 2 tokens = 600 tokens: 300 from the full bucket, 300 refilled at 5/s.
    let waited = (clock.now() - started).whole_seconds();
    assert!((55..=75).contains(&waited), "waited {waited} s of virtual time");
}

#[tokio::test]
async fn a_429_is_retried_once_the_bucket_has_refilled() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |c| {
        c.accounts = 40;
        c.zones = 80;
        c.bucket_max = 100.0;
        c.refill_per_sec = 10.0;
    })
    .await;
    // Our model wrongly believes in a huge bucket, so the fake answers 429 and the headers correct it.
    let c = client(&fake, basic(&fake), &clock, |s| {
        s.bucket_max = 100_000.0;
        s.refill_per_sec = 10.0;
    });
    let ids: Vec<String> = fake.accounts().into_iter().map(|a| a.id).take(30).collect();
    for _ in 0..4 {
        for (_, r) in c.zone_statuses(&ids).await {
            assert!(r.is_ok(), "{r:?}");
        }
    }
}

#[tokio::test]
async fn a_user_session_is_refreshed_when_its_token_expires() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |_| {}).await;
    let (email, password) = fake.user_credentials();
    let c = client(&fake, Auth::User { email, password }, &clock, |_| {});
    let mine = fake.user_account_ids();
    assert!(c.zone_statuses(&mine[..1]).await.into_iter().all(|(_, r)| r.is_ok()));
    clock.advance(Duration::from_secs(2 * 3600));
    let after = c.zone_statuses(&mine[..1]).await;
    assert!(after.into_iter().all(|(_, r)| r.is_ok()), "the expired token was refreshed transparently");
    let other: Vec<String> =
        fake.accounts().into_iter().map(|a| a.id).filter(|id| !mine.contains(id)).take(1).collect();
    let refused = c.zone_statuses(&other).await;
    assert!(matches!(refused[0].1, Err(SoundtrackError::Forbidden(_))), "{:?}", refused[0].1);
}

#[tokio::test]
async fn control_of_an_offline_player_and_bad_input_come_back_as_clear_errors() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |_| {}).await;
    let c = client(&fake, basic(&fake), &clock, |_| {});
    let zone = fake.accounts()[0].zones[0].id.clone();
    assert_eq!(c.set_volume(&zone, Volume::new(11).expect("volume")).await, Ok(11));
    assert_eq!(fake.zone_volume(&zone), Some(11));
    let playlist = fake.playlists()[0].id.clone();
    assert_eq!(c.assign_source(&zone, &playlist).await, Ok(()));
    assert!(matches!(c.assign_source(&zone, "nonsense").await, Err(SoundtrackError::BadInput(_))));
    fake.inject(Fault {
        kind: FaultKind::Offline,
        target: Target::Zone(zone.clone()),
        starts_at: None,
        duration: None,
    });
    assert!(matches!(c.play(&zone).await, Err(SoundtrackError::NotFound(_))));
    assert!(matches!(c.skip("U291bmRab25lLCxub3BlLw").await, Err(SoundtrackError::NotFound(_))));
}

#[tokio::test]
async fn a_platform_outage_is_retried_then_reported_as_unavailable() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |_| {}).await;
    let c = client(&fake, basic(&fake), &clock, |s| s.max_retries = 2);
    fake.inject(Fault { kind: FaultKind::PlatformOutage, target: Target::Platform, starts_at: None, duration: None });
    let before = fake.requests();
    let r = c.zone(&fake.accounts()[0].zones[0].id).await;
    assert!(matches!(r, Err(SoundtrackError::Unavailable(_))), "{r:?}");
    assert_eq!(fake.requests() - before, 3, "one try and two retries");
}

#[tokio::test]
async fn wrong_credentials_and_malformed_answers_are_reported_plainly() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |_| {}).await;
    let c = client(&fake, Auth::client("who", "knows"), &clock, |_| {});
    assert_eq!(c.zone("x").await, Err(SoundtrackError::Unauthorized));

    let garbage = axum::Router::new().route("/v2", axum::routing::post(|| async { "<html>not json</html>" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, garbage).await;
    });
    let c = SoundtrackClient::new(Settings::new(format!("http://{addr}/v2"), Auth::Token("x".into())), clock)
        .expect("client");
    assert!(matches!(c.zone("x").await, Err(SoundtrackError::Malformed(_))));
}

#[tokio::test]
async fn one_failing_account_in_a_batch_leaves_the_others_answered() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |_| {}).await;
    let (email, password) = fake.user_credentials();
    let c = client(&fake, Auth::User { email, password }, &clock, |_| {});
    let mine = fake.user_account_ids();
    let other = fake
        .accounts()
        .into_iter()
        .map(|a| a.id)
        .find(|id| !mine.contains(id))
        .expect("an account the user cannot see");
    let asked = vec![mine[0].clone(), other, mine[1].clone()];
    let answers = c.zone_statuses(&asked).await;
    assert!(answers[0].1.is_ok() && answers[2].1.is_ok(), "{answers:?}");
    assert!(answers[1].1.is_err());
}

#[tokio::test]
async fn a_partial_error_under_one_account_s_zones_is_an_error_for_that_account_never_an_empty_list() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |c| {
        c.accounts = 5;
        c.zones = 15;
    })
    .await;
    let broken = fake.accounts()[2].clone();
    fake.fail_account_field(&broken.id, "soundZones").expect("a field to fail");
    let c = client(&fake, basic(&fake), &clock, |_| {});
    let found = c.discover().await.expect("the accounts themselves are listed");
    assert_eq!(found.len(), 5);
    for a in &found {
        if a.id == broken.id {
            assert_eq!(a.zones, Err(SoundtrackError::Graphql("Internal server error".into())));
        } else {
            let truth = fake.accounts().into_iter().find(|t| t.id == a.id).expect("known");
            assert_eq!(a.zones.as_ref().map(Vec::len), Ok(truth.zones.len()), "{}", a.business_name);
        }
    }
    // The same in a batch: the failing account's counts are an error, the others are answered.
    fake.fail_account_field(&broken.id, "soundZoneStatuses").expect("a field to fail");
    let ids: Vec<String> = fake.accounts().into_iter().map(|a| a.id).collect();
    for (id, r) in c.zone_statuses(&ids).await {
        assert_eq!(r.is_err(), id == broken.id, "{id}: {r:?}");
    }
}

#[tokio::test]
async fn the_refill_rate_is_learned_from_the_rate_limiting_headers() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |c| {
        c.accounts = 60;
        c.zones = 200;
        c.refill_per_sec = 5.0;
    })
    .await;
    // The setting believes in 50 tokens a second; the fake gives 5.
    let c = client(&fake, basic(&fake), &clock, |s| s.refill_per_sec = 50.0);
    let ids: Vec<String> = fake.accounts().into_iter().map(|a| a.id).collect();
    let started = clock.now();
    while clock.now() - started < time::Duration::minutes(3) {
        for chunk in ids.chunks(10) {
            c.zone_statuses(chunk).await;
            clock.advance(Duration::from_millis(500));
        }
    }
    assert!((c.refill_per_sec() - 5.0).abs() < 0.25, "learned {} tokens a second", c.refill_per_sec());
    assert!(fake.counts().rate_limited <= 2, "{} answers were 429", fake.counts().rate_limited);
    assert_eq!(c.rate_limited_answers(), fake.counts().rate_limited);
}

#[tokio::test]
async fn a_user_logs_in_and_its_requests_carry_a_bearer_token() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |_| {}).await;
    let (email, password) = fake.user_credentials();
    let c = client(&fake, Auth::User { email, password }, &clock, |_| {});
    let found = c.discover().await.expect("discover as the user");
    // Only a Bearer token for the user shows exactly the user's accounts (the API client sees all).
    let mut seen: Vec<String> = found.into_iter().map(|a| a.id).collect();
    let mut mine = fake.user_account_ids();
    seen.sort();
    mine.sort();
    assert_eq!(seen, mine);
    assert!(mine.len() < fake.accounts().len());
    let counts = fake.counts();
    assert_eq!((counts.logins, counts.refreshes, counts.unauthorized), (1, 0, 0), "one login serves every request");
}

#[tokio::test]
async fn a_user_session_is_refreshed_before_its_token_expires() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |_| {}).await;
    let (email, password) = fake.user_credentials();
    let c = client(&fake, Auth::User { email, password }, &clock, |_| {});
    let mine = fake.user_account_ids();
    assert!(c.zone_statuses(&mine[..1]).await.into_iter().all(|(_, r)| r.is_ok()));
    // The fake's tokens last an hour; at 59 minutes the token still works, but it is refreshed
    // ahead of its expiry rather than after a 401.
    clock.advance(Duration::from_secs(50 * 60));
    assert!(c.zone_statuses(&mine[..1]).await.into_iter().all(|(_, r)| r.is_ok()));
    assert_eq!(fake.counts().refreshes, 0, "not yet: ten minutes are left");
    clock.advance(Duration::from_secs(9 * 60));
    assert!(c.zone_statuses(&mine[..1]).await.into_iter().all(|(_, r)| r.is_ok()));
    assert_eq!(fake.counts().refreshes, 1);
    // The rotated refresh token was kept: the next refresh works too, with no new login.
    clock.advance(Duration::from_secs(59 * 60));
    assert!(c.zone_statuses(&mine[..1]).await.into_iter().all(|(_, r)| r.is_ok()));
    let counts = fake.counts();
    assert_eq!((counts.logins, counts.refreshes, counts.unauthorized), (1, 2, 0));
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_sign_in_error() {
    let clock = Clock::virtual_at(noon());
    let fake = fleet(&clock, |_| {}).await;
    let (email, _) = fake.user_credentials();
    let c = client(&fake, Auth::User { email: email.clone(), password: "not-it".into() }, &clock, |_| {});
    let e = c.zone(&fake.accounts()[0].zones[0].id).await.expect_err("a wrong password");
    assert_eq!(e, SoundtrackError::LoginRefused(format!("{email}: Invalid email or password")));
    assert_eq!(e.to_string(), format!("Soundtrack refused the sign-in: {email}: Invalid email or password"));
}
