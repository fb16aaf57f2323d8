//! The read side of the graph: the root queries, lookups by id (with the caller's visibility),
//! Relay connections, and the accounts, users and locations they page over.

use super::super::auth::Principal;
use super::super::faults::ZoneView;
use super::super::fleet::Entity;
use super::super::ids;
use super::super::schema::FieldDef;
use super::{Conn, Ctx, FieldError, Obj, Outcome, Resolved, descending, filter_ok, leaf, obj, rfc3339, text};
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;
use std::rc::Rc;

impl Ctx<'_, '_> {
    pub(super) fn query(&mut self, field: &str, args: &Map<String, Json>) -> Outcome {
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

    pub(super) fn visible(&self, account: usize) -> Result<(), FieldError> {
        if self.sh.creds.can_see(self.principal, account) { Ok(()) } else { Err(FieldError::forbidden()) }
    }

    pub(super) fn account_by_id(&self, id: &str) -> Result<usize, FieldError> {
        match self.sh.fleet.lookup(id) {
            Some(Entity::Account(a)) => self.visible(a).map(|()| a),
            _ => Err(FieldError::not_found()),
        }
    }

    pub(super) fn location_by_id(&self, id: &str) -> Result<usize, FieldError> {
        match self.sh.fleet.lookup(id) {
            Some(Entity::Location(l)) => self.visible(self.sh.fleet.locations[l].account).map(|()| l),
            _ => Err(FieldError::not_found()),
        }
    }

    pub(super) fn zone_by_id(&self, id: &str) -> Result<usize, FieldError> {
        match self.sh.fleet.lookup(id) {
            Some(Entity::Zone(z)) => self.visible(self.sh.fleet.zones[z].account).map(|()| z),
            _ => Err(FieldError::not_found()),
        }
    }

    pub(super) fn connection(&self, items: Vec<Obj>, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
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

    pub(super) fn accounts(&self, mut accounts: Vec<usize>, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
        let fleet = &self.sh.fleet;
        accounts.sort_by(|a, b| fleet.accounts[*a].business_name.cmp(&fleet.accounts[*b].business_name));
        if descending(args) {
            accounts.reverse();
        }
        self.connection(accounts.into_iter().map(Obj::Account).collect(), args, def)
    }

    pub(super) fn user(&mut self, u: usize, field: &str, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
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

    pub(super) fn account(&mut self, a: usize, field: &str, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
        self.touched.insert(a);
        if self.st.failing_fields.iter().any(|(x, f)| *x == a && f == field) {
            return Err(FieldError::new("Internal server error", "INTERNAL_SERVER_ERROR"));
        }
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

    pub(super) fn account_zones(&self, a: usize, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
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

    pub(super) fn matches(&self, z: usize, v: &ZoneView, filter: &Map<String, Json>) -> bool {
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

    pub(super) fn location(&mut self, l: usize, field: &str, args: &Map<String, Json>, def: &FieldDef) -> Outcome {
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
}
