//! The service layer: typed configuration, security primitives, the job runtime and the
//! services that orchestrate storage, shared state and outside clients. The HTTP edge (web) and
//! the binary (cli) call into this crate; it knows nothing of HTTP.

pub mod bot;
pub mod cache;
pub mod campaigns;
pub mod config;
pub mod context;
pub mod error;
pub mod events;
pub mod jobs;
pub mod messaging;
pub mod monitoring;
pub mod security;
pub mod services;
pub mod wiring;

pub use context::AppContext;
pub use error::{Error, Result};
