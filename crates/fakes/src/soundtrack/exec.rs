//! Runs a validated operation: fields are collected per run-time type (aliases, inline and named
//! fragments, `@skip`/`@include`), each object type has a resolver over the fleet, and a field
//! that fails becomes `null` at its path plus an entry in `errors[]`, as GraphQL servers answer.

use super::auth::Principal;
use super::faults::{self, FaultKind, ZoneView};
use super::fleet::Entity;
use super::ids;
use super::schema::FieldDef;
use super::validate::{Fragments, OpKind, Operation, value_json};
use super::{Shared, State};
use graphql_parser::Pos;
use graphql_parser::query::{Directive, Field, Selection, SelectionSet, TypeCondition};
use serde_json::{Map, Value as Json, json};
use std::cmp::Ordering;
use std::collections::HashSet;
use std::rc::Rc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A value being resolved: which fleet entity (or wrapper) a selection set applies to.
#[derive(Clone)]
enum Obj {
    Query,
    Mutation,
    ApiClient,
    User(usize),
    Account(usize),
    Location(usize),
    Zone(usize),
    Device(usize),
    Playback(usize),
    NowPlaying(usize),
    Track(usize, usize),
    Album(usize, usize),
    Artist(usize, usize),
    Playlist(usize),
    Status(usize),
    Subscription(usize),
    StatusCount(&'static str, usize),
    QueryInfo,
    Connection(Rc<Conn>),
    Edge(Rc<Conn>, usize),
    PageInfo(Rc<Conn>),
    Payload(Rc<Payload>),
}

struct Conn {
    type_name: String,
    edge_type: String,
    total: usize,
    start: usize,
    nodes: Vec<Obj>,
    has_next: bool,
    has_prev: bool,
}

struct Payload {
    type_name: &'static str,
    fields: Vec<(&'static str, Resolved)>,
}

impl Obj {
    fn type_name(&self) -> &str {
        match self {
            Obj::Query => "Query",
            Obj::Mutation => "Mutation",
            Obj::ApiClient => "PublicAPIClient",
            Obj::User(_) => "User",
            Obj::Account(_) => "Account",
            Obj::Location(_) => "Location",
            Obj::Zone(_) => "SoundZone",
            Obj::Device(_) => "Device",
            Obj::Playback(_) => "Playback",
            Obj::NowPlaying(_) => "NowPlaying",
            Obj::Track(..) => "Track",
            Obj::Album(..) => "Album",
            Obj::Artist(..) => "Artist",
            Obj::Playlist(_) => "Playlist",
            Obj::Status(_) => "SoundZoneStatus",
            Obj::Subscription(_) => "SoundZoneSubscription",
            Obj::StatusCount(..) => "AccountSoundZoneStatus",
            Obj::QueryInfo => "QueryInfo",
            Obj::Connection(c) => &c.type_name,
            Obj::Edge(c, _) => &c.edge_type,
            Obj::PageInfo(_) => "PageInfo",
            Obj::Payload(p) => p.type_name,
        }
    }
}

#[derive(Clone)]
enum Resolved {
    Null,
    Leaf(Json),
    Obj(Obj),
    List(Vec<Resolved>),
}

pub(crate) struct FieldError {
    message: String,
    code: &'static str,
    exception: Option<Json>,
}

impl FieldError {
    fn new(message: &str, code: &'static str) -> Self {
        Self { message: message.to_owned(), code, exception: None }
    }

    fn not_found() -> Self {
        Self::new("Not found", "NOT_FOUND")
    }

    fn forbidden() -> Self {
        Self::new("Forbidden", "FORBIDDEN")
    }

    /// The live API's shape for a rejected input: "Validation failed" with the field's problem.
    fn validation(field: &str, problem: &str) -> Self {
        Self {
            message: "Validation failed".to_owned(),
            code: "BAD_USER_INPUT",
            exception: Some(json!({ "validationErrors": { field: problem } })),
        }
    }
}

type Outcome = Result<Resolved, FieldError>;

fn leaf(v: impl Into<Json>) -> Outcome {
    Ok(Resolved::Leaf(v.into()))
}

fn obj(o: Obj) -> Outcome {
    Ok(Resolved::Obj(o))
}

fn text(v: impl Into<Json>) -> Resolved {
    Resolved::Leaf(v.into())
}

fn payload(type_name: &'static str, fields: Vec<(&'static str, Resolved)>) -> Outcome {
    obj(Obj::Payload(Rc::new(Payload { type_name, fields })))
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> Json {
    t.format(&Rfc3339).map_or(Json::Null, Json::String)
}

fn descending(args: &Map<String, Json>) -> bool {
    let order = match args.get("orderBy") {
        Some(Json::Array(items)) => items.first(),
        other => other,
    };
    order.and_then(|o| o.get("direction")).and_then(Json::as_str) == Some("DESC")
}

fn filter_ok(filter: Option<&Json>, actual: &str, same: impl Fn(&str, &str) -> bool) -> bool {
    let Some(Json::Object(f)) = filter else {
        return true;
    };
    let eq = f.get("eq").and_then(Json::as_str).is_none_or(|want| same(want, actual));
    let not_eq = f.get("notEq").and_then(Json::as_str).is_none_or(|unwanted| !same(unwanted, actual));
    eq && not_eq
}

pub(crate) struct Ctx<'a, 'd> {
    sh: &'a Shared,
    st: &'a mut State,
    principal: Principal,
    vars: &'a Map<String, Json>,
    fragments: &'a Fragments<'d>,
    now: OffsetDateTime,
    cost: u64,
    pub errors: Vec<Json>,
    /// Accounts whose data the request read or changed (for account- and zone-scoped `Slow`).
    pub touched: HashSet<usize>,
}

type Groups<'d> = Vec<(String, Vec<&'d Field<'d, String>>)>;

impl<'a, 'd> Ctx<'a, 'd> {
    pub(crate) fn new(
        sh: &'a Shared,
        st: &'a mut State,
        principal: Principal,
        vars: &'a Map<String, Json>,
        fragments: &'a Fragments<'d>,
        now: OffsetDateTime,
        cost: u64,
    ) -> Self {
        Self { sh, st, principal, vars, fragments, now, cost, errors: Vec::new(), touched: HashSet::new() }
    }

    pub(crate) fn execute(&mut self, op: &Operation<'d>) -> Json {
        let root = if op.kind == OpKind::Mutation { Obj::Mutation } else { Obj::Query };
        self.execute_set(&root, &[op.selection], &mut Vec::new())
    }

    fn execute_set(&mut self, target: &Obj, sets: &[&'d SelectionSet<'d, String>], path: &mut Vec<Json>) -> Json {
        let runtime = target.type_name().to_owned();
        let mut groups = Groups::new();
        for set in sets {
            self.collect(&runtime, set, &mut groups, &mut Vec::new());
        }
        let sh = self.sh;
        let schema = &sh.schema;
        let mut out = Map::new();
        for (key, fields) in groups {
            let field = fields[0];
            if field.name == "__typename" {
                out.insert(key, Json::String(runtime.clone()));
                continue;
            }
            let Some(def) = schema.field(&runtime, &field.name) else {
                out.insert(key, Json::Null);
                continue;
            };
            let args = self.arguments(def, field);
            path.push(Json::String(key.clone()));
            let value = match self.resolve(target, &field.name, &args, def) {
                Ok(resolved) => {
                    let subsets: Vec<&'d SelectionSet<'d, String>> = fields.iter().map(|f| &f.selection_set).collect();
                    self.complete(resolved, &subsets, path)
                }
                Err(e) => {
                    self.push_error(e, field.position, path);
                    Json::Null
                }
            };
            path.pop();
            out.insert(key, value);
        }
        Json::Object(out)
    }

    fn complete(&mut self, resolved: Resolved, sets: &[&'d SelectionSet<'d, String>], path: &mut Vec<Json>) -> Json {
        match resolved {
            Resolved::Null => Json::Null,
            Resolved::Leaf(v) => v,
            Resolved::Obj(o) => self.execute_set(&o, sets, path),
            Resolved::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    path.push(Json::from(i));
                    out.push(self.complete(item, sets, path));
                    path.pop();
                }
                Json::Array(out)
            }
        }
    }

    fn collect(
        &self,
        runtime: &str,
        set: &'d SelectionSet<'d, String>,
        groups: &mut Groups<'d>,
        spreading: &mut Vec<&'d str>,
    ) {
        for item in &set.items {
            match item {
                Selection::Field(f) => {
                    if !self.included(&f.directives) {
                        continue;
                    }
                    let key = f.alias.as_ref().unwrap_or(&f.name);
                    match groups.iter_mut().find(|(k, _)| k == key) {
                        Some((_, fields)) => fields.push(f),
                        None => groups.push((key.clone(), vec![f])),
                    }
                }
                Selection::InlineFragment(i) => {
                    let applies = match &i.type_condition {
                        Some(TypeCondition::On(on)) => self.sh.schema.fragment_applies(on, runtime),
                        None => true,
                    };
                    if applies && self.included(&i.directives) {
                        self.collect(runtime, &i.selection_set, groups, spreading);
                    }
                }
                Selection::FragmentSpread(s) => {
                    let name = s.fragment_name.as_str();
                    let Some(frag) = self.fragments.get(name).copied() else { continue };
                    let TypeCondition::On(on) = &frag.type_condition;
                    if spreading.contains(&name)
                        || !self.sh.schema.fragment_applies(on, runtime)
                        || !self.included(&s.directives)
                    {
                        continue;
                    }
                    spreading.push(name);
                    self.collect(runtime, &frag.selection_set, groups, spreading);
                    spreading.pop();
                }
            }
        }
    }

    fn included(&self, directives: &[Directive<'_, String>]) -> bool {
        directives.iter().all(|d| {
            let condition = d
                .arguments
                .iter()
                .find(|(n, _)| n == "if")
                .and_then(|(_, v)| value_json(v, self.vars))
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            match d.name.as_str() {
                "skip" => !condition,
                "include" => condition,
                _ => true,
            }
        })
    }

    fn arguments(&self, def: &FieldDef, field: &Field<'_, String>) -> Map<String, Json> {
        let mut args = Map::new();
        for (name, value) in &field.arguments {
            if let Some(v) = value_json(value, self.vars) {
                args.insert(name.clone(), v);
            }
        }
        for arg in &def.args {
            if let (false, Some(default)) = (args.contains_key(&arg.name), &arg.default) {
                args.insert(arg.name.clone(), default.clone());
            }
        }
        args
    }

    fn push_error(&mut self, e: FieldError, pos: Pos, path: &[Json]) {
        let mut extensions = Map::new();
        extensions.insert("code".into(), e.code.into());
        if let Some(exception) = e.exception {
            extensions.insert("exception".into(), exception);
        }
        self.errors.push(json!({
            "message": e.message,
            "locations": [{ "line": pos.line, "column": pos.column }],
            "path": path,
            "extensions": extensions,
        }));
    }

    fn view(&self, z: usize) -> ZoneView {
        let account = self.sh.fleet.zones[z].account;
        let fx = self.st.faults.effects(z, account, self.now);
        faults::view(&self.st.zones[z], &fx, self.now)
    }

    fn resolve(&mut self, target: &Obj, field: &str, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
        match target {
            Obj::Query => self.query(field, args),
            Obj::Mutation => self.mutation(field, args),
            Obj::ApiClient => match field {
                "id" => leaf(self.sh.creds.client_node_id.clone()),
                "accounts" => self.accounts((0..self.sh.fleet.accounts.len()).collect(), args, def),
                _ => Ok(Resolved::Null),
            },
            Obj::User(u) => self.user(*u, field, args, def),
            Obj::Account(a) => self.account(*a, field, args, def),
            Obj::Location(l) => self.location(*l, field, args, def),
            Obj::Zone(z) => self.zone(*z, field),
            Obj::Device(z) => self.device(*z, field),
            Obj::Playback(z) => self.playback(*z, field),
            Obj::NowPlaying(z) => self.now_playing(*z, field),
            Obj::Track(p, t) => self.track(*p, *t, field),
            Obj::Album(p, t) => {
                let track = &self.sh.fleet.playlists[*p].tracks[*t];
                match field {
                    "id" => leaf(track.album_id.clone()),
                    "title" | "name" => leaf(track.album.clone()),
                    _ => Ok(Resolved::Null),
                }
            }
            Obj::Artist(p, t) => {
                let track = &self.sh.fleet.playlists[*p].tracks[*t];
                match field {
                    "id" => leaf(track.artist_id.clone()),
                    "name" => leaf(track.artist.clone()),
                    _ => Ok(Resolved::Null),
                }
            }
            Obj::Playlist(p) => self.playlist(*p, field),
            Obj::Status(z) => {
                let v = self.view(*z);
                match field {
                    "state" => leaf(v.status_state),
                    "code" => leaf(v.code),
                    _ => Ok(Resolved::Null),
                }
            }
            Obj::Subscription(z) => {
                let v = self.view(*z);
                match field {
                    "isActive" => leaf(v.expired_since.is_none()),
                    "state" => leaf(if v.expired_since.is_some() { "EXPIRED" } else { "ACTIVE" }),
                    "activeUntil" => Ok(text(rfc3339(v.expired_since.unwrap_or(self.sh.fleet.zones[*z].active_until)))),
                    _ => Ok(Resolved::Null),
                }
            }
            Obj::StatusCount(state, total) => match field {
                "status" => leaf(*state),
                "total" => leaf(*total),
                _ => Ok(Resolved::Null),
            },
            Obj::QueryInfo => match field {
                "complexity" => leaf(self.cost),
                _ => Ok(Resolved::Null),
            },
            Obj::Connection(c) => match field {
                "total" | "totalCount" => leaf(c.total),
                "edges" => {
                    Ok(Resolved::List((0..c.nodes.len()).map(|i| Resolved::Obj(Obj::Edge(c.clone(), i))).collect()))
                }
                "pageInfo" => obj(Obj::PageInfo(c.clone())),
                _ => Ok(Resolved::Null),
            },
            Obj::Edge(c, i) => match field {
                "cursor" => leaf(ids::cursor(c.start + i)),
                "node" => obj(c.nodes[*i].clone()),
                _ => Ok(Resolved::Null),
            },
            Obj::PageInfo(c) => {
                let (first, last) = (c.start, c.start + c.nodes.len());
                let cursor = |at: usize| if c.nodes.is_empty() { text(Json::Null) } else { text(ids::cursor(at)) };
                match field {
                    "hasNextPage" => leaf(c.has_next),
                    "hasPreviousPage" => leaf(c.has_prev),
                    "startCursor" => Ok(cursor(first)),
                    "endCursor" => Ok(cursor(last.saturating_sub(1))),
                    _ => Ok(Resolved::Null),
                }
            }
            Obj::Payload(p) => {
                Ok(p.fields.iter().find(|(n, _)| *n == field).map_or(Resolved::Null, |(_, v)| v.clone()))
            }
        }
    }

    fn query(&mut self, field: &str, args: &Map<String, Json>) -> Outcome {
        let id = |name: &str| args.get(name).and_then(Json::as_str).unwrap_or_default().to_owned();
        match field {
            "me" => match self.principal {
                Principal::ApiClient => obj(Obj::ApiClient),
                Principal::User(u) => obj(Obj::User(u)),
                Principal::Anonymous => Ok(Resolved::Null),
            },
            "account" => obj(Obj::Account(self.account_by_id(&id("id"))?)),
            "location" => obj(Obj::Location(self.location_by_id(&id("id"))?)),
            "soundZone" => obj(Obj::Zone(self.zone_by_id(&id("id"))?)),
            "nowPlaying" => {
                let z = self.zone_by_id(&id("soundZone"))?;
                Ok(if self.view(z).heard_at.is_some() { Resolved::Obj(Obj::NowPlaying(z)) } else { Resolved::Null })
            }
            "playlist" => match self.sh.fleet.lookup(&id("id")) {
                Some(Entity::Playlist(p)) => obj(Obj::Playlist(p)),
                _ => Err(FieldError::not_found()),
            },
            "queryInfo" => obj(Obj::QueryInfo),
            _ => Ok(Resolved::Null),
        }
    }

    fn visible(&self, account: usize) -> Result<(), FieldError> {
        if self.sh.creds.can_see(self.principal, account) { Ok(()) } else { Err(FieldError::forbidden()) }
    }

    fn account_by_id(&self, id: &str) -> Result<usize, FieldError> {
        match self.sh.fleet.lookup(id) {
            Some(Entity::Account(a)) => self.visible(a).map(|()| a),
            _ => Err(FieldError::not_found()),
        }
    }

    fn location_by_id(&self, id: &str) -> Result<usize, FieldError> {
        match self.sh.fleet.lookup(id) {
            Some(Entity::Location(l)) => self.visible(self.sh.fleet.locations[l].account).map(|()| l),
            _ => Err(FieldError::not_found()),
        }
    }

    fn zone_by_id(&self, id: &str) -> Result<usize, FieldError> {
        match self.sh.fleet.lookup(id) {
            Some(Entity::Zone(z)) => self.visible(self.sh.fleet.zones[z].account).map(|()| z),
            _ => Err(FieldError::not_found()),
        }
    }

    fn connection(&self, items: Vec<Obj>, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
        let type_name = def.ty.named().to_owned();
        let edge_type = self.sh.schema.field(&type_name, "edges").map(|f| f.ty.named().to_owned()).unwrap_or_default();
        let bad = |message: String| FieldError::new(&message, "BAD_USER_INPUT");
        let cursor = |name: &str| -> Result<Option<usize>, FieldError> {
            match args.get(name) {
                None | Some(Json::Null) => Ok(None),
                Some(v) => v
                    .as_str()
                    .and_then(ids::parse_cursor)
                    .map(Some)
                    .ok_or_else(|| bad(format!("Invalid cursor {v} for `{name}`"))),
            }
        };
        let count = |name: &str| -> Result<Option<usize>, FieldError> {
            match args.get(name) {
                None | Some(Json::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| bad(format!("`{name}` must be a non-negative integer, got {v}"))),
            }
        };
        let total = items.len();
        let mut start = cursor("after")?.map_or(0, |a| a.saturating_add(1)).min(total);
        let mut end = cursor("before")?.map_or(total, |b| b.min(total)).max(start);
        if let Some(first) = count("first")? {
            end = end.min(start.saturating_add(first));
        }
        if let Some(last) = count("last")? {
            start = start.max(end.saturating_sub(last));
        }
        let nodes = items.into_iter().skip(start).take(end - start).collect();
        obj(Obj::Connection(Rc::new(Conn {
            type_name,
            edge_type,
            total,
            start,
            nodes,
            has_next: end < total,
            has_prev: start > 0,
        })))
    }

    fn accounts(&self, mut accounts: Vec<usize>, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
        let fleet = &self.sh.fleet;
        accounts.sort_by(|a, b| fleet.accounts[*a].business_name.cmp(&fleet.accounts[*b].business_name));
        if descending(args) {
            accounts.reverse();
        }
        self.connection(accounts.into_iter().map(Obj::Account).collect(), args, def)
    }

    fn user(&mut self, u: usize, field: &str, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
        let Some(user) = self.sh.creds.users.get(u) else {
            return Ok(Resolved::Null);
        };
        match field {
            "id" => leaf(user.id.clone()),
            "name" => leaf(user.name.clone()),
            "email" => leaf(user.email.clone()),
            "accounts" => self.accounts(user.accounts.clone(), args, def),
            _ => Ok(Resolved::Null),
        }
    }

    fn account(&mut self, a: usize, field: &str, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
        self.touched.insert(a);
        let sh = self.sh;
        let fleet = &sh.fleet;
        let account = &fleet.accounts[a];
        match field {
            "id" => leaf(account.id.clone()),
            "businessName" => leaf(account.business_name.clone()),
            "businessType" => leaf(account.business_type),
            "country" => leaf(account.city.country),
            "createdAt" => Ok(text(rfc3339(account.created_at))),
            "locations" => {
                let mut locations = account.locations.clone();
                locations.sort_by(|x, y| fleet.locations[*x].name.cmp(&fleet.locations[*y].name));
                if descending(args) {
                    locations.reverse();
                }
                self.connection(locations.into_iter().map(Obj::Location).collect(), args, def)
            }
            "soundZones" => self.account_zones(a, args, def),
            "soundZoneStatuses" => {
                let mut counts = ["OK", "ERROR", "INCOMPLETE", "NOT_SETUP", "UNKNOWN"].map(|s| (s, 0usize));
                for &z in &account.zones {
                    let state = self.view(z).status_state;
                    if let Some(c) = counts.iter_mut().find(|c| c.0 == state) {
                        c.1 += 1;
                    }
                }
                Ok(Resolved::List(
                    counts
                        .into_iter()
                        .filter(|(_, n)| *n > 0)
                        .map(|(s, n)| Resolved::Obj(Obj::StatusCount(s, n)))
                        .collect(),
                ))
            }
            _ => Ok(Resolved::Null),
        }
    }

    fn account_zones(&self, a: usize, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
        let fleet = &self.sh.fleet;
        let mut filters: Vec<&Map<String, Json>> = Vec::new();
        if let Some(Json::Object(f)) = args.get("filter") {
            filters.push(f);
        }
        if let Some(Json::Array(list)) = args.get("filters") {
            filters.extend(list.iter().filter_map(Json::as_object));
        }
        let mut rows: Vec<(usize, ZoneView)> = fleet.accounts[a]
            .zones
            .iter()
            .map(|&z| (z, self.view(z)))
            .filter(|(z, v)| filters.iter().all(|f| self.matches(*z, v, f)))
            .collect();
        let mut order: Vec<(String, bool)> = match args.get("orderBy") {
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(|o| {
                    let field = o.get("field")?.as_str()?.to_owned();
                    Some((field, o.get("direction").and_then(Json::as_str) == Some("DESC")))
                })
                .collect(),
            _ => Vec::new(),
        };
        if order.is_empty() {
            order = vec![("LOCATION_NAME".to_owned(), false), ("NAME".to_owned(), false)];
        }
        rows.sort_by(|(x, vx), (y, vy)| {
            let (zx, zy) = (&fleet.zones[*x], &fleet.zones[*y]);
            for (field, desc) in &order {
                let ord = match field.as_str() {
                    "NAME" => zx.name.cmp(&zy.name),
                    "LOCATION_NAME" => fleet.locations[zx.location].name.cmp(&fleet.locations[zy.location].name),
                    "IS_PAIRED" => vx.paired.cmp(&vy.paired),
                    "PLATFORM" => zx.device.platform.cmp(zy.device.platform),
                    _ => Ordering::Equal,
                };
                let ord = if *desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            x.cmp(y)
        });
        self.connection(rows.into_iter().map(|(z, _)| Obj::Zone(z)).collect(), args, def)
    }

    fn matches(&self, z: usize, v: &ZoneView, filter: &Map<String, Json>) -> bool {
        let zone = &self.sh.fleet.zones[z];
        let country = self.sh.fleet.accounts[zone.account].city.country;
        let flag =
            |name: &str, actual: bool| filter.get(name).and_then(Json::as_bool).is_none_or(|want| want == actual);
        let exact = |a: &str, b: &str| a == b;
        let subscription = if v.expired_since.is_some() { "EXPIRED" } else { "ACTIVE" };
        flag("online", v.online)
            && flag("isPaired", v.paired)
            && flag("hasErrors", v.status_state != "OK")
            && filter_ok(filter.get("status"), v.status_state, exact)
            && filter_ok(filter.get("statusCode"), v.code, exact)
            && filter_ok(filter.get("subscription"), subscription, exact)
            && filter_ok(filter.get("country"), country, exact)
            && filter_ok(filter.get("devicePlatform"), zone.device.platform, |a, b| a.eq_ignore_ascii_case(b))
            && filter_ok(filter.get("query"), &zone.name, |q, name| name.to_lowercase().contains(&q.to_lowercase()))
    }

    fn location(&mut self, l: usize, field: &str, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
        let sh = self.sh;
        let fleet = &sh.fleet;
        let location = &fleet.locations[l];
        let city = fleet.accounts[location.account].city;
        self.touched.insert(location.account);
        match field {
            "id" => leaf(location.id.clone()),
            "name" => leaf(location.name.clone()),
            "countryName" => leaf(city.country_name),
            "timezone" => leaf(city.timezone),
            "account" => obj(Obj::Account(location.account)),
            "soundZones" => {
                let mut zones = location.zones.clone();
                zones.sort_by(|x, y| fleet.zones[*x].name.cmp(&fleet.zones[*y].name));
                if descending(args) {
                    zones.reverse();
                }
                self.connection(zones.into_iter().map(Obj::Zone).collect(), args, def)
            }
            _ => Ok(Resolved::Null),
        }
    }

    fn zone(&mut self, z: usize, field: &str) -> Outcome {
        let sh = self.sh;
        let zone = &sh.fleet.zones[z];
        self.touched.insert(zone.account);
        match field {
            "id" => leaf(zone.id.clone()),
            "name" => leaf(zone.name.clone()),
            "shortId" => leaf(zone.short_id.clone()),
            "account" => obj(Obj::Account(zone.account)),
            "location" => obj(Obj::Location(zone.location)),
            "online" => leaf(self.view(z).online),
            "isPaired" => leaf(self.view(z).paired),
            "device" => Ok(if self.view(z).paired { Resolved::Obj(Obj::Device(z)) } else { Resolved::Null }),
            "devicePlatform" => leaf(if self.view(z).paired { zone.device.platform } else { "" }),
            "playFrom" => obj(Obj::Playlist(self.st.zones[z].source)),
            "playback" => obj(Obj::Playback(z)),
            "nowPlaying" => {
                Ok(if self.view(z).heard_at.is_some() { Resolved::Obj(Obj::NowPlaying(z)) } else { Resolved::Null })
            }
            "status" => obj(Obj::Status(z)),
            "subscription" => obj(Obj::Subscription(z)),
            "streamingType" => leaf(zone.streaming_type),
            "entitlements" => Ok(Resolved::List(vec![text("OFFLINE_PLAYBACK")])),
            _ => Ok(Resolved::Null),
        }
    }

    fn device(&self, z: usize, field: &str) -> Outcome {
        let zone = &self.sh.fleet.zones[z];
        let device = &zone.device;
        match field {
            "id" => leaf(device.id.clone()),
            "name" => leaf(device.name.clone()),
            "type" => leaf(device.kind),
            "label" => leaf(format!("{} ({})", device.platform, zone.name)),
            "platform" => leaf(device.platform),
            "softwareVersion" => leaf(device.software_version.clone()),
            "osVersion" => leaf(device.os_version),
            "hardwareId" => leaf(device.hardware_id.clone()),
            "isPairing" => leaf(false),
            "capabilities" => Ok(Resolved::List(
                ["CROSSFADE", "DISKCACHE", "ONLINE_MONITORING", "PLAYBACK_CONTROL", "VOLUME"].map(text).to_vec(),
            )),
            "playback" => obj(Obj::Playback(z)),
            "soundZone" => obj(Obj::Zone(z)),
            _ => Ok(Resolved::Null),
        }
    }

    fn playback(&self, z: usize, field: &str) -> Outcome {
        let zone = &self.sh.fleet.zones[z];
        match field {
            "id" => leaf(ids::simple("Playback", &zone.raw)),
            "soundZone" => leaf(zone.id.clone()),
            "state" => leaf(self.view(z).state),
            "volume" => leaf(self.view(z).volume),
            "playFrom" => obj(Obj::Playlist(self.st.zones[z].source)),
            "playbackMode" => leaf("AUTO"),
            "availablePlaybackOrders" => Ok(Resolved::List(["AUTO", "LINEAR", "SHUFFLE"].map(text).to_vec())),
            _ => Ok(Resolved::Null),
        }
    }

    fn now_playing(&self, z: usize, field: &str) -> Outcome {
        let Some(heard_at) = self.view(z).heard_at else {
            return Ok(Resolved::Null);
        };
        let state = &self.st.zones[z];
        let (track, started) = self.sh.fleet.playlists[state.source].playing_at(state.epoch, heard_at);
        match field {
            "soundZone" => leaf(self.sh.fleet.zones[z].id.clone()),
            "startedAt" => Ok(text(rfc3339(started.replace_nanosecond(0).unwrap_or(started)))),
            "playFrom" => obj(Obj::Playlist(state.source)),
            "track" => obj(Obj::Track(state.source, track)),
            _ => Ok(Resolved::Null),
        }
    }

    fn track(&self, p: usize, t: usize, field: &str) -> Outcome {
        let track = &self.sh.fleet.playlists[p].tracks[t];
        match field {
            "id" => leaf(track.id.clone()),
            "title" | "name" => leaf(track.title.clone()),
            "durationMs" => leaf(track.duration_ms),
            "explicit" => leaf(false),
            "isrc" => leaf(track.isrc.clone()),
            "album" => obj(Obj::Album(p, t)),
            "artists" => Ok(Resolved::List(vec![Resolved::Obj(Obj::Artist(p, t))])),
            _ => Ok(Resolved::Null),
        }
    }

    fn playlist(&self, p: usize, field: &str) -> Outcome {
        let playlist = &self.sh.fleet.playlists[p];
        let published = OffsetDateTime::UNIX_EPOCH + time::Duration::days(19_800);
        match field {
            "id" => leaf(playlist.id.clone()),
            "name" => leaf(playlist.name),
            "shortDescription" | "description" => leaf(playlist.description),
            "presentAs" => leaf("playlist"),
            "composerType" => leaf("manual"),
            "createdAt" | "updatedAt" => Ok(text(rfc3339(published))),
            "snapshot" => leaf(ids::simple("Snapshot", &format!("{p}-1"))),
            "inMusicLibrary" => leaf(true),
            _ => Ok(Resolved::Null),
        }
    }

    fn mutation(&mut self, field: &str, args: &Map<String, Json>) -> Outcome {
        let input = args.get("input").and_then(Json::as_object).cloned().unwrap_or_default();
        let mutation_id = input.get("clientMutationId").cloned().map_or(Resolved::Null, Resolved::Leaf);
        let zone_arg = input.get("soundZone").and_then(Json::as_str).unwrap_or_default().to_owned();
        let now = self.now;
        match field {
            "loginUser" => self.login(&input, mutation_id),
            "refreshLogin" => self.refresh(&input, mutation_id),
            "setVolume" => {
                let volume = input
                    .get("volume")
                    .and_then(Json::as_i64)
                    .and_then(|v| u8::try_from(v).ok())
                    .filter(|v| *v <= 16)
                    .ok_or_else(|| FieldError::validation("volume", "must be between 0 and 16"))?;
                let z = self.controlled_zone(&zone_arg)?;
                self.st.zones[z].volume = volume;
                if volume > 0 {
                    self.fix(z, &FaultKind::Muted);
                }
                payload(
                    "SetVolumePayload",
                    vec![
                        ("volume", text(volume)),
                        ("soundZone", text(self.sh.fleet.zones[z].id.clone())),
                        ("status", text("OK")),
                        ("clientMutationId", mutation_id),
                    ],
                )
            }
            "play" | "pause" | "skipTrack" | "skipTracks" => {
                let z = self.controlled_zone(&zone_arg)?;
                let type_name = match field {
                    "play" => {
                        self.st.zones[z].play(now);
                        self.fix(z, &FaultKind::Paused);
                        "PlayPayload"
                    }
                    "pause" => {
                        self.st.zones[z].pause(now);
                        "PausePayload"
                    }
                    _ => {
                        let n = input.get("tracksToSkip").and_then(Json::as_u64).unwrap_or(1).max(1);
                        let heard_at = self.view(z).heard_at.unwrap_or(now);
                        let state = &mut self.st.zones[z];
                        let playlist = &self.sh.fleet.playlists[state.source];
                        state.skip(playlist, usize::try_from(n).unwrap_or(1), heard_at, now);
                        "SkipTrackPayload"
                    }
                };
                payload(
                    type_name,
                    vec![
                        ("status", text("OK")),
                        ("soundZone", text(self.sh.fleet.zones[z].id.clone())),
                        ("clientMutationId", mutation_id),
                    ],
                )
            }
            "setPlayFrom" => {
                let source = self.source(&input)?;
                let z = self.controlled_zone(&zone_arg)?;
                self.st.zones[z].assign(source, now);
                payload(
                    "SetPlayFromPayload",
                    vec![("playFrom", Resolved::Obj(Obj::Playlist(source))), ("clientMutationId", mutation_id)],
                )
            }
            "soundZoneAssignSource" => {
                let source = self.source(&input)?;
                let requested: Vec<&str> = match input.get("soundZones") {
                    Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
                    _ => Vec::new(),
                };
                let zones = requested.iter().map(|id| self.controlled_zone(id)).collect::<Result<Vec<_>, _>>()?;
                for &z in &zones {
                    self.st.zones[z].assign(source, now);
                }
                let ids = zones.iter().map(|&z| text(self.sh.fleet.zones[z].id.clone())).collect();
                payload(
                    "SoundZoneAssignSourcePayload",
                    vec![("soundZones", Resolved::List(ids)), ("source", Resolved::Obj(Obj::Playlist(source)))],
                )
            }
            _ => Ok(Resolved::Null),
        }
    }

    /// A zone the caller may see and whose player is reachable; offline and unpaired players
    /// answer `NOT_FOUND`, as on the live API.
    fn controlled_zone(&mut self, id: &str) -> Result<usize, FieldError> {
        let z = self.zone_by_id(id)?;
        self.touched.insert(self.sh.fleet.zones[z].account);
        if self.view(z).controllable { Ok(z) } else { Err(FieldError::not_found()) }
    }

    fn source(&self, input: &Map<String, Json>) -> Result<usize, FieldError> {
        let id = input.get("source").and_then(Json::as_str).unwrap_or_default();
        match ids::kind_of(id) {
            Some((kind, _)) if matches!(kind.as_str(), "Playlist" | "Schedule" | "Soundtrack") => {}
            _ => return Err(FieldError::validation("source", "invalid id format")),
        }
        match self.sh.fleet.lookup(id) {
            Some(Entity::Playlist(p)) => Ok(p),
            _ => Err(FieldError::not_found()),
        }
    }

    fn fix(&mut self, z: usize, kind: &FaultKind) {
        let account = self.sh.fleet.zones[z].account;
        self.st.faults.fix(z, account, kind, self.now);
    }

    fn login(&mut self, input: &Map<String, Json>, mutation_id: Resolved) -> Outcome {
        let field = |name: &str| input.get(name).and_then(Json::as_str).unwrap_or_default();
        let users = &self.sh.creds.users;
        let Some(u) =
            users.iter().position(|u| u.email.eq_ignore_ascii_case(field("email")) && u.password == field("password"))
        else {
            return Err(FieldError::new("Invalid email or password", "UNAUTHENTICATED"));
        };
        let issued = self.st.sessions.issue(u, self.now);
        payload(
            "LoginUserPayload",
            vec![
                ("token", text(issued.token)),
                ("refreshToken", text(issued.refresh_token)),
                ("expiresAt", text(rfc3339(issued.expires_at))),
                ("userId", text(users[u].id.clone())),
                ("clientMutationId", mutation_id),
            ],
        )
    }

    fn refresh(&mut self, input: &Map<String, Json>, mutation_id: Resolved) -> Outcome {
        let token = input.get("refreshToken").and_then(Json::as_str).unwrap_or_default();
        let Some(issued) = self.st.sessions.rotate(token, self.now) else {
            return Err(FieldError::new("Invalid refresh token", "UNAUTHENTICATED"));
        };
        payload(
            "RefreshLoginPayload",
            vec![
                ("token", text(issued.token)),
                ("refreshToken", text(issued.refresh_token)),
                ("expiresAt", text(rfc3339(issued.expires_at))),
                ("clientMutationId", mutation_id),
            ],
        )
    }
}
