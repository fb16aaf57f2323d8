//! A realistic fleet for development, demos and benchmarks: venues across Asia with their time
//! zones, brands, sound zones (a heavy-tailed count per venue, as in a real reseller's portfolio:
//! median 2, a long tail to 50+), contacts on each channel and opening hours. Written with COPY.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use std::fmt::Write as _;
use uuid::Uuid;

pub struct SeedPlan {
    pub venues: usize,
    pub zones: usize,
    pub seed: u64,
    /// Give venues and zones (made-up) Soundtrack ids; off when Soundtrack discovery, real or
    /// fake, is to link them instead.
    pub soundtrack_ids: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SeedReport {
    pub venues: usize,
    pub zones: usize,
    pub contacts: usize,
    pub opening_periods: usize,
}

struct Country {
    code: &'static str,
    tz: &'static str,
    dial: &'static str,
    cities: &'static [&'static str],
    weight: u32,
    line_share: f64,
}

const COUNTRIES: &[Country] = &[
    Country {
        code: "TH",
        tz: "Asia/Bangkok",
        dial: "66",
        cities: &["Bangkok", "Phuket", "Chiang Mai", "Pattaya", "Koh Samui", "Hua Hin", "Krabi"],
        weight: 34,
        line_share: 0.7,
    },
    Country {
        code: "SG",
        tz: "Asia/Singapore",
        dial: "65",
        cities: &["Singapore", "Sentosa", "Marina Bay"],
        weight: 9,
        line_share: 0.0,
    },
    Country {
        code: "MY",
        tz: "Asia/Kuala_Lumpur",
        dial: "60",
        cities: &["Kuala Lumpur", "Penang", "Langkawi", "Johor Bahru"],
        weight: 8,
        line_share: 0.0,
    },
    Country {
        code: "ID",
        tz: "Asia/Jakarta",
        dial: "62",
        cities: &["Jakarta", "Bandung", "Surabaya"],
        weight: 7,
        line_share: 0.0,
    },
    Country { code: "ID", tz: "Asia/Makassar", dial: "62", cities: &["Bali", "Lombok"], weight: 6, line_share: 0.0 },
    Country {
        code: "VN",
        tz: "Asia/Ho_Chi_Minh",
        dial: "84",
        cities: &["Ho Chi Minh City", "Hanoi", "Da Nang", "Hoi An"],
        weight: 7,
        line_share: 0.0,
    },
    Country {
        code: "PH",
        tz: "Asia/Manila",
        dial: "63",
        cities: &["Manila", "Cebu", "Boracay"],
        weight: 5,
        line_share: 0.0,
    },
    Country {
        code: "HK",
        tz: "Asia/Hong_Kong",
        dial: "852",
        cities: &["Hong Kong", "Kowloon"],
        weight: 5,
        line_share: 0.0,
    },
    Country {
        code: "JP",
        tz: "Asia/Tokyo",
        dial: "81",
        cities: &["Tokyo", "Osaka", "Kyoto", "Sapporo"],
        weight: 5,
        line_share: 0.5,
    },
    Country {
        code: "TW",
        tz: "Asia/Taipei",
        dial: "886",
        cities: &["Taipei", "Kaohsiung"],
        weight: 3,
        line_share: 0.6,
    },
    Country {
        code: "KH",
        tz: "Asia/Phnom_Penh",
        dial: "855",
        cities: &["Phnom Penh", "Siem Reap"],
        weight: 3,
        line_share: 0.0,
    },
    Country {
        code: "MV",
        tz: "Indian/Maldives",
        dial: "960",
        cities: &["Malé", "Baa Atoll"],
        weight: 3,
        line_share: 0.0,
    },
    Country { code: "AE", tz: "Asia/Dubai", dial: "971", cities: &["Dubai", "Abu Dhabi"], weight: 3, line_share: 0.0 },
    Country {
        code: "IN",
        tz: "Asia/Kolkata",
        dial: "91",
        cities: &["Mumbai", "Goa", "Delhi"],
        weight: 2,
        line_share: 0.0,
    },
];

const BRANDS: &[&str] = &[
    "Lotus Grand",
    "Siam Serenity",
    "Azure Bay Resorts",
    "Orchid House",
    "Harbour & Co",
    "Jade Lantern",
    "Monsoon Kitchen",
    "Tamarind Spa",
    "Saffron Suites",
    "Coral Cove",
    "Teakwood Hotels",
    "Bamboo Lane Cafés",
];
const INDEPENDENT_PREFIXES: &[&str] = &["The", "Hotel", "Villa", "Casa", "Baan", "Maison"];
const INDEPENDENT_WORDS: &[&str] =
    &["Riverside", "Sunset", "Palm", "Lumière", "Mango", "Indigo", "Kinara", "Sakura", "Pearl", "Naga"];
const FIRST_NAMES: &[&str] =
    &["Somchai", "Nattaya", "Wei Ling", "Arjun", "Mai", "Hiroshi", "Siti", "Daniel", "Anh", "Maria", "Kenji", "Priya"];

/// Zone names and types in the order a venue of growing size would add them.
const ZONE_LADDER: &[(&str, &str)] = &[
    ("Lobby", "lobby"),
    ("Restaurant", "restaurant"),
    ("Pool", "pool"),
    ("Bar", "bar"),
    ("Spa", "spa"),
    ("Lobby Lounge", "lobby"),
    ("Rooftop Bar", "bar"),
    ("Café", "restaurant"),
    ("Gym", "other"),
    ("Ballroom", "other"),
    ("Boutique", "retail"),
    ("Pool Bar", "bar"),
    ("Kids Club", "other"),
    ("Breakfast Room", "restaurant"),
];

fn zone_counts(rng: &mut StdRng, venues: usize, zones: usize) -> Vec<usize> {
    if venues == 0 {
        return Vec::new();
    }
    let zones = zones.max(venues);
    // Heavy tail: a Pareto-like weight per venue, then an exact allocation of the total.
    let weights: Vec<f64> = (0..venues).map(|_| 1.0 / rng.random_range(0.02_f64..1.0).powf(0.9)).collect();
    let sum: f64 = weights.iter().sum();
    let extra = (zones - venues) as f64;
    let mut counts: Vec<usize> = weights.iter().map(|w| 1 + ((w / sum) * extra).floor() as usize).collect();
    for c in &mut counts {
        *c = (*c).min(60);
    }
    let mut total: usize = counts.iter().sum();
    while total < zones {
        let i = rng.random_range(0..venues);
        if counts[i] < 60 {
            counts[i] += 1;
            total += 1;
        }
    }
    while total > zones {
        let i = rng.random_range(0..venues);
        if counts[i] > 1 {
            counts[i] -= 1;
            total -= 1;
        }
    }
    counts
}

fn pick_country(rng: &mut StdRng) -> &'static Country {
    let total: u32 = COUNTRIES.iter().map(|c| c.weight).sum();
    let mut r = rng.random_range(0..total);
    for c in COUNTRIES {
        if r < c.weight {
            return c;
        }
        r -= c.weight;
    }
    &COUNTRIES[0]
}

fn csv_field(out: &mut String, v: Option<&str>) {
    match v {
        None => {}
        Some(s) => {
            out.push('"');
            out.push_str(&s.replace('"', "\"\""));
            out.push('"');
        }
    }
}

fn soundtrack_id(kind: &str, n: u64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{kind},,{n:x}"))
}

/// Inserts the fleet. `progress(done_zones, total_zones)` is called after each batch.
pub async fn seed_fleet(
    pool: &PgPool,
    plan: &SeedPlan,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<SeedReport> {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let counts = zone_counts(&mut rng, plan.venues, plan.zones);
    let total_zones: usize = counts.iter().sum();
    let mut report = SeedReport::default();
    let batch = 1000;
    let mut zone_no: u64 = 0;
    let mut tx = pool.begin().await?;
    for (chunk_no, chunk) in counts.chunks(batch).enumerate() {
        let (mut venues, mut zones, mut contacts, mut hours) =
            (String::new(), String::new(), String::new(), String::new());
        for (i, &n_zones) in chunk.iter().enumerate() {
            let venue_no = (chunk_no * batch + i) as u64;
            let country = pick_country(&mut rng);
            let city = country.cities[rng.random_range(0..country.cities.len())];
            let branded = rng.random_bool(0.75);
            let brand = branded.then(|| BRANDS[rng.random_range(0..BRANDS.len())]);
            let name = match brand {
                Some(b) => format!("{b} {city} #{venue_no}"),
                None => format!(
                    "{} {} {city} #{venue_no}",
                    INDEPENDENT_PREFIXES[rng.random_range(0..INDEPENDENT_PREFIXES.len())],
                    INDEPENDENT_WORDS[rng.random_range(0..INDEPENDENT_WORDS.len())]
                ),
            };
            let id = Uuid::now_v7();
            let _ = write!(venues, "{id},");
            csv_field(&mut venues, Some(&name));
            venues.push(',');
            csv_field(&mut venues, brand);
            let account = if plan.soundtrack_ids { soundtrack_id("Account", venue_no) } else { String::new() };
            let _ = writeln!(venues, ",{},{},{account}", country.code, country.tz);

            let mut seen = std::collections::HashMap::<&str, u32>::new();
            for z in 0..n_zones {
                let (base, kind) = ZONE_LADDER[z % ZONE_LADDER.len()];
                let k = seen.entry(base).or_insert(0);
                *k += 1;
                let zname = if *k == 1 { base.to_owned() } else { format!("{base} {k}") };
                zone_no += 1;
                let _ = write!(zones, "{},{id},", Uuid::now_v7());
                csv_field(&mut zones, Some(&zname));
                let device = if plan.soundtrack_ids { soundtrack_id("SoundZone", zone_no) } else { String::new() };
                let _ = writeln!(zones, ",{kind},{device}");
            }
            report.zones += n_zones;

            let n_contacts = rng.random_range(1..=3);
            for c in 0..n_contacts {
                let person = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
                let role = ["General Manager", "F&B Manager", "Front Office", "Owner"][c % 4];
                let cid = Uuid::now_v7();
                let slug: String = name.to_lowercase().chars().filter(char::is_ascii_alphanumeric).take(24).collect();
                let roll: f64 = rng.random();
                let (channel, wa, line, mail) = if roll < country.line_share {
                    let lid: String =
                        (0..32).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect();
                    ("line", None, Some(format!("U{lid}")), None)
                } else if roll < 0.85 {
                    (
                        "whatsapp",
                        Some(format!("+{}{}", country.dial, rng.random_range(100_000_000_u64..999_999_999))),
                        None,
                        None,
                    )
                } else {
                    (
                        "email",
                        None,
                        None,
                        Some(format!("{}{}@{slug}.example", person.to_lowercase().replace(' ', "."), c)),
                    )
                };
                let _ = write!(contacts, "{cid},{id},");
                csv_field(&mut contacts, Some(person));
                contacts.push(',');
                csv_field(&mut contacts, Some(role));
                let _ = write!(contacts, ",{channel},");
                csv_field(&mut contacts, wa.as_deref());
                contacts.push(',');
                csv_field(&mut contacts, line.as_deref());
                contacts.push(',');
                csv_field(&mut contacts, mail.as_deref());
                contacts.push('\n');
                report.contacts += 1;
            }

            let (open, close) = match brand.map(|b| b.contains("Kitchen") || b.contains("Café")) {
                Some(true) => (10 * 60, 23 * 60),
                _ if n_zones >= 4 => (6 * 60, 1440),
                _ => [(9 * 60, 22 * 60), (11 * 60, 23 * 60), (17 * 60, 2 * 60)][rng.random_range(0..3)],
            };
            for wd in 0..7 {
                let _ = writeln!(hours, "{id},{wd},{open},{close}");
                report.opening_periods += 1;
            }
            report.venues += 1;
        }
        copy(
            &mut tx,
            "COPY venues (id, name, brand, country, timezone, soundtrack_account_id) FROM STDIN (FORMAT csv)",
            venues,
        )
        .await?;
        copy(
            &mut tx,
            "COPY zones (id, venue_id, name, zone_type, soundtrack_device_id) FROM STDIN (FORMAT csv)",
            zones,
        )
        .await?;
        copy(
            &mut tx,
            "COPY venue_contacts (id, venue_id, name, role, channel, whatsapp_number, line_user_id, email) FROM STDIN (FORMAT csv)",
            contacts,
        )
        .await?;
        copy(
            &mut tx,
            "COPY venue_opening_hours (venue_id, weekday, opens_at, closes_at) FROM STDIN (FORMAT csv)",
            hours,
        )
        .await?;
        progress(report.zones, total_zones);
    }
    tx.commit().await?;
    sqlx::query("VACUUM (ANALYZE) venues, zones, venue_contacts, venue_opening_hours").execute(pool).await?;
    Ok(report)
}

async fn copy(tx: &mut sqlx::PgConnection, statement: &'static str, data: String) -> anyhow::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let mut sink = tx.copy_in_raw(statement).await?;
    sink.send(data.into_bytes()).await?;
    sink.finish().await?;
    Ok(())
}

/// Deletes every venue and what hangs off it (zones, contacts, hours, logs).
pub async fn reset(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::query("TRUNCATE venues CASCADE").execute(pool).await.map(|_| ())
}

pub async fn venue_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM venues").fetch_one(pool).await
}

/// Gives the venue with the most Soundtrack-linked zones a staff contact on WhatsApp, so the
/// demo can show the bot changing a real (fake) player. Returns the venue's name and a zone name.
pub async fn demo_staff_contact(db: &PgPool, whatsapp_number: &str) -> sqlx::Result<Option<(String, String)>> {
    let Some((venue_id, venue, zone)): Option<(uuid::Uuid, String, String)> = sqlx::query_as(
        "SELECT v.id, v.name, min(z.name) FROM venues v JOIN zones z ON z.venue_id = v.id \
         WHERE z.soundtrack_device_id IS NOT NULL GROUP BY v.id, v.name ORDER BY count(*) DESC, v.name LIMIT 1",
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO venue_contacts (id, venue_id, name, role, channel, whatsapp_number, is_staff) \
         SELECT $1, $2, 'Demo Staff', 'manager', 'whatsapp', $3, true \
         WHERE NOT EXISTS (SELECT 1 FROM venue_contacts WHERE whatsapp_number = $3)",
    )
    .bind(bma_domain::ids::new_id())
    .bind(venue_id)
    .bind(whatsapp_number)
    .execute(db)
    .await?;
    // Bangkok, so "change the music" follows the (fake) weather there.
    crate::venues::set_location(db, venue_id, 13.7563, 100.5018).await?;
    Ok(Some((venue, zone)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_counts_add_up_exactly_and_have_a_heavy_tail() {
        let mut rng = StdRng::seed_from_u64(7);
        let counts = zone_counts(&mut rng, 856, 2540);
        assert_eq!(counts.iter().sum::<usize>(), 2540);
        assert!(counts.iter().all(|&c| (1..=60).contains(&c)));
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        let max = sorted[sorted.len() - 1];
        assert!(median <= 3, "median {median}");
        assert!(max >= 15, "max {max}");
    }
}
