//! Who a campaign reaches, resolved from its venues (explicit or by filter) and contact scope:
//! each contact gets the first channel of the campaign's order they have an address on;
//! opted-out contacts are written down as such and never sent to; a venue with no contact the
//! campaign can reach is reported by name, not counted as a failed campaign.

use crate::Result;
use bma_domain::campaign::RecipientStatus;
use bma_domain::contact::Channel;
use bma_store::campaigns::{self as store, AudienceVenue, Campaign, NewRecipient};
use serde::Serialize;
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

/// A venue of the audience that nobody will hear from, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Unreachable {
    pub venue_id: Uuid,
    pub venue_name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SampleRecipient {
    pub venue_id: Uuid,
    pub venue_name: String,
    pub contact_name: String,
    pub channel: Channel,
}

pub struct Resolution {
    pub venues: Vec<AudienceVenue>,
    pub recipients: Vec<NewRecipient>,
    pub unreachable: Vec<Unreachable>,
    pub sample: Vec<SampleRecipient>,
}

impl Resolution {
    pub fn to_send(&self) -> usize {
        self.recipients.iter().filter(|r| r.status == RecipientStatus::Queued).count()
    }

    pub fn opted_out(&self) -> usize {
        self.recipients.iter().filter(|r| r.status == RecipientStatus::OptedOut).count()
    }
}

/// How many a campaign would reach now, with a sample, before it is sent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AudiencePreview {
    pub venues: usize,
    /// Contacts who would receive the message.
    pub recipients: usize,
    pub opted_out: usize,
    pub unreachable: Vec<Unreachable>,
    /// Up to ten of the recipients.
    pub sample: Vec<SampleRecipient>,
}

impl From<&Resolution> for AudiencePreview {
    fn from(r: &Resolution) -> Self {
        AudiencePreview {
            venues: r.venues.len(),
            recipients: r.to_send(),
            opted_out: r.opted_out(),
            unreachable: r.unreachable.clone(),
            sample: r.sample.clone(),
        }
    }
}

const SAMPLE: usize = 10;

pub async fn resolve(db: &mut PgConnection, c: &Campaign) -> Result<Resolution> {
    let venues = store::audience_venues(&mut *db, &c.target_venues, c.audience_filter.as_deref()).await?;
    let ids: Vec<Uuid> = venues.iter().map(|v| v.id).collect();
    let mut by_venue: HashMap<Uuid, Vec<store::AudienceContact>> = HashMap::new();
    for contact in store::audience_contacts(&mut *db, &ids, &c.contacts, c.kind.is_promotional()).await? {
        by_venue.entry(contact.venue_id).or_default().push(contact);
    }
    let order_names = |preferred: Channel| {
        c.channel.order(preferred, &c.channel_fallback).iter().map(|ch| ch.as_str()).collect::<Vec<_>>().join(" or ")
    };
    let mut recipients = Vec::new();
    let mut unreachable = Vec::new();
    let mut sample = Vec::new();
    for v in &venues {
        let contacts = by_venue.remove(&v.id).unwrap_or_default();
        if contacts.is_empty() {
            let reason = format!("no {} contact", c.contacts.as_str().trim_start_matches("role:"));
            recipients.push(NewRecipient {
                venue_id: v.id,
                contact_id: None,
                channel: None,
                status: RecipientStatus::Skipped,
                error: Some(reason.clone()),
            });
            unreachable.push(Unreachable { venue_id: v.id, venue_name: v.name.clone(), reason });
            continue;
        }
        let mut reachable = 0;
        let mut missing = None;
        for contact in contacts {
            let channel = c.channel.pick(contact.channel, &c.channel_fallback, |ch| contact.address(ch).is_some());
            let (status, error) = match channel {
                None => {
                    let reason = format!("no contact on {}", order_names(contact.channel));
                    missing.get_or_insert(reason.clone());
                    (RecipientStatus::Skipped, Some(reason))
                }
                Some(_) if contact.opted_out => {
                    reachable += 1;
                    (RecipientStatus::OptedOut, Some("the contact opted out".to_owned()))
                }
                Some(ch) => {
                    reachable += 1;
                    if sample.len() < SAMPLE {
                        sample.push(SampleRecipient {
                            venue_id: v.id,
                            venue_name: v.name.clone(),
                            contact_name: contact.name.clone(),
                            channel: ch,
                        });
                    }
                    (RecipientStatus::Queued, None)
                }
            };
            recipients.push(NewRecipient { venue_id: v.id, contact_id: Some(contact.id), channel, status, error });
        }
        if reachable == 0 {
            let reason = missing.unwrap_or_else(|| "no reachable contact".into());
            unreachable.push(Unreachable { venue_id: v.id, venue_name: v.name.clone(), reason });
        }
    }
    Ok(Resolution { venues, recipients, unreachable, sample })
}
