//! Uptime reports: the exact uptime of each zone over a range (see `bma_domain::monitoring::uptime`
//! for the definition: only opening hours count, maintenance is left out, time with no evidence
//! is neither up nor down), summed by venue, brand, country or zone type.

use crate::{AppContext, Result};
use bma_domain::monitoring::{Health, Interval, Uptime, status_spans, uptime};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Venue,
    Brand,
    Country,
    ZoneType,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "venue" => Self::Venue,
            "brand" => Self::Brand,
            "country" => Self::Country,
            "zone_type" => Self::ZoneType,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct UptimeRow {
    /// The venue id, brand, country code or zone type.
    pub key: String,
    /// The venue's name, when grouped by venue.
    pub label: Option<String>,
    pub zones: usize,
    pub up_seconds: i64,
    pub down_seconds: i64,
    pub unknown_seconds: i64,
    pub excluded_seconds: i64,
    /// up / (up + down) × 100; null when nothing was measured.
    pub uptime_percentage: Option<f64>,
}

/// The exact uptime of every live zone over `[since, until)`, read from `db` (the primary for
/// rollups, the read pool for reports).
pub async fn per_zone(
    db: &sqlx::PgPool,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<(bma_store::monitoring::ZoneKeys, Uptime)>> {
    use bma_store::monitoring as store;
    let keys = store::zone_keys(db).await?;
    let mut changes: HashMap<Uuid, Vec<(OffsetDateTime, Health)>> = HashMap::new();
    for (zone, at, h) in store::all_health_changes(db, since, until).await? {
        changes.entry(zone).or_default().push((at.max(since), h));
    }
    let mut hours: HashMap<Uuid, Vec<Interval>> = HashMap::new();
    for (venue, start, end) in store::all_opening_intervals(db, since, until).await? {
        hours.entry(venue).or_default().push(Interval { start, end });
    }
    let mut maint_venue: HashMap<Uuid, Vec<Interval>> = HashMap::new();
    let mut maint_zone: HashMap<Uuid, Vec<Interval>> = HashMap::new();
    for (venue, zone, start, end) in store::all_maintenance(db, since, until).await? {
        if let Some(v) = venue {
            maint_venue.entry(v).or_default().push(Interval { start, end });
        }
        if let Some(z) = zone {
            maint_zone.entry(z).or_default().push(Interval { start, end });
        }
    }
    let window = Interval { start: since, end: until };
    Ok(keys
        .into_iter()
        .map(|k| {
            let spans = status_spans(changes.get(&k.zone_id).map_or(&[][..], Vec::as_slice), until);
            let mut excluded = maint_venue.get(&k.venue_id).cloned().unwrap_or_default();
            excluded.extend(maint_zone.get(&k.zone_id).cloned().unwrap_or_default());
            let expected = match hours.get(&k.venue_id) {
                Some(h) => h.clone(),
                // A venue with opening hours but none in the range is closed throughout.
                None if k.has_hours => vec![Interval { start: since, end: since }],
                None => Vec::new(),
            };
            let u = uptime(&spans, window, &expected, &excluded);
            (k, u)
        })
        .collect())
}

/// The uptime of `[since, until)` grouped by `group_by`, read through the analytics pool.
pub async fn report(
    ctx: &AppContext,
    group_by: GroupBy,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<UptimeRow>> {
    let mut rows: BTreeMap<String, UptimeRow> = BTreeMap::new();
    for (k, u) in per_zone(&ctx.read_db, since, until).await? {
        let (key, label) = match group_by {
            GroupBy::Venue => (k.venue_id.to_string(), Some(k.venue_name.clone())),
            GroupBy::Brand => (k.brand.clone().unwrap_or_else(|| "(none)".into()), None),
            GroupBy::Country => (k.country.clone().unwrap_or_else(|| "(none)".into()), None),
            GroupBy::ZoneType => (k.zone_type.clone(), None),
        };
        let row = rows.entry(key.clone()).or_insert_with(|| UptimeRow { key, label, ..UptimeRow::default() });
        row.zones += 1;
        row.up_seconds += u.up.whole_seconds();
        row.down_seconds += u.down.whole_seconds();
        row.unknown_seconds += u.unknown.whole_seconds();
        row.excluded_seconds += u.excluded.whole_seconds();
    }
    let mut out: Vec<UptimeRow> = rows.into_values().collect();
    for r in &mut out {
        let measured = r.up_seconds + r.down_seconds;
        #[allow(clippy::cast_precision_loss)]
        let pct = (measured > 0).then(|| r.up_seconds as f64 * 100.0 / measured as f64);
        r.uptime_percentage = pct;
    }
    Ok(out)
}

/// Stores the hourly rollup of the hour before `now` (and, in the first hour of a UTC day, the
/// daily rollup of the day before). Idempotent: running it twice rewrites the same rows.
pub async fn roll_up(ctx: &AppContext, now: OffsetDateTime) -> Result<usize> {
    let hour_end =
        now.replace_minute(0).and_then(|t| t.replace_second(0)).and_then(|t| t.replace_nanosecond(0)).unwrap_or(now);
    let mut written = 0;
    let mut periods = vec![("hour", hour_end - time::Duration::HOUR, hour_end)];
    if hour_end.hour() == 0 {
        periods.push(("day", hour_end - time::Duration::DAY, hour_end));
    }
    for (period, start, end) in periods {
        let rows: Vec<bma_store::monitoring::Rollup> = per_zone(&ctx.db, start, end)
            .await?
            .into_iter()
            .map(|(k, u)| bma_store::monitoring::Rollup {
                zone_id: k.zone_id,
                venue_id: k.venue_id,
                up: i32::try_from(u.up.whole_seconds()).unwrap_or(i32::MAX),
                down: i32::try_from(u.down.whole_seconds()).unwrap_or(i32::MAX),
                unknown: i32::try_from(u.unknown.whole_seconds()).unwrap_or(i32::MAX),
                excluded: i32::try_from(u.excluded.whole_seconds()).unwrap_or(i32::MAX),
            })
            .collect();
        written += rows.len();
        bma_store::monitoring::save_rollups(&ctx.db, period, start, &rows).await?;
    }
    Ok(written)
}

/// The hourly job that stores the rollups.
pub struct UptimeRollup;

#[async_trait::async_trait]
impl crate::jobs::Handler for UptimeRollup {
    type Job = crate::jobs::tasks::UptimeRollupJob;

    async fn run(&self, ctx: &AppContext, _job: Self::Job) -> anyhow::Result<()> {
        let rows = roll_up(ctx, OffsetDateTime::now_utc()).await?;
        tracing::info!(rows, "uptime rolled up");
        Ok(())
    }
}

/// The hourly upkeep of the status log: rows in its default partition move to their own day,
/// days ahead get their partitions, and days past retention are dropped once rolled up.
pub struct PartitionUpkeep;

#[async_trait::async_trait]
impl crate::jobs::Handler for PartitionUpkeep {
    type Job = crate::jobs::tasks::PartitionUpkeepJob;

    async fn run(&self, ctx: &AppContext, _job: Self::Job) -> anyhow::Result<()> {
        use bma_store::partitions;
        let moved = partitions::settle_default(&ctx.db).await?;
        let created = partitions::ensure_ahead(&ctx.db).await?;
        // Retention: the oldest days first, each once its daily uptime rollups exist (rolled up
        // here if the hourly job missed that day's first hour), stopping at a day that stays
        // uncovered so that days are only ever dropped oldest first.
        let today = bma_domain::clock::Clock::Real.now().date();
        let keep_from = today - time::Duration::days(i64::from(ctx.config.music_log_retention_days));
        let mut dropped = 0;
        for day in partitions::days(&ctx.db, "music_status_logs").await?.into_iter().filter(|d| *d < keep_from) {
            if !partitions::status_log_day_rolled_up(&ctx.db, day).await? {
                let next_midnight = (day + time::Duration::DAY).midnight().assume_utc();
                roll_up(ctx, next_midnight).await?;
            }
            if !partitions::status_log_day_rolled_up(&ctx.db, day).await? {
                tracing::warn!(%day, "status log day kept: its uptime rollups are missing");
                break;
            }
            if partitions::drop_status_log_day(&ctx.db, day, keep_from.midnight().assume_utc()).await? {
                dropped += 1;
            }
        }
        tracing::info!(moved, created, dropped, "log partitions checked");
        Ok(())
    }
}
