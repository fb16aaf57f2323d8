//! Runs a validated operation: fields are collected per run-time type (aliases, inline and named
//! fragments, `@skip`/`@include`), each object type has a resolver over the fleet, and a field
//! that fails becomes `null` at its path plus an entry in `errors[]`, as GraphQL servers answer.
//! The resolvers live by subject: [`reads`] (root queries, connections, accounts), [`zone`] (a
//! zone and what hangs off it) and [`mutations`].

mod mutations;
mod reads;
mod zone;

use super::auth::Principal;
use super::faults::{self, ZoneView};
use super::ids;
use super::schema::FieldDef;
use super::validate::{Fragments, OpKind, Operation, value_json};
use super::{Shared, State};
use graphql_parser::Pos;
use graphql_parser::query::{Directive, Field, Selection, SelectionSet, TypeCondition};
use serde_json::{Map, Value as Json, json};
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
}
