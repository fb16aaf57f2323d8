//! Logs: readable locally, JSON in production (LOG_FORMAT / APP_ENV), filtered by RUST_LOG.
//! With SENTRY_DSN set, errors, panics and internal failures also go to Sentry (no personal data).

use bma_app::config::Config;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps Sentry flushing until the process ends.
pub struct Guard(#[allow(dead_code)] Option<sentry::ClientInitGuard>);

pub fn init(config: &Config) -> Guard {
    let sentry = config.sentry_dsn.as_ref().map(|dsn| {
        let mut options = sentry::ClientOptions::default();
        options.release = sentry::release_name!();
        options.environment = std::env::var("APP_ENV").ok().map(Into::into);
        options.send_default_pii = false;
        sentry::init((dsn.expose(), options))
    });
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let registry = tracing_subscriber::registry().with(filter).with(
        sentry.as_ref().map(|_| sentry::integrations::tracing::ErrorLayer::new().with_filter(LevelFilter::ERROR)),
    );
    let _ = if config.json_logs {
        registry.with(fmt.json().flatten_event(true)).try_init()
    } else {
        registry.with(fmt.compact()).try_init()
    };
    if sentry.is_some() {
        tracing::info!("errors are reported to Sentry");
    }
    Guard(sentry)
}
