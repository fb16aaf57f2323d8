//! Uptime reports: the exact uptime of each zone over a range (see `bma_domain::monitoring::uptime`
//! for the definition: only opening hours count, maintenance is left out, time with no evidence
//! is neither up nor down), summed by venue, brand, country or zone type, or by day, week or
//! month in the calendar of a time zone (the viewer's, or each venue's own).

use crate::{AppContext, Result};
use bma_domain::monitoring::{Health, Interval, Uptime, status_spans, uptime};
use bma_store::messaging::PeriodZone;
use bma_store::monitoring::CalendarUnit;
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
    Day,
    /// Monday to Sunday.
    Week,
    Month,
}

impl GroupBy {
    pub const ALL: [GroupBy; 7] =
        [Self::Venue, Self::Brand, Self::Country, Self::ZoneType, Self::Day, Self::Week, Self::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Venue => "venue",
            Self::Brand => "brand",
            Self::Country => "country",
            Self::ZoneType => "zone_type",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// The calendar unit of a grouping by period.
    fn calendar(self) -> Option<CalendarUnit> {
        match self {
            Self::Day => Some(CalendarUnit::Day),
            Self::Week => Some(CalendarUnit::Week),
            Self::Month => Some(CalendarUnit::Month),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct UptimeRow {
    /// The venue id, brand, country code or zone type; for a period, the local date it starts on
    /// (YYYY-MM-DD: a Monday for weeks, the 1st for months).
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

/// Seconds of each kind, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seconds {
    pub up: i64,
    pub down: i64,
    pub unknown: i64,
    pub excluded: i64,
}

impl Seconds {
    pub fn add(&mut self, u: &Uptime) {
        self.up += u.up.whole_seconds();
        self.down += u.down.whole_seconds();
        self.unknown += u.unknown.whole_seconds();
        self.excluded += u.excluded.whole_seconds();
    }

    pub fn plus(&mut self, other: Seconds) {
        self.up += other.up;
        self.down += other.down;
        self.unknown += other.unknown;
        self.excluded += other.excluded;
    }

    /// `up / (up + down) × 100`; `None` when nothing was measured.
    #[allow(clippy::cast_precision_loss)]
    pub fn percentage(&self) -> Option<f64> {
        let measured = self.up + self.down;
        (measured > 0).then(|| self.up as f64 * 100.0 / measured as f64)
    }
}

/// The first UTC midnight at or after `t`: where the whole days from `t` on begin.
pub fn first_midnight(t: OffsetDateTime) -> OffsetDateTime {
    let midnight = t.replace_time(time::Time::MIDNIGHT);
    if midnight == t { t } else { midnight + time::Duration::DAY }
}

/// Splits `[since, until)` into the whole UTC days that are in `rolled` and the stretches left
/// (adjacent ones merged), which must be computed from the status log.
pub fn stretches(
    since: OffsetDateTime,
    until: OffsetDateTime,
    rolled: &std::collections::HashSet<OffsetDateTime>,
) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    let mut exact: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::new();
    let mut add = |from: OffsetDateTime, to: OffsetDateTime| match exact.last_mut() {
        Some(last) if last.1 == from => last.1 = to,
        _ if from < to => exact.push((from, to)),
        _ => {}
    };
    let first_midnight = first_midnight(since);
    let last_midnight = until.replace_time(time::Time::MIDNIGHT);
    if first_midnight >= last_midnight {
        add(since, until);
        return exact;
    }
    add(since, first_midnight);
    let mut day = first_midnight;
    while day < last_midnight {
        if !rolled.contains(&day) {
            add(day, day + time::Duration::DAY);
        }
        day += time::Duration::DAY;
    }
    add(last_midnight, until);
    exact
}

/// The uptime of every live zone over `[since, until)`: whole UTC days from the daily rollups
/// where they exist, the rest computed from the status log (uptime adds up over disjoint
/// stretches, so the figures are the same).
pub async fn per_zone_rolled(
    db: &sqlx::PgPool,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<(bma_store::monitoring::ZoneKeys, Seconds)>> {
    let first_midnight = first_midnight(since);
    let last_midnight = until.replace_time(time::Time::MIDNIGHT);
    let days = if first_midnight < last_midnight {
        bma_store::dashboard::zone_days(db, first_midnight, last_midnight).await?
    } else {
        Vec::new()
    };
    let rolled: std::collections::HashSet<OffsetDateTime> = days.iter().map(|d| d.day).collect();
    let mut sums: HashMap<Uuid, Seconds> = HashMap::new();
    for d in &days {
        let s = sums.entry(d.zone_id).or_default();
        s.up += d.up;
        s.down += d.down;
        s.unknown += d.unknown;
        s.excluded += d.excluded;
    }
    let mut keys: Option<Vec<bma_store::monitoring::ZoneKeys>> = None;
    for (from, to) in stretches(since, until, &rolled) {
        let zones = per_zone(db, from, to).await?;
        for (k, u) in &zones {
            sums.entry(k.zone_id).or_default().add(u);
        }
        keys.get_or_insert_with(|| zones.into_iter().map(|(k, _)| k).collect());
    }
    let keys = match keys {
        Some(k) => k,
        None => bma_store::monitoring::zone_keys(db).await?,
    };
    Ok(keys.into_iter().map(|k| (k.clone(), sums.get(&k.zone_id).copied().unwrap_or_default())).collect())
}

fn row(rows: &mut BTreeMap<String, UptimeRow>, key: String, label: Option<String>) -> &mut UptimeRow {
    rows.entry(key.clone()).or_insert_with(|| UptimeRow { key, label, ..UptimeRow::default() })
}

impl UptimeRow {
    /// One zone's seconds.
    fn add(&mut self, u: &Seconds) {
        self.zones += 1;
        self.plus(u);
    }

    /// Seconds of zones already counted.
    fn plus(&mut self, u: &Seconds) {
        self.up_seconds += u.up;
        self.down_seconds += u.down;
        self.unknown_seconds += u.unknown;
        self.excluded_seconds += u.excluded;
    }
}

/// The uptime of `[since, until)` grouped by `group_by`, read through the analytics pool. Periods
/// follow the calendar of `zone` (each venue's own for [`PeriodZone::Venue`]); the first and
/// last are cut to the range. Other groupings ignore `zone`. By brand, by country and by period
/// in one calendar, whole UTC days are read from the groups' daily sums (zones since archived
/// still count in the days they were monitored); by venue, zone type or each venue's calendar,
/// from the zones' own rollups.
pub async fn report(
    ctx: &AppContext,
    group_by: GroupBy,
    zone: &PeriodZone,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<UptimeRow>> {
    use bma_store::dashboard::GroupScope;
    let mut rows: BTreeMap<String, UptimeRow> = BTreeMap::new();
    let db = &ctx.read_db;
    match (group_by.calendar(), group_by, zone) {
        (Some(unit), _, PeriodZone::Named(tz)) => {
            let zones = bma_store::monitoring::zone_keys(db).await?.len();
            let periods = if zones == 0 {
                Vec::new()
            } else {
                bma_store::monitoring::calendar_periods(db, unit, tz, since, until).await?
            };
            for p in periods {
                let sums = group_sums(db, GroupScope::Fleet, p.starts, p.ends, |_| String::new()).await?;
                let r = row(&mut rows, p.key.clone(), None);
                r.zones = zones;
                if let Some(s) = sums.get("") {
                    r.plus(s);
                }
            }
        }
        (Some(unit), _, PeriodZone::Venue) => {
            for tz in &bma_store::monitoring::venue_time_zones(db).await? {
                for p in bma_store::monitoring::calendar_periods(db, unit, tz, since, until).await? {
                    for (k, u) in per_zone_rolled(db, p.starts, p.ends).await? {
                        if k.timezone == *tz {
                            row(&mut rows, p.key.clone(), None).add(&u);
                        }
                    }
                }
            }
        }
        (None, GroupBy::Brand | GroupBy::Country, _) => {
            let (scope, key_of): (GroupScope, fn(&bma_store::monitoring::ZoneKeys) -> Option<String>) =
                if group_by == GroupBy::Brand {
                    (GroupScope::Brand, |k| k.brand.clone())
                } else {
                    (GroupScope::Country, |k| k.country.clone())
                };
            let named = |key: Option<String>| key.filter(|k| !k.is_empty()).unwrap_or_else(|| "(none)".into());
            for k in bma_store::monitoring::zone_keys(db).await? {
                row(&mut rows, named(key_of(&k)), None).zones += 1;
            }
            for (key, s) in group_sums(db, scope, since, until, |k| key_of(k).unwrap_or_default()).await? {
                row(&mut rows, named(Some(key)), None).plus(&s);
            }
        }
        (None, _, _) => {
            for (k, u) in per_zone_rolled(db, since, until).await? {
                let (key, label) = match group_by {
                    GroupBy::Venue => (k.venue_id.to_string(), Some(k.venue_name.clone())),
                    GroupBy::Brand => (k.brand.clone().unwrap_or_else(|| "(none)".into()), None),
                    GroupBy::Country => (k.country.clone().unwrap_or_else(|| "(none)".into()), None),
                    GroupBy::ZoneType | GroupBy::Day | GroupBy::Week | GroupBy::Month => (k.zone_type.clone(), None),
                };
                row(&mut rows, key, label).add(&u);
            }
        }
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

/// The uptime of `[since, until)` per group of `scope` (keyed as the group rollups are: '' for
/// none): whole UTC days with rollups from the groups' daily sums, the rest computed exactly per
/// zone from the status log and added to the group `key_of` names.
async fn group_sums(
    db: &sqlx::PgPool,
    scope: bma_store::dashboard::GroupScope,
    since: OffsetDateTime,
    until: OffsetDateTime,
    key_of: impl Fn(&bma_store::monitoring::ZoneKeys) -> String,
) -> Result<BTreeMap<String, Seconds>> {
    let first_midnight = first_midnight(since);
    let last_midnight = until.replace_time(time::Time::MIDNIGHT);
    let days = if first_midnight < last_midnight {
        bma_store::dashboard::group_days(db, scope, first_midnight, last_midnight).await?
    } else {
        Vec::new()
    };
    let rolled: std::collections::HashSet<OffsetDateTime> = days.iter().map(|d| d.day).collect();
    let mut sums: BTreeMap<String, Seconds> = BTreeMap::new();
    for d in days {
        let s = sums.entry(d.key).or_default();
        s.up += d.up;
        s.down += d.down;
        s.unknown += d.unknown;
        s.excluded += d.excluded;
    }
    for (from, to) in stretches(since, until, &rolled) {
        for (k, u) in per_zone(db, from, to).await? {
            sums.entry(key_of(&k)).or_default().add(&u);
        }
    }
    Ok(sums)
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_range_splits_into_rolled_days_and_merged_stretches_to_compute() {
        let since = datetime!(2026-03-01 12:00 UTC);
        let until = datetime!(2026-03-06 06:00 UTC);
        let rolled = [datetime!(2026-03-03 00:00 UTC), datetime!(2026-03-04 00:00 UTC)].into_iter().collect();
        assert_eq!(
            stretches(since, until, &rolled),
            vec![(since, datetime!(2026-03-03 00:00 UTC)), (datetime!(2026-03-05 00:00 UTC), until)]
        );
        let short = (datetime!(2026-03-01 12:00 UTC), datetime!(2026-03-02 06:00 UTC));
        assert_eq!(stretches(short.0, short.1, &rolled), vec![short], "no whole day inside");
    }

    #[test]
    fn a_range_from_midnight_to_midnight_is_whole_days_with_nothing_to_compute() {
        let rolled = [datetime!(2026-03-03 00:00 UTC)].into_iter().collect();
        let day = (datetime!(2026-03-03 00:00 UTC), datetime!(2026-03-04 00:00 UTC));
        assert_eq!(stretches(day.0, day.1, &rolled), vec![], "a rolled-up day is read, not computed");
        assert_eq!(first_midnight(datetime!(2026-03-03 00:00 UTC)), datetime!(2026-03-03 00:00 UTC));
        assert_eq!(first_midnight(datetime!(2026-03-03 00:00:01 UTC)), datetime!(2026-03-04 00:00 UTC));
    }
}
