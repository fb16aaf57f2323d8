//! A sound zone and what hangs off it: its device, playback, now playing, tracks and playlists,
//! all read through the zone's view (its state with the active faults laid over it).

use super::super::ids;
use super::{Ctx, Obj, Outcome, Resolved, leaf, obj, rfc3339, text};
use time::OffsetDateTime;

impl Ctx<'_, '_> {
    pub(super) fn zone(&mut self, z: usize, field: &str) -> Outcome {
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

    pub(super) fn device(&self, z: usize, field: &str) -> Outcome {
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

    pub(super) fn playback(&self, z: usize, field: &str) -> Outcome {
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

    pub(super) fn now_playing(&self, z: usize, field: &str) -> Outcome {
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

    pub(super) fn track(&self, p: usize, t: usize, field: &str) -> Outcome {
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

    pub(super) fn playlist(&self, p: usize, field: &str) -> Outcome {
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
}
