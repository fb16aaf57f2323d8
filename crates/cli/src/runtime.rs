//! Builds the shared context of a process: PostgreSQL (the configured one, or a private one for
//! the local roles), Redis or its in-process stand-in, and the mailer.

use anyhow::Context;
use bma_app::AppContext;
use bma_app::config::Config;
use bma_integrations::email::{Mailer, SmtpMailer, SmtpSettings, Unconfigured};
use bma_store::embedded::EmbeddedPostgres;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Runtime {
    pub ctx: AppContext,
    /// Stops the private PostgreSQL when the process ends.
    pub _embedded: Option<EmbeddedPostgres>,
}

pub fn embedded_dir() -> PathBuf {
    std::env::var("BMA_DATA_DIR").map_or_else(|_| PathBuf::from(".bma"), PathBuf::from).join("postgres")
}

pub async fn database(config: &Config, allow_embedded: bool) -> anyhow::Result<(String, Option<EmbeddedPostgres>)> {
    match (&config.database_url, allow_embedded) {
        (Some(url), _) => Ok((url.expose().to_owned(), None)),
        (None, true) => {
            let port: u16 = std::env::var("BMA_EMBEDDED_PG_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(54_329);
            let dir = embedded_dir();
            tracing::info!(dir = %dir.display(), port, "DATABASE_URL is unset; using the private PostgreSQL");
            let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, port, "bma_social")).await??;
            Ok((pg.url.clone(), Some(pg)))
        }
        (None, false) => anyhow::bail!("DATABASE_URL is required but not set"),
    }
}

pub fn mailer(config: &Config) -> anyhow::Result<Arc<dyn Mailer>> {
    Ok(match &config.smtp {
        Some(s) => Arc::new(SmtpMailer::new(&SmtpSettings {
            host: s.host.clone(),
            port: s.port,
            user: s.user.clone(),
            password: s.password.as_ref().map(|p| p.expose().to_owned()),
            from: s.from.clone(),
            security: s.security,
        })?),
        None => {
            tracing::warn!("SMTP_HOST is unset: email jobs will fail and wait in the dead-letter list");
            Arc::new(Unconfigured)
        }
    })
}

pub async fn connect(config: Config, allow_embedded: bool, migrate: bool) -> anyhow::Result<Runtime> {
    let (url, embedded) = database(&config, allow_embedded).await?;
    let db = bma_store::connect(&url, config.database_max_connections).await.context("connecting to PostgreSQL")?;
    if migrate {
        bma_store::migrate(&db).await.context("applying migrations")?;
        bma_store::partitions::ensure_ahead(&db).await?;
    }
    let kv = match &config.redis_url {
        Some(u) => bma_kv::Kv::redis(u.expose(), &config.redis_key_prefix).await.context("connecting to Redis")?,
        None => {
            tracing::info!("REDIS_URL is unset; cache, rate limits and pub/sub are in-process");
            bma_kv::Kv::memory()
        }
    };
    let mailer = mailer(&config)?;
    let soundtrack = AppContext::soundtrack_from_config(&config, bma_domain::clock::Clock::Real)?;
    let mut ctx =
        AppContext::new(db, kv, mailer, config).with_read_replica().await.context("connecting to DATABASE_READ_URL")?;
    match soundtrack {
        Some(client) => ctx = ctx.with_soundtrack(client),
        None => tracing::warn!(
            "Soundtrack is not configured (SOUNDTRACK_CLIENT_ID/SECRET): zone checks and control are off"
        ),
    }
    Ok(Runtime { ctx, _embedded: embedded })
}
