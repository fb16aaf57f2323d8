//! Typed operations. Each says what it costs under Soundtrack's model (an object or connection
//! field costs the product of the enclosing `first`s; a connection also its own `first`), and
//! batches many accounts or zones into one document with aliases.

use super::client::{SoundtrackClient, SoundtrackError};
use bma_domain::music::Volume;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub business_name: String,
    /// Every zone of the account, or why they could not all be read: a partial answer is an
    /// error, never a shorter list.
    pub zones: Result<Vec<ZoneRef>, SoundtrackError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCount {
    pub status: String,
    pub total: u32,
}

/// A detailed view of one zone, enough to classify it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ZoneSnapshot {
    #[serde(rename = "soundtrack_zone_id")]
    pub id: String,
    pub name: String,
    pub online: bool,
    pub is_paired: bool,
    pub playback_state: Option<String>,
    pub volume: Option<u8>,
    pub status_code: Option<String>,
    pub subscription_state: Option<String>,
    pub now_playing: Option<String>,
    /// When the answer arrived (on the client's clock).
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: time::OffsetDateTime,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str)
}

pub(super) fn edges(conn: &Value) -> impl Iterator<Item = &Value> {
    conn.get("edges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("node"))
        .filter(|n| !n.is_null())
}

/// Whether a connection holds every item (its page has no next one).
fn is_complete(conn: &Value) -> bool {
    conn.get("pageInfo").and_then(|p| p.get("hasNextPage")).and_then(Value::as_bool) != Some(true)
}

pub(super) fn next_cursor(conn: &Value) -> Option<String> {
    let page = conn.get("pageInfo")?;
    if page.get("hasNextPage").and_then(Value::as_bool) == Some(true) {
        page.get("endCursor").and_then(Value::as_str).map(str::to_owned)
    } else {
        None
    }
}

/// What the monitor's queries cost, by the rule above.
pub mod cost {
    /// Zone counts per status of one account: `account { soundZoneStatuses { status total } }`.
    pub const STATUS: f64 = 2.0;
    /// One zone's health: `soundZone { online isPaired playback { state volume } status { code } }`.
    pub const HEALTH: f64 = 3.0;
    /// One zone's playback, the only signal of a paused player: `soundZone { playback { state volume } }`.
    pub const PLAYBACK: f64 = 2.0;

    /// The health of the zones of one account whose status is not OK, `k` of them at most.
    pub fn troubled(k: u32) -> f64 {
        1.0 + 3.0 * f64::from(k)
    }
}

/// The zones of one account whose status is not OK; `complete` is false when there were more
/// than were asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Troubled {
    pub zones: Vec<ZoneSnapshot>,
    pub complete: bool,
}

const HEALTH_FIELDS: &str = "id name online isPaired playback { state volume } status { code }";
const PLAYBACK_FIELDS: &str = "id online isPaired playback { state volume }";
/// Most tokens one batched monitor document may cost.
const DOCUMENT_TOKENS: f64 = 600.0;

const PAGE: u32 = 100;
const ZONE_PAGE: u32 = 25;
/// Accounts per batched document; keeps one document's cost well under the bucket size.
pub const ACCOUNTS_PER_BATCH: usize = 12;

impl SoundtrackClient {
    /// Every account the credential sees, each with its zones or the error that kept them from
    /// us; fails only when the accounts themselves cannot be listed.
    pub async fn discover(&self) -> Result<Vec<Account>, SoundtrackError> {
        let mut ids: Vec<(String, String)> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let q = "query Accounts($first: Int!, $after: String) { me { ... on PublicAPIClient { accounts(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id businessName } } } } ... on User { accounts(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id businessName } } } } } }";
            let a = self.query(q, json!({"first": PAGE, "after": after}), f64::from(1 + 2 * PAGE)).await?;
            let conn = a
                .root("me")?
                .get("accounts")
                .filter(|c| !c.is_null())
                .cloned()
                .ok_or_else(|| SoundtrackError::Malformed("me without accounts".into()))?;
            for n in edges(&conn) {
                if let (Some(id), Some(name)) = (str_at(n, &["id"]), str_at(n, &["businessName"])) {
                    ids.push((id.to_owned(), name.to_owned()));
                }
            }
            after = next_cursor(&conn);
            if after.is_none() {
                break;
            }
        }
        let mut accounts = Vec::with_capacity(ids.len());
        for (id, name) in ids {
            let zones = self.zones_of(&id).await;
            if let Err(e) = &zones {
                tracing::warn!(account = %id, error = %e, "the zones of a Soundtrack account could not be read");
            }
            accounts.push(Account { id, business_name: name, zones });
        }
        Ok(accounts)
    }

    async fn zones_of(&self, account: &str) -> Result<Vec<ZoneRef>, SoundtrackError> {
        let mut zones = Vec::new();
        let mut after: Option<String> = None;
        loop {
            // 25 a page covers 99 % of real accounts in one request, at 26 tokens an account.
            let q = "query Zones($id: ID!, $first: Int!, $after: String) { account(id: $id) { soundZones(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id name } } } } }";
            let a = self
                .query(q, json!({"id": account, "first": ZONE_PAGE, "after": after}), f64::from(1 + ZONE_PAGE))
                .await?;
            let conn = a
                .root("account")?
                .get("soundZones")
                .filter(|c| !c.is_null())
                .cloned()
                .ok_or_else(|| SoundtrackError::Malformed("account without soundZones".into()))?;
            for n in edges(&conn) {
                let Some(id) = str_at(n, &["id"]) else { continue };
                zones.push(ZoneRef { id: id.to_owned(), name: str_at(n, &["name"]).unwrap_or("").to_owned() });
            }
            after = next_cursor(&conn);
            if after.is_none() {
                return Ok(zones);
            }
        }
    }

    /// Zone counts per status for each account: two tokens an account, the cheapest way to see
    /// that something changed.
    pub async fn zone_statuses(&self, accounts: &[String]) -> Vec<(String, Result<Vec<StatusCount>, SoundtrackError>)> {
        let mut out = Vec::with_capacity(accounts.len());
        for chunk in accounts.chunks(ACCOUNTS_PER_BATCH * 8) {
            let (q, vars) = batch("Statuses", "ID!", chunk, |alias, var| {
                format!("{alias}: account(id: ${var}) {{ soundZoneStatuses {{ status total }} }}")
            });
            let cost = 2.0 * chunk.len() as f64;
            match self.query(&q, vars, cost).await {
                Ok(a) => {
                    for (i, id) in chunk.iter().enumerate() {
                        let r = a.root(&format!("a{i}")).map(|v| {
                            v.get("soundZoneStatuses")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .filter_map(|s| {
                                    Some(StatusCount {
                                        status: str_at(s, &["status"])?.to_owned(),
                                        total: u32::try_from(s.get("total")?.as_u64()?).ok()?,
                                    })
                                })
                                .collect()
                        });
                        out.push((id.clone(), r));
                    }
                }
                Err(e) => out.extend(chunk.iter().map(|id| (id.clone(), Err(e.clone())))),
            }
        }
        out
    }

    /// The full picture of some zones (six tokens a zone), for zones checked one by one.
    pub async fn zones_detail(&self, zones: &[String]) -> Vec<(String, Result<ZoneSnapshot, SoundtrackError>)> {
        let mut out = Vec::with_capacity(zones.len());
        for chunk in zones.chunks(50) {
            let (q, vars) = batch("Detail", "ID!", chunk, |alias, var| {
                format!(
                    "{alias}: soundZone(id: ${var}) {{ id name online isPaired playback {{ state volume }} status {{ code }} subscription {{ state }} nowPlaying {{ track {{ title }} }} }}"
                )
            });
            let cost = 6.0 * chunk.len() as f64;
            match self.query(&q, vars, cost).await {
                Ok(a) => {
                    let at = self.clock().now();
                    for (i, id) in chunk.iter().enumerate() {
                        out.push((id.clone(), a.root(&format!("a{i}")).and_then(|v| snapshot(v, at))));
                    }
                }
                Err(e) => out.extend(chunk.iter().map(|id| (id.clone(), Err(e.clone())))),
            }
        }
        out
    }

    /// The health of some zones (three tokens a zone): enough to classify each, without the
    /// now-playing track and subscription that a person's check also shows.
    pub async fn zones_health(&self, zones: &[String]) -> Vec<(String, Result<ZoneSnapshot, SoundtrackError>)> {
        self.zones_with("Health", HEALTH_FIELDS, cost::HEALTH, zones).await
    }

    /// The playback of some zones (two tokens a zone), the cheapest look that shows a paused player.
    pub async fn zones_playback(&self, zones: &[String]) -> Vec<(String, Result<ZoneSnapshot, SoundtrackError>)> {
        self.zones_with("Playback", PLAYBACK_FIELDS, cost::PLAYBACK, zones).await
    }

    async fn zones_with(
        &self,
        name: &str,
        fields: &str,
        each: f64,
        zones: &[String],
    ) -> Vec<(String, Result<ZoneSnapshot, SoundtrackError>)> {
        let mut out = Vec::with_capacity(zones.len());
        let per_document = ((DOCUMENT_TOKENS / each) as usize).max(1);
        for chunk in zones.chunks(per_document) {
            let (q, vars) =
                batch(name, "ID!", chunk, |alias, var| format!("{alias}: soundZone(id: ${var}) {{ {fields} }}"));
            match self.query(&q, vars, each * chunk.len() as f64).await {
                Ok(a) => {
                    let at = self.clock().now();
                    for (i, id) in chunk.iter().enumerate() {
                        out.push((id.clone(), a.root(&format!("a{i}")).and_then(|v| snapshot(v, at))));
                    }
                }
                Err(e) => out.extend(chunk.iter().map(|id| (id.clone(), Err(e.clone())))),
            }
        }
        out
    }

    /// For each account, the health of its zones whose status is not OK, at most `k` of them
    /// (the count its status counts gave): 1 + 3k tokens, whatever the account's size.
    pub async fn troubled_zones(&self, accounts: &[(String, u32)]) -> Vec<(String, Result<Troubled, SoundtrackError>)> {
        let mut out = Vec::with_capacity(accounts.len());
        let mut rest = accounts;
        while !rest.is_empty() {
            let mut n = 0;
            let mut tokens = 0.0;
            while n < rest.len() && (n == 0 || tokens + cost::troubled(rest[n].1.clamp(1, 500)) <= DOCUMENT_TOKENS) {
                tokens += cost::troubled(rest[n].1.clamp(1, 500));
                n += 1;
            }
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
            let firsts: Vec<u32> = chunk.iter().map(|(_, k)| (*k).clamp(1, 500)).collect();
            let (q, vars) = batch("Troubled", "ID!", &ids, |alias, var| {
                let i: usize = alias[1..].parse().unwrap_or(0);
                format!(
                    "{alias}: account(id: ${var}) {{ soundZones(first: {}, filter: {{status: {{notEq: OK}}}}) {{ pageInfo {{ hasNextPage }} edges {{ node {{ {HEALTH_FIELDS} }} }} }} }}",
                    firsts.get(i).copied().unwrap_or(1)
                )
            });
            match self.query(&q, vars, tokens).await {
                Ok(a) => {
                    let at = self.clock().now();
                    for (i, id) in ids.iter().enumerate() {
                        let r = a.root(&format!("a{i}")).map(|v| {
                            let conn = v.get("soundZones").cloned().unwrap_or(Value::Null);
                            Troubled {
                                zones: edges(&conn).filter_map(|n| snapshot(n, at).ok()).collect(),
                                complete: is_complete(&conn),
                            }
                        });
                        out.push((id.clone(), r));
                    }
                }
                Err(e) => out.extend(ids.iter().map(|id| (id.clone(), Err(e.clone())))),
            }
        }
        out
    }

    pub async fn zone(&self, id: &str) -> Result<ZoneSnapshot, SoundtrackError> {
        self.zones_detail(&[id.to_owned()])
            .await
            .into_iter()
            .next()
            .map_or_else(|| Err(SoundtrackError::Malformed("no answer".into())), |(_, r)| r)
    }

    async fn mutate(&self, field: &str, q: &str, vars: Value) -> Result<Value, SoundtrackError> {
        let a = self.query(q, vars, 1.0).await?;
        a.root(field).cloned()
    }

    /// Sets the volume (0–16); returns the volume Soundtrack reports.
    pub async fn set_volume(&self, zone: &str, volume: Volume) -> Result<u8, SoundtrackError> {
        let q = "mutation SetVolume($zone: ID!, $volume: Volume!) { setVolume(input: {soundZone: $zone, volume: $volume}) { volume soundZone } }";
        let v = self.mutate("setVolume", q, json!({"zone": zone, "volume": volume.get()})).await?;
        v.get("volume")
            .and_then(Value::as_u64)
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| SoundtrackError::Malformed("setVolume without volume".into()))
    }

    pub async fn play(&self, zone: &str) -> Result<(), SoundtrackError> {
        self.playback_action("play", zone).await
    }

    pub async fn pause(&self, zone: &str) -> Result<(), SoundtrackError> {
        self.playback_action("pause", zone).await
    }

    pub async fn skip(&self, zone: &str) -> Result<(), SoundtrackError> {
        self.playback_action("skipTrack", zone).await
    }

    /// `play`, `pause` and `skipTrack` share one shape: a zone in, a status out.
    async fn playback_action(&self, field: &str, zone: &str) -> Result<(), SoundtrackError> {
        let q =
            format!("mutation Playback($zone: ID!) {{ {field}(input: {{soundZone: $zone}}) {{ status soundZone }} }}");
        self.mutate(field, &q, json!({"zone": zone})).await.map(|_| ())
    }

    /// Plays a playlist or schedule in the zone.
    pub async fn assign_source(&self, zone: &str, source: &str) -> Result<(), SoundtrackError> {
        let q = "mutation Assign($zones: [ID!]!, $source: ID!) { soundZoneAssignSource(input: {soundZones: $zones, source: $source}) { soundZones } }";
        self.mutate("soundZoneAssignSource", q, json!({"zones": [zone], "source": source})).await.map(|_| ())
    }
}

pub(super) fn snapshot(v: &Value, observed_at: time::OffsetDateTime) -> Result<ZoneSnapshot, SoundtrackError> {
    let id = str_at(v, &["id"]).ok_or_else(|| SoundtrackError::Malformed("zone without id".into()))?;
    Ok(ZoneSnapshot {
        id: id.to_owned(),
        name: str_at(v, &["name"]).unwrap_or("").to_owned(),
        online: v.get("online").and_then(Value::as_bool).unwrap_or(false),
        is_paired: v.get("isPaired").and_then(Value::as_bool).unwrap_or(false),
        playback_state: str_at(v, &["playback", "state"]).map(str::to_owned),
        volume: v
            .get("playback")
            .and_then(|p| p.get("volume"))
            .and_then(Value::as_u64)
            .and_then(|x| u8::try_from(x).ok()),
        status_code: str_at(v, &["status", "code"]).map(str::to_owned),
        subscription_state: str_at(v, &["subscription", "state"]).map(str::to_owned),
        now_playing: str_at(v, &["nowPlaying", "track", "title"]).map(str::to_owned),
        observed_at,
    })
}

/// A document with one aliased root field per id (`a0`, `a1`, …), each bound to a variable.
fn batch(name: &str, ty: &str, ids: &[String], field: impl Fn(&str, &str) -> String) -> (String, Value) {
    let mut decls = Vec::with_capacity(ids.len());
    let mut fields = Vec::with_capacity(ids.len());
    let mut vars = Map::new();
    for (i, id) in ids.iter().enumerate() {
        let (alias, var) = (format!("a{i}"), format!("v{i}"));
        decls.push(format!("${var}: {ty}"));
        fields.push(field(&alias, &var));
        vars.insert(var, Value::String(id.clone()));
    }
    (format!("query {name}({}) {{ {} }}", decls.join(", "), fields.join(" ")), Value::Object(vars))
}
