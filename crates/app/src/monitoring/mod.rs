//! The monitor: spends Soundtrack's token budget where it matters and turns what it sees into
//! zone states, alerts and notices.
//!
//! Each tick it (1) asks the next slice of accounts for their zone counts per status, two tokens
//! an account, the cheapest query that reveals most faults; then (2) reads zones, within an
//! allowance of `detail_share` of the refill so that the status round keeps its pace at any
//! fleet size: suspect and recovering zones first, then the zones not OK of accounts whose
//! counts changed, then zones confirmed down now and then, and with what is left a playback
//! rotation over the zones of open venues (two tokens a zone), the only way to see a paused
//! player, whose status stays OK. Accounts whose venues are all closed are asked only every
//! POLLING_INTERVAL. The client's budget model paces the ticks, so the monitor never meets a 429
//! in normal operation.
//!
//! Alerts are held (not opened) while a zone's venue is closed, under maintenance, or while the
//! platform itself is failing (inhibition); a held zone still down when the hold ends opens its
//! alert then.

pub mod discovery;
pub mod runner;
mod sweep;

pub use sweep::{Monitor, MonitorSettings, TickReport};

use bma_domain::monitoring::{AlertKind, Severity};
use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

/// A zone reported offline from outside the monitor (the bot, when the venue's player cannot be
/// reached). Its alert is of the kind the monitor opens for an offline zone ([`AlertKind::Silent`]):
/// while the zone is down the monitor finds it already open, and when the monitor sees the zone
/// play again it resolves it with its own. Returns the new alert's id; `None` when the zone
/// already had one open.
pub async fn report_offline(
    db: impl PgExecutor<'_>,
    zone_id: Uuid,
    venue_id: Option<Uuid>,
    message: &str,
    at: OffsetDateTime,
) -> sqlx::Result<Option<Uuid>> {
    bma_store::monitoring::open_alert(
        db,
        Some(zone_id),
        venue_id,
        AlertKind::Silent,
        Severity::Warning,
        message,
        at,
        at,
    )
    .await
}
