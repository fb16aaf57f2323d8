//! The live pages' one way to hear about changes: the event feed, cut to the kinds a page shows
//! and the member's role may see, a burst already waiting taken as one change. Each page turns a
//! change into the HTML fragments it swaps in.

use crate::error::PortalError;
use bma_app::AppContext;
use bma_app::events::{CHANNEL, Incoming, permission_for};
use bma_domain::access::Role;
use futures_util::{Stream, StreamExt};

/// One item per change (or burst of changes) of an event kind `shows` accepts and `role` may see.
pub async fn changes(
    ctx: &AppContext,
    role: Role,
    shows: fn(&str) -> bool,
) -> Result<impl Stream<Item = ()> + Send + 'static + use<>, PortalError> {
    let feed = ctx.kv.pubsub.subscribe(CHANNEL).await.map_err(|e| PortalError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(feed
        .filter_map(move |raw| {
            let e = Incoming::parse(&raw);
            let show = shows(&e.kind) && role.grants(permission_for(&e.kind));
            async move { show.then_some(()) }
        })
        .ready_chunks(256)
        .map(|_| ()))
}
