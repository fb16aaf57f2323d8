//! Discovery: the accounts, locations and zones our Soundtrack credential sees, linked to our
//! venues and zones. An account no venue claims becomes a venue; a new zone appears under its
//! venue; a zone Soundtrack no longer lists is flagged (and unflagged if it returns). Only a
//! complete list flags anything: an account whose zones could not be read (a partial GraphQL
//! answer, an error) keeps its zones as they were.

use crate::AppContext;
use bma_domain::venue::ZoneType;
use bma_integrations::soundtrack::SoundtrackClient;
use bma_store::venues::{self as venues, VenueFields, ZoneFields};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiscoveryReport {
    pub accounts: usize,
    pub zones: usize,
    pub venues_created: usize,
    pub zones_created: usize,
    pub zones_vanished: usize,
    pub zones_returned: usize,
    /// Accounts whose zones could not be read this time; their zones were left as they were.
    pub accounts_unread: usize,
}

/// A zone type guessed from a zone's name ("Pool Bar" is a bar, "Lobby Lounge" a lobby).
pub fn guess_zone_type(name: &str) -> ZoneType {
    let n = name.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    if has(&["bar", "lounge", "pub", "club"]) && !has(&["lobby"]) {
        ZoneType::Bar
    } else if has(&["lobby", "reception", "entrance"]) {
        ZoneType::Lobby
    } else if has(&["pool", "beach"]) {
        ZoneType::Pool
    } else if has(&["spa", "wellness", "massage"]) {
        ZoneType::Spa
    } else if has(&["restaurant", "dining", "café", "cafe", "kitchen", "breakfast", "grill"]) {
        ZoneType::Restaurant
    } else if has(&["shop", "store", "boutique", "retail"]) {
        ZoneType::Retail
    } else {
        ZoneType::Other
    }
}

pub async fn sync(
    ctx: &AppContext,
    client: &SoundtrackClient,
    default_timezone: &str,
) -> anyhow::Result<DiscoveryReport> {
    let accounts = client.discover().await?;
    let mut report = DiscoveryReport {
        accounts: accounts.len(),
        zones: accounts.iter().filter_map(|a| a.zones.as_ref().ok()).map(Vec::len).sum(),
        accounts_unread: accounts.iter().filter(|a| a.zones.is_err()).count(),
        ..DiscoveryReport::default()
    };
    let now = client.clock().now();
    let mut tx = ctx.db.begin().await?;
    let linked = bma_store::monitoring::venues_by_account(&mut *tx).await?;
    let known_zones: HashMap<String, uuid::Uuid> =
        bma_store::monitoring::zones_by_soundtrack_id(&mut *tx).await?.into_iter().collect();
    let mut seen: HashSet<String> = HashSet::new();
    for a in &accounts {
        let venue_id = match linked.get(&a.id) {
            Some(v) => *v,
            None => {
                let id = bma_domain::ids::new_id();
                let fields = VenueFields {
                    name: a.business_name.chars().take(255).collect(),
                    brand: None,
                    country: None,
                    timezone: default_timezone.to_owned(),
                    soundtrack_account_id: Some(a.id.clone()),
                };
                venues::insert(&mut *tx, id, &fields).await?;
                report.venues_created += 1;
                id
            }
        };
        let Ok(zones) = &a.zones else { continue };
        for z in zones {
            seen.insert(z.id.clone());
            if known_zones.contains_key(&z.id) {
                continue;
            }
            let name: String =
                if z.name.trim().is_empty() { "Zone".into() } else { z.name.chars().take(100).collect() };
            let fields = ZoneFields {
                zone_type: guess_zone_type(&name).as_str().to_owned(),
                name,
                soundtrack_device_id: Some(z.id.clone()),
            };
            venues::insert_zone(&mut *tx, bma_domain::ids::new_id(), venue_id, &fields).await?;
            report.zones_created += 1;
        }
    }
    // Zones are flagged missing only in accounts whose full list we have.
    let linked_accounts: Vec<String> = accounts.iter().filter(|a| a.zones.is_ok()).map(|a| a.id.clone()).collect();
    let (vanished, returned) = bma_store::monitoring::flag_missing_zones(
        &mut tx,
        &linked_accounts,
        &seen.into_iter().collect::<Vec<_>>(),
        now,
    )
    .await?;
    report.zones_vanished = vanished;
    report.zones_returned = returned;
    tx.commit().await?;
    crate::cache::bump(ctx, crate::cache::VENUE_LISTS).await?;
    tracing::info!(?report, "Soundtrack discovery done");
    Ok(report)
}
