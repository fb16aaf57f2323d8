//! Venues, zones and contacts: create, change, and delete — or archive when history refers to
//! them, since alerts, conversations and scores must outlive the venue they concern.

use super::{Actor, snapshot};
use crate::{AppContext, Error, Result};
use bma_domain::contact::ContactDraft;
use bma_domain::venue::{VenueDraft, ZoneDraft};
use bma_store::audit;
use bma_store::venues::{self as store, Contact, OpeningHoursRow, Venue, Zone};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VenueDetail {
    #[serde(flatten)]
    pub venue: Venue,
    pub opening_hours: Vec<OpeningHoursRow>,
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeleteOutcome {
    /// Nothing referred to it; it is gone.
    Deleted,
    /// History refers to it; it is hidden from lists and no longer monitored, and kept.
    Archived,
}

pub(crate) fn fields(d: &VenueDraft) -> store::VenueFields {
    store::VenueFields {
        name: d.name.as_str().to_owned(),
        brand: d.brand.as_ref().map(|b| b.as_str().to_owned()),
        country: d.country.as_ref().map(|c| c.as_str().to_owned()),
        timezone: d.timezone.as_str().to_owned(),
        soundtrack_account_id: d.soundtrack_account_id.as_ref().map(|s| s.as_str().to_owned()),
    }
}

pub(crate) fn zone_fields(z: &ZoneDraft) -> store::ZoneFields {
    store::ZoneFields {
        name: z.name.as_str().to_owned(),
        zone_type: z.zone_type.as_str().to_owned(),
        soundtrack_device_id: z.soundtrack_zone_id.as_ref().map(|s| s.as_str().to_owned()),
    }
}

pub(crate) fn contact_fields(c: &ContactDraft) -> store::ContactFields {
    store::ContactFields {
        name: c.name.as_str().to_owned(),
        role: c.role.clone(),
        channel: c.channel,
        whatsapp_number: c.whatsapp_number.as_ref().map(|p| p.as_str().to_owned()),
        line_user_id: c.line_user_id.as_ref().map(|l| l.as_str().to_owned()),
        email: c.email.as_ref().map(|e| e.as_str().to_owned()),
        is_staff: c.is_staff,
    }
}

async fn ensure_time_zone(ctx: &AppContext, tz: &str) -> Result<()> {
    if store::is_known_time_zone(&ctx.db, tz).await? {
        Ok(())
    } else {
        Err(bma_domain::Invalid::one("timezone", format!("{tz:?} is not a known IANA time zone")).into())
    }
}

fn zone_conflict(e: sqlx::Error) -> Error {
    if bma_store::is_unique_violation(&e) {
        Error::conflict("soundtrack_zone_taken", "another zone already has this Soundtrack zone id")
    } else {
        e.into()
    }
}

pub async fn detail(ctx: &AppContext, id: Uuid) -> Result<VenueDetail> {
    let venue = store::find(&ctx.db, id).await?.ok_or(Error::NotFound("venue"))?;
    let opening_hours = store::opening_hours_of(&ctx.db, id).await?;
    let contacts = store::contacts_of(&ctx.db, id).await?;
    Ok(VenueDetail { venue, opening_hours, contacts })
}

pub async fn create(ctx: &AppContext, actor: &Actor, draft: VenueDraft) -> Result<VenueDetail> {
    ensure_time_zone(ctx, draft.timezone.as_str()).await?;
    let id = bma_domain::ids::new_id();
    let mut tx = ctx.db.begin().await?;
    store::insert(&mut *tx, id, &fields(&draft)).await?;
    if let Some(hours) = &draft.opening_hours {
        store::replace_opening_hours(&mut tx, id, hours).await?;
    }
    let venue = store::find(&mut *tx, id).await?.ok_or(Error::NotFound("venue"))?;
    audit::record(&mut *tx, actor.audit("venue.create", "venue", id, None, snapshot(&venue))).await?;
    tx.commit().await?;
    crate::cache::bump(ctx, crate::cache::VENUE_LISTS).await?;
    detail(ctx, id).await
}

pub async fn update(ctx: &AppContext, actor: &Actor, id: Uuid, draft: VenueDraft) -> Result<VenueDetail> {
    ensure_time_zone(ctx, draft.timezone.as_str()).await?;
    let mut tx = ctx.db.begin().await?;
    let before =
        store::find(&mut *tx, id).await?.filter(|v| v.archived_at.is_none()).ok_or(Error::NotFound("venue"))?;
    store::update(&mut *tx, id, &fields(&draft)).await?;
    if let Some(hours) = &draft.opening_hours {
        store::replace_opening_hours(&mut tx, id, hours).await?;
    }
    let after = store::find(&mut *tx, id).await?.ok_or(Error::NotFound("venue"))?;
    audit::record(&mut *tx, actor.audit("venue.update", "venue", id, snapshot(&before), snapshot(&after))).await?;
    tx.commit().await?;
    crate::cache::bump(ctx, crate::cache::VENUE_LISTS).await?;
    detail(ctx, id).await
}

pub async fn delete(ctx: &AppContext, actor: &Actor, id: Uuid) -> Result<DeleteOutcome> {
    let mut tx = ctx.db.begin().await?;
    let before =
        store::find(&mut *tx, id).await?.filter(|v| v.archived_at.is_none()).ok_or(Error::NotFound("venue"))?;
    let outcome = if store::has_history(&mut *tx, id).await? {
        store::archive(&mut *tx, id).await?;
        DeleteOutcome::Archived
    } else {
        store::delete(&mut *tx, id).await?;
        DeleteOutcome::Deleted
    };
    let action = if outcome == DeleteOutcome::Archived { "venue.archive" } else { "venue.delete" };
    audit::record(&mut *tx, actor.audit(action, "venue", id, snapshot(&before), None)).await?;
    tx.commit().await?;
    crate::cache::bump(ctx, crate::cache::VENUE_LISTS).await?;
    Ok(outcome)
}

pub async fn create_zone(ctx: &AppContext, actor: &Actor, venue_id: Uuid, draft: ZoneDraft) -> Result<Zone> {
    let mut tx = ctx.db.begin().await?;
    store::find(&mut *tx, venue_id).await?.filter(|v| v.archived_at.is_none()).ok_or(Error::NotFound("venue"))?;
    let id = bma_domain::ids::new_id();
    let zone = store::insert_zone(&mut *tx, id, venue_id, &zone_fields(&draft)).await.map_err(zone_conflict)?;
    audit::record(&mut *tx, actor.audit("zone.create", "zone", id, None, snapshot(&zone))).await?;
    tx.commit().await?;
    crate::cache::bump(ctx, crate::cache::VENUE_LISTS).await?;
    Ok(zone)
}

pub async fn update_zone(ctx: &AppContext, actor: &Actor, id: Uuid, draft: ZoneDraft) -> Result<Zone> {
    let mut tx = ctx.db.begin().await?;
    let before = store::find_zone(&mut *tx, id).await?.ok_or(Error::NotFound("zone"))?;
    let after = store::update_zone(&mut *tx, id, &zone_fields(&draft))
        .await
        .map_err(zone_conflict)?
        .ok_or(Error::NotFound("zone"))?;
    audit::record(&mut *tx, actor.audit("zone.update", "zone", id, snapshot(&before), snapshot(&after))).await?;
    tx.commit().await?;
    crate::cache::bump(ctx, crate::cache::VENUE_LISTS).await?;
    Ok(after)
}

pub async fn delete_zone(ctx: &AppContext, actor: &Actor, id: Uuid) -> Result<DeleteOutcome> {
    let mut tx = ctx.db.begin().await?;
    let before = store::find_zone(&mut *tx, id).await?.ok_or(Error::NotFound("zone"))?;
    let outcome = if store::zone_has_history(&mut *tx, id).await? {
        store::archive_zone(&mut *tx, id).await?;
        DeleteOutcome::Archived
    } else {
        store::delete_zone(&mut *tx, id).await?;
        DeleteOutcome::Deleted
    };
    let action = if outcome == DeleteOutcome::Archived { "zone.archive" } else { "zone.delete" };
    audit::record(&mut *tx, actor.audit(action, "zone", id, snapshot(&before), None)).await?;
    tx.commit().await?;
    crate::cache::bump(ctx, crate::cache::VENUE_LISTS).await?;
    Ok(outcome)
}

pub async fn create_contact(ctx: &AppContext, actor: &Actor, venue_id: Uuid, draft: ContactDraft) -> Result<Contact> {
    let mut tx = ctx.db.begin().await?;
    store::find(&mut *tx, venue_id).await?.filter(|v| v.archived_at.is_none()).ok_or(Error::NotFound("venue"))?;
    let id = bma_domain::ids::new_id();
    let contact = store::insert_contact(&mut *tx, id, venue_id, &contact_fields(&draft)).await?;
    // Contact details are personal data: the audit keeps who and which channel, not the number.
    let after = serde_json::json!({"name": contact.name, "channel": contact.channel, "venue_id": venue_id});
    audit::record(&mut *tx, actor.audit("contact.create", "venue_contact", id, None, Some(after))).await?;
    tx.commit().await?;
    crate::cache::bump(ctx, crate::cache::VENUE_LISTS).await?;
    Ok(contact)
}
