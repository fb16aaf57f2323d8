//! The one state struct: everything a request, a job or a periodic task needs, cheap to clone.

use crate::config::Config;
use crate::security::jwt::JwtKeys;
use bma_integrations::email::Mailer;
use bma_kv::Kv;
use sqlx::PgPool;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppContext {
    pub db: PgPool,
    pub kv: Kv,
    pub mailer: Arc<dyn Mailer>,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    /// A bcrypt hash checked when a sign-in names no known password, so timing reveals nothing.
    pub dummy_hash: Arc<str>,
}

impl AppContext {
    pub fn new(db: PgPool, kv: Kv, mailer: Arc<dyn Mailer>, config: Config) -> Self {
        let jwt = JwtKeys::new(config.jwt_secret.expose().as_bytes());
        let dummy_hash = crate::security::password::make_dummy_hash(config.bcrypt_cost).into();
        Self { db, kv, mailer, config: Arc::new(config), jwt, dummy_hash }
    }
}
