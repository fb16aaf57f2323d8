//! The mutations staff use (volume, play, pause, skips, source changes) with the live API's
//! refusals, and the user sign-in pair `loginUser` / `refreshLogin`.

use super::super::faults::FaultKind;
use super::super::fleet::Entity;
use super::super::ids;
use super::{Ctx, FieldError, Obj, Outcome, Resolved, payload, rfc3339, text};
use serde_json::{Map, Value as Json};

impl Ctx<'_, '_> {
    pub(super) fn mutation(&mut self, field: &str, args: &Map<String, Json>) -> Outcome {
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
    pub(super) fn controlled_zone(&mut self, id: &str) -> Result<usize, FieldError> {
        let z = self.zone_by_id(id)?;
        self.touched.insert(self.sh.fleet.zones[z].account);
        if self.view(z).controllable { Ok(z) } else { Err(FieldError::not_found()) }
    }

    pub(super) fn source(&self, input: &Map<String, Json>) -> Result<usize, FieldError> {
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

    pub(super) fn fix(&mut self, z: usize, kind: &FaultKind) {
        let account = self.sh.fleet.zones[z].account;
        self.st.faults.fix(z, account, kind, self.now);
    }

    pub(super) fn login(&mut self, input: &Map<String, Json>, mutation_id: Resolved) -> Outcome {
        let field = |name: &str| input.get(name).and_then(Json::as_str).unwrap_or_default();
        let users = &self.sh.creds.users;
        let Some(u) =
            users.iter().position(|u| u.email.eq_ignore_ascii_case(field("email")) && u.password == field("password"))
        else {
            return Err(FieldError::new("Invalid email or password", "UNAUTHENTICATED"));
        };
        let issued = self.st.sessions.issue(u, self.now);
        self.st.counts.logins += 1;
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

    pub(super) fn refresh(&mut self, input: &Map<String, Json>, mutation_id: Resolved) -> Outcome {
        let token = input.get("refreshToken").and_then(Json::as_str).unwrap_or_default();
        let Some(issued) = self.st.sessions.rotate(token, self.now) else {
            return Err(FieldError::new("Invalid refresh token", "UNAUTHENTICATED"));
        };
        self.st.counts.refreshes += 1;
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
