//! What admins do with the job queue: look at dead jobs and give them another run.

use super::{Actor, snapshot};
use crate::{AppContext, Error, Result};
use bma_store::{audit, jobs};
use uuid::Uuid;

pub async fn requeue(ctx: &AppContext, actor: &Actor, id: Uuid) -> Result<jobs::Job> {
    let mut tx = ctx.db.begin().await?;
    let before = jobs::find(&mut *tx, id).await?.ok_or(Error::NotFound("job"))?;
    let after = jobs::requeue_dead(&mut *tx, id)
        .await?
        .ok_or_else(|| Error::conflict("job_not_dead", format!("the job is {}, not dead", before.status)))?;
    audit::record(&mut *tx, actor.audit("job.requeue", "job", id, snapshot(&before), snapshot(&after))).await?;
    tx.commit().await?;
    Ok(after)
}
