//! A faithful fake of the Soundtrack Your Brand API, served on loopback for tests, benchmarks and
//! the demo. It speaks the public wire format of `POST /v2` (GraphQL over JSON or
//! `application/graphql`): Basic and Bearer auth, the `me` union, Relay connections, the mutations
//! staff use, the live API's error shapes (and, on demand, partial answers: one account's field
//! `null` with its entry in `errors`), and the per-credential token bucket with its
//! `x-ratelimiting-*` headers. Behind it runs a fleet generated from a seed whose zones go
//! offline, mute, unpair, expire, flap and go dark on a schedule of [`Fault`]s read against a
//! shared [`Clock`], so a benchmark can run hours of virtual time in seconds and score a monitor
//! against [`SoundtrackFake::truth`].
//!
//! A control API on the same server (no auth) lets the demo and humans steer it:
//! `POST /control/faults`, `DELETE /control/faults`, `GET /control/truth`, `POST /control/reset`
//! and `GET /control/fleet`.

mod auth;
mod bucket;
mod cost;
mod exec;
mod faults;
mod fleet;
mod ids;
mod schema;
mod server;
mod validate;

pub use faults::{Fault, FaultKind, FaultRecord, Target, random_faults};

use bma_domain::clock::Clock;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub seed: u64,
    pub accounts: usize,
    pub zones: usize,
    /// The token bucket's size and starting level (Soundtrack documents 3600).
    pub bucket_max: f64,
    /// Tokens regained per second of the clock (50 by recent accounts; the 2020 docs say 5).
    pub refill_per_sec: f64,
    pub clock: Clock,
    /// Added to every `/v2` response, in real time.
    pub latency: Duration,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            accounts: 20,
            zones: 60,
            bucket_max: 3600.0,
            refill_per_sec: 50.0,
            clock: Clock::Real,
            latency: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub id: String,
    pub business_name: String,
    pub locations: Vec<LocationInfo>,
    pub zones: Vec<ZoneInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationInfo {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneInfo {
    pub id: String,
    pub name: String,
    pub location_id: String,
}

/// A playlist of the fake's catalogue, assignable with `soundZoneAssignSource` or `setPlayFrom`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistInfo {
    pub id: String,
    pub name: String,
}

pub(crate) struct Shared {
    schema: schema::Schema,
    fleet: fleet::Fleet,
    creds: auth::Credentials,
    clock: Clock,
    bucket_max: f64,
    refill_per_sec: f64,
    latency: Duration,
    state: Mutex<State>,
}

pub(crate) struct State {
    zones: Vec<fleet::ZoneState>,
    faults: faults::FaultBook,
    sessions: auth::Sessions,
    buckets: HashMap<String, bucket::Bucket>,
    /// Account fields that fail as partial errors: (account index, field name).
    failing_fields: HashSet<(usize, String)>,
    requests: u64,
    tokens_spent: f64,
    counts: Counts,
}

/// What the fake has answered so far, for tests to check a client's behaviour by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests refused with 429 (over the token budget).
    pub rate_limited: u64,
    /// Requests refused with 401 (bad, expired or missing credentials).
    pub unauthorized: u64,
    /// Successful `loginUser` mutations.
    pub logins: u64,
    /// Successful `refreshLogin` mutations.
    pub refreshes: u64,
}

impl State {
    fn fresh(fleet: &fleet::Fleet) -> Self {
        Self {
            zones: fleet.zones.iter().map(|z| z.initial.clone()).collect(),
            faults: faults::FaultBook::default(),
            sessions: auth::Sessions::default(),
            buckets: HashMap::new(),
            failing_fields: HashSet::new(),
            requests: 0,
            tokens_spent: 0.0,
            counts: Counts::default(),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn zone_view(&self, st: &State, z: usize) -> faults::ZoneView {
        let now = self.clock.now();
        let fx = st.faults.effects(z, self.fleet.zones[z].account, now);
        faults::view(&st.zones[z], &fx, now)
    }

    /// Puts the fleet back as generated: no faults, no failing fields, no sessions, full buckets.
    /// Counters keep counting.
    fn reset(&self) {
        let mut st = self.lock();
        let (requests, tokens_spent, counts) = (st.requests, st.tokens_spent, st.counts);
        *st = State { requests, tokens_spent, counts, ..State::fresh(&self.fleet) };
    }
}

#[derive(Clone)]
pub struct SoundtrackFake {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl SoundtrackFake {
    /// Generates the fleet and serves it on 127.0.0.1 (a free port).
    pub async fn start(cfg: FleetConfig) -> anyhow::Result<Self> {
        let now = cfg.clock.now();
        let fleet = fleet::generate(cfg.seed, cfg.accounts, cfg.zones, now)?;
        let creds = auth::Credentials::generate(cfg.seed, &fleet);
        let state = Mutex::new(State::fresh(&fleet));
        let shared = Arc::new(Shared {
            schema: schema::Schema::load()?,
            fleet,
            creds,
            clock: cfg.clock,
            bucket_max: cfg.bucket_max,
            refill_per_sec: cfg.refill_per_sec,
            latency: cfg.latency,
            state,
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = server::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "soundtrack fake stopped serving");
            }
        });
        tracing::debug!(%addr, accounts = cfg.accounts, zones = cfg.zones, "soundtrack fake listening");
        Ok(Self { shared, addr })
    }

    /// The GraphQL endpoint, `http://127.0.0.1:PORT/v2`.
    pub fn url(&self) -> String {
        format!("{}/v2", self.base_url())
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API client's id; with [`Self::client_secret`] it makes the Basic credential that sees
    /// every account.
    pub fn client_id(&self) -> &str {
        &self.shared.creds.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.shared.creds.client_secret
    }

    /// The ready-made API token, `base64(client_id:client_secret)`, as Soundtrack hands it out.
    pub fn basic_token(&self) -> String {
        self.shared.creds.basic_token()
    }

    /// Email and password of the user for `loginUser`.
    pub fn user_credentials(&self) -> (String, String) {
        let user = &self.shared.creds.users[0];
        (user.email.clone(), user.password.clone())
    }

    /// The accounts that user belongs to (the first half of the fleet); others are `Forbidden`.
    pub fn user_account_ids(&self) -> Vec<String> {
        let user = &self.shared.creds.users[0];
        user.accounts.iter().map(|&a| self.shared.fleet.accounts[a].id.clone()).collect()
    }

    /// The fleet as generated (ground truth for ids and names).
    pub fn accounts(&self) -> Vec<AccountInfo> {
        self.shared.fleet.infos()
    }

    pub fn playlists(&self) -> Vec<PlaylistInfo> {
        self.shared.fleet.playlist_infos()
    }

    pub fn inject(&self, fault: Fault) -> u64 {
        let now = self.shared.clock.now();
        self.shared.lock().faults.inject(fault, &self.shared.fleet, now)
    }

    /// From now on the account's `field` (`soundZones`, `soundZoneStatuses`, `locations`, …) fails
    /// as a partial error, the way a GraphQL server answers when one resolver breaks: `null` at
    /// that path in `data` and an entry in `errors` with `message`, `locations`, `path` and
    /// `extensions.code` `INTERNAL_SERVER_ERROR`, while the rest of the answer (other aliases,
    /// other accounts) stands. Lasts until [`Self::heal_fields`] or [`Self::reset`].
    pub fn fail_account_field(&self, account_id: &str, field: &str) -> anyhow::Result<()> {
        let a =
            self.shared.fleet.account_index(account_id).ok_or_else(|| anyhow::anyhow!("no account {account_id}"))?;
        if self.shared.schema.field("Account", field).is_none() {
            anyhow::bail!("Account has no field {field}");
        }
        self.shared.lock().failing_fields.insert((a, field.to_owned()));
        Ok(())
    }

    /// Every field set failing with [`Self::fail_account_field`] answers again.
    pub fn heal_fields(&self) {
        self.shared.lock().failing_fields.clear();
    }

    /// Ends every active fault now and drops the ones not yet begun.
    pub fn clear_faults(&self) {
        let now = self.shared.clock.now();
        self.shared.lock().faults.clear(now);
    }

    /// Back to the generated fleet: faults, staff changes, sessions and buckets are forgotten.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Every fault that has begun, with when it began and (once it has) ended.
    pub fn truth(&self) -> Vec<FaultRecord> {
        let now = self.shared.clock.now();
        self.shared.lock().faults.records(now)
    }

    /// The volume the API reports for a zone now (0 while muted).
    pub fn zone_volume(&self, zone_id: &str) -> Option<u8> {
        let z = self.shared.fleet.zone_index(zone_id)?;
        Some(self.shared.zone_view(&self.shared.lock(), z).volume)
    }

    /// Whether the zone's playback state is `playing` now (true for a cached-offline zone).
    pub fn zone_playing(&self, zone_id: &str) -> Option<bool> {
        let z = self.shared.fleet.zone_index(zone_id)?;
        Some(self.shared.zone_view(&self.shared.lock(), z).state == "playing")
    }

    pub fn zone_online(&self, zone_id: &str) -> Option<bool> {
        let z = self.shared.fleet.zone_index(zone_id)?;
        Some(self.shared.zone_view(&self.shared.lock(), z).online)
    }

    /// The id of the playlist assigned to the zone.
    pub fn zone_source(&self, zone_id: &str) -> Option<String> {
        let z = self.shared.fleet.zone_index(zone_id)?;
        let source = self.shared.lock().zones[z].source;
        Some(self.shared.fleet.playlists[source].id.clone())
    }

    /// `/v2` requests received, whatever their answer.
    pub fn requests(&self) -> u64 {
        self.shared.lock().requests
    }

    /// Tokens taken from all buckets (requests refused with 429 or 503 take none).
    pub fn tokens_spent(&self) -> f64 {
        self.shared.lock().tokens_spent
    }

    /// How many 429s, 401s, logins and refreshes the fake has answered.
    pub fn counts(&self) -> Counts {
        self.shared.lock().counts
    }

    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }
}
