//! The 5-minute query cache of the specification, shared through Redis when it is configured.
//! Entries of a scope (such as venue lists) live under a generation key; any write to the scope
//! moves the generation, so readers never see a list older than the last write they could know of.
//! A miss is computed once per process: readers of an entry being computed wait for it instead of
//! each computing it again (under load, a write to a busy scope would otherwise start one
//! computation per reader, all at once).

use crate::{AppContext, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// The entries being computed in this process, by full key.
#[derive(Default)]
pub struct Flights(Mutex<HashMap<String, Arc<OnceCell<String>>>>);

impl Flights {
    fn join(&self, key: &str) -> Arc<OnceCell<String>> {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(key.to_owned()).or_default().clone()
    }

    fn land(&self, key: &str, cell: &Arc<OnceCell<String>>) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.get(key).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            map.remove(key);
        }
    }

    /// How many entries are being computed now.
    pub fn in_flight(&self) -> usize {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

pub const VENUE_LISTS: &str = "venues";
pub const UPTIME: &str = "uptime";
/// Alerts opened, resolved or raised in severity.
pub const ALERTS: &str = "alerts";
/// Conversations and their messages: new messages, replies, status, assignment, surveys sent.
pub const INBOX: &str = "inbox";
/// Survey answers.
pub const SCORES: &str = "scores";
/// Campaigns changing state, and their recipients moving through the funnel (handed to a
/// channel, accepted, delivered, failed, replied to).
pub const CAMPAIGNS: &str = "campaigns";
/// Zones changing state (playing, silent, offline, unknown), as the monitor records them.
pub const FLEET: &str = "fleet";

async fn generation(ctx: &AppContext, scope: &str) -> Result<String> {
    Ok(ctx.kv.cache.get(&format!("gen:{scope}")).await?.unwrap_or_else(|| "0".into()))
}

/// Invalidates every cached entry of `scope`.
pub async fn bump(ctx: &AppContext, scope: &str) -> Result<()> {
    let ttl = ctx.config.query_cache_ttl.max(std::time::Duration::from_secs(1)) * 2;
    ctx.kv.cache.set(&format!("gen:{scope}"), &uuid::Uuid::now_v7().simple().to_string(), ttl).await?;
    Ok(())
}

/// Invalidates every cached entry of each of `scopes`; a failure is logged, not returned, as it
/// comes after the write has committed (the entries then expire within QUERY_CACHE_TTL).
pub async fn bump_after_write(ctx: &AppContext, scopes: &[&str]) {
    for scope in scopes {
        if let Err(e) = bump(ctx, scope).await {
            tracing::warn!(error = %e, scope, "query cache not invalidated");
        }
    }
}

/// The cached JSON for `key` in `scope`, or `compute`'s result, cached for QUERY_CACHE_TTL
/// (0 turns caching off).
pub async fn json<F, Fut>(ctx: &AppContext, scope: &str, key: &str, compute: F) -> Result<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String>>,
{
    json_over(ctx, &[scope], key, compute).await
}

/// As [`json`], for an answer built from several scopes: a write to any of them invalidates it.
pub async fn json_over<F, Fut>(ctx: &AppContext, scopes: &[&str], key: &str, compute: F) -> Result<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String>>,
{
    through(ctx, scopes, key, true, compute).await
}

/// As [`json_over`], made afresh whatever is cached, and cached for the readers after.
pub async fn refresh_over<F, Fut>(ctx: &AppContext, scopes: &[&str], key: &str, compute: F) -> Result<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String>>,
{
    through(ctx, scopes, key, false, compute).await
}

async fn through<F, Fut>(ctx: &AppContext, scopes: &[&str], key: &str, read: bool, compute: F) -> Result<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String>>,
{
    let ttl = ctx.config.query_cache_ttl;
    if ttl.is_zero() {
        return compute().await;
    }
    // The generations as they are before the figures are read: a write meanwhile moves them on.
    // Without the cache's store the figures are computed, not refused.
    let (scope, full) = match entry(ctx, scopes, key).await {
        Ok(entry) => entry,
        Err(e) => {
            tracing::warn!(error = %e, "query cache skipped: its store does not answer");
            return compute().await;
        }
    };
    let make = || async {
        let fresh = compute().await?;
        if let Err(e) = ctx.kv.cache.set(&full, &fresh, ttl).await {
            tracing::warn!(error = %e, "query cache not written: its store does not answer");
        }
        Ok::<_, crate::Error>(fresh)
    };
    if !read {
        return make().await;
    }
    match ctx.kv.cache.get(&full).await {
        Ok(Some(hit)) => {
            metrics::counter!("query_cache_total", "scope" => scope, "result" => "hit").increment(1);
            return Ok(hit);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "query cache not read: its store does not answer"),
    }
    metrics::counter!("query_cache_total", "scope" => scope, "result" => "miss").increment(1);
    let cell = ctx.flights.join(&full);
    let answer = cell.get_or_try_init(make).await.cloned();
    ctx.flights.land(&full, &cell);
    answer
}

/// The scopes' joined name and the entry's full key under their current generations.
async fn entry(ctx: &AppContext, scopes: &[&str], key: &str) -> Result<(String, String)> {
    let scope = scopes.join("+");
    let mut generations = Vec::with_capacity(scopes.len());
    for s in scopes {
        generations.push(generation(ctx, s).await?);
    }
    let full = format!("q:{scope}:{}:{key}", generations.join("."));
    Ok((scope, full))
}
