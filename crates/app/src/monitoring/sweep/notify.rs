//! Telling people: each venue's grouped notice when one is due (to its staff and, by email, to
//! the team and the venue's email contacts), the platform alert when Soundtrack itself fails,
//! and an event on the bus when a tick opened or resolved anything.

use super::react::Effects;
use super::state::State;
use super::{Monitor, TickReport};
use crate::jobs::tasks::EmailJob;
use bma_domain::monitoring::{AlertKind, PlatformEvent, Severity};
use bma_store::jobs::Priority;
use bma_store::monitoring as store;
use time::OffsetDateTime;
use uuid::Uuid;

impl Monitor {
    /// Grouped notices, enqueued with the state that produced them.
    pub(super) async fn send_notices(&self, fx: &mut Effects<'_>, st: &mut State) -> anyhow::Result<()> {
        let venue_ids: Vec<Uuid> = st.groups.keys().copied().collect();
        for venue_id in venue_ids {
            let (name, total) = st.venues.get(&venue_id).map_or((String::new(), 0), |v| (v.name.clone(), v.zones));
            let Some(group) = st.groups.get_mut(&venue_id) else { continue };
            if let Some(notice) = group.due(fx.now, total, &name, &self.settings.group) {
                fx.report.notices += 1;
                fx.touched.insert(venue_id);
                self.enqueue_notice(fx.tx, venue_id, &name, &notice.text, notice.kind).await?;
            }
        }
        Ok(())
    }

    /// Says on the event bus that alerts opened or resolved, if any did.
    pub(super) async fn publish(&self, report: &TickReport, now: OffsetDateTime) {
        if report.alerts_opened + report.alerts_resolved + report.notices > 0 {
            let event = serde_json::json!({"type": "monitoring", "at": now.unix_timestamp(), "opened": report.alerts_opened, "resolved": report.alerts_resolved});
            crate::events::publish(&self.ctx, &event).await;
        }
    }

    async fn enqueue_notice(
        &self,
        tx: &mut sqlx::PgConnection,
        venue_id: Uuid,
        venue: &str,
        text: &str,
        kind: bma_domain::monitoring::NoticeKind,
    ) -> anyhow::Result<()> {
        let mut to = store::alert_recipients(&mut *tx).await?;
        to.extend(store::venue_email_contacts(&mut *tx, venue_id).await?);
        to.sort();
        to.dedup();
        let subject = match kind {
            bma_domain::monitoring::NoticeKind::Recovered => format!("Music is back at {venue}"),
            _ => format!("Music problem at {venue}"),
        };
        crate::messaging::notify::venue_staff(&self.ctx, tx, venue_id, venue, text).await?;
        for address in to {
            let job =
                EmailJob {
                    to: address, subject: subject.clone(), text: format!("{text}\n\n— BMA Social monitoring")
                };
            crate::jobs::enqueue(&self.ctx, &mut *tx, &job, crate::jobs::Options::default()).await?;
        }
        Ok(())
    }

    pub(super) async fn platform_event(&self, ev: &PlatformEvent, now: OffsetDateTime) -> anyhow::Result<()> {
        let mut tx = self.ctx.db.begin().await?;
        let text = match ev {
            PlatformEvent::Started { reason } => {
                let msg =
                    format!("Soundtrack itself seems to be failing ({reason}); zone alerts are held until it recovers");
                tracing::error!(%reason, "platform alert: zone alerts held");
                store::open_alert(&mut *tx, None, None, AlertKind::Platform, Severity::Critical, &msg, now, now)
                    .await?;
                msg
            }
            PlatformEvent::Ended => {
                tracing::info!("platform alert resolved");
                store::resolve_alerts(&mut *tx, None, &[AlertKind::Platform], now).await?;
                "Soundtrack is answering normally again; zone monitoring resumed".to_owned()
            }
        };
        for address in store::alert_recipients(&mut *tx).await? {
            let job = EmailJob { to: address, subject: "Soundtrack platform status".into(), text: text.clone() };
            let urgent = crate::jobs::Options::default().priority(Priority::URGENT);
            crate::jobs::enqueue(&self.ctx, &mut *tx, &job, urgent).await?;
        }
        tx.commit().await?;
        crate::cache::bump_after_write(&self.ctx, &[crate::cache::ALERTS]).await;
        Ok(())
    }
}

/// Saves the alert groups of the venues the tick touched.
pub(super) async fn save_groups(fx: &mut Effects<'_>, st: &State) -> anyhow::Result<()> {
    for venue_id in std::mem::take(&mut fx.touched) {
        if let Some(g) = st.groups.get(&venue_id) {
            store::save_group(&mut *fx.tx, venue_id, &serde_json::to_value(g).unwrap_or_default()).await?;
        }
    }
    Ok(())
}
