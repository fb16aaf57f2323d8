//! The one state struct: everything a request, a job or a periodic task needs, cheap to clone.

use crate::config::Config;
use crate::security::jwt::JwtKeys;
use bma_integrations::email::Mailer;
use bma_integrations::soundtrack::SoundtrackClient;
use bma_kv::Kv;
use sqlx::PgPool;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppContext {
    pub db: PgPool,
    /// Where analytics read: the replica of DATABASE_READ_URL, or the primary when it is unset.
    pub read_db: PgPool,
    /// "Now" for analytics windows such as "today" (virtual in tests).
    pub clock: bma_domain::clock::Clock,
    pub kv: Kv,
    pub mailer: Arc<dyn Mailer>,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    /// A bcrypt hash checked when a sign-in names no known password, so timing reveals nothing.
    pub dummy_hash: Arc<str>,
    /// The Soundtrack client, when a credential is configured.
    pub soundtrack: Option<Arc<SoundtrackClient>>,
    /// The WhatsApp and LINE clients, when configured.
    pub channels: crate::messaging::Channels,
    /// The bot's LLM fallback, when CLAUDE_API_KEY is set.
    pub claude: Option<Arc<bma_integrations::claude::ClaudeClient>>,
    /// Weather for the bot's music suggestions, when OPENWEATHERMAP_API_KEY is set.
    pub weather: Option<Arc<bma_integrations::weather::WeatherClient>>,
    /// Query-cache entries being computed in this process (see `cache`).
    pub flights: Arc<crate::cache::Flights>,
}

impl AppContext {
    pub fn new(db: PgPool, kv: Kv, mailer: Arc<dyn Mailer>, config: Config) -> Self {
        let jwt = JwtKeys::new(config.jwt_secret.expose().as_bytes());
        let dummy_hash = crate::security::password::make_dummy_hash(config.bcrypt_cost).into();
        let channels = crate::messaging::Channels::from_config(&config);
        let claude = config.claude_api_key.as_ref().and_then(|key| {
            let mut s =
                bma_integrations::claude::ClaudeSettings::new(key.expose(), config.messaging.claude_model.clone());
            s.base_url = config.messaging.claude_api_url.clone();
            s.timeout = std::time::Duration::from_secs(20);
            bma_integrations::claude::ClaudeClient::new(s)
                .map_err(|e| tracing::error!(error = %e, "Claude client not built"))
                .ok()
                .map(Arc::new)
        });
        let weather = config.openweathermap_api_key.as_ref().and_then(|key| {
            let mut s = bma_integrations::weather::WeatherSettings::new(key.expose());
            s.base_url = config.messaging.openweathermap_api_url.clone();
            bma_integrations::weather::WeatherClient::new(s)
                .map_err(|e| tracing::error!(error = %e, "weather client not built"))
                .ok()
                .map(Arc::new)
        });
        Self {
            read_db: db.clone(),
            clock: bma_domain::clock::Clock::Real,
            db,
            kv,
            mailer,
            config: Arc::new(config),
            jwt,
            dummy_hash,
            soundtrack: None,
            channels,
            claude,
            weather,
            flights: Arc::default(),
        }
    }

    /// Opens the analytics pool on DATABASE_READ_URL when it is set (the primary serves otherwise).
    pub async fn with_read_replica(mut self) -> anyhow::Result<Self> {
        if let Some(url) = &self.config.database_read_url {
            self.read_db = bma_store::connect(url.expose(), self.config.database_max_connections).await?;
        }
        Ok(self)
    }

    #[must_use]
    pub fn with_clock(mut self, clock: bma_domain::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    #[must_use]
    pub fn with_soundtrack(mut self, client: Arc<SoundtrackClient>) -> Self {
        self.soundtrack = Some(client);
        self
    }

    /// Builds the Soundtrack client from the configuration, when a credential is set.
    pub fn soundtrack_from_config(
        config: &Config,
        clock: bma_domain::clock::Clock,
    ) -> anyhow::Result<Option<Arc<SoundtrackClient>>> {
        let Some(auth) = config.soundtrack_auth() else { return Ok(None) };
        let mut s = bma_integrations::soundtrack::Settings::new(config.soundtrack_api_url.clone(), auth);
        s.refill_per_sec = config.soundtrack_refill_per_sec;
        Ok(Some(Arc::new(SoundtrackClient::new(s, clock)?)))
    }
}
