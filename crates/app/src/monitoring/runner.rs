//! Runs the monitor in exactly one process: schedulers race for a PostgreSQL advisory lock held
//! on a dedicated connection; the holder discovers the fleet, then ticks until it stops. If it
//! dies, its connection closes, the lock frees, and another scheduler takes over. The holder
//! checks before each tick that its connection still holds the lock (a PostgreSQL restart ends
//! the session and frees it while the process lives on), and steps down when it does not.

use super::{Monitor, MonitorSettings, discovery};
use crate::AppContext;
use crate::jobs::Shutdown;
use bma_domain::clock::Clock;
use std::time::Duration;

/// The advisory-lock key of the monitor's leadership ("monitor" in ASCII).
const LOCK_KEY: i64 = 0x006d_6f6e_6974_6f72;

pub async fn run(ctx: AppContext, mut shutdown: Shutdown) {
    let Some(client) = ctx.soundtrack.clone() else {
        tracing::warn!("Soundtrack is not configured; the music monitor is off");
        return;
    };
    loop {
        if *shutdown.borrow() {
            return;
        }
        let leading = match ctx.db.acquire().await {
            Ok(mut conn) => match try_lead(&mut conn).await {
                Ok(true) => Some(conn),
                Ok(false) => None,
                Err(e) => {
                    tracing::error!(error = %e, "monitor leadership check failed");
                    None
                }
            },
            Err(e) => {
                tracing::error!(error = %e, "no database connection for the monitor");
                None
            }
        };
        let Some(lock) = leading else {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(10)) => continue,
                _ = shutdown.changed() => return,
            }
        };
        tracing::info!("this process runs the music monitor");
        let mut lock = lock.detach();
        match lead(&ctx, client.clone(), &mut lock, &mut shutdown).await {
            Ended::Shutdown => return,
            Ended::LostLeadership => {
                tracing::warn!("the monitor's lock was lost (its database session ended); stepping down");
            }
        }
    }
}

/// Why [`lead`] returned.
enum Ended {
    Shutdown,
    LostLeadership,
}

/// Whether `conn`'s session still holds the monitor's lock (false when the session is gone).
pub async fn still_leading(conn: &mut sqlx::PgConnection) -> bool {
    let (classid, objid) = (LOCK_KEY >> 32, LOCK_KEY & 0xffff_ffff);
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
           AND pid = pg_backend_pid() AND classid::bigint = $1 AND objid::bigint = $2)",
    )
    .bind(classid)
    .bind(objid)
    .fetch_one(conn)
    .await
    .unwrap_or(false)
}

/// Takes the monitor's lock on `conn` if it is free (for tests and the runner alike).
pub async fn try_lead(conn: &mut sqlx::PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LOCK_KEY).fetch_one(conn).await
}

async fn lead(
    ctx: &AppContext,
    client: std::sync::Arc<bma_integrations::soundtrack::SoundtrackClient>,
    lock: &mut sqlx::PgConnection,
    shutdown: &mut Shutdown,
) -> Ended {
    let tz = std::env::var("DEFAULT_TIMEZONE").unwrap_or_else(|_| "Asia/Bangkok".into());
    let mut last_discovery = None;
    let monitor = loop {
        if let Err(e) = discovery::sync(ctx, &client, &tz).await {
            tracing::error!(error = %e, "Soundtrack discovery failed; monitoring what we know");
        } else {
            last_discovery = Some(std::time::Instant::now());
        }
        match Monitor::load(ctx.clone(), client.clone(), Clock::Real, MonitorSettings::from_config(&ctx.config)).await {
            Ok(m) => break m,
            Err(e) => {
                tracing::error!(error = %e, "could not load the monitor; retrying");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(10)) => {}
                    _ = shutdown.changed() => return Ended::Shutdown,
                }
            }
        }
    };
    let mut last_reload = std::time::Instant::now();
    loop {
        if *shutdown.borrow() {
            return Ended::Shutdown;
        }
        if !still_leading(lock).await {
            return Ended::LostLeadership;
        }
        if last_discovery.is_none_or(|t| t.elapsed() >= Duration::from_secs(6 * 3600)) {
            match discovery::sync(ctx, &client, &tz).await {
                Ok(_) => last_discovery = Some(std::time::Instant::now()),
                Err(e) => tracing::error!(error = %e, "Soundtrack discovery failed"),
            }
        }
        if last_reload.elapsed() >= Duration::from_secs(60) {
            if let Err(e) = monitor.reload().await {
                tracing::error!(error = %e, "could not reload the monitored fleet");
            }
            last_reload = std::time::Instant::now();
        }
        let pause = match monitor.tick().await {
            Ok(r) if r.accounts_asked == 0 && r.zones_detailed == 0 => Duration::from_secs(2),
            Ok(_) => Duration::from_millis(200),
            Err(e) => {
                tracing::error!(error = %e, "monitor tick failed");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return Ended::Shutdown,
        }
    }
}
