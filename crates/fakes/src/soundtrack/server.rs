//! The HTTP face of the fake: `POST /v2` runs a request through outage, authentication, parsing,
//! validation, cost and the token bucket before executing it, and every answer carries the
//! `x-ratelimiting-cost` and `x-ratelimiting-tokens-available` headers. `/control/*` is the
//! unauthenticated steering API for the demo and for humans.

use super::auth::{self, Principal};
use super::exec::{Ctx, rfc3339};
use super::faults::{Fault, FaultKind, FaultRecord, Target};
use super::validate::{self, Fragments, GqlError, OpKind, Operation};
use super::{Shared, State, cost};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use graphql_parser::query::{Selection, SelectionSet};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2", post(graphql))
        .route("/control/faults", post(add_fault).delete(clear_faults))
        .route("/control/truth", get(truth))
        .route("/control/reset", post(reset))
        .route("/control/fleet", get(fleet))
        .with_state(shared)
}

struct Reply {
    status: StatusCode,
    body: Json,
    cost: u64,
    available: f64,
    delay: Duration,
}

impl Reply {
    fn errors(status: StatusCode, errors: Vec<Json>, available: f64, delay: Duration) -> Self {
        Self { status, body: json!({ "errors": errors }), cost: 0, available, delay }
    }

    fn failure(status: StatusCode, message: &str, code: &str, available: f64, delay: Duration) -> Self {
        let error = json!({ "message": message, "extensions": { "code": code } });
        Self::errors(status, vec![error], available, delay)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert("x-ratelimiting-cost", HeaderValue::from(self.cost));
        headers.insert("x-ratelimiting-tokens-available", HeaderValue::from(self.available.max(0.0).floor() as u64));
        response
    }
}

async fn graphql(AxumState(shared): AxumState<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let reply = shared.serve_graphql(&headers, &body);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    reply.into_response()
}

struct GraphqlRequest {
    query: String,
    variables: Map<String, Json>,
    operation_name: Option<String>,
}

fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<GraphqlRequest, String> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.trim_start().to_ascii_lowercase().starts_with("application/graphql") {
        let query = std::str::from_utf8(body).map_err(|_| "The body is not UTF-8.".to_owned())?;
        return Ok(GraphqlRequest { query: query.to_owned(), variables: Map::new(), operation_name: None });
    }
    let json: Json = serde_json::from_slice(body).map_err(|e| format!("The body is not valid JSON: {e}"))?;
    let query = json.get("query").and_then(Json::as_str).ok_or("Must provide query string.")?;
    let variables = match json.get("variables") {
        None | Some(Json::Null) => Map::new(),
        Some(Json::Object(vars)) => vars.clone(),
        Some(Json::String(encoded)) if encoded.trim().is_empty() => Map::new(),
        Some(Json::String(encoded)) => {
            serde_json::from_str(encoded).map_err(|_| "Variables must be a JSON object.".to_owned())?
        }
        Some(_) => return Err("Variables must be a JSON object.".to_owned()),
    };
    let operation_name = json.get("operationName").and_then(Json::as_str).map(str::to_owned);
    Ok(GraphqlRequest { query: query.to_owned(), variables, operation_name })
}

/// Whether a document only signs in (the one thing allowed without credentials).
fn signs_in_only<'d>(op: &Operation<'d>, fragments: &Fragments<'d>) -> bool {
    fn names<'d>(set: &'d SelectionSet<'d, String>, fragments: &Fragments<'d>, depth: usize, out: &mut Vec<&'d str>) {
        for item in &set.items {
            match item {
                Selection::Field(f) => out.push(&f.name),
                Selection::InlineFragment(i) => names(&i.selection_set, fragments, depth, out),
                Selection::FragmentSpread(s) if depth < 8 => {
                    if let Some(frag) = fragments.get(s.fragment_name.as_str()) {
                        names(&frag.selection_set, fragments, depth + 1, out);
                    }
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut roots = Vec::new();
    names(op.selection, fragments, 0, &mut roots);
    op.kind == OpKind::Mutation && roots.iter().all(|n| matches!(*n, "loginUser" | "refreshLogin" | "__typename"))
}

fn gql_errors(errors: &[GqlError]) -> Vec<Json> {
    errors.iter().map(GqlError::to_json).collect()
}

impl Shared {
    fn bucket_level(&self, st: &mut State, key: &str, now: OffsetDateTime) -> f64 {
        let bucket =
            st.buckets.entry(key.to_owned()).or_insert_with(|| super::bucket::Bucket::full(self.bucket_max, now));
        bucket.refill(now, self.bucket_max, self.refill_per_sec);
        bucket.available()
    }

    fn serve_graphql(&self, headers: &HeaderMap, body: &[u8]) -> Reply {
        let now = self.clock.now();
        let mut guard = self.lock();
        let st = &mut *guard;
        st.requests += 1;
        let delay = self.latency;
        let header = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let caller = auth::authenticate(header, &self.creds, &st.sessions, now);
        let key = caller.map_or_else(|()| Principal::Anonymous.bucket_key(), Principal::bucket_key);
        let available = self.bucket_level(st, &key, now);

        if st.faults.outage(now) {
            let message = "Service Unavailable: the Soundtrack API is having problems, try again later.";
            return Reply::failure(StatusCode::SERVICE_UNAVAILABLE, message, "SERVICE_UNAVAILABLE", available, delay);
        }
        let Ok(principal) = caller else {
            st.counts.unauthorized += 1;
            return Reply::failure(StatusCode::UNAUTHORIZED, "Unauthorized", "UNAUTHENTICATED", available, delay);
        };
        let request = match parse_request(headers, body) {
            Ok(r) => r,
            Err(message) => return Reply::failure(StatusCode::BAD_REQUEST, &message, "BAD_REQUEST", available, delay),
        };
        let doc = match graphql_parser::parse_query::<String>(&request.query) {
            Ok(doc) => doc,
            Err(e) => {
                let message = format!("Syntax Error: {e}");
                return Reply::failure(StatusCode::OK, &message, "GRAPHQL_PARSE_FAILED", available, delay);
            }
        };
        let (op, fragments) = match validate::select_operation(&doc, request.operation_name.as_deref()) {
            Ok(found) => found,
            Err(e) => return Reply::errors(StatusCode::OK, gql_errors(&[e]), available, delay),
        };
        if principal == Principal::Anonymous && !signs_in_only(&op, &fragments) {
            st.counts.unauthorized += 1;
            return Reply::failure(StatusCode::UNAUTHORIZED, "Unauthorized", "UNAUTHENTICATED", available, delay);
        }
        let problems = validate::validate(&self.schema, &op, &fragments);
        if !problems.is_empty() {
            return Reply::errors(StatusCode::OK, gql_errors(&problems), available, delay);
        }
        let vars = match validate::coerce_variables(&self.schema, &op, &request.variables) {
            Ok(vars) => vars,
            Err(problems) => return Reply::errors(StatusCode::OK, gql_errors(&problems), available, delay),
        };

        let cost = cost::operation_cost(&self.schema, &op, &fragments, &vars);
        let Some(bucket) = st.buckets.get_mut(&key) else {
            return Reply::failure(StatusCode::INTERNAL_SERVER_ERROR, "No bucket", "INTERNAL", available, delay);
        };
        if !bucket.take(cost as f64) {
            let message = format!(
                "Rate limited: the query costs {cost} tokens and {} are available",
                available.max(0.0).floor() as u64
            );
            st.counts.rate_limited += 1;
            let mut reply = Reply::failure(StatusCode::TOO_MANY_REQUESTS, &message, "RATE_LIMITED", available, delay);
            reply.cost = cost;
            return reply;
        }
        let available = bucket.available();
        st.tokens_spent += cost as f64;

        let mut ctx = Ctx::new(self, st, principal, &vars, &fragments, now, cost);
        let data = ctx.execute(&op);
        let (errors, touched) = (std::mem::take(&mut ctx.errors), std::mem::take(&mut ctx.touched));
        drop(ctx);
        let delay = delay + st.faults.slow_delay(now, &touched, &self.fleet);
        let mut body = Map::new();
        body.insert("data".into(), data);
        if !errors.is_empty() {
            body.insert("errors".into(), Json::Array(errors));
        }
        Reply { status: StatusCode::OK, body: Json::Object(body), cost, available, delay }
    }
}

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

#[derive(Deserialize)]
struct FaultRequest {
    kind: String,
    target: TargetRequest,
    starts_in_s: Option<f64>,
    duration_s: Option<f64>,
    period_s: Option<f64>,
    delay_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TargetRequest {
    Zone { zone: String },
    Account { account: String },
    Named(String),
}

fn seconds(s: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("{what} must be a non-negative number of seconds"))
}

impl FaultRequest {
    fn into_fault(self, shared: &Shared) -> Result<Fault, String> {
        let kind = match self.kind.as_str() {
            "offline" => FaultKind::Offline,
            "offline_cached" => FaultKind::OfflineCached,
            "muted" => FaultKind::Muted,
            "paused" => FaultKind::Paused,
            "unpaired" => FaultKind::Unpaired,
            "subscription_expired" => FaultKind::SubscriptionExpired,
            "flapping" => FaultKind::Flapping { period: seconds(self.period_s.unwrap_or(60.0), "period_s")? },
            "account_dark" => FaultKind::AccountDark,
            "platform_outage" => FaultKind::PlatformOutage,
            "slow" => FaultKind::Slow { delay: Duration::from_millis(self.delay_ms.unwrap_or(500)) },
            other => return Err(format!("unknown fault kind \"{other}\"")),
        };
        let target = match self.target {
            TargetRequest::Zone { zone } if shared.fleet.zone_index(&zone).is_some() => Target::Zone(zone),
            TargetRequest::Zone { zone } => return Err(format!("no zone {zone}")),
            TargetRequest::Account { account } if shared.fleet.account_index(&account).is_some() => {
                Target::Account(account)
            }
            TargetRequest::Account { account } => return Err(format!("no account {account}")),
            TargetRequest::Named(name) if name == "platform" => Target::Platform,
            TargetRequest::Named(name) => return Err(format!("unknown target \"{name}\"")),
        };
        let now = shared.clock.now();
        let starts_at = match self.starts_in_s {
            Some(s) => Some(now + seconds(s, "starts_in_s")?),
            None => None,
        };
        let duration = self.duration_s.map(|s| seconds(s, "duration_s")).transpose()?;
        Ok(Fault { kind, target, starts_at, duration })
    }
}

async fn add_fault(AxumState(shared): AxumState<Arc<Shared>>, body: Bytes) -> Response {
    let request: FaultRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid fault: {e}")),
    };
    match request.into_fault(&shared) {
        Ok(fault) => {
            let now = shared.clock.now();
            let id = shared.lock().faults.inject(fault, &shared.fleet, now);
            (StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response()
        }
        Err(message) => control_error(StatusCode::BAD_REQUEST, message),
    }
}

async fn clear_faults(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    let now = shared.clock.now();
    shared.lock().faults.clear(now);
    axum::Json(json!({ "ok": true })).into_response()
}

fn target_json(target: &Target) -> Json {
    match target {
        Target::Zone(id) => json!({ "zone": id }),
        Target::Account(id) => json!({ "account": id }),
        Target::Platform => json!("platform"),
    }
}

fn record_json(r: &FaultRecord) -> Json {
    let mut out = json!({
        "id": r.id,
        "kind": r.kind.name(),
        "target": target_json(&r.target),
        "began_at": rfc3339(r.began_at),
        "ended_at": r.ended_at.map_or(Json::Null, rfc3339),
    });
    match &r.kind {
        FaultKind::Flapping { period } => out["period_s"] = json!(period.as_secs_f64()),
        FaultKind::Slow { delay } => out["delay_ms"] = json!(delay.as_millis()),
        _ => {}
    }
    out
}

async fn truth(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    let now = shared.clock.now();
    let records = shared.lock().faults.records(now);
    axum::Json(Json::Array(records.iter().map(record_json).collect())).into_response()
}

async fn reset(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    shared.reset();
    axum::Json(json!({ "ok": true })).into_response()
}

async fn fleet(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    let st = shared.lock();
    let fleet = &shared.fleet;
    let accounts: Vec<Json> = fleet
        .accounts
        .iter()
        .map(|a| {
            let zones: Vec<Json> = a
                .zones
                .iter()
                .map(|&z| {
                    let zone = &fleet.zones[z];
                    let v = shared.zone_view(&st, z);
                    let source = &fleet.playlists[st.zones[z].source];
                    json!({
                        "id": zone.id,
                        "name": zone.name,
                        "locationId": fleet.locations[zone.location].id,
                        "online": v.online,
                        "isPaired": v.paired,
                        "playback": v.state,
                        "volume": v.volume,
                        "status": { "state": v.status_state, "code": v.code },
                        "subscription": if v.expired_since.is_some() { "EXPIRED" } else { "ACTIVE" },
                        "source": { "id": source.id, "name": source.name },
                    })
                })
                .collect();
            let locations: Vec<Json> = a
                .locations
                .iter()
                .map(|&l| json!({ "id": fleet.locations[l].id, "name": fleet.locations[l].name }))
                .collect();
            json!({ "id": a.id, "businessName": a.business_name, "locations": locations, "zones": zones })
        })
        .collect();
    axum::Json(json!({ "now": rfc3339(shared.clock.now()), "accounts": accounts })).into_response()
}
