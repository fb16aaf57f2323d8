//! The Soundtrack Your Brand client: GraphQL over HTTP at `/v2`, Basic auth for an API client or
//! the user-login flow with rotating refresh tokens, a token-bucket model that learns the refill
//! rate from the `x-ratelimiting-*` headers and keeps normal operation clear of 429s, retries
//! with backoff, and typed operations for discovery, the monitor's sweeps and remote control.

pub mod bucket;
mod client;
mod ops;

#[cfg(test)]
mod fuzz;

pub use client::{Answer, Auth, GqlError, Settings, SoundtrackClient, SoundtrackError, SourceLocation};
pub use ops::{Account, StatusCount, Troubled, ZoneRef, ZoneSnapshot, cost};
