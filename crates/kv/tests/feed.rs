//! Live-feed pub/sub: every subscriber of a process shares one subscription, a subscriber that
//! falls behind or loses the connection sees its stream end (so its client reconnects and replays
//! from the journal) instead of silently missing events.

use bma_kv::{FEED_BUFFER, Memory, PubSub, Redis};
use futures_util::StreamExt;
use std::collections::HashSet;
use std::time::Duration;

/// The Redis tests look at this process's pubsub connections, so they take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn redis() -> (Redis, redis::Client, String) {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let prefix = format!("bma-test-feed-{}-{n}:", std::process::id());
    let kv = Redis::connect(&url, &prefix).await.expect("Redis is running");
    (kv, redis::Client::open(url).expect("a Redis URL"), prefix)
}

async fn pubsub_client_ids(client: &redis::Client) -> HashSet<String> {
    let mut c = client.get_multiplexed_async_connection().await.expect("connected");
    let list: String =
        redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg("pubsub").query_async(&mut c).await.expect("listed");
    list.lines().filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")).map(str::to_owned)).collect()
}

#[tokio::test]
async fn fifty_subscribers_in_one_process_share_one_redis_subscription_and_each_receives_every_event() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (kv, client, prefix) = redis().await;
    let mut streams = Vec::new();
    for _ in 0..50 {
        streams.push(kv.subscribe("events").await.expect("subscribed"));
    }
    let mut c = client.get_multiplexed_async_connection().await.expect("connected");
    let numsub: (String, i64) =
        redis::cmd("PUBSUB").arg("NUMSUB").arg(format!("{prefix}events")).query_async(&mut c).await.expect("asked");
    assert_eq!(numsub.1, 1, "one Redis subscription for the whole process");

    kv.publish("events", "zone-down").await.expect("published");
    kv.publish("events", "zone-up").await.expect("published");
    for s in &mut streams {
        let got = tokio::time::timeout(Duration::from_secs(5), async { (s.next().await, s.next().await) })
            .await
            .expect("in time");
        assert_eq!(got, (Some("zone-down".into()), Some("zone-up".into())));
    }
}

#[tokio::test]
async fn a_lost_subscription_ends_its_streams_and_the_next_subscriber_opens_a_new_one() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (kv, client, _) = redis().await;
    let before = pubsub_client_ids(&client).await;
    let mut first = kv.subscribe("events").await.expect("subscribed");
    let ours: Vec<String> = pubsub_client_ids(&client).await.difference(&before).cloned().collect();
    assert_eq!(ours.len(), 1, "one connection opened");
    let mut c = client.get_multiplexed_async_connection().await.expect("connected");
    let killed: i64 =
        redis::cmd("CLIENT").arg("KILL").arg("ID").arg(&ours[0]).query_async(&mut c).await.expect("killed");
    assert_eq!(killed, 1);

    let ended = tokio::time::timeout(Duration::from_secs(5), first.next()).await.expect("ends in time");
    assert_eq!(ended, None, "the stream ends: its client reconnects and replays");

    let mut again = kv.subscribe("events").await.expect("subscribed anew");
    kv.publish("events", "zone-up").await.expect("published");
    let got = tokio::time::timeout(Duration::from_secs(5), again.next()).await.expect("in time");
    assert_eq!(got.as_deref(), Some("zone-up"));
}

#[tokio::test]
async fn a_subscriber_that_falls_too_far_behind_has_its_stream_ended_rather_than_skipped() {
    let m = Memory::new();
    let mut slow = m.subscribe("events").await.expect("subscribed");
    for i in 0..FEED_BUFFER + 10 {
        m.publish("events", &i.to_string()).await.expect("published");
    }
    assert_eq!(slow.next().await, None, "no event is dropped in silence");
    let mut fresh = m.subscribe("events").await.expect("subscribed");
    m.publish("events", "next").await.expect("published");
    assert_eq!(fresh.next().await.as_deref(), Some("next"));
}
