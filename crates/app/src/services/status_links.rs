//! Public status links. An admin makes one for a brand or a venue: its URL carries a token of
//! 256 random bits that is shown once, as an API key is, since only its hash is kept; revoking
//! is permanent. The page a link opens is built here with names only (no ids, no contacts): each
//! zone's music state now, as the dashboard defines it (`FleetState` over the fleet table's
//! query), today's hours and 30 days of uptime from the rollups, in one read for all its zones.

use super::dashboard::StateCounts;
use super::uptime::Seconds;
use super::{Actor, snapshot};
use crate::security::tokens;
use crate::{AppContext, Error, Result};
use bma_domain::Invalid;
use bma_domain::analytics::FleetState;
use bma_domain::monitoring::RollupPeriod;
use bma_domain::status_link::{LinkLabel, ScopeKind, StatusScope, StatusToken};
use bma_store::fleet::{self, FleetQuery};
use bma_store::status_links::{self as store, NewStatusLink, StatusLink};
use bma_store::{audit, venues};
use serde::Serialize;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How many links the list shows, newest first.
pub const LINKS_LISTED: i64 = 500;
/// The most zones one page shows (a brand of a few hundred venues fits); more are counted.
pub const ZONES_SHOWN: i64 = 5_000;
/// Whole UTC days of uptime the page shows, ending at today's midnight.
pub const UPTIME_DAYS: i64 = 30;

/// A new link and its full URL, which is never shown again.
pub struct Created {
    pub link: StatusLink,
    pub url: String,
}

/// What the audit log keeps of a link (never its token or hash).
#[derive(Serialize)]
struct Audited<'a> {
    kind: ScopeKind,
    brand: Option<&'a str>,
    venue_id: Option<Uuid>,
    label: Option<&'a str>,
    #[serde(with = "time::serde::rfc3339::option")]
    revoked_at: Option<OffsetDateTime>,
}

fn audited(l: &StatusLink) -> Option<serde_json::Value> {
    let (brand, venue_id) = match &l.scope {
        StatusScope::Brand(b) => (Some(b.as_str()), None),
        StatusScope::Venue(v) => (None, Some(*v)),
    };
    snapshot(&Audited { kind: l.scope.kind(), brand, venue_id, label: l.label.as_deref(), revoked_at: l.revoked_at })
}

/// The public URL of a token, under `PUBLIC_URL` (as invitation links are).
pub fn url_of(ctx: &AppContext, token: &StatusToken) -> String {
    format!("{}/status/{}", ctx.config.public_url.trim_end_matches('/'), token.as_str())
}

/// Makes a link for a brand some live venue has, or for a live venue; the error names the field.
pub async fn create(ctx: &AppContext, actor: &Actor, scope: StatusScope, label: Option<LinkLabel>) -> Result<Created> {
    let mut tx = ctx.db.begin().await?;
    match &scope {
        StatusScope::Brand(b) => {
            if !store::brand_is_live(&mut *tx, b).await? {
                return Err(Invalid::one("brand", "no venue (not archived) has this brand").into());
            }
        }
        StatusScope::Venue(id) => {
            if venues::find(&mut *tx, *id).await?.is_none_or(|v| v.archived_at.is_some()) {
                return Err(Invalid::one("venue_id", "no such venue, or it is archived").into());
            }
        }
    }
    let token = StatusToken::parse(&tokens::random_token())
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a random token of an unexpected shape")))?;
    let new = NewStatusLink {
        id: bma_domain::ids::new_id(),
        scope: &scope,
        label: label.as_ref(),
        token_hash: &tokens::hash_token(token.as_str()),
        created_by: actor.member_id,
    };
    let link = store::insert(&mut *tx, new).await?;
    audit::record(&mut *tx, actor.audit("status_link.create", "status_link", link.id, None, audited(&link))).await?;
    tx.commit().await?;
    Ok(Created { url: url_of(ctx, &token), link })
}

pub async fn list(ctx: &AppContext) -> Result<Vec<StatusLink>> {
    Ok(store::list(&ctx.db, LINKS_LISTED).await?)
}

/// Revokes a link for good; revoking it again changes nothing.
pub async fn revoke(ctx: &AppContext, actor: &Actor, id: Uuid) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    match store::revoke(&mut *tx, id, ctx.clock.now()).await? {
        Some(after) => {
            let before = StatusLink { revoked_at: None, ..after.clone() };
            audit::record(
                &mut *tx,
                actor.audit("status_link.revoke", "status_link", id, audited(&before), audited(&after)),
            )
            .await?;
        }
        None if store::find(&mut *tx, id).await?.is_none() => return Err(Error::NotFound("status link")),
        None => {}
    }
    tx.commit().await?;
    Ok(())
}

/// One hour of today on the page's strip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HourMark {
    /// Music whenever it was expected.
    Up,
    /// Some music and some silence.
    Mixed,
    Down,
    /// Nothing measured (closed, maintenance, or no evidence).
    NoData,
    /// Not over yet.
    Ahead,
}

impl HourMark {
    pub fn as_str(self) -> &'static str {
        match self {
            HourMark::Up => "up",
            HourMark::Mixed => "mixed",
            HourMark::Down => "down",
            HourMark::NoData => "no-data",
            HourMark::Ahead => "ahead",
        }
    }

    fn of(s: &Seconds) -> Self {
        match (s.up, s.down) {
            (0, 0) => HourMark::NoData,
            (_, 0) => HourMark::Up,
            (0, _) => HourMark::Down,
            _ => HourMark::Mixed,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PublicZone {
    pub name: String,
    pub state: FleetState,
    /// Uptime today so far (the hours rolled up), in percent.
    pub today: Option<f64>,
    pub last_30_days: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct PublicVenue {
    pub name: String,
    pub zones: Vec<PublicZone>,
    /// Today's 24 UTC hours, its zones together.
    pub hours: Vec<HourMark>,
    pub last_30_days: Option<f64>,
}

/// What a status link's page shows: names, states and percentages only.
#[derive(Debug, Clone)]
pub struct PublicStatus {
    /// The brand, or the venue's name.
    pub name: String,
    pub kind: ScopeKind,
    pub states: StateCounts,
    pub venues: Vec<PublicVenue>,
    /// Zones beyond [`ZONES_SHOWN`], not listed.
    pub zones_not_shown: i64,
    pub today: Option<f64>,
    pub last_30_days: Option<f64>,
    pub generated_at: OffsetDateTime,
}

fn add(s: &mut Seconds, r: &store::ZoneRollup) {
    s.up += r.up;
    s.down += r.down;
    s.unknown += r.unknown;
    s.excluded += r.excluded;
}

/// The page of the link whose URL carries `token`; `None` for a token that is malformed,
/// unknown or revoked, or whose venue is archived, alike.
pub async fn public_view(ctx: &AppContext, token: &str) -> Result<Option<PublicStatus>> {
    let Some(token) = StatusToken::parse(token) else { return Ok(None) };
    let Some(link) = store::find_live(&ctx.db, &tokens::hash_token(token.as_str())).await? else {
        return Ok(None);
    };
    let (name, query) = match &link.scope {
        StatusScope::Brand(b) => {
            (b.as_str().to_owned(), FleetQuery { brand: Some(b.as_str().to_owned()), ..FleetQuery::default() })
        }
        StatusScope::Venue(id) => {
            let Some(v) = venues::find(&ctx.db, *id).await?.filter(|v| v.archived_at.is_none()) else {
                return Ok(None);
            };
            (v.name, FleetQuery { venue_id: Some(*id), ..FleetQuery::default() })
        }
    };
    let (rows, total) = fleet::page(&ctx.read_db, &query, ZONES_SHOWN, 0).await?;
    let now = ctx.clock.now();
    let today = now.replace_time(time::Time::MIDNIGHT);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.zone_id).collect();
    let days = (today - Duration::days(UPTIME_DAYS), today);
    let rollups = store::rollups_of(&ctx.read_db, &ids, days, (today, now)).await?;

    let mut month: HashMap<Uuid, Seconds> = HashMap::new();
    let mut day: HashMap<Uuid, Seconds> = HashMap::new();
    let mut hourly: HashMap<(Uuid, i64), Seconds> = HashMap::new();
    for r in &rollups {
        match r.period {
            RollupPeriod::Day => add(month.entry(r.zone_id).or_default(), r),
            RollupPeriod::Hour => {
                add(day.entry(r.zone_id).or_default(), r);
                add(hourly.entry((r.zone_id, (r.starts_at - today).whole_hours())).or_default(), r);
            }
        }
    }
    let hour_now = (now - today).whole_hours();
    let mut page = PublicStatus {
        name,
        kind: link.scope.kind(),
        states: StateCounts::default(),
        venues: Vec::new(),
        zones_not_shown: (total - ZONES_SHOWN).max(0),
        today: None,
        last_30_days: None,
        generated_at: now,
    };
    let (mut all_month, mut all_day) = (Seconds::default(), Seconds::default());
    let mut venue_of: Option<Uuid> = None;
    let mut venue_zones: Vec<Uuid> = Vec::new();
    let finish = |v: &mut PublicVenue, zones: &[Uuid]| {
        let mut m = Seconds::default();
        for z in zones {
            m.plus(month.get(z).copied().unwrap_or_default());
        }
        v.last_30_days = m.percentage();
        v.hours = (0..24)
            .map(|h| {
                if h >= hour_now {
                    return HourMark::Ahead;
                }
                let mut s = Seconds::default();
                for z in zones {
                    s.plus(hourly.get(&(*z, h)).copied().unwrap_or_default());
                }
                HourMark::of(&s)
            })
            .collect();
    };
    for r in rows {
        let state = r.state();
        page.states.add(state, 1);
        let (m, d) =
            (month.get(&r.zone_id).copied().unwrap_or_default(), day.get(&r.zone_id).copied().unwrap_or_default());
        all_month.plus(m);
        all_day.plus(d);
        if venue_of != Some(r.venue_id) {
            if let Some(v) = page.venues.last_mut() {
                finish(v, &venue_zones);
            }
            venue_of = Some(r.venue_id);
            venue_zones.clear();
            page.venues.push(PublicVenue {
                name: r.venue_name,
                zones: Vec::new(),
                hours: Vec::new(),
                last_30_days: None,
            });
        }
        venue_zones.push(r.zone_id);
        if let Some(v) = page.venues.last_mut() {
            v.zones.push(PublicZone { name: r.zone_name, state, today: d.percentage(), last_30_days: m.percentage() });
        }
    }
    if let Some(v) = page.venues.last_mut() {
        finish(v, &venue_zones);
    }
    page.today = all_day.percentage();
    page.last_30_days = all_month.percentage();
    Ok(Some(page))
}
