//! The Soundtrack fake through HTTP, as a client sees it: auth, cost and budget headers, the
//! token bucket on a virtual clock, batching, Relay pagination, filters, every fault kind, the
//! mutations and their errors, partial answers, user sessions, outages and the control API.

use base64::Engine as _;
use bma_domain::clock::Clock;
use bma_fakes::soundtrack::{AccountInfo, Fault, FaultKind, FleetConfig, SoundtrackFake, Target, random_faults};
use serde_json::{Value as Json, json};
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Json,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn number_header(&self, name: &str) -> anyhow::Result<u64> {
        let value = self.header(name).ok_or_else(|| anyhow::anyhow!("no {name} header (status {})", self.status))?;
        Ok(value.parse()?)
    }

    fn cost(&self) -> anyhow::Result<u64> {
        self.number_header("x-ratelimiting-cost")
    }

    fn available(&self) -> anyhow::Result<u64> {
        self.number_header("x-ratelimiting-tokens-available")
    }

    fn data(&self) -> &Json {
        &self.body["data"]
    }

    fn first_error(&self) -> &Json {
        &self.body["errors"][0]
    }
}

/// A minimal HTTP/1.1 exchange over a fresh connection (`Connection: close`).
async fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> anyhow::Result<Response> {
    let rest = url.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("not an http url: {url}"))?;
    let (host, path) = rest.split_once('/').map_or((rest, String::from("/")), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).await?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8(raw)?;
    let (head, payload) = text.split_once("\r\n\r\n").ok_or_else(|| anyhow::anyhow!("no header end"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .ok_or_else(|| anyhow::anyhow!("no status line"))?
        .parse()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let payload = if chunked { dechunk(payload)? } else { payload.to_owned() };
    let body = if payload.trim().is_empty() { Json::Null } else { serde_json::from_str(&payload)? };
    Ok(Response { status, headers, body })
}

fn dechunk(mut rest: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").ok_or_else(|| anyhow::anyhow!("bad chunk"))?;
        let size = usize::from_str_radix(size.trim(), 16)?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(after.get(..size).ok_or_else(|| anyhow::anyhow!("short chunk"))?);
        rest = after.get(size + 2..).unwrap_or_default();
    }
}

fn basic(fake: &SoundtrackFake) -> String {
    let token =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", fake.client_id(), fake.client_secret()));
    format!("Basic {token}")
}

async fn gql(fake: &SoundtrackFake, auth: Option<&str>, query: &str, variables: Json) -> anyhow::Result<Response> {
    let body = json!({ "query": query, "variables": variables }).to_string();
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = auth {
        headers.push(("Authorization", auth));
    }
    http("POST", &fake.url(), &headers, &body).await
}

async fn as_client(fake: &SoundtrackFake, query: &str, variables: Json) -> anyhow::Result<Response> {
    gql(fake, Some(&basic(fake)), query, variables).await
}

fn virtual_config() -> FleetConfig {
    FleetConfig { clock: Clock::virtual_at(datetime!(2026-03-02 03:00 UTC)), ..FleetConfig::default() }
}

fn largest_account(fake: &SoundtrackFake) -> anyhow::Result<AccountInfo> {
    fake.accounts().into_iter().max_by_key(|a| a.zones.len()).ok_or_else(|| anyhow::anyhow!("empty fleet"))
}

fn fault(kind: FaultKind, target: Target) -> Fault {
    Fault { kind, target, starts_at: None, duration: None }
}

const ZONE: &str = r#"query Zone($id: ID!) {
  soundZone(id: $id) {
    id name online isPaired device { id }
    playback { state volume playFrom { __typename ... on Playlist { id name } ... on Schedule { id name } } }
    nowPlaying { startedAt track { title artists { name } } }
    status { state code }
    subscription { isActive state }
  }
}"#;

async fn zone(fake: &SoundtrackFake, id: &str) -> anyhow::Result<Json> {
    let r = as_client(fake, ZONE, json!({ "id": id })).await?;
    anyhow::ensure!(r.status == 200 && r.body.get("errors").is_none(), "zone query failed: {}", r.body);
    Ok(r.data()["soundZone"].clone())
}

const COST_211: &str = r#"query($id: ID!) { account(id: $id) { locations(first: 10) { edges { node {
  soundZones(first: 10) { edges { node { device { id } } } } } } } } }"#;

const SET_VOLUME: &str = r#"mutation SetVolume($soundZone: ID!, $volume: Volume!) {
  setVolume(input: { soundZone: $soundZone, volume: $volume }) { volume soundZone }
}"#;

#[tokio::test]
async fn requests_without_valid_credentials_are_refused_with_401() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig::default()).await?;
    let query = "{ me { ... on PublicAPIClient { id } } }";
    let anonymous = gql(&fake, None, query, Json::Null).await?;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.body,
        json!({"errors": [{"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]})
    );
    let wrong = gql(&fake, Some("Basic d3Jvbmc6c2VjcmV0"), query, Json::Null).await?;
    assert_eq!(wrong.status, 401);
    let unknown_bearer = gql(&fake, Some("Bearer not-a-token"), query, Json::Null).await?;
    assert_eq!(unknown_bearer.status, 401);
    let ready_token = gql(&fake, Some(&format!("Basic {}", fake.basic_token())), query, Json::Null).await?;
    assert_eq!(ready_token.status, 200);
    assert!(ready_token.data()["me"]["id"].is_string());
    Ok(())
}

#[tokio::test]
async fn every_response_carries_the_rate_limiting_headers() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig { bucket_max: 250.0, ..virtual_config() }).await?;
    let account = fake.accounts()[0].id.clone();
    let ok = as_client(&fake, COST_211, json!({ "id": account })).await?;
    assert_eq!((ok.status, ok.cost()?, ok.available()?), (200, 211, 39));
    let invalid = as_client(&fake, "{ schedules { id } }", Json::Null).await?;
    assert_eq!((invalid.status, invalid.cost()?, invalid.available()?), (200, 0, 39));
    assert_eq!(invalid.first_error()["message"], "Field 'schedules' does not exist on type 'Query'.");
    let refused = as_client(&fake, COST_211, json!({ "id": account })).await?;
    assert_eq!((refused.status, refused.cost()?, refused.available()?), (429, 211, 39));
    let unauthorized = gql(&fake, None, "{ me { __typename } }", Json::Null).await?;
    assert_eq!(unauthorized.status, 401);
    unauthorized.cost()?;
    unauthorized.available()?;
    let garbage =
        http("POST", &fake.url(), &[("Authorization", &basic(&fake)), ("Content-Type", "application/json")], "{")
            .await?;
    assert_eq!(garbage.status, 400);
    garbage.cost()?;
    fake.inject(fault(FaultKind::PlatformOutage, Target::Platform));
    let outage = as_client(&fake, "{ me { __typename } }", Json::Null).await?;
    assert_eq!((outage.status, outage.cost()?, outage.available()?), (503, 0, 39));
    Ok(())
}

#[tokio::test]
async fn the_documented_nested_query_costs_211_tokens() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig::default()).await?;
    let account = largest_account(&fake)?;
    let r = as_client(&fake, COST_211, json!({ "id": account.id })).await?;
    assert_eq!(r.cost()?, 211);
    let first_location = &r.data()["account"]["locations"]["edges"][0]["node"]["soundZones"]["edges"];
    assert!(first_location[0]["node"]["device"]["id"].is_string());
    let info = as_client(&fake, "{ queryInfo { complexity } }", Json::Null).await?;
    assert_eq!(info.data()["queryInfo"]["complexity"], 1);
    Ok(())
}

#[tokio::test]
async fn a_query_over_budget_gets_429_and_the_bucket_refills_with_the_virtual_clock() -> anyhow::Result<()> {
    let fake =
        SoundtrackFake::start(FleetConfig { bucket_max: 300.0, refill_per_sec: 5.0, ..virtual_config() }).await?;
    let vars = json!({ "id": fake.accounts()[0].id });
    let first = as_client(&fake, COST_211, vars.clone()).await?;
    assert_eq!((first.status, first.available()?), (200, 89));
    let refused = as_client(&fake, COST_211, vars.clone()).await?;
    assert_eq!(refused.status, 429);
    assert_eq!(
        refused.body,
        json!({"errors": [{"message": "Rate limited: the query costs 211 tokens and 89 are available",
                           "extensions": {"code": "RATE_LIMITED"}}]})
    );
    assert_eq!(fake.tokens_spent(), 211.0);
    fake.clock().advance(Duration::from_secs(30));
    let refilled = as_client(&fake, COST_211, vars.clone()).await?;
    assert_eq!((refilled.status, refilled.available()?), (200, 89 + 150 - 211));
    fake.clock().advance(Duration::from_secs(3600));
    let capped = as_client(&fake, "query($id: ID!) { account(id: $id) { id } }", vars).await?;
    assert_eq!((capped.cost()?, capped.available()?), (1, 299));
    assert_eq!(fake.requests(), 4);
    Ok(())
}

#[tokio::test]
async fn aliases_batch_several_accounts_in_one_request() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig::default()).await?;
    let accounts: Vec<AccountInfo> = fake.accounts().into_iter().take(5).collect();
    let mut query = String::from("query {");
    for (i, a) in accounts.iter().enumerate() {
        query.push_str(&format!(r#" a{i}: account(id: "{}") {{ ...Summary }}"#, a.id));
    }
    query.push_str(" }\nfragment Summary on Account { id businessName soundZones(first: 100) { total } }");
    let r = as_client(&fake, &query, Json::Null).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.cost()?, 5 * (1 + 100));
    for (i, a) in accounts.iter().enumerate() {
        let got = &r.data()[format!("a{i}")];
        assert_eq!(got["businessName"], a.business_name.as_str());
        assert_eq!(got["soundZones"]["total"], a.zones.len());
    }
    Ok(())
}

#[tokio::test]
async fn relay_pagination_visits_every_zone_and_account_exactly_once() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig::default()).await?;
    let account = largest_account(&fake)?;
    let query = r#"query($id: ID!, $after: String) { account(id: $id) { soundZones(first: 2, after: $after) {
        total pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } } }"#;
    let mut seen = Vec::new();
    let mut after = Json::Null;
    loop {
        let r = as_client(&fake, query, json!({ "id": account.id, "after": after })).await?;
        let page = &r.data()["account"]["soundZones"];
        assert_eq!(page["total"], account.zones.len());
        assert_eq!(page["pageInfo"]["hasPreviousPage"], !seen.is_empty());
        for edge in page["edges"].as_array().ok_or_else(|| anyhow::anyhow!("no edges: {}", r.body))? {
            seen.push(edge["node"]["id"].as_str().expect("a string field").to_owned());
        }
        after = page["pageInfo"]["endCursor"].clone();
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
    }
    let past_the_end = as_client(&fake, query, json!({ "id": account.id, "after": after })).await?;
    let empty = &past_the_end.data()["account"]["soundZones"];
    assert_eq!(empty["edges"], json!([]));
    assert_eq!(empty["pageInfo"]["endCursor"], Json::Null);
    assert_eq!(empty["pageInfo"]["hasNextPage"], false);
    let expected: HashSet<String> = account.zones.iter().map(|z| z.id.clone()).collect();
    assert_eq!(seen.len(), expected.len());
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), expected);

    let accounts = r#"query($after: String) { me { ... on PublicAPIClient { accounts(first: 7, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { id businessName } } } } } }"#;
    let mut names = Vec::new();
    let mut after = Json::Null;
    loop {
        let r = as_client(&fake, accounts, json!({ "after": after })).await?;
        let page = &r.data()["me"]["accounts"];
        for edge in page["edges"].as_array().ok_or_else(|| anyhow::anyhow!("no edges: {}", r.body))? {
            names.push(edge["node"]["businessName"].as_str().expect("a string field").to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "accounts come ordered by business name");
    assert_eq!(names.len(), fake.accounts().len());
    Ok(())
}

#[tokio::test]
async fn filtering_online_false_returns_exactly_the_faulted_zones() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig::default()).await?;
    let account = largest_account(&fake)?;
    assert!(account.zones.len() >= 4, "the largest account has {} zones", account.zones.len());
    let z = |i: usize| account.zones[i].id.clone();
    fake.inject(fault(FaultKind::Offline, Target::Zone(z(0))));
    fake.inject(fault(FaultKind::OfflineCached, Target::Zone(z(1))));
    fake.inject(fault(FaultKind::Muted, Target::Zone(z(2))));
    let query = r#"query($id: ID!, $filter: SoundZoneFilter) { account(id: $id) {
        soundZones(first: 100, filter: $filter) { total edges { node { id } } } } }"#;
    let ids = |r: &Response| -> HashSet<String> {
        r.data()["account"]["soundZones"]["edges"]
            .as_array()
            .map(|edges| edges.iter().filter_map(|e| e["node"]["id"].as_str().map(str::to_owned)).collect())
            .expect("zone edges")
    };
    let offline = as_client(&fake, query, json!({ "id": account.id, "filter": { "online": false } })).await?;
    assert_eq!(ids(&offline), HashSet::from([z(0), z(1)]));
    assert_eq!(offline.data()["account"]["soundZones"]["total"], 2);
    let online = as_client(&fake, query, json!({ "id": account.id, "filter": { "online": true } })).await?;
    assert_eq!(ids(&online).len(), account.zones.len() - 2);
    fake.inject(fault(FaultKind::Unpaired, Target::Zone(z(3))));
    let unpaired = as_client(&fake, query, json!({ "id": account.id, "filter": { "isPaired": false } })).await?;
    assert_eq!(ids(&unpaired), HashSet::from([z(3)]));
    let muted =
        as_client(&fake, query, json!({ "id": account.id, "filter": { "statusCode": { "eq": "PLAYER_MUTED" } } }))
            .await?;
    assert_eq!(ids(&muted), HashSet::from([z(2)]));
    let statuses = as_client(
        &fake,
        "query($id: ID!) { account(id: $id) { soundZoneStatuses { status total } } }",
        json!({ "id": account.id }),
    )
    .await?;
    let counts = &statuses.data()["account"]["soundZoneStatuses"];
    assert!(counts.as_array().is_some_and(|c| c.contains(&json!({"status": "ERROR", "total": 3}))), "{counts}");
    Ok(())
}

#[tokio::test]
async fn each_fault_kind_shows_in_the_zone_fields() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(virtual_config()).await?;
    let accounts = fake.accounts();
    let zone_of = |i: usize| accounts[i].zones[0].id.clone();
    let kinds = [
        FaultKind::Offline,
        FaultKind::OfflineCached,
        FaultKind::Muted,
        FaultKind::Paused,
        FaultKind::Unpaired,
        FaultKind::SubscriptionExpired,
        FaultKind::Flapping { period: Duration::from_secs(60) },
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        fake.inject(fault(kind, Target::Zone(zone_of(i))));
    }
    fake.inject(fault(FaultKind::AccountDark, Target::Account(accounts[7].id.clone())));

    let healthy = zone(&fake, &zone_of(8)).await?;
    assert_eq!(healthy["online"], true);
    assert_eq!(healthy["playback"]["state"], "playing");
    assert_eq!(healthy["playback"]["volume"], 8);
    assert_eq!(healthy["playback"]["playFrom"]["__typename"], "Playlist");
    assert_eq!(healthy["status"], json!({"state": "OK", "code": "ALL_OK"}));
    assert_eq!(healthy["subscription"], json!({"isActive": true, "state": "ACTIVE"}));

    let offline = zone(&fake, &zone_of(0)).await?;
    assert_eq!((offline["online"].clone(), offline["playback"]["state"].clone()), (json!(false), json!("offline")));
    assert_eq!(offline["status"], json!({"state": "ERROR", "code": "PLAYER_DISCONNECTED"}));
    let cached = zone(&fake, &zone_of(1)).await?;
    assert_eq!((cached["online"].clone(), cached["playback"]["state"].clone()), (json!(false), json!("playing")));
    assert_eq!(cached["status"]["code"], "PLAYER_DISCONNECTED");
    let muted = zone(&fake, &zone_of(2)).await?;
    assert_eq!((muted["online"].clone(), muted["playback"]["volume"].clone()), (json!(true), json!(0)));
    assert_eq!(muted["status"], json!({"state": "ERROR", "code": "PLAYER_MUTED"}));
    let paused = zone(&fake, &zone_of(3)).await?;
    assert_eq!(paused["playback"]["state"], "paused");
    assert_eq!(paused["status"]["code"], "ALL_OK");
    let unpaired = zone(&fake, &zone_of(4)).await?;
    assert_eq!((unpaired["isPaired"].clone(), unpaired["device"].clone()), (json!(false), Json::Null));
    assert_eq!(unpaired["playback"]["state"], "unpaired");
    assert_eq!(unpaired["nowPlaying"], Json::Null);
    assert_eq!(unpaired["status"]["code"], "NOT_PAIRED");
    let expired = zone(&fake, &zone_of(5)).await?;
    assert_eq!(expired["subscription"], json!({"isActive": false, "state": "EXPIRED"}));
    assert_eq!(expired["status"]["code"], "SUBSCRIPTION_EXPIRED");
    assert_eq!(zone(&fake, &zone_of(6)).await?["online"], false);
    for z in &accounts[7].zones {
        assert_eq!(zone(&fake, &z.id).await?["playback"]["state"], "offline");
    }

    fake.clock().advance(Duration::from_secs(21 * 60 + 30));
    assert_eq!(zone(&fake, &zone_of(0)).await?["nowPlaying"], offline["nowPlaying"], "offline stays frozen");
    assert_ne!(
        zone(&fake, &zone_of(1)).await?["nowPlaying"]["startedAt"],
        cached["nowPlaying"]["startedAt"],
        "cached music goes on"
    );
    assert_eq!(zone(&fake, &zone_of(6)).await?["online"], true, "flapping is back online in odd periods");
    fake.clock().advance(Duration::from_secs(60));
    assert_eq!(zone(&fake, &zone_of(6)).await?["online"], false);
    assert_eq!(fake.zone_volume(&zone_of(2)), Some(0));
    assert_eq!(fake.zone_playing(&zone_of(3)), Some(false));
    assert_eq!(fake.zone_playing(&zone_of(1)), Some(true));
    Ok(())
}

#[tokio::test]
async fn controlling_an_offline_or_unpaired_zone_answers_not_found() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig::default()).await?;
    let accounts = fake.accounts();
    let (offline, unpaired) = (accounts[0].zones[0].id.clone(), accounts[1].zones[0].id.clone());
    fake.inject(fault(FaultKind::Offline, Target::Zone(offline.clone())));
    fake.inject(fault(FaultKind::Unpaired, Target::Zone(unpaired.clone())));
    let r = as_client(&fake, SET_VOLUME, json!({ "soundZone": offline, "volume": 5 })).await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.data(), &json!({ "setVolume": null }));
    let error = r.first_error();
    assert_eq!((error["message"].clone(), error["path"].clone()), (json!("Not found"), json!(["setVolume"])));
    assert_eq!(error["extensions"]["code"], "NOT_FOUND");
    assert_eq!(fake.zone_volume(&offline), Some(8));
    let play =
        as_client(&fake, "mutation($z: ID!) { play(input: {soundZone: $z}) { status } }", json!({ "z": unpaired }))
            .await?;
    assert_eq!(play.first_error()["extensions"]["code"], "NOT_FOUND");
    let unknown = as_client(&fake, SET_VOLUME, json!({ "soundZone": "U291bmRab25lLCxub3BlLw..", "volume": 5 })).await?;
    assert_eq!(unknown.first_error()["extensions"]["code"], "NOT_FOUND");
    Ok(())
}

#[tokio::test]
async fn a_volume_of_17_is_refused_as_bad_user_input() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig::default()).await?;
    let z = fake.accounts()[0].zones[0].id.clone();
    let literal = format!(r#"mutation {{ setVolume(input: {{soundZone: "{z}", volume: 17}}) {{ volume }} }}"#);
    let r = as_client(&fake, &literal, Json::Null).await?;
    assert_eq!(r.data()["setVolume"], Json::Null);
    assert_eq!(r.first_error()["message"], "Validation failed");
    assert_eq!(r.first_error()["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(r.first_error()["path"], json!(["setVolume"]));
    let variable = as_client(&fake, SET_VOLUME, json!({ "soundZone": z, "volume": 17 })).await?;
    assert_eq!(variable.first_error()["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(fake.zone_volume(&z), Some(8));
    Ok(())
}

#[tokio::test]
async fn a_volume_variable_declared_int_is_refused_and_volume_is_accepted() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig::default()).await?;
    let z = fake.accounts()[0].zones[0].id.clone();
    let int_typed = SET_VOLUME.replace("$volume: Volume!", "$volume: Int!");
    let refused = as_client(&fake, &int_typed, json!({ "soundZone": z, "volume": 5 })).await?;
    assert_eq!(refused.status, 200);
    assert!(refused.body.get("data").is_none(), "a document that fails validation does not run");
    assert_eq!(
        refused.first_error()["message"],
        "Variable \"$volume\" of type \"Int!\" used in position expecting type \"Volume!\"."
    );
    assert_eq!(fake.zone_volume(&z), Some(8));
    let accepted = as_client(&fake, SET_VOLUME, json!({ "soundZone": z, "volume": 5 })).await?;
    assert_eq!(accepted.data()["setVolume"], json!({ "volume": 5, "soundZone": z }));
    assert_eq!(fake.zone_volume(&z), Some(5));
    Ok(())
}

#[tokio::test]
async fn mutations_take_effect_at_once_and_fix_what_they_can() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(virtual_config()).await?;
    let z = fake.accounts()[2].zones[0].id.clone();
    let muted = fake.inject(fault(FaultKind::Muted, Target::Zone(z.clone())));
    as_client(&fake, SET_VOLUME, json!({ "soundZone": z, "volume": 12 })).await?;
    assert_eq!(fake.zone_volume(&z), Some(12));
    let record = fake.truth().into_iter().find(|r| r.id == muted).ok_or_else(|| anyhow::anyhow!("no record"))?;
    assert!(record.ended_at.is_some(), "turning the volume up ends the muted fault");

    let control = "mutation($z: ID!) { pause(input: {soundZone: $z}) { status soundZone } }";
    let paused = as_client(&fake, control, json!({ "z": z })).await?;
    assert_eq!(paused.data()["pause"], json!({ "status": "OK", "soundZone": z }));
    assert_eq!(zone(&fake, &z).await?["playback"]["state"], "paused");
    as_client(&fake, &control.replace("pause", "play"), json!({ "z": z })).await?;
    assert_eq!(fake.zone_playing(&z), Some(true));

    let before = zone(&fake, &z).await?["nowPlaying"]["track"]["title"].clone();
    let before_started = zone(&fake, &z).await?["nowPlaying"]["startedAt"].clone();
    fake.clock().advance(Duration::from_secs(1));
    as_client(&fake, &control.replace("pause", "skipTrack"), json!({ "z": z })).await?;
    let after = zone(&fake, &z).await?["nowPlaying"].clone();
    assert!(after["track"]["title"] != before || after["startedAt"] != before_started, "skipping starts another track");

    let playlists = fake.playlists();
    let target = playlists
        .iter()
        .find(|p| Some(&p.id) != fake.zone_source(&z).as_ref())
        .ok_or_else(|| anyhow::anyhow!("one playlist"))?;
    let assign = r#"mutation($zones: [ID!]!, $source: ID!) {
        soundZoneAssignSource(input: {soundZones: $zones, source: $source}) { soundZones source { ... on Playlist { id name } } } }"#;
    let assigned = as_client(&fake, assign, json!({ "zones": [z], "source": target.id })).await?;
    assert_eq!(assigned.data()["soundZoneAssignSource"]["soundZones"], json!([z]));
    assert_eq!(assigned.data()["soundZoneAssignSource"]["source"]["name"], target.name.as_str());
    assert_eq!(fake.zone_source(&z), Some(target.id.clone()));
    let bad = as_client(&fake, assign, json!({ "zones": [z], "source": "not-an-id" })).await?;
    assert_eq!(bad.first_error()["message"], "Validation failed");
    assert_eq!(bad.first_error()["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        bad.first_error()["extensions"]["exception"]["validationErrors"],
        json!({ "source": "invalid id format" })
    );
    Ok(())
}

#[tokio::test]
async fn login_then_refresh_rotates_the_refresh_token_and_tokens_expire() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(virtual_config()).await?;
    let (email, password) = fake.user_credentials();
    let login = r#"mutation($email: String!, $password: String!) {
        loginUser(input: {email: $email, password: $password}) { token refreshToken expiresAt userId } }"#;
    let r = gql(&fake, None, login, json!({ "email": email, "password": password })).await?;
    let session = r.data()["loginUser"].clone();
    assert_eq!(session["expiresAt"], "2026-03-02T04:00:00Z");
    let bearer = format!("Bearer {}", session["token"].as_str().expect("a string field"));
    let me = "{ me { ... on User { email accounts(first: 100) { total } } } }";
    let mine = gql(&fake, Some(&bearer), me, Json::Null).await?;
    assert_eq!(mine.data()["me"]["accounts"]["total"], fake.user_account_ids().len());
    let direct = gql(&fake, Some(&bearer), "{ me { accounts(first: 1) { total } } }", Json::Null).await?;
    assert_eq!(direct.first_error()["message"], "Field 'accounts' does not exist on type 'Viewer'.");

    let outside = fake.accounts().into_iter().find(|a| !fake.user_account_ids().contains(&a.id));
    let outside = outside.ok_or_else(|| anyhow::anyhow!("the user sees every account"))?;
    let forbidden =
        gql(&fake, Some(&bearer), "query($id: ID!) { account(id: $id) { id } }", json!({ "id": outside.id })).await?;
    assert_eq!(forbidden.data(), &json!({ "account": null }));
    assert_eq!(forbidden.first_error()["message"], "Forbidden");
    assert_eq!(forbidden.first_error()["path"], json!(["account"]));

    let refresh = "mutation($t: String!) { refreshLogin(input: {refreshToken: $t}) { token refreshToken expiresAt } }";
    let old = session["refreshToken"].clone();
    let rotated = gql(&fake, None, refresh, json!({ "t": old })).await?;
    let fresh = rotated.data()["refreshLogin"].clone();
    assert!(fresh["refreshToken"].is_string() && fresh["refreshToken"] != old);
    let replay = gql(&fake, None, refresh, json!({ "t": old })).await?;
    assert_eq!(replay.data()["refreshLogin"], Json::Null);
    assert_eq!(replay.first_error()["extensions"]["code"], "UNAUTHENTICATED");

    fake.clock().advance(Duration::from_secs(3601));
    let expired = gql(&fake, Some(&bearer), me, Json::Null).await?;
    assert_eq!(expired.status, 401);
    let again = gql(&fake, None, refresh, json!({ "t": fresh["refreshToken"] })).await?;
    let renewed = format!("Bearer {}", again.data()["refreshLogin"]["token"].as_str().expect("a string field"));
    assert_eq!(gql(&fake, Some(&renewed), me, Json::Null).await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn a_platform_outage_answers_503_without_spending_tokens() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(virtual_config()).await?;
    let start = fake.clock().now();
    fake.inject(Fault {
        kind: FaultKind::PlatformOutage,
        target: Target::Platform,
        starts_at: Some(start + Duration::from_secs(60)),
        duration: Some(Duration::from_secs(120)),
    });
    let query = "{ me { ... on PublicAPIClient { id } } }";
    assert_eq!(as_client(&fake, query, Json::Null).await?.status, 200);
    fake.clock().advance(Duration::from_secs(90));
    let down = as_client(&fake, query, Json::Null).await?;
    assert_eq!(down.status, 503);
    assert_eq!(down.first_error()["extensions"]["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(fake.tokens_spent(), 1.0);
    fake.clock().advance(Duration::from_secs(120));
    assert_eq!(as_client(&fake, query, Json::Null).await?.status, 200);
    let truth = fake.truth();
    assert_eq!(truth.len(), 1);
    assert_eq!(truth[0].began_at, start + Duration::from_secs(60));
    assert_eq!(truth[0].ended_at, Some(start + Duration::from_secs(180)));
    Ok(())
}

#[tokio::test]
async fn the_control_api_injects_faults_and_reports_the_truth() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(virtual_config()).await?;
    let z = fake.accounts()[0].zones[0].id.clone();
    let control = |path: &str| format!("{}/control/{path}", fake.base_url());
    let json_header = [("Content-Type", "application/json")];
    let body = json!({ "kind": "muted", "target": { "zone": z }, "duration_s": 60 }).to_string();
    let created = http("POST", &control("faults"), &json_header, &body).await?;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].clone();
    let flapping = json!({ "kind": "flapping", "target": { "account": fake.accounts()[1].id }, "period_s": 30, "starts_in_s": 600 });
    assert_eq!(http("POST", &control("faults"), &json_header, &flapping.to_string()).await?.status, 201);
    let bad = http("POST", &control("faults"), &json_header, r#"{"kind": "haunted", "target": "platform"}"#).await?;
    assert_eq!(bad.status, 400);

    let fleet = http("GET", &control("fleet"), &[], "").await?;
    let shown = &fleet.body["accounts"][0]["zones"][0];
    assert_eq!((shown["id"].clone(), shown["volume"].clone()), (json!(z), json!(0)));
    assert_eq!(shown["status"]["code"], "PLAYER_MUTED");

    let truth = http("GET", &control("truth"), &[], "").await?;
    assert_eq!(truth.body.as_array().map(Vec::len), Some(1), "a fault not yet begun is not in the truth");
    assert_eq!(truth.body[0]["id"], id);
    assert_eq!(truth.body[0]["kind"], "muted");
    assert_eq!(truth.body[0]["target"], json!({ "zone": z }));
    assert_eq!(truth.body[0]["began_at"], "2026-03-02T03:00:00Z");
    assert_eq!(truth.body[0]["ended_at"], Json::Null);

    fake.clock().advance(Duration::from_secs(61));
    let later = http("GET", &control("truth"), &[], "").await?;
    assert_eq!(later.body[0]["ended_at"], "2026-03-02T03:01:00Z");
    assert_eq!(fake.zone_volume(&z), Some(8));
    fake.clock().advance(Duration::from_secs(600));
    let both = http("GET", &control("truth"), &[], "").await?;
    assert_eq!(both.body[1]["kind"], "flapping");
    assert_eq!(both.body[1]["period_s"], 30.0);

    assert_eq!(http("POST", &control("reset"), &[], "").await?.status, 200);
    assert_eq!(http("GET", &control("truth"), &[], "").await?.body, json!([]));
    Ok(())
}

#[tokio::test]
async fn raw_graphql_bodies_operation_names_and_typename_are_understood() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig::default()).await?;
    let account = &fake.accounts()[0];
    let document = format!(
        r#"query Names {{ account(id: "{id}") {{ __typename businessName }} }}
           query Zones {{ account(id: "{id}") {{ soundZones(first: 1) {{ edges {{ node {{ __typename name }} }} }} }} }}"#,
        id = account.id
    );
    let auth = basic(&fake);
    let raw =
        http("POST", &fake.url(), &[("Authorization", &auth), ("Content-Type", "application/graphql")], &document)
            .await?;
    assert_eq!(raw.first_error()["message"], "Must provide operation name if query contains multiple operations.");
    let body = json!({ "query": document, "operationName": "Zones" }).to_string();
    let chosen =
        http("POST", &fake.url(), &[("Authorization", &auth), ("Content-Type", "application/json")], &body).await?;
    let node = &chosen.data()["account"]["soundZones"]["edges"][0]["node"];
    assert_eq!(node["__typename"], "SoundZone");
    let single = format!(r#"{{ account(id: "{}") {{ __typename businessName }} }}"#, account.id);
    let raw_single =
        http("POST", &fake.url(), &[("Authorization", &auth), ("Content-Type", "application/graphql")], &single)
            .await?;
    assert_eq!(raw_single.data()["account"], json!({ "__typename": "Account", "businessName": account.business_name }));
    let unknown = as_client(&fake, "{ account(id: \"x\") { id colour } }", Json::Null).await?;
    assert_eq!(unknown.first_error()["message"], "Field 'colour' does not exist on type 'Account'.");
    Ok(())
}

/// The zones a schedule says are offline at `t` (no fixes are made through the API here).
fn expected_offline(schedule: &[Fault], fleet: &[AccountInfo], t: OffsetDateTime) -> HashSet<String> {
    let mut out = HashSet::new();
    for f in schedule {
        let Some(start) = f.starts_at else { continue };
        if start > t || f.duration.is_some_and(|d| t >= start + d) {
            continue;
        }
        match (&f.kind, &f.target) {
            (FaultKind::Offline | FaultKind::OfflineCached | FaultKind::Unpaired, Target::Zone(z)) => {
                out.insert(z.clone());
            }
            (FaultKind::Flapping { period }, Target::Zone(z))
                if (t - start).whole_milliseconds()
                    / i128::try_from(period.as_millis()).unwrap_or(i128::MAX).max(1)
                    % 2
                    == 0 =>
            {
                out.insert(z.clone());
            }
            (FaultKind::AccountDark, Target::Account(a)) => {
                let account = fleet.iter().find(|x| &x.id == a);
                out.extend(account.into_iter().flat_map(|x| x.zones.iter().map(|z| z.id.clone())));
            }
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn a_random_schedule_replays_on_the_virtual_clock_and_the_api_agrees_with_it() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(virtual_config()).await?;
    let fleet = fake.accounts();
    let start = fake.clock().now();
    let horizon = Duration::from_secs(4 * 3600);
    let schedule = random_faults(11, &fleet, start, horizon, 0.5);
    assert_eq!(schedule, random_faults(11, &fleet, start, horizon, 0.5));
    for f in &schedule {
        fake.inject(f.clone());
    }
    let mut query = String::from("query {");
    for (i, a) in fleet.iter().enumerate() {
        query.push_str(&format!(
            r#" a{i}: account(id: "{}") {{ soundZones(first: 100, filter: {{online: false}}) {{ edges {{ node {{ id }} }} }} }}"#,
            a.id
        ));
    }
    query.push('}');
    let (mut compared, mut offline_seen) = (0, 0);
    for step in 1..=16 {
        fake.clock().advance(Duration::from_secs(15 * 60 - 7));
        let now = fake.clock().now();
        let r = as_client(&fake, &query, Json::Null).await?;
        if r.status == 503 {
            continue;
        }
        assert_eq!(r.status, 200, "step {step}: {}", r.body);
        let mut seen = HashSet::new();
        for i in 0..fleet.len() {
            let edges = r.data()[format!("a{i}")]["soundZones"]["edges"].as_array().cloned().expect("zone edges");
            seen.extend(edges.iter().filter_map(|e| e["node"]["id"].as_str().map(str::to_owned)));
        }
        assert_eq!(seen, expected_offline(&schedule, &fleet, now), "step {step}");
        compared += 1;
        offline_seen += seen.len();
    }
    assert!(compared >= 12, "only {compared} samples outside outages");
    assert!(offline_seen >= compared, "the schedule hardly took anything offline ({offline_seen})");
    let truth = fake.truth();
    let begun = schedule.iter().filter(|f| f.starts_at.is_some_and(|s| s <= fake.clock().now())).count();
    assert_eq!(truth.len(), begun);
    for (record, planned) in truth.iter().zip(&schedule) {
        assert_eq!((Some(record.began_at), &record.kind), (planned.starts_at, &planned.kind));
    }
    Ok(())
}

#[tokio::test]
async fn slow_faults_and_configured_latency_delay_responses_in_real_time() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig { latency: Duration::from_millis(50), ..virtual_config() }).await?;
    let account = fake.accounts()[3].id.clone();
    let other = fake.accounts()[4].id.clone();
    fake.inject(fault(FaultKind::Slow { delay: Duration::from_millis(300) }, Target::Account(account.clone())));
    let query = "query($id: ID!) { account(id: $id) { businessName } }";
    let timed = |id: String| {
        let fake = fake.clone();
        async move {
            let started = std::time::Instant::now();
            let r = as_client(&fake, query, json!({ "id": id })).await?;
            anyhow::ensure!(r.status == 200, "{}", r.body);
            anyhow::Ok(started.elapsed())
        }
    };
    let slow = timed(account).await?;
    assert!(slow >= Duration::from_millis(350), "{slow:?}");
    let other = timed(other).await?;
    assert!(other >= Duration::from_millis(50) && other < Duration::from_millis(300), "{other:?}");
    Ok(())
}

#[tokio::test]
async fn a_failing_account_field_is_a_partial_error_in_the_graphql_wire_format() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(virtual_config()).await?;
    let accounts = fake.accounts();
    let (broken, fine) = (&accounts[1], &accounts[2]);
    fake.fail_account_field(&broken.id, "soundZones")?;
    assert!(fake.fail_account_field(&broken.id, "noSuchField").is_err());
    let q = "query($a: ID!, $b: ID!) {\n  a0: account(id: $a) { id soundZones(first: 25) { edges { node { id } } } }\n  a1: account(id: $b) { id soundZones(first: 25) { edges { node { id } } } }\n}";
    let r = as_client(&fake, q, json!({ "a": broken.id, "b": fine.id })).await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.data()["a0"], json!({ "id": broken.id, "soundZones": null }));
    let listed = r.data()["a1"]["soundZones"]["edges"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, fine.zones.len(), "the other account is answered in full");
    let errors = r.body["errors"].as_array().ok_or_else(|| anyhow::anyhow!("no errors: {}", r.body))?;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["message"], "Internal server error");
    assert_eq!(errors[0]["path"], json!(["a0", "soundZones"]));
    assert_eq!(errors[0]["locations"], json!([{ "line": 2, "column": 28 }]));
    assert_eq!(errors[0]["extensions"]["code"], "INTERNAL_SERVER_ERROR");

    fake.heal_fields();
    let healed = as_client(&fake, q, json!({ "a": broken.id, "b": fine.id })).await?;
    assert!(healed.body.get("errors").is_none(), "{}", healed.body);
    Ok(())
}

#[tokio::test]
async fn the_fake_counts_the_429s_401s_logins_and_refreshes_it_answers() -> anyhow::Result<()> {
    let fake = SoundtrackFake::start(FleetConfig { bucket_max: 300.0, ..virtual_config() }).await?;
    let (email, password) = fake.user_credentials();
    let login =
        "mutation($e: String!, $p: String!) { loginUser(input: {email: $e, password: $p}) { token refreshToken } }";
    let wrong = gql(&fake, None, login, json!({ "e": email, "p": "not-the-password" })).await?;
    assert_eq!(wrong.data()["loginUser"], Json::Null);
    assert_eq!(wrong.first_error()["message"], "Invalid email or password");
    assert_eq!(wrong.first_error()["extensions"]["code"], "UNAUTHENTICATED");
    let ok = gql(&fake, None, login, json!({ "e": email, "p": password })).await?;
    let refresh = "mutation($t: String!) { refreshLogin(input: {refreshToken: $t}) { token } }";
    gql(&fake, None, refresh, json!({ "t": ok.data()["loginUser"]["refreshToken"] })).await?;
    assert_eq!(gql(&fake, Some("Bearer nonsense"), "{ me { __typename } }", Json::Null).await?.status, 401);
    assert_eq!(as_client(&fake, COST_211, json!({ "id": fake.accounts()[0].id })).await?.status, 200);
    assert_eq!(as_client(&fake, COST_211, json!({ "id": fake.accounts()[0].id })).await?.status, 429);
    let counts = fake.counts();
    assert_eq!((counts.logins, counts.refreshes, counts.unauthorized, counts.rate_limited), (1, 1, 1, 1));
    Ok(())
}
