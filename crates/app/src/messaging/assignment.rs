//! Automatic assignment: round robin among active admins and managers, skipping anyone who
//! already holds the cap of open conversations. When nobody qualifies the conversation stays
//! unassigned and shows in the "unassigned" view.

use crate::{AppContext, Result};
use bma_store::messaging as store;
use sqlx::PgConnection;
use uuid::Uuid;

/// Assigns the conversation to the next member in turn, unless someone holds it already.
/// Returns the member chosen.
pub async fn assign_if_unassigned(
    ctx: &AppContext,
    db: &mut PgConnection,
    conversation_id: Uuid,
) -> Result<Option<Uuid>> {
    let current: Option<Option<Uuid>> = sqlx::query_scalar("SELECT assigned_to FROM conversations WHERE id = $1")
        .bind(conversation_id)
        .fetch_optional(&mut *db)
        .await?;
    if !matches!(current, Some(None)) {
        return Ok(None);
    }
    store::lock_assignment(&mut *db).await?;
    let Some(member) = store::next_assignee(&mut *db, i64::from(ctx.config.messaging.assign_cap)).await? else {
        tracing::info!(%conversation_id, "no member below the assignment cap; left unassigned");
        return Ok(None);
    };
    store::assign(&mut *db, conversation_id, Some(member)).await?;
    Ok(Some(member))
}
