//! Uptime reports: the exact uptime of each zone over a range (see `bma_domain::monitoring::uptime`
//! for the definition: only opening hours count, maintenance is left out, time with no evidence
//! is neither up nor down), summed by venue, brand, country or zone type, or by day, week or
//! month in the calendar of a time zone (the viewer's, or each venue's own).

use crate::{AppContext, Result};
use bma_domain::monitoring::{Health, Interval, RollupPeriod, Uptime, status_spans, uptime};
use bma_store::dashboard::{GroupScope, Rolled};
use bma_store::messaging::PeriodZone;
use bma_store::monitoring::{CalendarUnit, ZoneKeys};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
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

/// One zone's exact uptime over a stretch, and its health at the stretch's end.
#[derive(Debug, Clone)]
pub struct ZoneUptime {
    pub keys: ZoneKeys,
    pub uptime: Uptime,
    pub ends: Health,
}

/// The exact uptime of every live zone over `[since, until)`, read from `db` (the primary for
/// rollups, the read pool for reports).
pub async fn per_zone(db: &sqlx::PgPool, since: OffsetDateTime, until: OffsetDateTime) -> Result<Vec<ZoneUptime>> {
    use bma_store::monitoring as store;
    let keys = store::zone_keys(db).await?;
    let mut changes: HashMap<Uuid, Vec<(OffsetDateTime, Health)>> = HashMap::new();
    let zones: Vec<Uuid> = keys.iter().map(|k| k.zone_id).collect();
    for (zone, at, h) in store::all_health_changes(db, &zones, since, until).await? {
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
            let zone_changes = changes.get(&k.zone_id).map_or(&[][..], Vec::as_slice);
            let ends = zone_changes.last().map_or(Health::Unknown, |c| c.1);
            let spans = status_spans(zone_changes, until);
            let mut excluded = maint_venue.get(&k.venue_id).cloned().unwrap_or_default();
            excluded.extend(maint_zone.get(&k.zone_id).cloned().unwrap_or_default());
            let expected = match hours.get(&k.venue_id) {
                Some(h) => h.clone(),
                // A venue with opening hours but none in the range is closed throughout.
                None if k.has_hours => vec![Interval { start: since, end: since }],
                None => Vec::new(),
            };
            let uptime = uptime(&spans, window, &expected, &excluded);
            ZoneUptime { keys: k, uptime, ends }
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

/// Splits `[since, until)` into the whole periods of `unit` (UTC hours or days) that start in
/// `rolled` and the stretches left (adjacent ones merged), which must be read at a finer grain.
pub fn stretches(
    since: OffsetDateTime,
    until: OffsetDateTime,
    unit: RollupPeriod,
    rolled: &HashSet<OffsetDateTime>,
) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    let mut left: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::new();
    let mut add = |from: OffsetDateTime, to: OffsetDateTime| match left.last_mut() {
        Some(last) if last.1 == from => last.1 = to,
        _ if from < to => left.push((from, to)),
        _ => {}
    };
    let (first, last) = (unit.ceil(since), unit.floor(until));
    if first >= last {
        add(since, until);
        return left;
    }
    add(since, first);
    let mut t = first;
    while t < last {
        if !rolled.contains(&t) {
            add(t, t + unit.length());
        }
        t += unit.length();
    }
    add(last, until);
    left
}

/// The seconds of each key over each of `periods`: whole UTC days from the daily rollups of
/// `by`, whole hours of the days without them from the groups' hourly rollups, and what is left
/// (for groups at most the hours not rolled up yet and the ends of a range that does not start or
/// end on the hour) computed exactly from the status log, the zone's share going to
/// `key_of(zone)`. Uptime adds
/// up over disjoint stretches, so the figures are the same as computing each period whole.
pub async fn sums_over(
    db: &sqlx::PgPool,
    by: Rolled,
    periods: &[(OffsetDateTime, OffsetDateTime)],
    key_of: impl Fn(&ZoneKeys) -> String,
) -> Result<Vec<BTreeMap<String, Seconds>>> {
    let mut sums: Vec<BTreeMap<String, Seconds>> = vec![BTreeMap::new(); periods.len()];
    let mut left: Vec<(usize, OffsetDateTime, OffsetDateTime)> =
        periods.iter().enumerate().map(|(i, &(from, to))| (i, from, to)).collect();
    // A zone's hourly rollups are not read: at 50,000 zones the hours of two partial days are
    // millions of rows, slower than computing those stretches from the log.
    let units: &[RollupPeriod] = match by {
        Rolled::Groups(_) => &[RollupPeriod::Day, RollupPeriod::Hour],
        Rolled::Zones => &[RollupPeriod::Day],
    };
    for &unit in units {
        let ranges: Vec<(OffsetDateTime, OffsetDateTime)> =
            left.iter().map(|&(_, from, to)| (unit.ceil(from), unit.floor(to))).filter(|(a, b)| a < b).collect();
        let mut found: HashMap<OffsetDateTime, BTreeMap<String, Seconds>> = HashMap::new();
        if !ranges.is_empty() {
            for r in bma_store::dashboard::rolled(db, by, unit, &ranges).await? {
                let s = Seconds { up: r.up, down: r.down, unknown: r.unknown, excluded: r.excluded };
                found.entry(r.starts).or_default().insert(r.key, s);
            }
        }
        let mut next = Vec::new();
        for (i, from, to) in left {
            let mut rolled = HashSet::new();
            let mut t = unit.ceil(from);
            while t + unit.length() <= to {
                if let Some(keys) = found.get(&t) {
                    rolled.insert(t);
                    for (key, s) in keys {
                        sums[i].entry(key.clone()).or_default().plus(*s);
                    }
                }
                t += unit.length();
            }
            next.extend(stretches(from, to, unit, &rolled).into_iter().map(|(a, b)| (i, a, b)));
        }
        left = next;
    }
    for (i, from, to) in left {
        for z in per_zone(db, from, to).await? {
            sums[i].entry(key_of(&z.keys)).or_default().add(&z.uptime);
        }
    }
    Ok(sums)
}

/// The uptime of every live zone over `[since, until)`, from its own rollups where they exist
/// (see [`sums_over`]).
pub async fn per_zone_rolled(
    db: &sqlx::PgPool,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<(ZoneKeys, Seconds)>> {
    let keys = bma_store::monitoring::zone_keys(db).await?;
    let sums = sums_over(db, Rolled::Zones, &[(since, until)], |k| k.zone_id.to_string()).await?;
    let sums = sums.into_iter().next().unwrap_or_default();
    Ok(keys
        .into_iter()
        .map(|k| {
            let s = sums.get(&k.zone_id.to_string()).copied().unwrap_or_default();
            (k, s)
        })
        .collect())
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
/// in one calendar, the groups' rollups are read (zones since archived still count in the
/// periods they were monitored); by venue, zone type or each venue's calendar, the zones' own
/// (see [`sums_over`]).
pub async fn report(
    ctx: &AppContext,
    group_by: GroupBy,
    zone: &PeriodZone,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<UptimeRow>> {
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
            let ranges: Vec<_> = periods.iter().map(|p| (p.starts, p.ends)).collect();
            let sums = sums_over(db, Rolled::Groups(GroupScope::Fleet), &ranges, |_| String::new()).await?;
            for (p, sums) in periods.into_iter().zip(sums) {
                let r = row(&mut rows, p.key, None);
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
            let (scope, key_of): (GroupScope, fn(&ZoneKeys) -> Option<String>) = if group_by == GroupBy::Brand {
                (GroupScope::Brand, |k| k.brand.clone())
            } else {
                (GroupScope::Country, |k| k.country.clone())
            };
            let named = |key: Option<String>| key.filter(|k| !k.is_empty()).unwrap_or_else(|| "(none)".into());
            for k in bma_store::monitoring::zone_keys(db).await? {
                row(&mut rows, named(key_of(&k)), None).zones += 1;
            }
            let sums =
                sums_over(db, Rolled::Groups(scope), &[(since, until)], |k| key_of(k).unwrap_or_default()).await?;
            for (key, s) in sums.into_iter().flatten() {
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

/// Stores the hourly rollup of the hour before `now` (and, in the first hour of a UTC day, the
/// daily rollup of the day before), rewriting them if they exist; then any hour of the last day
/// and any of the last two days that has none, as when no scheduler ran for a while. Running it
/// twice rewrites the same rows.
pub async fn roll_up(ctx: &AppContext, now: OffsetDateTime) -> Result<usize> {
    let hour_end = RollupPeriod::Hour.floor(now);
    let mut periods = vec![(RollupPeriod::Hour, hour_end - time::Duration::HOUR)];
    if hour_end.hour() == 0 {
        periods.push((RollupPeriod::Day, hour_end - time::Duration::DAY));
    }
    for (unit, back) in [(RollupPeriod::Hour, time::Duration::DAY), (RollupPeriod::Day, 2 * time::Duration::DAY)] {
        let (from, to) = (unit.floor(hour_end - back), unit.floor(hour_end));
        let fleet = Rolled::Groups(GroupScope::Fleet);
        let done: HashSet<OffsetDateTime> = bma_store::dashboard::rolled(&ctx.db, fleet, unit, &[(from, to)])
            .await?
            .into_iter()
            .map(|r| r.starts)
            .collect();
        let mut t = from;
        while t < to {
            if !done.contains(&t) && !periods.contains(&(unit, t)) {
                periods.push((unit, t));
            }
            t += unit.length();
        }
    }
    let mut written = 0;
    for (period, start) in periods {
        let seconds = |d: time::Duration| i32::try_from(d.whole_seconds()).unwrap_or(i32::MAX);
        let rows: Vec<bma_store::monitoring::Rollup> = per_zone(&ctx.db, start, start + period.length())
            .await?
            .into_iter()
            .map(|z| bma_store::monitoring::Rollup {
                zone_id: z.keys.zone_id,
                venue_id: z.keys.venue_id,
                up: seconds(z.uptime.up),
                down: seconds(z.uptime.down),
                unknown: seconds(z.uptime.unknown),
                excluded: seconds(z.uptime.excluded),
                ends: z.ends,
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
        let rows = roll_up(ctx, ctx.clock.now()).await?;
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
            stretches(since, until, RollupPeriod::Day, &rolled),
            vec![(since, datetime!(2026-03-03 00:00 UTC)), (datetime!(2026-03-05 00:00 UTC), until)]
        );
        let short = (datetime!(2026-03-01 12:00 UTC), datetime!(2026-03-02 06:00 UTC));
        assert_eq!(stretches(short.0, short.1, RollupPeriod::Day, &rolled), vec![short], "no whole day inside");
    }

    #[test]
    fn a_range_from_midnight_to_midnight_is_whole_days_with_nothing_to_compute() {
        let rolled = [datetime!(2026-03-03 00:00 UTC)].into_iter().collect();
        let day = (datetime!(2026-03-03 00:00 UTC), datetime!(2026-03-04 00:00 UTC));
        assert_eq!(
            stretches(day.0, day.1, RollupPeriod::Day, &rolled),
            vec![],
            "a rolled-up day is read, not computed"
        );
    }

    #[test]
    fn what_the_days_leave_splits_into_rolled_hours_and_the_minutes_at_either_end() {
        let since = datetime!(2026-03-01 16:20 UTC);
        let until = datetime!(2026-03-01 19:45 UTC);
        let rolled = [datetime!(2026-03-01 17:00 UTC), datetime!(2026-03-01 18:00 UTC)].into_iter().collect();
        assert_eq!(
            stretches(since, until, RollupPeriod::Hour, &rolled),
            vec![(since, datetime!(2026-03-01 17:00 UTC)), (datetime!(2026-03-01 19:00 UTC), until)]
        );
    }
}
