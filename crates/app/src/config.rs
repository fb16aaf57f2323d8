//! Typed configuration from the environment (and `.env`), under the specification's variable
//! names. A missing or malformed variable stops start-up with a message that names it; secrets
//! are held in `Secret`, whose `Debug` never shows them.

use std::net::SocketAddr;
use std::time::Duration;

/// A secret value; printing it shows only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{name} is malformed: {why}")]
    Malformed { name: &'static str, why: String },
}

/// How strict start-up is about secrets: `Demo` fills missing ones with throwaway values (and
/// says so); every other role requires them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    Demo,
    Production,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub security: bma_integrations::email::SmtpSecurity,
}

#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Requests per minute from one IP address.
    pub per_ip: u32,
    /// Requests per minute from one signed-in member.
    pub per_user: u32,
    /// Failed sign-ins allowed per email (and per IP) in `login_window`.
    pub login_failures: u32,
    pub login_window: Duration,
}

/// Where the channel APIs live and how conversations are shared out.
#[derive(Debug, Clone)]
pub struct MessagingConfig {
    pub whatsapp_api_url: String,
    /// The Graph API version (v17.0 of the specification has expired).
    pub whatsapp_api_version: String,
    pub whatsapp_phone_number_id: Option<String>,
    pub whatsapp_business_account_id: Option<String>,
    pub line_api_url: String,
    pub line_data_url: String,
    /// Sends a second we allow ourselves per channel (WhatsApp's default throughput is 80 per
    /// number; LINE's push endpoint takes 2,000 requests a second).
    pub whatsapp_messages_per_second: u32,
    pub line_messages_per_second: u32,
    /// Open conversations a member may hold before automatic assignment passes them over.
    pub assign_cap: u32,
    /// New conversations start with the bot (pending) instead of the team (open).
    pub bot_enabled: bool,
    pub claude_api_url: String,
    pub openweathermap_api_url: String,
    /// The model is configuration: model names come and go.
    pub claude_model: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: Option<Secret>,
    /// A read replica for analytics (DATABASE_READ_URL); unset: analytics read the primary.
    pub database_read_url: Option<Secret>,
    pub database_max_connections: u32,
    pub redis_url: Option<Secret>,
    pub redis_key_prefix: String,
    pub bind: SocketAddr,
    pub public_url: String,
    pub jwt_secret: Secret,
    pub data_encryption_key: crate::security::secretbox::DataKey,
    pub webhook_secret: Option<Secret>,
    pub cors_origins: Vec<String>,
    pub polling_interval: Duration,
    pub alert_cooldown: Duration,
    pub max_retries: u32,
    pub sentry_dsn: Option<Secret>,
    pub smtp: Option<SmtpConfig>,
    pub soundtrack_client_id: Option<String>,
    pub soundtrack_client_secret: Option<Secret>,
    /// A ready API token (base64 of id:secret), instead of the id and secret.
    pub soundtrack_api_token: Option<Secret>,
    pub soundtrack_api_url: String,
    /// Refill rate of Soundtrack's token bucket that our model assumes (tokens per second).
    pub soundtrack_refill_per_sec: f64,
    pub whatsapp_access_token: Option<Secret>,
    pub whatsapp_verify_token: Option<Secret>,
    pub whatsapp_app_secret: Option<Secret>,
    pub line_channel_access_token: Option<Secret>,
    pub line_channel_secret: Option<Secret>,
    pub messaging: MessagingConfig,
    pub claude_api_key: Option<Secret>,
    pub openweathermap_api_key: Option<Secret>,
    pub bcrypt_cost: u32,
    /// How long list queries stay cached (QUERY_CACHE_TTL, seconds; 0 turns the cache off).
    pub query_cache_ttl: Duration,
    pub rate_limits: RateLimits,
    pub json_logs: bool,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub invitation_ttl: Duration,
    /// Days of music status log kept (MUSIC_LOG_RETENTION_DAYS); older days are dropped once the
    /// daily uptime rollups hold them.
    pub music_log_retention_days: u32,
    /// Days of audit log kept (AUDIT_LOG_RETENTION_DAYS, at least 30).
    pub audit_log_retention_days: u32,
    /// Days a dead job is kept for an admin to re-queue (DEAD_JOB_RETENTION_DAYS, at least 1).
    pub dead_job_retention_days: u32,
    /// Days of hourly uptime rollups kept; daily ones stay (UPTIME_HOURLY_RETENTION_DAYS, at least 2).
    pub uptime_hourly_retention_days: u32,
    /// Days of the fleet's, brands' and countries' hourly uptime kept
    /// (UPTIME_GROUP_HOURLY_RETENTION_DAYS, at least UPTIME_HOURLY_RETENTION_DAYS).
    pub uptime_group_hourly_retention_days: u32,
}

/// A long-running process of a deployment, as `bma-social <role>` starts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Serve,
    Worker,
    Scheduler,
}

/// Where a variable is read: by [`Config::from_source`], or by the one module named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBy {
    Config,
    Module(&'static str),
}

/// One environment variable the binary reads. [`VARIABLES`] lists them all; the deployment
/// blueprint (`render.yaml`), `.env.example` and the README are checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    /// The processes a production deployment must give it to; empty when its default (or its
    /// absence) serves everywhere.
    pub needed_by: &'static [Process],
    /// Never written into a committed file: a deployment prompts for it or generates it.
    pub secret: bool,
    pub read_by: ReadBy,
}

const ALL: &[Process] = &[Process::Serve, Process::Worker, Process::Scheduler];
const SERVE: &[Process] = &[Process::Serve];
const WORKER: &[Process] = &[Process::Worker];
const SERVE_WORKER: &[Process] = &[Process::Serve, Process::Worker];
const OPTIONAL: &[Process] = &[];

const fn var(name: &'static str, needed_by: &'static [Process], secret: bool) -> Variable {
    Variable { name, needed_by, secret, read_by: ReadBy::Config }
}

const fn read_in(module: &'static str, name: &'static str, needed_by: &'static [Process], secret: bool) -> Variable {
    Variable { name, needed_by, secret, read_by: ReadBy::Module(module) }
}

/// Every environment variable the binary reads, and which processes need it.
pub const VARIABLES: &[Variable] = &[
    var("DATABASE_URL", ALL, true),
    var("DATABASE_READ_URL", OPTIONAL, true),
    var("DATABASE_MAX_CONNECTIONS", OPTIONAL, false),
    var("REDIS_URL", ALL, true),
    var("REDIS_KEY_PREFIX", OPTIONAL, false),
    var("HOST", OPTIONAL, false),
    var("PORT", OPTIONAL, false),
    var("PUBLIC_URL", SERVE, false),
    var("JWT_SECRET_KEY", ALL, true),
    var("DATA_ENCRYPTION_KEY", ALL, true),
    var("WEBHOOK_SECRET", SERVE, true),
    var("CORS_ORIGINS", SERVE, false),
    var("POLLING_INTERVAL", OPTIONAL, false),
    var("ALERT_COOLDOWN", OPTIONAL, false),
    var("MAX_RETRIES", OPTIONAL, false),
    var("MUSIC_LOG_RETENTION_DAYS", OPTIONAL, false),
    var("AUDIT_LOG_RETENTION_DAYS", OPTIONAL, false),
    var("DEAD_JOB_RETENTION_DAYS", OPTIONAL, false),
    var("UPTIME_HOURLY_RETENTION_DAYS", OPTIONAL, false),
    var("UPTIME_GROUP_HOURLY_RETENTION_DAYS", OPTIONAL, false),
    var("SENTRY_DSN", OPTIONAL, true),
    var("SMTP_HOST", WORKER, false),
    var("SMTP_PORT", OPTIONAL, false),
    var("SMTP_SECURITY", OPTIONAL, false),
    var("SMTP_USER", WORKER, false),
    var("SMTP_PASSWORD", WORKER, true),
    var("SMTP_FROM", OPTIONAL, false),
    var("SOUNDTRACK_CLIENT_ID", ALL, false),
    var("SOUNDTRACK_CLIENT_SECRET", ALL, true),
    var("SOUNDTRACK_API_TOKEN", OPTIONAL, true),
    var("SOUNDTRACK_API_URL", OPTIONAL, false),
    var("SOUNDTRACK_REFILL_PER_SEC", OPTIONAL, false),
    var("WHATSAPP_ACCESS_TOKEN", SERVE_WORKER, true),
    var("WHATSAPP_VERIFY_TOKEN", SERVE, true),
    var("WHATSAPP_APP_SECRET", SERVE, true),
    var("WHATSAPP_PHONE_NUMBER_ID", SERVE_WORKER, false),
    var("WHATSAPP_BUSINESS_ACCOUNT_ID", SERVE, false),
    var("WHATSAPP_API_URL", OPTIONAL, false),
    var("WHATSAPP_API_VERSION", OPTIONAL, false),
    var("WHATSAPP_MESSAGES_PER_SECOND", OPTIONAL, false),
    var("LINE_CHANNEL_ACCESS_TOKEN", WORKER, true),
    var("LINE_CHANNEL_SECRET", SERVE, true),
    var("LINE_API_URL", OPTIONAL, false),
    var("LINE_DATA_URL", OPTIONAL, false),
    var("LINE_MESSAGES_PER_SECOND", OPTIONAL, false),
    var("CONVERSATION_ASSIGN_CAP", OPTIONAL, false),
    var("BOT_ENABLED", OPTIONAL, false),
    var("CLAUDE_API_KEY", WORKER, true),
    var("CLAUDE_API_URL", OPTIONAL, false),
    var("CLAUDE_MODEL", OPTIONAL, false),
    var("OPENWEATHERMAP_API_KEY", WORKER, true),
    var("OPENWEATHERMAP_API_URL", OPTIONAL, false),
    var("BCRYPT_COST", OPTIONAL, false),
    var("QUERY_CACHE_TTL", OPTIONAL, false),
    var("RATE_LIMIT_PER_IP", OPTIONAL, false),
    var("RATE_LIMIT_PER_USER", OPTIONAL, false),
    var("LOGIN_MAX_FAILURES", OPTIONAL, false),
    var("LOGIN_FAILURE_WINDOW", OPTIONAL, false),
    var("LOG_FORMAT", OPTIONAL, false),
    var("APP_ENV", ALL, false),
    read_in("bma_web::state", "TRUST_PROXY_HEADERS", SERVE, false),
    read_in("bma_web::state", "METRICS_TOKEN", SERVE, true),
    read_in("bma_app::monitoring::runner", "DEFAULT_TIMEZONE", OPTIONAL, false),
    read_in("bma-social telemetry", "RUST_LOG", OPTIONAL, false),
    read_in("bma-social runtime", "BMA_DATA_DIR", OPTIONAL, false),
    read_in("bma-social runtime", "BMA_EMBEDDED_PG_PORT", OPTIONAL, false),
    read_in("bma-social create-admin", "BMA_ADMIN_PASSWORD", OPTIONAL, true),
];

/// The listed variable of this name.
pub fn variable(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// Where variables come from: the process environment, or a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Source for std::collections::HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        std::collections::HashMap::get(self, name).map(|v| (*v).to_owned()).filter(|v| !v.trim().is_empty())
    }
}

fn parsed<T: std::str::FromStr>(src: &dyn Source, name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match src.get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Malformed { name, why: e.to_string() }),
    }
}

fn secret(src: &dyn Source, name: &'static str) -> Option<Secret> {
    src.get(name).map(Secret)
}

/// Seconds, as the specification writes them (`POLLING_INTERVAL=300`).
fn seconds(src: &dyn Source, name: &'static str, default: u64, min: u64) -> Result<Duration, ConfigError> {
    let v: u64 = parsed(src, name, default)?;
    if v < min {
        return Err(ConfigError::Malformed { name, why: format!("must be at least {min} seconds") });
    }
    Ok(Duration::from_secs(v))
}

/// CORS_ORIGINS as the specification writes it (a JSON array) or as a comma-separated list.
pub fn parse_origins(raw: &str) -> Result<Vec<String>, ConfigError> {
    let bad = |why: String| ConfigError::Malformed { name: "CORS_ORIGINS", why };
    let list: Vec<String> = if raw.trim_start().starts_with('[') {
        serde_json::from_str(raw).map_err(|e| bad(format!("not a JSON array of strings: {e}")))?
    } else {
        raw.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
    };
    for o in &list {
        let ok = (o.starts_with("http://") || o.starts_with("https://")) && !o.ends_with('/') && !o.contains('*');
        if !ok {
            return Err(bad(format!("{o:?} is not an origin such as https://portal.example.com")));
        }
    }
    Ok(list)
}

fn encryption_key(src: &dyn Source, strict: Strictness) -> Result<crate::security::secretbox::DataKey, ConfigError> {
    use base64::Engine as _;
    let name = "DATA_ENCRYPTION_KEY";
    match src.get(name) {
        Some(v) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .map_err(|_| ConfigError::Malformed { name, why: "must be base64".into() })?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| ConfigError::Malformed { name, why: "must decode to exactly 32 bytes".into() })?;
            Ok(crate::security::secretbox::DataKey(key))
        }
        None if strict == Strictness::Demo => {
            Ok(crate::security::secretbox::DataKey(*b"demo-only-key-never-in-productio"))
        }
        None => Err(ConfigError::Missing(name)),
    }
}

impl Config {
    pub fn from_env(strict: Strictness) -> Result<Self, ConfigError> {
        Self::from_source(&Env, strict)
    }

    pub fn from_source(src: &dyn Source, strict: Strictness) -> Result<Self, ConfigError> {
        let jwt_secret = match (secret(src, "JWT_SECRET_KEY"), strict) {
            (Some(s), _) if s.expose().len() >= 32 => s,
            (Some(_), _) => {
                return Err(ConfigError::Malformed {
                    name: "JWT_SECRET_KEY",
                    why: "must be at least 32 characters".into(),
                });
            }
            (None, Strictness::Demo) => Secret::new(format!("demo-{}", uuid::Uuid::new_v4().simple())),
            (None, Strictness::Production) => return Err(ConfigError::Missing("JWT_SECRET_KEY")),
        };
        let host: std::net::IpAddr = parsed(src, "HOST", std::net::IpAddr::from([0, 0, 0, 0]))?;
        let port: u16 = parsed(src, "PORT", 8000)?;
        let bind = SocketAddr::new(host, port);
        let smtp = match src.get("SMTP_HOST") {
            None => None,
            Some(host) => {
                let port: u16 = parsed(src, "SMTP_PORT", 587)?;
                let security = match src.get("SMTP_SECURITY").as_deref() {
                    None if host == "localhost" || host.starts_with("127.") => {
                        bma_integrations::email::SmtpSecurity::None
                    }
                    None => match port {
                        465 => bma_integrations::email::SmtpSecurity::Tls,
                        _ => bma_integrations::email::SmtpSecurity::StartTls,
                    },
                    Some("none") => bma_integrations::email::SmtpSecurity::None,
                    Some("starttls") => bma_integrations::email::SmtpSecurity::StartTls,
                    Some("tls") => bma_integrations::email::SmtpSecurity::Tls,
                    Some(_) => {
                        return Err(ConfigError::Malformed {
                            name: "SMTP_SECURITY",
                            why: "must be none, starttls or tls".into(),
                        });
                    }
                };
                Some(SmtpConfig {
                    host,
                    port,
                    user: src.get("SMTP_USER"),
                    password: secret(src, "SMTP_PASSWORD"),
                    from: src.get("SMTP_FROM").unwrap_or_else(|| "BMA Social <no-reply@bma-social.com>".into()),
                    security,
                })
            }
        };
        let bcrypt_cost: u32 = parsed(src, "BCRYPT_COST", 12)?;
        if !(4..=31).contains(&bcrypt_cost) {
            return Err(ConfigError::Malformed { name: "BCRYPT_COST", why: "must be 4 to 31".into() });
        }
        let max_retries: u32 = parsed(src, "MAX_RETRIES", 3)?;
        if max_retries > 50 {
            return Err(ConfigError::Malformed { name: "MAX_RETRIES", why: "must be at most 50".into() });
        }
        let json_logs = match src.get("LOG_FORMAT").as_deref() {
            None => src.get("APP_ENV").as_deref() == Some("production"),
            Some("json") => true,
            Some("pretty" | "text") => false,
            Some(_) => {
                return Err(ConfigError::Malformed { name: "LOG_FORMAT", why: "must be json or pretty".into() });
            }
        };
        let redis_url = secret(src, "REDIS_URL");
        if let Some(u) = &redis_url
            && !(u.expose().starts_with("redis://") || u.expose().starts_with("rediss://"))
        {
            {
                return Err(ConfigError::Malformed {
                    name: "REDIS_URL",
                    why: "must start with redis:// or rediss://".into(),
                });
            }
        }
        let database_url = secret(src, "DATABASE_URL");
        if let Some(u) = &database_url
            && !(u.expose().starts_with("postgres://") || u.expose().starts_with("postgresql://"))
        {
            {
                return Err(ConfigError::Malformed { name: "DATABASE_URL", why: "must start with postgres://".into() });
            }
        }
        let database_read_url = secret(src, "DATABASE_READ_URL");
        if let Some(u) = &database_read_url
            && !(u.expose().starts_with("postgres://") || u.expose().starts_with("postgresql://"))
        {
            return Err(ConfigError::Malformed {
                name: "DATABASE_READ_URL",
                why: "must start with postgres://".into(),
            });
        }
        let at_least = |name: &'static str, default: u32, min: u32| -> Result<u32, ConfigError> {
            let v: u32 = parsed(src, name, default)?;
            if v < min {
                return Err(ConfigError::Malformed { name, why: format!("must be at least {min} days") });
            }
            Ok(v)
        };
        let audit_log_retention_days = at_least("AUDIT_LOG_RETENTION_DAYS", 730, 30)?;
        let dead_job_retention_days = at_least("DEAD_JOB_RETENTION_DAYS", 30, 1)?;
        let uptime_hourly_retention_days = at_least("UPTIME_HOURLY_RETENTION_DAYS", 90, 2)?;
        let uptime_group_hourly_retention_days = at_least(
            "UPTIME_GROUP_HOURLY_RETENTION_DAYS",
            400.max(uptime_hourly_retention_days),
            uptime_hourly_retention_days,
        )?;
        let music_log_retention_days: u32 = parsed(src, "MUSIC_LOG_RETENTION_DAYS", 400)?;
        if music_log_retention_days < 2 {
            return Err(ConfigError::Malformed {
                name: "MUSIC_LOG_RETENTION_DAYS",
                why: "must be at least 2 days".into(),
            });
        }
        Ok(Self {
            database_url,
            database_read_url,
            database_max_connections: parsed(src, "DATABASE_MAX_CONNECTIONS", 20)?,
            redis_url,
            redis_key_prefix: src.get("REDIS_KEY_PREFIX").unwrap_or_else(|| "bma:".into()),
            bind,
            public_url: src.get("PUBLIC_URL").unwrap_or_else(|| format!("http://localhost:{port}")),
            jwt_secret,
            data_encryption_key: encryption_key(src, strict)?,
            webhook_secret: secret(src, "WEBHOOK_SECRET"),
            cors_origins: match src.get("CORS_ORIGINS") {
                Some(raw) => parse_origins(&raw)?,
                None => vec!["http://localhost:3000".into()],
            },
            polling_interval: seconds(src, "POLLING_INTERVAL", 300, 1)?,
            alert_cooldown: seconds(src, "ALERT_COOLDOWN", 3600, 0)?,
            max_retries,
            sentry_dsn: secret(src, "SENTRY_DSN"),
            smtp,
            soundtrack_client_id: src.get("SOUNDTRACK_CLIENT_ID"),
            soundtrack_client_secret: secret(src, "SOUNDTRACK_CLIENT_SECRET"),
            soundtrack_api_token: secret(src, "SOUNDTRACK_API_TOKEN"),
            soundtrack_api_url: src
                .get("SOUNDTRACK_API_URL")
                .unwrap_or_else(|| "https://api.soundtrackyourbrand.com/v2".into()),
            soundtrack_refill_per_sec: parsed(src, "SOUNDTRACK_REFILL_PER_SEC", 50.0)?,
            whatsapp_access_token: secret(src, "WHATSAPP_ACCESS_TOKEN"),
            whatsapp_verify_token: secret(src, "WHATSAPP_VERIFY_TOKEN"),
            whatsapp_app_secret: secret(src, "WHATSAPP_APP_SECRET"),
            line_channel_access_token: secret(src, "LINE_CHANNEL_ACCESS_TOKEN"),
            line_channel_secret: secret(src, "LINE_CHANNEL_SECRET"),
            messaging: MessagingConfig {
                whatsapp_api_url: src.get("WHATSAPP_API_URL").unwrap_or_else(|| "https://graph.facebook.com".into()),
                whatsapp_api_version: src.get("WHATSAPP_API_VERSION").unwrap_or_else(|| "v23.0".into()),
                whatsapp_phone_number_id: src.get("WHATSAPP_PHONE_NUMBER_ID"),
                whatsapp_business_account_id: src.get("WHATSAPP_BUSINESS_ACCOUNT_ID"),
                line_api_url: src.get("LINE_API_URL").unwrap_or_else(|| "https://api.line.me".into()),
                line_data_url: src.get("LINE_DATA_URL").unwrap_or_else(|| "https://api-data.line.me".into()),
                assign_cap: parsed(src, "CONVERSATION_ASSIGN_CAP", 20)?,
                whatsapp_messages_per_second: parsed(src, "WHATSAPP_MESSAGES_PER_SECOND", 80)?,
                line_messages_per_second: parsed(src, "LINE_MESSAGES_PER_SECOND", 2000)?,
                bot_enabled: parsed(src, "BOT_ENABLED", true)?,
                claude_api_url: src.get("CLAUDE_API_URL").unwrap_or_else(|| "https://api.anthropic.com".into()),
                openweathermap_api_url: src
                    .get("OPENWEATHERMAP_API_URL")
                    .unwrap_or_else(|| "https://api.openweathermap.org".into()),
                claude_model: src.get("CLAUDE_MODEL").unwrap_or_else(|| "claude-haiku-4-5".into()),
            },
            claude_api_key: secret(src, "CLAUDE_API_KEY"),
            openweathermap_api_key: secret(src, "OPENWEATHERMAP_API_KEY"),
            bcrypt_cost,
            query_cache_ttl: seconds(src, "QUERY_CACHE_TTL", 300, 0)?,
            rate_limits: RateLimits {
                per_ip: parsed(src, "RATE_LIMIT_PER_IP", 1200)?,
                per_user: parsed(src, "RATE_LIMIT_PER_USER", 600)?,
                login_failures: parsed(src, "LOGIN_MAX_FAILURES", 5)?,
                login_window: seconds(src, "LOGIN_FAILURE_WINDOW", 900, 1)?,
            },
            json_logs,
            access_token_ttl: Duration::from_secs(24 * 3600),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            invitation_ttl: Duration::from_secs(72 * 3600),
            music_log_retention_days,
            audit_log_retention_days,
            dead_job_retention_days,
            uptime_hourly_retention_days,
            uptime_group_hourly_retention_days,
        })
    }

    /// The maximum attempts of a job: the first try plus MAX_RETRIES.
    pub fn job_max_attempts(&self) -> i32 {
        i32::try_from(self.max_retries).unwrap_or(50) + 1
    }
}

impl Config {
    /// The Soundtrack credential: a ready token, or the client id and secret; `None` when unset.
    pub fn soundtrack_auth(&self) -> Option<bma_integrations::soundtrack::Auth> {
        use bma_integrations::soundtrack::Auth;
        match (&self.soundtrack_api_token, &self.soundtrack_client_id, &self.soundtrack_client_secret) {
            (Some(t), _, _) => Some(Auth::Token(t.expose().to_owned())),
            (None, Some(id), Some(secret)) => Some(Auth::client(id, secret.expose())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("DATA_ENCRYPTION_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ])
    }

    #[test]
    fn a_missing_secret_stops_production_start_up_and_names_the_variable() {
        let mut env = base();
        env.remove("JWT_SECRET_KEY");
        let err = Config::from_source(&env, Strictness::Production).err();
        assert_eq!(err, Some(ConfigError::Missing("JWT_SECRET_KEY")));
        assert_eq!(err.map(|e| e.to_string()).as_deref(), Some("JWT_SECRET_KEY is required but not set"));
    }

    #[test]
    fn malformed_numbers_and_origins_are_named() {
        let mut env = base();
        env.insert("POLLING_INTERVAL", "five minutes");
        assert!(matches!(
            Config::from_source(&env, Strictness::Production),
            Err(ConfigError::Malformed { name: "POLLING_INTERVAL", .. })
        ));
        let mut env = base();
        env.insert("CORS_ORIGINS", "[\"*\"]");
        assert!(matches!(
            Config::from_source(&env, Strictness::Production),
            Err(ConfigError::Malformed { name: "CORS_ORIGINS", .. })
        ));
    }

    #[test]
    fn the_specifications_variables_are_read_with_their_formats() {
        let mut env = base();
        env.insert("CORS_ORIGINS", r#"["http://localhost:3000", "https://portal.bma-social.com"]"#);
        env.insert("POLLING_INTERVAL", "300");
        env.insert("ALERT_COOLDOWN", "3600");
        env.insert("MAX_RETRIES", "3");
        env.insert("SMTP_HOST", "smtp.gmail.com");
        env.insert("SMTP_PASSWORD", "hunter2-hunter2");
        let c = Config::from_source(&env, Strictness::Production).ok();
        let c = c.as_ref();
        assert_eq!(c.map(|c| c.cors_origins.len()), Some(2));
        assert_eq!(c.map(|c| c.polling_interval), Some(Duration::from_secs(300)));
        assert_eq!(c.map(Config::job_max_attempts), Some(4));
        assert_eq!(
            c.and_then(|c| c.smtp.as_ref()).map(|s| s.security),
            Some(bma_integrations::email::SmtpSecurity::StartTls)
        );
        let printed = format!("{c:?}");
        assert!(!printed.contains("hunter2"), "a secret was printed");
        assert!(!printed.contains("0123456789abcdef"), "the JWT secret was printed");
    }

    #[test]
    fn demo_mode_fills_missing_secrets() {
        let env: HashMap<&str, &str> = HashMap::new();
        assert!(Config::from_source(&env, Strictness::Demo).is_ok());
        assert!(Config::from_source(&env, Strictness::Production).is_err());
    }
}
