//! Portal request tests: the real router with the portal mounted, plain HTTP (no browser), a
//! fresh PostgreSQL database per test.

#[path = "../support/mod.rs"]
mod support;

mod alerts;
mod analytics;
mod assets;
mod audit;
mod campaigns;
mod catalogue;
mod inbox;
mod monitoring;
mod profile;
mod safety;
mod sessions;
mod status;
mod status_links;
mod team;
mod venues;
