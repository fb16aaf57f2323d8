//! The pure rules of music monitoring: what a check saw, how a zone's state moves, when it is
//! flapping, what uptime means, and who is told what and when. No I/O lives here; the monitor in
//! `bma-app` feeds these rules with Soundtrack answers and stores their state, so every decision
//! can be tested to the second without a clock, a network or a database.
//!
//! * [`observation`]: Soundtrack fields → one [`Observation`];
//! * [`state`]: the per-zone [`ZoneMachine`] (confirmation, recovery, flapping);
//! * [`flapping`]: the Nagios-style percent state change behind it;
//! * [`uptime`]: exact uptime over intervals, opening hours and maintenance;
//! * [`alerting`]: severity, per-venue grouping of notices, platform-wide inhibition.

pub mod alerting;
pub mod flapping;
pub mod observation;
pub mod state;
pub mod uptime;

pub use alerting::{
    AlertKind, GroupPolicy, InhibitReason, Inhibitor, Notice, NoticeKind, PlatformEvent, Severity, VenueAlertGroup,
    severity,
};
pub use flapping::FlapPolicy;
pub use observation::{Observation, Problem, classify};
pub use state::{Policy, Transition, ZoneEvent, ZoneMachine, ZoneStatus};
pub use uptime::{Health, Interval, RollupPeriod, Span, Uptime, status_spans, uptime};
