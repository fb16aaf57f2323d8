//! PostgreSQL, the system of record and the job queue. Every query is a function over an
//! executor, so a caller can run several of them (and enqueue jobs) in one transaction.

pub mod audit;
pub mod bot;
pub mod campaigns;
pub mod dashboard;
pub mod embedded;
pub mod fleet;
pub mod jobs;
pub mod members;
pub mod messaging;
pub mod monitoring;
pub mod partitions;
pub mod periodic;
pub mod retention;
pub mod seed;
pub mod seed_history;
pub mod sessions;
pub mod status_links;
pub mod testing;
pub mod venues;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

pub use sqlx::{PgPool, Postgres, Transaction};

/// The embedded migrations, applied by `bma-social migrate` and at start-up of the local roles.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens a pool. `max` bounds the connections this process holds. PostgreSQL's JIT compiler is
/// off on its connections: it compiles any query the planner costs high, which our reports are,
/// and on them the compiling cost more than it saved (a year of conversations: 2.2 s with it,
/// 1.8 s without).
pub async fn connect(url: &str, max: u32) -> Result<PgPool, sqlx::Error> {
    let opts = PgConnectOptions::from_str(url)?.application_name("bma-social").options([("jit", "off")]);
    PgPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(opts)
        .await
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// True when `err` is a violation of the named constraint (unique, foreign key, check).
pub fn is_constraint(err: &sqlx::Error, name: &str) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.constraint() == Some(name))
}

/// True when `err` is a unique violation, whatever the constraint.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}
