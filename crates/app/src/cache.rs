//! The 5-minute query cache of the specification, shared through Redis when it is configured.
//! Entries of a scope (such as venue lists) live under a generation key; any write to the scope
//! moves the generation, so readers never see a list older than the last write they could know of.

use crate::{AppContext, Result};

pub const VENUE_LISTS: &str = "venues";
pub const UPTIME: &str = "uptime";

async fn generation(ctx: &AppContext, scope: &str) -> Result<String> {
    Ok(ctx.kv.cache.get(&format!("gen:{scope}")).await?.unwrap_or_else(|| "0".into()))
}

/// Invalidates every cached entry of `scope`.
pub async fn bump(ctx: &AppContext, scope: &str) -> Result<()> {
    let ttl = ctx.config.query_cache_ttl.max(std::time::Duration::from_secs(1)) * 2;
    ctx.kv.cache.set(&format!("gen:{scope}"), &uuid::Uuid::now_v7().simple().to_string(), ttl).await?;
    Ok(())
}

/// The cached JSON for `key` in `scope`, or `compute`'s result, cached for QUERY_CACHE_TTL
/// (0 turns caching off).
pub async fn json<F, Fut>(ctx: &AppContext, scope: &str, key: &str, compute: F) -> Result<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String>>,
{
    let ttl = ctx.config.query_cache_ttl;
    if ttl.is_zero() {
        return compute().await;
    }
    let full = format!("q:{scope}:{}:{key}", generation(ctx, scope).await?);
    if let Some(hit) = ctx.kv.cache.get(&full).await? {
        metrics::counter!("query_cache_total", "scope" => scope.to_owned(), "result" => "hit").increment(1);
        return Ok(hit);
    }
    metrics::counter!("query_cache_total", "scope" => scope.to_owned(), "result" => "miss").increment(1);
    let fresh = compute().await?;
    ctx.kv.cache.set(&full, &fresh, ttl).await?;
    Ok(fresh)
}
