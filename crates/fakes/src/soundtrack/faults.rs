//! Faults: what goes wrong in a fleet and when. Each fault is active from its start to its end on
//! the shared clock, so a benchmark replays hours of trouble in seconds and can compare what a
//! monitor saw with [`FaultRecord`]s, the ground truth. A zone's visible state is its staff-set
//! state with the active faults laid over it, recomputed at every read.
//!
//! How each kind shows through the API (precedence top to bottom when several overlap):
//! - `Unpaired`: `isPaired` false, `device` null, `online` false, playback `unpaired`, status
//!   `INCOMPLETE`/`NOT_PAIRED`, no `nowPlaying`.
//! - `Offline`, `AccountDark`, the off half of `Flapping`: `online` false, playback `offline`,
//!   status `ERROR`/`PLAYER_DISCONNECTED`, `nowPlaying` frozen on the track heard when it dropped.
//! - `OfflineCached` (the OFFLINE_PLAYBACK case): `online` false and status
//!   `ERROR`/`PLAYER_DISCONNECTED`, but playback stays `playing` and `nowPlaying` keeps advancing,
//!   because the player goes on playing its cached music. A client tells the two offline cases
//!   apart by `playback.state` (`offline` versus `playing`) or by `nowPlaying.startedAt` moving.
//! - `SubscriptionExpired`: subscription `EXPIRED`/`isActive` false, status
//!   `ERROR`/`SUBSCRIPTION_EXPIRED`, playback `paused`, no `nowPlaying` (no licence, no music).
//! - `Muted`: volume 0, status `ERROR`/`PLAYER_MUTED` (a volume of 0 set through the API reads
//!   the same). Setting a volume above 0 through the API ends the fault.
//! - `Paused`: playback `paused`, status still `OK`/`ALL_OK`. `play` through the API ends it.
//! - `PlatformOutage`: every `/v2` request is answered 503 and no tokens are spent.
//! - `Slow`: responses wait `delay` (real time) when the target is the platform, or when the
//!   request touched the target zone's or account's data.
//!
//! Controls (`setVolume`, `play`, `pause`, skips, source changes) on a zone that is unpaired or
//! offline for any reason answer `NOT_FOUND`, as the live API does for a disconnected player.

use super::fleet::{self, Fleet, ZoneState};
use super::{AccountInfo, ZoneInfo};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Zone(String),
    Account(String),
    Platform,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    Offline,
    /// Offline, but the zone's OFFLINE_PLAYBACK keeps music playing from the player's cache.
    OfflineCached,
    Muted,
    Paused,
    Unpaired,
    SubscriptionExpired,
    /// Offline for `period`, online for `period`, and so on, starting offline.
    Flapping {
        period: Duration,
    },
    AccountDark,
    PlatformOutage,
    Slow {
        delay: Duration,
    },
}

impl FaultKind {
    /// The name the control API uses.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Offline => "offline",
            FaultKind::OfflineCached => "offline_cached",
            FaultKind::Muted => "muted",
            FaultKind::Paused => "paused",
            FaultKind::Unpaired => "unpaired",
            FaultKind::SubscriptionExpired => "subscription_expired",
            FaultKind::Flapping { .. } => "flapping",
            FaultKind::AccountDark => "account_dark",
            FaultKind::PlatformOutage => "platform_outage",
            FaultKind::Slow { .. } => "slow",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub target: Target,
    /// `None`: now.
    pub starts_at: Option<OffsetDateTime>,
    /// `None`: until cleared.
    pub duration: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRecord {
    pub id: u64,
    pub kind: FaultKind,
    pub target: Target,
    pub began_at: OffsetDateTime,
    /// When it ended (its scheduled end, a clear, or a fix through the API); `None` while active.
    pub ended_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Zone(usize),
    Account(usize),
    Platform,
    Nowhere,
}

#[derive(Debug)]
struct Entry {
    id: u64,
    kind: FaultKind,
    target: Target,
    scope: Scope,
    starts_at: OffsetDateTime,
    ends_at: Option<OffsetDateTime>,
    stopped_at: Option<OffsetDateTime>,
    cancelled: bool,
    /// Zones on which a wide fault was fixed through the API while it goes on elsewhere.
    fixed_on: HashSet<usize>,
}

impl Entry {
    fn end(&self) -> Option<OffsetDateTime> {
        match (self.ends_at, self.stopped_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn active(&self, t: OffsetDateTime) -> bool {
        !self.cancelled && self.starts_at <= t && self.end().is_none_or(|end| t < end)
    }
}

/// Every fault injected, indexed by what it touches.
#[derive(Debug, Default)]
pub(crate) struct FaultBook {
    next_id: u64,
    entries: Vec<Entry>,
    by_zone: HashMap<usize, Vec<usize>>,
    by_account: HashMap<usize, Vec<usize>>,
    everywhere: Vec<usize>,
    slow: Vec<usize>,
}

/// The faults acting on one zone at one instant.
#[derive(Debug, Default, Clone)]
pub(crate) struct Effects {
    offline_since: Option<OffsetDateTime>,
    cached: bool,
    muted: bool,
    paused_since: Option<OffsetDateTime>,
    unpaired: bool,
    expired_since: Option<OffsetDateTime>,
}

fn earliest(a: Option<OffsetDateTime>, b: OffsetDateTime) -> Option<OffsetDateTime> {
    Some(a.map_or(b, |a| a.min(b)))
}

impl FaultBook {
    pub(crate) fn inject(&mut self, fault: Fault, fleet: &Fleet, now: OffsetDateTime) -> u64 {
        self.next_id += 1;
        let starts_at = fault.starts_at.unwrap_or(now);
        let scope = match (&fault.kind, &fault.target) {
            (FaultKind::PlatformOutage, _) | (_, Target::Platform) => Scope::Platform,
            (FaultKind::AccountDark, Target::Zone(id)) => {
                fleet.zone_index(id).map_or(Scope::Nowhere, |z| Scope::Account(fleet.zones[z].account))
            }
            (_, Target::Zone(id)) => fleet.zone_index(id).map_or(Scope::Nowhere, Scope::Zone),
            (_, Target::Account(id)) => fleet.account_index(id).map_or(Scope::Nowhere, Scope::Account),
        };
        let index = self.entries.len();
        match scope {
            Scope::Zone(z) => self.by_zone.entry(z).or_default().push(index),
            Scope::Account(a) => self.by_account.entry(a).or_default().push(index),
            Scope::Platform => self.everywhere.push(index),
            Scope::Nowhere => {}
        }
        if matches!(fault.kind, FaultKind::Slow { .. }) {
            self.slow.push(index);
        }
        self.entries.push(Entry {
            id: self.next_id,
            kind: fault.kind,
            target: fault.target,
            scope,
            starts_at,
            ends_at: fault.duration.map(|d| starts_at + d),
            stopped_at: None,
            cancelled: false,
            fixed_on: HashSet::new(),
        });
        self.next_id
    }

    /// Ends what is active now and drops what has not begun.
    pub(crate) fn clear(&mut self, now: OffsetDateTime) {
        for e in &mut self.entries {
            if e.starts_at > now {
                e.cancelled = true;
            } else if e.active(now) {
                e.stopped_at = Some(now);
            }
        }
    }

    pub(crate) fn records(&self, now: OffsetDateTime) -> Vec<FaultRecord> {
        self.entries
            .iter()
            .filter(|e| !e.cancelled && e.starts_at <= now)
            .map(|e| FaultRecord {
                id: e.id,
                kind: e.kind.clone(),
                target: e.target.clone(),
                began_at: e.starts_at,
                ended_at: e.end().filter(|end| *end <= now),
            })
            .collect()
    }

    fn touching(&self, zone: usize, account: usize) -> impl Iterator<Item = usize> + '_ {
        let z = self.by_zone.get(&zone).into_iter().flatten();
        let a = self.by_account.get(&account).into_iter().flatten();
        z.chain(a).chain(self.everywhere.iter()).copied()
    }

    pub(crate) fn effects(&self, zone: usize, account: usize, t: OffsetDateTime) -> Effects {
        let mut fx = Effects::default();
        for i in self.touching(zone, account) {
            let e = &self.entries[i];
            if !e.active(t) || e.fixed_on.contains(&zone) {
                continue;
            }
            match &e.kind {
                FaultKind::Offline | FaultKind::AccountDark => {
                    fx.offline_since = earliest(fx.offline_since, e.starts_at)
                }
                FaultKind::OfflineCached => fx.cached = true,
                FaultKind::Muted => fx.muted = true,
                FaultKind::Paused => fx.paused_since = earliest(fx.paused_since, e.starts_at),
                FaultKind::Unpaired => fx.unpaired = true,
                FaultKind::SubscriptionExpired => fx.expired_since = earliest(fx.expired_since, e.starts_at),
                FaultKind::Flapping { period } => {
                    let period_ms = i128::try_from(period.as_millis()).unwrap_or(i128::MAX).max(1);
                    let phase = (t - e.starts_at).whole_milliseconds() / period_ms;
                    if phase % 2 == 0 {
                        let since = e.starts_at
                            + time::Duration::milliseconds(i64::try_from(phase * period_ms).unwrap_or(i64::MAX));
                        fx.offline_since = earliest(fx.offline_since, since);
                    }
                }
                FaultKind::PlatformOutage | FaultKind::Slow { .. } => {}
            }
        }
        fx
    }

    pub(crate) fn outage(&self, t: OffsetDateTime) -> bool {
        self.everywhere.iter().any(|&i| self.entries[i].kind == FaultKind::PlatformOutage && self.entries[i].active(t))
    }

    /// The longest `Slow` delay that applies to a request that read these accounts' data.
    pub(crate) fn slow_delay(&self, t: OffsetDateTime, touched: &HashSet<usize>, fleet: &Fleet) -> Duration {
        self.slow
            .iter()
            .map(|&i| &self.entries[i])
            .filter(|e| e.active(t))
            .filter_map(|e| match (&e.kind, e.scope) {
                (FaultKind::Slow { delay }, Scope::Platform) => Some(*delay),
                (FaultKind::Slow { delay }, Scope::Account(a)) if touched.contains(&a) => Some(*delay),
                (FaultKind::Slow { delay }, Scope::Zone(z)) if touched.contains(&fleet.zones[z].account) => {
                    Some(*delay)
                }
                _ => None,
            })
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// A fix made through the API (`setVolume` above 0, `play`) ends the matching faults on this
    /// zone: a zone-wide one for good, a wider one only for this zone.
    pub(crate) fn fix(&mut self, zone: usize, account: usize, kind: &FaultKind, now: OffsetDateTime) {
        let touching: Vec<usize> = self.touching(zone, account).collect();
        for i in touching {
            let e = &mut self.entries[i];
            if &e.kind != kind || !e.active(now) {
                continue;
            }
            if e.scope == Scope::Zone(zone) {
                e.stopped_at = Some(now);
            } else {
                e.fixed_on.insert(zone);
            }
        }
    }
}

/// A zone as the API shows it at one instant.
#[derive(Debug, Clone)]
pub(crate) struct ZoneView {
    pub online: bool,
    pub paired: bool,
    pub state: &'static str,
    pub volume: u8,
    pub code: &'static str,
    pub status_state: &'static str,
    pub expired_since: Option<OffsetDateTime>,
    pub controllable: bool,
    /// The instant whose track the zone is playing (frozen while offline or paused); `None` when
    /// nothing is playing at all.
    pub heard_at: Option<OffsetDateTime>,
}

pub(crate) fn view(state: &ZoneState, fx: &Effects, now: OffsetDateTime) -> ZoneView {
    let paired = !fx.unpaired;
    let offline = fx.offline_since.is_some();
    let online = paired && !offline && !fx.cached;
    let volume = if fx.muted { 0 } else { state.volume };
    let paused_since = match (fx.paused_since, state.paused_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let expired = fx.expired_since.is_some();
    let playback = if !paired {
        "unpaired"
    } else if offline {
        "offline"
    } else if expired || paused_since.is_some() {
        "paused"
    } else {
        "playing"
    };
    let code = if !paired {
        "NOT_PAIRED"
    } else if !online {
        "PLAYER_DISCONNECTED"
    } else if expired {
        "SUBSCRIPTION_EXPIRED"
    } else if volume == 0 {
        "PLAYER_MUTED"
    } else {
        "ALL_OK"
    };
    let status_state = match code {
        "ALL_OK" => "OK",
        "NOT_PAIRED" => "INCOMPLETE",
        _ => "ERROR",
    };
    let frozen = |since: OffsetDateTime| Some(since.max(state.anchor));
    let heard_at = if !paired || expired {
        None
    } else if let Some(since) = fx.offline_since {
        frozen(since)
    } else if let Some(since) = paused_since {
        frozen(since)
    } else {
        Some(now)
    };
    ZoneView {
        online,
        paired,
        state: playback,
        volume,
        code,
        status_state,
        expired_since: fx.expired_since,
        controllable: online,
        heard_at,
    }
}

/// A reproducible schedule of trouble over `horizon` from `start`: per zone, faults arrive at
/// `per_zone_per_hour` (one after another, never overlapping on a zone) and are mostly offline,
/// muted and paused players, some cached-offline, unpaired and expired ones; about 2 % of zones
/// flap for a while; whole accounts go dark rarely; the platform fails or slows down about once a
/// day. A rate of 0 gives an empty schedule.
pub fn random_faults(
    seed: u64,
    fleet: &[AccountInfo],
    start: OffsetDateTime,
    horizon: Duration,
    per_zone_per_hour: f64,
) -> Vec<Fault> {
    let mut out = Vec::new();
    if per_zone_per_hour <= 0.0 || horizon.is_zero() {
        return out;
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0xfa17_5eed);
    let end = start + horizon;
    let zones: Vec<&ZoneInfo> = fleet.iter().flat_map(|a| a.zones.iter()).collect();
    let per_sec = per_zone_per_hour / 3600.0;
    for zone in &zones {
        let mut t = start + exponential(&mut rng, per_sec);
        while t < end {
            let (kind, median_min) = pick_zone_kind(&mut rng);
            let duration = lognormal_duration(&mut rng, median_min);
            out.push(Fault {
                kind,
                target: Target::Zone(zone.id.clone()),
                starts_at: Some(t),
                duration: Some(duration),
            });
            t = t + duration + exponential(&mut rng, per_sec);
        }
    }
    let flapping = (zones.len() as f64 * 0.02).ceil() as usize;
    for zone in zones.choose_multiple(&mut rng, flapping) {
        let starts_at = start + horizon.mul_f64(rng.random_range(0.0..0.8));
        out.push(Fault {
            kind: FaultKind::Flapping { period: Duration::from_secs(rng.random_range(20..180)) },
            target: Target::Zone(zone.id.clone()),
            starts_at: Some(starts_at),
            duration: Some(Duration::from_secs(rng.random_range(600..3600))),
        });
    }
    let dark_per_sec = per_sec * 0.05;
    for account in fleet {
        let mut t = start + exponential(&mut rng, dark_per_sec);
        while t < end {
            let duration = Duration::from_secs(rng.random_range(300..2700));
            out.push(Fault {
                kind: FaultKind::AccountDark,
                target: Target::Account(account.id.clone()),
                starts_at: Some(t),
                duration: Some(duration),
            });
            t = t + duration + exponential(&mut rng, dark_per_sec);
        }
    }
    let mut t = start + exponential(&mut rng, 1.0 / 86_400.0);
    while t < end {
        let duration = Duration::from_secs(rng.random_range(60..360));
        out.push(Fault {
            kind: FaultKind::PlatformOutage,
            target: Target::Platform,
            starts_at: Some(t),
            duration: Some(duration),
        });
        t = t + duration + exponential(&mut rng, 1.0 / 86_400.0);
    }
    let mut t = start + exponential(&mut rng, 1.0 / 43_200.0);
    while t < end {
        let duration = Duration::from_secs(rng.random_range(120..600));
        let delay = Duration::from_millis(rng.random_range(100..600));
        out.push(Fault {
            kind: FaultKind::Slow { delay },
            target: Target::Platform,
            starts_at: Some(t),
            duration: Some(duration),
        });
        t = t + duration + exponential(&mut rng, 1.0 / 43_200.0);
    }
    out.sort_by_key(|f| f.starts_at);
    out
}

fn pick_zone_kind(rng: &mut StdRng) -> (FaultKind, f64) {
    let roll = rng.random_range(0..100);
    match roll {
        0..40 => (FaultKind::Offline, 8.0),
        40..52 => (FaultKind::OfflineCached, 10.0),
        52..68 => (FaultKind::Muted, 30.0),
        68..84 => (FaultKind::Paused, 25.0),
        84..94 => (FaultKind::Unpaired, 180.0),
        _ => (FaultKind::SubscriptionExpired, 720.0),
    }
}

fn lognormal_duration(rng: &mut StdRng, median_minutes: f64) -> Duration {
    let minutes = median_minutes * (0.8 * fleet::normal(rng)).exp();
    Duration::from_secs_f64((minutes * 60.0).clamp(60.0, 86_400.0))
}

fn exponential(rng: &mut StdRng, per_sec: f64) -> Duration {
    let u: f64 = 1.0 - rng.random::<f64>();
    Duration::from_secs_f64((-u.ln() / per_sec).min(1.0e9))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)
    }

    #[test]
    fn flapping_alternates_starting_offline() -> anyhow::Result<()> {
        let fleet = fleet::generate(1, 2, 4, at(0))?;
        let zone = fleet.zones[0].id.clone();
        let mut book = FaultBook::default();
        let fault = Fault {
            kind: FaultKind::Flapping { period: Duration::from_secs(60) },
            target: Target::Zone(zone),
            starts_at: Some(at(100)),
            duration: Some(Duration::from_secs(600)),
        };
        book.inject(fault, &fleet, at(0));
        let a = fleet.zones[0].account;
        assert!(book.effects(0, a, at(99)).offline_since.is_none());
        assert_eq!(book.effects(0, a, at(130)).offline_since, Some(at(100)));
        assert!(book.effects(0, a, at(170)).offline_since.is_none());
        assert_eq!(book.effects(0, a, at(230)).offline_since, Some(at(220)));
        assert!(book.effects(0, a, at(800)).offline_since.is_none());
        Ok(())
    }

    #[test]
    fn a_random_schedule_is_reproducible_and_mixed() -> anyhow::Result<()> {
        let fleet = fleet::generate(3, 40, 120, at(0))?.infos();
        let a = random_faults(9, &fleet, at(0), Duration::from_secs(6 * 3600), 0.2);
        let b = random_faults(9, &fleet, at(0), Duration::from_secs(6 * 3600), 0.2);
        assert_eq!(a, b);
        let kinds: HashSet<&str> = a.iter().map(|f| f.kind.name()).collect();
        for kind in ["offline", "offline_cached", "muted", "paused", "unpaired", "flapping"] {
            assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
        }
        assert!(a.windows(2).all(|w| w[0].starts_at <= w[1].starts_at));
        assert!(random_faults(9, &fleet, at(0), Duration::from_secs(3600), 0.0).is_empty());
        Ok(())
    }
}
