//! The sliding-window admission a sender's calls pass through, on both stores: at most `limit`
//! calls in any `window`, and a refused caller told how long until room is made.

use bma_kv::{Memory, RateLimiter, Redis};
use std::time::{Duration, Instant};

async fn at_most_the_limit_in_any_window(limiter: &dyn RateLimiter, key: &str) {
    let window = Duration::from_millis(300);
    let first = Instant::now();
    assert_eq!(limiter.admit(key, 3, window).await.expect("asked"), None, "room for the first");
    tokio::time::sleep(Duration::from_millis(150)).await;
    for _ in 0..2 {
        assert_eq!(limiter.admit(key, 3, window).await.expect("asked"), None, "room for two more");
    }
    let wait = limiter.admit(key, 3, window).await.expect("asked").expect("a fourth waits");
    assert!(wait <= window, "no longer than the window: {wait:?}");
    let room_at = first + window;
    assert!(Instant::now() + wait + Duration::from_millis(50) >= room_at, "not before the first leaves: {wait:?}");
    tokio::time::sleep(wait).await;
    assert_eq!(limiter.admit(key, 3, window).await.expect("asked"), None, "room once the oldest left");
    assert!(limiter.admit(key, 3, window).await.expect("asked").is_some(), "and only for one: two are still in it");
}

#[tokio::test]
async fn the_in_process_store_admits_at_most_the_limit_in_any_window() {
    at_most_the_limit_in_any_window(&Memory::new(), "sender").await;
}

#[tokio::test]
async fn redis_admits_at_most_the_limit_in_any_window_across_processes() {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("bma-test-{}:", std::process::id());
    let redis = Redis::connect(&url, &prefix).await.expect("Redis is running");
    let key = format!("sender-{:?}", Instant::now());
    at_most_the_limit_in_any_window(&redis, &key).await;
}
