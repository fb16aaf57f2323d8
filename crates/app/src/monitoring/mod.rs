//! The monitor: spends Soundtrack's token budget where it matters and turns what it sees into
//! zone states, alerts and notices.
//!
//! Each tick it (1) re-checks "hot" zones (suspect, down, recovering, flapping) in detail, then
//! (2) asks the next slice of accounts for their zone counts per status, two tokens an account,
//! the cheapest query that reveals a change; accounts whose counts changed, or whose detail is
//! stale, get a detailed look at their zones. Accounts whose venues are all closed are asked
//! only every POLLING_INTERVAL. The client's budget model paces the ticks, so the monitor never
//! meets a 429 in normal operation.
//!
//! Alerts are held (not opened) while a zone's venue is closed, under maintenance, or while the
//! platform itself is failing (inhibition); a held zone still down when the hold ends opens its
//! alert then.

pub mod discovery;
pub mod runner;
mod sweep;

pub use sweep::{Monitor, MonitorSettings, TickReport};
