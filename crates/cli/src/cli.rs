//! The command line: which role this process plays.

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "bma-social",
    version,
    about = "BMA Social: keep the music playing, talk to venues, grow the relationship.",
    long_about = "BMA Social: keep the music playing, talk to venues, grow the relationship.\n\n\
Configuration comes from environment variables (and a .env file): DATABASE_URL, REDIS_URL, JWT_SECRET_KEY, \
DATA_ENCRYPTION_KEY, CORS_ORIGINS, POLLING_INTERVAL, ALERT_COOLDOWN, MAX_RETRIES, SENTRY_DSN, SMTP_*, and the \
channel and API keys. See the README."
)]
pub struct Cli {
    #[command(subcommand)]
    pub role: Role,
}

#[derive(Subcommand, Debug)]
pub enum Role {
    /// Serve the HTTP API (/api/v1, webhooks, /health, /metrics). Stateless: run as many as you like.
    Serve,
    /// Run background jobs (emails, notifications, upkeep) from the PostgreSQL queue. Run N.
    Worker,
    /// Enqueue periodic jobs (upkeep, rollups) and run the music monitor; safe to run N: each slot
    /// fires once, and one scheduler at a time (by advisory lock) monitors.
    Scheduler,
    /// serve + worker + scheduler in one process. With DATABASE_URL unset, starts a private
    /// PostgreSQL in .bma/postgres; with REDIS_URL unset, shares state in process.
    All,
    /// Apply database migrations and create the log partitions ahead.
    Migrate,
    /// Generate a realistic fleet of venues, zones, contacts and opening hours.
    Seed(SeedArgs),
    /// Everything a newcomer needs, with no set-up: a private PostgreSQL, migrations, a seeded
    /// fleet, a demo team, the fake outside services, and all roles.
    Demo(DemoArgs),
    /// Link the accounts and zones our Soundtrack credential sees to venues and zones (new ones
    /// appear, vanished ones are flagged); the scheduler also does this every six hours.
    Discover(DiscoverArgs),
    /// Create an active admin (the first one of a new deployment). The password is read from
    /// BMA_ADMIN_PASSWORD.
    CreateAdmin(CreateAdminArgs),
}

#[derive(clap::Args, Debug)]
pub struct SeedArgs {
    #[arg(long, default_value_t = 2_000)]
    pub venues: usize,
    #[arg(long, default_value_t = 10_000)]
    pub zones: usize,
    /// Random seed; the same seed gives the same fleet.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Delete every venue (and what hangs off them) first.
    #[arg(long)]
    pub reset: bool,
    /// Give the fleet made-up Soundtrack ids (`false` when discovery is to link real ones).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub soundtrack_ids: bool,
    /// Also write this much history ending last midnight (e.g. `365d`): daily uptime rollups,
    /// alerts, conversations, messages and survey answers.
    #[arg(long, value_parser = parse_days)]
    pub history: Option<u32>,
}

/// `365d` (or `365`): a whole number of days, 1 to 3,660.
fn parse_days(s: &str) -> Result<u32, String> {
    let n: u32 =
        s.strip_suffix('d').unwrap_or(s).parse().map_err(|_| format!("{s:?} is not a number of days such as 365d"))?;
    if (1..=3660).contains(&n) { Ok(n) } else { Err("between 1d and 3660d".into()) }
}

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 2_000)]
    pub venues: usize,
    #[arg(long, default_value_t = 10_000)]
    pub zones: usize,
}

#[derive(clap::Args, Debug)]
pub struct CreateAdminArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
}

#[derive(clap::Args, Debug)]
pub struct DiscoverArgs {
    /// The time zone given to venues created for new accounts.
    #[arg(long, default_value = "Asia/Bangkok")]
    pub timezone: String,
}
