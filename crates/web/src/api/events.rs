//! The live feed: server-sent events for the portal (alerts opening and resolving, conversations
//! changing), fanned out across replicas through Redis pub/sub.

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use std::convert::Infallible;

/// A stream of `text/event-stream` events; each event's name is its `type` (`monitoring`,
/// `conversation.updated`) and its data the JSON payload.
#[utoipa::path(get, path = "/api/v1/events", tag = "system", security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream", description = "server-sent events"), (status = 401, body = ErrorBody)))]
pub async fn events(State(state): State<AppState>) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let stream = state.ctx.kv.pubsub.subscribe("events").await.map_err(|e| ApiError::Internal(e.into()))?;
    let events = stream.map(|payload| {
        let kind = serde_json::from_str::<serde_json::Value>(&payload)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "event".into());
        Ok(Event::default().event(kind).data(payload))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
