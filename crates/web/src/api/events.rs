//! The live feed: server-sent events for the portal (alerts opening and resolving, conversations
//! changing), fanned out across replicas through Redis pub/sub, each numbered so that a client
//! reconnecting with `Last-Event-ID` receives what it missed, and each shown only to members
//! whose role holds the permission its kind needs.

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::CurrentUser;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use bma_app::events::{CHANNEL, Incoming, permission_for};
use futures_util::{Stream, StreamExt, stream};
use std::convert::Infallible;

fn sse(e: &Incoming) -> Event {
    let ev = Event::default().event(&e.kind).data(&e.json);
    match e.id {
        Some(id) => ev.id(id.to_string()),
        None => ev,
    }
}

/// A stream of `text/event-stream` events; each event's name is its `type` (`monitoring`,
/// `conversation.updated`), its data the JSON payload and its id its number in the feed. A client
/// that sends `Last-Event-ID` first receives the events after that id that it may see, from a
/// journal of the newest 1,000; when some of them are no longer kept (or the id is unknown), a
/// `reload` event comes first instead, and the client should reload its state.
#[utoipa::path(get, path = "/api/v1/events", tag = "system", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<u64>, Header, description = "the id of the last event received")),
    responses((status = 200, content_type = "text/event-stream", description = "server-sent events"), (status = 401, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    CurrentUser(viewer): CurrentUser,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let pubsub = &state.ctx.kv.pubsub;
    // Subscribed before the journal is read, so nothing published in between is lost.
    let live = pubsub.subscribe(CHANNEL).await.map_err(|e| ApiError::Internal(e.into()))?;
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let mut first: Vec<Event> = Vec::new();
    let mut seen = 0;
    if let Some(after) = last {
        let replay = pubsub.replay(CHANNEL, after).await.map_err(|e| ApiError::Internal(e.into()))?;
        if replay.gap {
            first.push(Event::default().event("reload").data(r#"{"type":"reload"}"#));
        }
        seen = replay.events.last().map_or(after, |(id, _)| *id);
        for (id, payload) in replay.events {
            let e = Incoming::parse(&format!("{id} {payload}"));
            if viewer.role.grants(permission_for(&e.kind)) {
                first.push(sse(&e));
            }
        }
    }
    let role = viewer.role;
    let live = live.filter_map(move |raw| {
        let e = Incoming::parse(&raw);
        // Already replayed, or not for this member.
        let show = e.id.is_none_or(|id| id > seen) && role.grants(permission_for(&e.kind));
        async move { show.then(|| Ok(sse(&e))) }
    });
    let events = stream::iter(first.into_iter().map(Ok)).chain(live);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
