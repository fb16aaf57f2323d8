//! Pure types and rules of BMA Social: the values that cross the edge are parsed here once, so
//! nothing invalid exists past it. No I/O lives in this crate.

pub mod access;
pub mod analytics;
pub mod bot;
pub mod campaign;
pub mod clock;
pub mod contact;
pub mod error;
pub mod hours;
pub mod ids;
pub mod member;
pub mod messaging;
pub mod monitoring;
pub mod music;
pub mod page;
pub mod status_link;
pub mod time_zones;
pub mod venue;

mod sql;

pub use error::{FieldError, Invalid};
