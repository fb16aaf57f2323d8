//! The portfolio the fake's API client manages, generated from a seed: accounts of Asian hotels,
//! restaurants, bars and shops, 1–3 locations each, a heavy-tailed number of sound zones (the shape
//! of a real reseller's 856 accounts / 2,540 zones: median 2, p99 ~24, max ~52), one player per
//! zone, and a small music catalogue whose playback timeline is computed from the clock.

use super::ids;
use super::{AccountInfo, LocationInfo, PlaylistInfo, ZoneInfo};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use time::{Duration as TimeDelta, OffsetDateTime};

pub(crate) struct Fleet {
    pub accounts: Vec<Account>,
    pub locations: Vec<Location>,
    pub zones: Vec<Zone>,
    pub playlists: Vec<Playlist>,
    index: HashMap<String, Entity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    Account(usize),
    Location(usize),
    Zone(usize),
    Playlist(usize),
}

pub(crate) struct Account {
    pub id: String,
    pub business_name: String,
    pub business_type: &'static str,
    pub city: &'static City,
    pub created_at: OffsetDateTime,
    pub locations: Vec<usize>,
    pub zones: Vec<usize>,
}

pub(crate) struct Location {
    pub id: String,
    pub name: String,
    pub account: usize,
    pub zones: Vec<usize>,
}

pub(crate) struct Zone {
    pub id: String,
    pub raw: String,
    pub short_id: String,
    pub name: String,
    pub account: usize,
    pub location: usize,
    pub device: Device,
    pub streaming_type: &'static str,
    pub active_until: OffsetDateTime,
    pub initial: ZoneState,
}

pub(crate) struct Device {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub platform: &'static str,
    pub os_version: &'static str,
    pub software_version: String,
    pub hardware_id: String,
}

pub(crate) struct Playlist {
    pub id: String,
    pub name: &'static str,
    pub description: &'static str,
    pub tracks: Vec<Track>,
}

pub(crate) struct Track {
    pub id: String,
    pub title: String,
    pub artist_id: String,
    pub artist: String,
    pub album_id: String,
    pub album: String,
    pub isrc: String,
    pub duration_ms: i64,
}

pub(crate) struct City {
    pub name: &'static str,
    pub country: &'static str,
    pub country_name: &'static str,
    pub timezone: &'static str,
    weight: u32,
}

/// What staff and the API can change on a zone; faults are layered on top of it at read time.
#[derive(Debug, Clone)]
pub(crate) struct ZoneState {
    pub volume: u8,
    pub paused_at: Option<OffsetDateTime>,
    pub source: usize,
    /// When track 0 of the current source (last) started; the timeline repeats from there.
    pub epoch: OffsetDateTime,
    /// The last time a control moved the timeline (skip, assign); a frozen zone shows at least this.
    pub anchor: OffsetDateTime,
}

impl ZoneState {
    pub(crate) fn pause(&mut self, now: OffsetDateTime) {
        if self.paused_at.is_none() {
            self.paused_at = Some(now);
        }
    }

    pub(crate) fn play(&mut self, now: OffsetDateTime) {
        if let Some(paused) = self.paused_at.take() {
            self.epoch += now - paused;
        }
    }

    /// Moves `n` tracks on from the one heard at `heard_at`, the next one starting now.
    pub(crate) fn skip(&mut self, playlist: &Playlist, n: usize, heard_at: OffsetDateTime, now: OffsetDateTime) {
        let (current, _) = playlist.playing_at(self.epoch, heard_at);
        self.epoch = now - TimeDelta::milliseconds(playlist.offset_of(current + n));
        self.anchor = now;
        if self.paused_at.is_some() {
            self.paused_at = Some(now);
        }
    }

    pub(crate) fn assign(&mut self, source: usize, now: OffsetDateTime) {
        self.source = source;
        self.epoch = now;
        self.anchor = now;
        if self.paused_at.is_some() {
            self.paused_at = Some(now);
        }
    }
}

impl Playlist {
    fn cycle_ms(&self) -> i64 {
        self.tracks.iter().map(|t| t.duration_ms).sum::<i64>().max(1)
    }

    /// Milliseconds from the start of the playlist to the start of track `index` (mod length).
    pub(crate) fn offset_of(&self, index: usize) -> i64 {
        let index = index % self.tracks.len().max(1);
        self.tracks.iter().take(index).map(|t| t.duration_ms).sum()
    }

    /// The track playing at `at` for a zone whose timeline started at `epoch`, and its start.
    pub(crate) fn playing_at(&self, epoch: OffsetDateTime, at: OffsetDateTime) -> (usize, OffsetDateTime) {
        let cycle = self.cycle_ms();
        let elapsed = i64::try_from((at - epoch).whole_milliseconds()).unwrap_or(0).max(0);
        let mut start = elapsed / cycle * cycle;
        let mut rest = elapsed % cycle;
        for (i, t) in self.tracks.iter().enumerate() {
            if rest < t.duration_ms {
                return (i, epoch + TimeDelta::milliseconds(start));
            }
            rest -= t.duration_ms;
            start += t.duration_ms;
        }
        (0, epoch + TimeDelta::milliseconds(start))
    }
}

impl Fleet {
    pub(crate) fn lookup(&self, id: &str) -> Option<Entity> {
        self.index.get(id).or_else(|| self.index.get(&ids::canonical(id))).copied()
    }

    pub(crate) fn zone_index(&self, id: &str) -> Option<usize> {
        match self.lookup(id)? {
            Entity::Zone(z) => Some(z),
            _ => None,
        }
    }

    pub(crate) fn account_index(&self, id: &str) -> Option<usize> {
        match self.lookup(id)? {
            Entity::Account(a) => Some(a),
            _ => None,
        }
    }

    pub(crate) fn infos(&self) -> Vec<AccountInfo> {
        self.accounts
            .iter()
            .map(|a| AccountInfo {
                id: a.id.clone(),
                business_name: a.business_name.clone(),
                locations: a
                    .locations
                    .iter()
                    .map(|&l| LocationInfo { id: self.locations[l].id.clone(), name: self.locations[l].name.clone() })
                    .collect(),
                zones: a
                    .zones
                    .iter()
                    .map(|&z| ZoneInfo {
                        id: self.zones[z].id.clone(),
                        name: self.zones[z].name.clone(),
                        location_id: self.locations[self.zones[z].location].id.clone(),
                    })
                    .collect(),
            })
            .collect()
    }

    pub(crate) fn playlist_infos(&self) -> Vec<PlaylistInfo> {
        self.playlists.iter().map(|p| PlaylistInfo { id: p.id.clone(), name: p.name.to_owned() }).collect()
    }
}

pub(crate) fn generate(seed: u64, accounts: usize, zones: usize, now: OffsetDateTime) -> anyhow::Result<Fleet> {
    anyhow::ensure!(
        zones >= accounts,
        "a fleet needs at least one zone per account ({accounts} accounts, {zones} zones)"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut fleet = Fleet {
        accounts: Vec::with_capacity(accounts),
        locations: Vec::new(),
        zones: Vec::with_capacity(zones),
        playlists: catalogue(),
        index: HashMap::new(),
    };
    let sizes = zone_counts(&mut rng, accounts, zones);
    let mut business_names = HashSet::new();
    for size in sizes {
        add_account(&mut fleet, &mut rng, size, &mut business_names, now);
    }
    for (i, a) in fleet.accounts.iter().enumerate() {
        fleet.index.insert(a.id.clone(), Entity::Account(i));
    }
    for (i, l) in fleet.locations.iter().enumerate() {
        fleet.index.insert(l.id.clone(), Entity::Location(i));
    }
    for (i, z) in fleet.zones.iter().enumerate() {
        fleet.index.insert(z.id.clone(), Entity::Zone(i));
    }
    for (i, p) in fleet.playlists.iter().enumerate() {
        fleet.index.insert(p.id.clone(), Entity::Playlist(i));
    }
    Ok(fleet)
}

/// Zones per account, shaped like the real portfolio (median 2, p90 6, p99 24, max ~52 over 856
/// accounts): sizes are drawn from that quantile curve, then the zones above one per account are
/// scaled to the requested total.
fn zone_counts(rng: &mut StdRng, accounts: usize, zones: usize) -> Vec<usize> {
    const QUANTILES: [(f64, f64); 7] =
        [(0.0, 1.0), (0.45, 2.0), (0.75, 3.0), (0.90, 7.0), (0.99, 29.0), (0.999, 60.0), (1.0, 66.0)];
    let quantile = |u: f64| -> f64 {
        for pair in QUANTILES.windows(2) {
            let ((u0, v0), (u1, v1)) = (pair[0], pair[1]);
            if u <= u1 {
                return (v0.ln() + (u - u0) / (u1 - u0) * (v1.ln() - v0.ln())).exp();
            }
        }
        QUANTILES[QUANTILES.len() - 1].1
    };
    let drawn: Vec<f64> = (0..accounts).map(|_| quantile(rng.random::<f64>()).floor() - 1.0).collect();
    let drawn_total: f64 = drawn.iter().sum();
    let extra = (zones - accounts) as f64;
    let shares: Vec<f64> = if drawn_total > 0.0 {
        drawn.iter().map(|d| d * extra / drawn_total).collect()
    } else {
        vec![extra / accounts.max(1) as f64; accounts]
    };
    let mut counts: Vec<usize> = shares.iter().map(|s| 1 + s.floor() as usize).collect();
    let mut left = zones.saturating_sub(counts.iter().sum::<usize>());
    let mut by_remainder: Vec<usize> = (0..accounts).collect();
    by_remainder.sort_by(|&a, &b| (shares[b] - shares[b].floor()).total_cmp(&(shares[a] - shares[a].floor())));
    for &i in by_remainder.iter().cycle() {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
}

fn add_account(
    fleet: &mut Fleet,
    rng: &mut StdRng,
    size: usize,
    business_names: &mut HashSet<String>,
    now: OffsetDateTime,
) {
    let a = fleet.accounts.len();
    let raw = raw_id(rng, 11);
    let kind = business_kind(rng, size);
    let city = pick_city(rng);
    let business_name = business_name(rng, kind, city, business_names);
    let created_at = now - TimeDelta::days(rng.random_range(60..2500));
    let location_count = location_count(rng, size);
    let mut zone_counts = vec![1usize; location_count];
    for _ in location_count..size {
        let weights: Vec<usize> = (0..location_count).map(|i| location_count - i + 1).collect();
        let total: usize = weights.iter().sum();
        let mut pick = rng.random_range(0..total);
        for (i, w) in weights.iter().enumerate() {
            if pick < *w {
                zone_counts[i] += 1;
                break;
            }
            pick -= w;
        }
    }
    let location_names = location_names(rng, kind, city, location_count);
    let mut zone_names = ZoneNames::new(kind);
    let mut account = Account {
        id: ids::account(&raw),
        business_name,
        business_type: kind.label,
        city,
        created_at,
        locations: Vec::new(),
        zones: Vec::new(),
    };
    for (name, count) in location_names.into_iter().zip(zone_counts) {
        let l = fleet.locations.len();
        let loc_raw = raw_id(rng, 11);
        let mut location = Location { id: ids::location(&loc_raw, &raw), name, account: a, zones: Vec::new() };
        for _ in 0..count {
            let z = fleet.zones.len();
            let zone_raw = raw_id(rng, 11);
            let zone_name = zone_names.next(rng);
            fleet.zones.push(Zone {
                id: ids::sound_zone(&zone_raw, &loc_raw, &raw),
                short_id: raw_id(rng, 8).to_uppercase(),
                device: device(rng, &zone_name),
                name: zone_name,
                raw: zone_raw,
                account: a,
                location: l,
                streaming_type: if rng.random_bool(0.85) { "TIER_1" } else { "TIER_3" },
                active_until: now + TimeDelta::days(rng.random_range(20..400)),
                initial: initial_state(rng, &fleet.playlists, now),
            });
            location.zones.push(z);
            account.zones.push(z);
        }
        fleet.locations.push(location);
        account.locations.push(l);
    }
    fleet.accounts.push(account);
}

fn initial_state(rng: &mut StdRng, playlists: &[Playlist], now: OffsetDateTime) -> ZoneState {
    let source = rng.random_range(0..playlists.len());
    let into = rng.random_range(0..playlists[source].cycle_ms());
    let epoch = now - TimeDelta::milliseconds(into);
    ZoneState { volume: 8, paused_at: None, source, epoch, anchor: epoch }
}

fn device(rng: &mut StdRng, zone_name: &str) -> Device {
    const PLATFORMS: [(&str, &str, &str, u32); 5] = [
        ("player", "Soundtrack Player", "SP 2.14", 50),
        ("mobile", "Android", "13", 20),
        ("desktop", "Windows", "10.0.19045", 15),
        ("mobile", "iOS", "17.5", 10),
        ("player", "Sonos", "16.2", 5),
    ];
    let (kind, platform, os_version, _) = *PLATFORMS.choose_weighted(rng, |p| p.3).unwrap_or(&PLATFORMS[0]);
    let mac: Vec<String> = (0..6).map(|_| format!("{:02x}", rng.random::<u8>())).collect();
    Device {
        id: ids::simple("Device", &raw_id(rng, 12)),
        name: format!("{zone_name} player"),
        kind,
        platform,
        os_version,
        software_version: format!("{}.{}.{}", rng.random_range(4..6), rng.random_range(0..20), rng.random_range(0..10)),
        hardware_id: mac.join(":"),
    }
}

/// A standard normal sample (Box–Muller), enough for shaping a fleet and a fault schedule.
pub(crate) fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn raw_id(rng: &mut StdRng, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..len).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

#[derive(Clone, Copy)]
struct BusinessKind {
    label: &'static str,
    suffixes: &'static [&'static str],
    zones: &'static [&'static str],
    hotel_like: bool,
}

#[rustfmt::skip]
const HOTEL_ZONES: &[&str] = &[
    "Lobby", "Restaurant", "Pool", "Bar", "Spa", "Gym", "Lobby Lounge", "All-Day Dining", "Pool Bar",
    "Rooftop Bar", "Breakfast Room", "Kids Club", "Ballroom", "Meeting Rooms", "Terrace", "Beach Club",
    "Corridors", "Elevators", "Library", "Club Lounge", "Café", "Wine Cellar", "Garden", "Sky Bar", "Reception",
    "Cigar Lounge", "Deli", "Bakery", "Teppanyaki", "Sushi Bar", "Chinese Restaurant", "Italian Restaurant",
    "Thai Restaurant", "Noodle Bar", "Steakhouse", "Executive Lounge", "Boardroom", "Wellness Centre",
    "Yoga Studio", "Jacuzzi", "Salon", "Boutique", "Main Entrance", "Courtyard", "Patio", "Cabanas",
    "Rooftop Pool", "Lift Lobby", "Staff Canteen", "Tea Lounge",
];
const DINING_ZONES: &[&str] =
    &["Dining Room", "Bar", "Terrace", "Private Dining", "Entrance", "Lounge", "Patio", "Mezzanine", "Rooftop"];
const RETAIL_ZONES: &[&str] = &["Shop Floor", "Entrance", "Fitting Rooms", "Cashier", "Upper Floor", "Café Corner"];
const WELLNESS_ZONES: &[&str] =
    &["Reception", "Treatment Rooms", "Relaxation Lounge", "Gym Floor", "Studio", "Changing Rooms"];

const KINDS: [BusinessKind; 6] = [
    BusinessKind {
        label: "hotel",
        suffixes: &["Hotel", "Resort & Spa", "Beach Resort", "Suites", "Boutique Hotel", "Residences"],
        zones: HOTEL_ZONES,
        hotel_like: true,
    },
    BusinessKind {
        label: "restaurant",
        suffixes: &["Kitchen", "Bistro", "Dining", "Noodle House", "Grill", "Brasserie"],
        zones: DINING_ZONES,
        hotel_like: false,
    },
    BusinessKind {
        label: "bar",
        suffixes: &["Rooftop Bar", "Lounge", "Social Club"],
        zones: DINING_ZONES,
        hotel_like: false,
    },
    BusinessKind {
        label: "cafe",
        suffixes: &["Café", "Coffee Roasters", "Tea House"],
        zones: DINING_ZONES,
        hotel_like: false,
    },
    BusinessKind {
        label: "retail",
        suffixes: &["Boutique", "Concept Store", "Mall"],
        zones: RETAIL_ZONES,
        hotel_like: false,
    },
    BusinessKind {
        label: "wellness",
        suffixes: &["Wellness", "Spa", "Fitness"],
        zones: WELLNESS_ZONES,
        hotel_like: false,
    },
];

#[rustfmt::skip]
const BRANDS: &[&str] = &[
    "Siam Orchid", "Lotus Bay", "Jade Palm", "Golden Lantern", "Blue Mango", "Coral Cove", "Bamboo Grove",
    "Saffron House", "Monsoon", "Teakwood", "Silk Lane", "Frangipani", "Lemongrass", "Pandan", "Tamarind",
    "Rice Barge", "Mekong Star", "Andaman Pearl", "Sakura Garden", "Seoul Bloom", "Kampong", "Peranakan",
    "Red Junk", "Kopi Tiam", "Hibiscus", "Orchid Bay", "Sunset Cove", "Moonlight", "Lanna", "Indigo Tide",
    "Nipa Hut", "Batik", "Celadon", "Lychee", "Jasmine Court", "Tuk Tuk", "Paddy Field", "Spice Route",
    "Azure Lagoon", "Kinari", "Naga", "Baan Suan", "Emerald Isle", "Ginger Lily", "Sapphire Bay",
];

const CITIES: &[City] = &[
    City { name: "Bangkok", country: "TH", country_name: "Thailand", timezone: "Asia/Bangkok", weight: 30 },
    City { name: "Phuket", country: "TH", country_name: "Thailand", timezone: "Asia/Bangkok", weight: 12 },
    City { name: "Chiang Mai", country: "TH", country_name: "Thailand", timezone: "Asia/Bangkok", weight: 6 },
    City { name: "Koh Samui", country: "TH", country_name: "Thailand", timezone: "Asia/Bangkok", weight: 5 },
    City { name: "Pattaya", country: "TH", country_name: "Thailand", timezone: "Asia/Bangkok", weight: 5 },
    City { name: "Hua Hin", country: "TH", country_name: "Thailand", timezone: "Asia/Bangkok", weight: 3 },
    City { name: "Singapore", country: "SG", country_name: "Singapore", timezone: "Asia/Singapore", weight: 8 },
    City { name: "Kuala Lumpur", country: "MY", country_name: "Malaysia", timezone: "Asia/Kuala_Lumpur", weight: 5 },
    City { name: "Penang", country: "MY", country_name: "Malaysia", timezone: "Asia/Kuala_Lumpur", weight: 2 },
    City { name: "Bali", country: "ID", country_name: "Indonesia", timezone: "Asia/Makassar", weight: 5 },
    City { name: "Jakarta", country: "ID", country_name: "Indonesia", timezone: "Asia/Jakarta", weight: 3 },
    City { name: "Ho Chi Minh City", country: "VN", country_name: "Viet Nam", timezone: "Asia/Ho_Chi_Minh", weight: 3 },
    City { name: "Hanoi", country: "VN", country_name: "Viet Nam", timezone: "Asia/Ho_Chi_Minh", weight: 2 },
    City { name: "Da Nang", country: "VN", country_name: "Viet Nam", timezone: "Asia/Ho_Chi_Minh", weight: 2 },
    City { name: "Manila", country: "PH", country_name: "Philippines", timezone: "Asia/Manila", weight: 2 },
    City { name: "Hong Kong", country: "HK", country_name: "Hong Kong", timezone: "Asia/Hong_Kong", weight: 3 },
    City { name: "Macau", country: "MO", country_name: "Macao", timezone: "Asia/Macau", weight: 1 },
    City { name: "Tokyo", country: "JP", country_name: "Japan", timezone: "Asia/Tokyo", weight: 2 },
    City { name: "Seoul", country: "KR", country_name: "Korea, Republic of", timezone: "Asia/Seoul", weight: 1 },
    City { name: "Phnom Penh", country: "KH", country_name: "Cambodia", timezone: "Asia/Phnom_Penh", weight: 1 },
    City { name: "Siem Reap", country: "KH", country_name: "Cambodia", timezone: "Asia/Phnom_Penh", weight: 1 },
    City {
        name: "Vientiane",
        country: "LA",
        country_name: "Lao People's Democratic Republic",
        timezone: "Asia/Vientiane",
        weight: 1,
    },
    City { name: "Yangon", country: "MM", country_name: "Myanmar", timezone: "Asia/Yangon", weight: 1 },
    City { name: "Malé", country: "MV", country_name: "Maldives", timezone: "Indian/Maldives", weight: 2 },
    City { name: "Colombo", country: "LK", country_name: "Sri Lanka", timezone: "Asia/Colombo", weight: 1 },
    City {
        name: "Taipei",
        country: "TW",
        country_name: "Taiwan, Province of China",
        timezone: "Asia/Taipei",
        weight: 1,
    },
    City { name: "Dubai", country: "AE", country_name: "United Arab Emirates", timezone: "Asia/Dubai", weight: 2 },
    City { name: "Doha", country: "QA", country_name: "Qatar", timezone: "Asia/Qatar", weight: 1 },
];

const WINGS: &[&str] = &["Main Building", "Beach Wing", "Garden Wing", "Tower Wing", "Annex", "Villas"];
const AREAS: &[&str] =
    &["Central", "Riverside", "Old Town", "Airport", "Waterfront", "Downtown", "Uptown", "Beachfront", "Mall"];

fn business_kind(rng: &mut StdRng, zones: usize) -> BusinessKind {
    let weights: [u32; 6] = if zones >= 6 { [80, 4, 2, 2, 10, 2] } else { [35, 30, 10, 10, 10, 5] };
    let mut pick = rng.random_range(0..weights.iter().sum::<u32>());
    for (kind, w) in KINDS.iter().zip(weights) {
        if pick < w {
            return *kind;
        }
        pick -= w;
    }
    KINDS[0]
}

fn pick_city(rng: &mut StdRng) -> &'static City {
    CITIES.choose_weighted(rng, |c| c.weight).unwrap_or(&CITIES[0])
}

fn business_name(rng: &mut StdRng, kind: BusinessKind, city: &City, taken: &mut HashSet<String>) -> String {
    let mut attempt = 0;
    loop {
        let brand = BRANDS.choose(rng).copied().unwrap_or("Lotus");
        let suffix = kind.suffixes.choose(rng).copied().unwrap_or("Hotel");
        let mut name = format!("{brand} {suffix} {}", city.name);
        attempt += 1;
        if attempt > 20 {
            name = format!("{name} {}", attempt - 20);
        }
        if taken.insert(name.clone()) {
            return name;
        }
    }
}

fn location_count(rng: &mut StdRng, zones: usize) -> usize {
    let roll: f64 = rng.random();
    let n = if zones >= 10 {
        if roll < 0.35 {
            1
        } else if roll < 0.7 {
            2
        } else {
            3
        }
    } else if roll < 0.7 {
        1
    } else if roll < 0.9 {
        2
    } else {
        3
    };
    n.min(zones)
}

fn location_names(rng: &mut StdRng, kind: BusinessKind, city: &City, n: usize) -> Vec<String> {
    if n == 1 {
        return vec![city.name.to_owned()];
    }
    let pool = if kind.hotel_like { WINGS } else { AREAS };
    let mut picked: Vec<&str> = pool.choose_multiple(rng, n).copied().collect();
    if kind.hotel_like {
        picked.sort_by_key(|w| *w != "Main Building");
        return picked.into_iter().map(str::to_owned).collect();
    }
    picked.into_iter().map(|area| format!("{} {area}", city.name)).collect()
}

struct ZoneNames {
    pool: Vec<&'static str>,
    used: usize,
    overflow: usize,
}

impl ZoneNames {
    fn new(kind: BusinessKind) -> Self {
        Self { pool: kind.zones.to_vec(), used: 0, overflow: 0 }
    }

    /// The first few zones get the typical names in order (Lobby, Restaurant, Pool…), later ones
    /// random unused names, then numbered function rooms.
    fn next(&mut self, rng: &mut StdRng) -> String {
        if self.used < self.pool.len() {
            if self.used >= 4 {
                let i = rng.random_range(self.used..self.pool.len());
                self.pool.swap(self.used, i);
            }
            self.used += 1;
            return self.pool[self.used - 1].to_owned();
        }
        self.overflow += 1;
        format!("Function Room {}", self.overflow)
    }
}

/// The playlists any zone can be assigned; fixed, so their ids are the same for every fleet.
fn catalogue() -> Vec<Playlist> {
    const PLAYLISTS: [(&str, &str); 8] = [
        ("Lobby Lounge", "Warm downtempo and nu-jazz for arrivals and lobbies."),
        ("Poolside Chill", "Sunny house and tropical beats for the pool deck."),
        ("Bossa Nova Brunch", "Easy bossa and café jazz for late mornings."),
        ("Spa Serenity", "Ambient textures and soft piano for treatment rooms."),
        ("Sunset Rooftop", "Deep house that builds from golden hour into the night."),
        ("Jazz Dinner", "Classic vocal jazz and trios for dining rooms."),
        ("Acoustic Café", "Singer-songwriter and acoustic covers."),
        ("Asian Pop Hits", "Upbeat T-pop, K-pop and Mandopop for shops and casual dining."),
    ];
    const FIRST: &[&str] =
        &["Kai", "Mali", "Noor", "Aren", "Suda", "Lina", "Tomo", "Rin", "Ezra", "Dara", "Ploy", "Yuki", "Hana", "Leo"];
    const LAST: &[&str] =
        &["Lemarr", "Sato", "Kittichai", "Reyes", "Tan", "Okafor", "Lindqvist", "Moreau", "Park", "Nguyen", "Wong"];
    const ADJECTIVES: &[&str] = &[
        "Golden",
        "Velvet",
        "Slow",
        "Midnight",
        "Silver",
        "Quiet",
        "Endless",
        "Paper",
        "Electric",
        "Tender",
        "Amber",
        "Distant",
        "Monsoon",
        "Neon",
        "Saltwater",
        "Lazy",
    ];
    const NOUNS: &[&str] = &[
        "Hour", "Rain", "Tide", "Lanterns", "Avenue", "Morning", "Harbour", "Garden", "Letters", "Horizon", "Summer",
        "Skyline", "River", "Dreams", "Island", "Streets",
    ];
    let mut rng = StdRng::seed_from_u64(0x5eed_cafe);
    PLAYLISTS
        .iter()
        .map(|(name, description)| {
            let tracks = (0..12)
                .map(|_| {
                    let artist = format!(
                        "{} {}",
                        FIRST.choose(&mut rng).copied().unwrap_or("Kai"),
                        LAST.choose(&mut rng).copied().unwrap_or("Tan")
                    );
                    let title = format!(
                        "{} {}",
                        ADJECTIVES.choose(&mut rng).copied().unwrap_or("Golden"),
                        NOUNS.choose(&mut rng).copied().unwrap_or("Hour")
                    );
                    Track {
                        id: ids::simple("Track", &raw_id(&mut rng, 22)),
                        album: format!("{title} (Sessions)"),
                        album_id: ids::simple("Album", &raw_id(&mut rng, 22)),
                        artist_id: ids::simple("Artist", &raw_id(&mut rng, 22)),
                        isrc: format!("TH{}{:07}", raw_id(&mut rng, 3).to_uppercase(), rng.random_range(0..10_000_000)),
                        duration_ms: rng.random_range(150_000..300_000),
                        artist,
                        title,
                    }
                })
                .collect();
            Playlist { id: ids::simple("Playlist", &raw_id(&mut rng, 22)), name, description, tracks }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percentile(sorted: &[usize], p: f64) -> usize {
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i]
    }

    #[test]
    fn zone_counts_have_the_real_portfolio_shape() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = zone_counts(&mut rng, 856, 2540);
        assert_eq!(counts.iter().sum::<usize>(), 2540);
        counts.sort_unstable();
        let (median, p99, max) = (percentile(&counts, 0.5), percentile(&counts, 0.99), counts[counts.len() - 1]);
        assert!((1..=3).contains(&median), "median {median}");
        assert!((18..=30).contains(&p99), "p99 {p99}");
        assert!((40..=65).contains(&max), "max {max}");
        assert_eq!(counts[0], 1);
    }

    #[test]
    fn the_same_seed_gives_the_same_fleet() -> anyhow::Result<()> {
        let now = OffsetDateTime::UNIX_EPOCH + TimeDelta::days(20_000);
        let a = generate(42, 30, 90, now)?;
        let b = generate(42, 30, 90, now)?;
        assert_eq!(a.infos(), b.infos());
        assert_eq!(a.zones.len(), 90);
        let names: HashSet<&str> = a.accounts.iter().map(|a| a.business_name.as_str()).collect();
        assert_eq!(names.len(), 30);
        Ok(())
    }

    #[test]
    fn the_timeline_advances_and_skips() {
        let playlists = catalogue();
        let p = &playlists[0];
        let epoch = OffsetDateTime::UNIX_EPOCH;
        let first = p.tracks[0].duration_ms;
        assert_eq!(p.playing_at(epoch, epoch + TimeDelta::milliseconds(first - 1)).0, 0);
        let (i, started) = p.playing_at(epoch, epoch + TimeDelta::milliseconds(first + 5));
        assert_eq!((i, started), (1, epoch + TimeDelta::milliseconds(first)));
        let mut state = ZoneState { volume: 8, paused_at: None, source: 0, epoch, anchor: epoch };
        let now = epoch + TimeDelta::seconds(10);
        state.skip(p, 1, now, now);
        assert_eq!(p.playing_at(state.epoch, now), (1, now));
    }
}
