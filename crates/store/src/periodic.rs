//! Periodic jobs fire once per time slot across any number of schedulers: the first scheduler to
//! insert the (name, slot) row enqueues the job in the same transaction; the others find the row.

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::jobs::{self, NewJob};

/// The start of the slot of length `every` that contains `now` (slots are aligned to the epoch).
pub fn slot_of(now: OffsetDateTime, every: std::time::Duration) -> OffsetDateTime {
    let every = i128::try_from(every.as_nanos()).unwrap_or(i128::MAX).max(1);
    let ns = now.unix_timestamp_nanos();
    OffsetDateTime::from_unix_timestamp_nanos(ns - ns.rem_euclid(every)).unwrap_or(now)
}

/// Enqueues `job` for `slot` unless a scheduler already has. Returns whether this call fired it.
pub async fn fire_once(
    pool: &PgPool,
    name: &str,
    slot: OffsetDateTime,
    scheduler: &str,
    job: NewJob,
) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let claimed =
        sqlx::query("INSERT INTO periodic_runs (name, slot, fired_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(slot)
            .bind(scheduler)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
    if claimed {
        jobs::enqueue(&mut *tx, job).await?;
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Forgets slots older than `keep` (periodic clean-up).
pub async fn purge_old(pool: &PgPool, keep: time::Duration) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM periodic_runs WHERE slot < now() - $1")
        .bind(keep)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_align_to_multiples_of_the_period() {
        let t = OffsetDateTime::from_unix_timestamp(1_000_000_123).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let s = slot_of(t, std::time::Duration::from_secs(60));
        assert_eq!(s.unix_timestamp(), 1_000_000_080);
        assert_eq!(slot_of(s, std::time::Duration::from_secs(60)), s);
    }
}
