//! API tests: the real router, a fresh real PostgreSQL database per test, Redis where a test
//! needs shared state, and the fake SMTP server for outgoing mail.

mod access;
mod alerts;
mod analytics;
mod audit;
mod auth;
mod bot;
mod campaign_delivery;
mod campaigns;
mod control;
mod conversations;
mod dashboard;
mod events;
mod helpers;
mod import;
mod jobs;
mod mfa;
mod monitor;
mod rate_limits;
mod schema;
mod server;
mod soundtrack;
mod status_links;
mod system;
mod team;
mod uptime_periods;
mod validation;
mod venues;
mod webhooks;
