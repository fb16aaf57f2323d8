//! Remote control of a zone's player and on-demand checks, through the Soundtrack client. The
//! one path for every caller — the API, the bot's rules and the LLM's tools: the same permission
//! rule, the same answer for an offline player, and an audit entry naming who acted.

use super::Actor;
use crate::{AppContext, Error, Result};
use bma_domain::monitoring::observation::{Observation, classify};
use bma_domain::music::Volume;
use bma_integrations::soundtrack::{SoundtrackClient, SoundtrackError, ZoneSnapshot};
use bma_store::venues::{self as store, Zone};
use serde::Serialize;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub enum Action {
    Volume(Volume),
    /// Up (positive) or down from the volume the player reports now, within 0–16.
    VolumeBy(i8),
    Play,
    Pause,
    Skip,
    /// A playlist or schedule id in Soundtrack.
    Source(String),
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::Volume(_) | Action::VolumeBy(_) => "volume",
            Action::Play => "play",
            Action::Pause => "pause",
            Action::Skip => "skip",
            Action::Source(_) => "playlist",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ControlResult {
    pub zone_id: Uuid,
    pub action: &'static str,
    /// The volume Soundtrack reports after a volume change.
    pub volume: Option<u8>,
    /// The volume before a relative change (up or down a step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_volume: Option<u8>,
    pub message: String,
}

/// The error code of a player Soundtrack cannot reach.
pub const PLAYER_OFFLINE: &str = "player_offline";

/// Whether `e` says the player is offline, which every caller reports plainly.
pub fn is_offline(e: &Error) -> bool {
    matches!(e, Error::Conflict { code: PLAYER_OFFLINE, .. })
}

fn client(ctx: &AppContext) -> Result<Arc<SoundtrackClient>> {
    ctx.soundtrack.clone().ok_or_else(|| Error::Unavailable {
        code: "soundtrack_not_configured",
        message: "Soundtrack is not configured (set SOUNDTRACK_CLIENT_ID and SOUNDTRACK_CLIENT_SECRET)".into(),
    })
}

/// The permission rule. A person's role is checked by the API route (`MonitoringControl`); the
/// bot acts only for a staff contact of the zone's own venue.
async fn authorize(ctx: &AppContext, actor: &Actor, zone: &Zone) -> Result<()> {
    match actor.bot_for {
        Some(contact) if !bma_store::bot::is_staff_of(&ctx.db, contact, zone.venue_id).await? => {
            Err(Error::Forbidden("the bot changes the music only for a staff contact of the zone's venue".into()))
        }
        _ => Ok(()),
    }
}

/// The zone (404 when there is none, whatever else is missing), checked for `actor`, with the
/// client and its Soundtrack id.
async fn linked_zone(ctx: &AppContext, actor: &Actor, zone_id: Uuid) -> Result<(Zone, Arc<SoundtrackClient>, String)> {
    let zone = store::find_zone(&ctx.db, zone_id).await?.ok_or(Error::NotFound("zone"))?;
    authorize(ctx, actor, &zone).await?;
    let client = client(ctx)?;
    let Some(sid) = zone.soundtrack_device_id.clone() else {
        return Err(Error::conflict("zone_not_linked", format!("{} has no Soundtrack zone id yet", zone.name)));
    };
    Ok((zone, client, sid))
}

fn offline(zone: &Zone) -> Error {
    Error::conflict(
        PLAYER_OFFLINE,
        format!("The player in {} is offline, so Soundtrack cannot reach it. Check its power and network.", zone.name),
    )
}

fn map_error(zone: &Zone, e: SoundtrackError) -> Error {
    match e {
        SoundtrackError::NotFound(_) => offline(zone),
        SoundtrackError::BadInput(m) => Error::Invalid(bma_domain::Invalid::one("value", m)),
        SoundtrackError::Forbidden(m) => {
            Error::conflict("soundtrack_forbidden", format!("Soundtrack refused access to this zone: {m}"))
        }
        other => Error::Unavailable {
            code: "soundtrack_unavailable",
            message: format!("Soundtrack did not answer: {other}"),
        },
    }
}

/// What the player is doing now (for the bot's answers); nothing is recorded. An offline player
/// is an answer here, not an error, unless Soundtrack cannot find it at all.
pub async fn status(ctx: &AppContext, actor: &Actor, zone_id: Uuid) -> Result<ZoneSnapshot> {
    let (zone, client, sid) = linked_zone(ctx, actor, zone_id).await?;
    client.zone(&sid).await.map_err(|e| map_error(&zone, e))
}

pub async fn control(ctx: &AppContext, actor: &Actor, zone_id: Uuid, action: Action) -> Result<ControlResult> {
    let (zone, client, sid) = linked_zone(ctx, actor, zone_id).await?;
    let mut previous_volume = None;
    let result = match &action {
        Action::Volume(v) => client.set_volume(&sid, *v).await.map(Some),
        Action::VolumeBy(step) => {
            let now = client.zone(&sid).await.map_err(|e| map_error(&zone, e))?;
            if !now.online {
                return Err(offline(&zone));
            }
            let from = now.volume.unwrap_or(Volume::MAX / 2);
            previous_volume = Some(from);
            let to = Volume::new((i64::from(from) + i64::from(*step)).clamp(0, i64::from(Volume::MAX)))?;
            client.set_volume(&sid, to).await.map(Some)
        }
        Action::Play => client.play(&sid).await.map(|()| None),
        Action::Pause => client.pause(&sid).await.map(|()| None),
        Action::Skip => client.skip(&sid).await.map(|()| None),
        Action::Source(source) => client.assign_source(&sid, source).await.map(|()| None),
    };
    // Soundtrack refusing the input names the field the input came from.
    let field = match &action {
        Action::Source(_) => "source_id",
        Action::Volume(_) | Action::VolumeBy(_) => "volume",
        Action::Play | Action::Pause | Action::Skip => "action",
    };
    let volume = result.map_err(|e| match e {
        SoundtrackError::BadInput(m) => Error::Invalid(bma_domain::Invalid::one(field, m)),
        e => map_error(&zone, e),
    })?;
    let message = match (&action, volume) {
        (Action::Volume(_) | Action::VolumeBy(_), Some(v)) => format!("{} volume is now {v} of 16", zone.name),
        (Action::Play, _) => format!("{} is playing", zone.name),
        (Action::Pause, _) => format!("{} is paused", zone.name),
        (Action::Skip, _) => format!("Skipped to the next track in {}", zone.name),
        (Action::Source(_), _) => format!("{} is switching to the new music", zone.name),
        (Action::Volume(_) | Action::VolumeBy(_), _) => format!("{} volume changed", zone.name),
    };
    let result = ControlResult { zone_id, action: action.name(), volume, previous_volume, message };
    let source = match &action {
        Action::Source(s) => Some(s.clone()),
        _ => None,
    };
    let after = serde_json::json!({"action": action.name(), "volume": volume, "previous_volume": previous_volume, "source": source});
    bma_store::audit::record(&ctx.db, actor.audit("zone.control", "zone", zone_id, None, Some(after))).await?;
    Ok(result)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    pub zone_id: Uuid,
    pub observation: Observation,
    pub response_time_ms: i32,
    /// What Soundtrack said, field by field.
    #[serde(flatten)]
    pub soundtrack: ZoneSnapshot,
}

pub fn observe(s: &ZoneSnapshot) -> Observation {
    classify(
        s.online,
        s.is_paired,
        s.playback_state.as_deref(),
        s.volume,
        s.subscription_state.as_deref(),
        s.status_code.as_deref(),
    )
}

/// Checks one zone now, records the sample, and returns what Soundtrack said.
pub async fn check(ctx: &AppContext, actor: &Actor, zone_id: Uuid) -> Result<CheckResult> {
    let (zone, client, sid) = linked_zone(ctx, actor, zone_id).await?;
    let started = std::time::Instant::now();
    let answer = client.zone(&sid).await;
    let ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let checked_at = time::OffsetDateTime::now_utc();
    let (observation, error) = match &answer {
        Ok(s) => (observe(s), None),
        Err(e) => (Observation::Unknown, Some(e.to_string())),
    };
    bma_store::monitoring::record_sample(&ctx.db, zone_id, observation.as_str(), ms, error.as_deref(), checked_at)
        .await?;
    let s = answer.map_err(|e| map_error(&zone, e))?;
    Ok(CheckResult { zone_id, observation, response_time_ms: ms, soundtrack: s })
}

/// Resolves an alert by hand (the monitor resolves it too when the zone recovers).
pub async fn resolve_alert(ctx: &AppContext, actor: &Actor, id: Uuid) -> Result<bma_store::monitoring::Alert> {
    let mut tx = ctx.db.begin().await?;
    let before = bma_store::monitoring::find_alert(&mut *tx, id).await?.ok_or(Error::NotFound("alert"))?;
    let member = actor.member_id.ok_or_else(|| Error::Forbidden("sign in first".into()))?;
    if bma_store::monitoring::resolve_alert_by(&mut *tx, id, member).await?.is_none() {
        return Err(Error::conflict("alert_already_resolved", "the alert is already resolved"));
    }
    let after = bma_store::monitoring::find_alert(&mut *tx, id).await?.ok_or(Error::NotFound("alert"))?;
    bma_store::audit::record(
        &mut *tx,
        actor.audit(
            "alert.resolve",
            "alert",
            id,
            serde_json::to_value(&before).ok(),
            serde_json::to_value(&after).ok(),
        ),
    )
    .await?;
    tx.commit().await?;
    crate::cache::bump_after_write(ctx, &[crate::cache::ALERTS]).await;
    crate::events::publish(ctx, &serde_json::json!({"type": "alert.resolved", "id": id})).await;
    Ok(after)
}

/// A maintenance window (or a silence) for a venue or a zone: no alerts while it lasts.
pub async fn add_maintenance(
    ctx: &AppContext,
    actor: &Actor,
    venue_id: Option<Uuid>,
    zone_id: Option<Uuid>,
    starts_at: time::OffsetDateTime,
    ends_at: time::OffsetDateTime,
    reason: &str,
) -> Result<Uuid> {
    let mut inv = bma_domain::Invalid::default();
    if venue_id.is_none() && zone_id.is_none() {
        inv.push("venue_id", "give a venue_id or a zone_id");
    }
    if ends_at <= starts_at {
        inv.push("ends_at", "must be after starts_at");
    }
    if ends_at - starts_at > time::Duration::days(31) {
        inv.push("ends_at", "a window lasts at most 31 days");
    }
    inv.into_result()?;
    let mut tx = ctx.db.begin().await?;
    if let Some(v) = venue_id {
        store::find(&mut *tx, v).await?.ok_or(Error::NotFound("venue"))?;
    }
    if let Some(z) = zone_id {
        store::find_zone(&mut *tx, z).await?.ok_or(Error::NotFound("zone"))?;
    }
    let id = bma_store::monitoring::add_maintenance(
        &mut *tx,
        venue_id,
        zone_id,
        starts_at,
        ends_at,
        reason,
        actor.member_id,
    )
    .await?;
    let after = serde_json::json!({"venue_id": venue_id, "zone_id": zone_id, "starts_at": starts_at.unix_timestamp(), "ends_at": ends_at.unix_timestamp(), "reason": reason});
    bma_store::audit::record(&mut *tx, actor.audit("maintenance.create", "maintenance_window", id, None, Some(after)))
        .await?;
    tx.commit().await?;
    crate::cache::bump(ctx, crate::cache::UPTIME).await?;
    Ok(id)
}
