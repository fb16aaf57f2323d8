//! The playlist catalogue: the provider's curated Soundtrack playlists and the moods they suit,
//! which the bot picks from when a venue asks for "jazz" or "something calm".

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuditActor, Json};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bma_domain::Invalid;
use bma_store::messaging::{self as store, CataloguePlaylist};
use serde::Deserialize;

/// The catalogue, by name.
#[utoipa::path(get, path = "/api/v1/playlists", tag = "zones", security(("bearer" = [])),
    responses((status = 200, body = Vec<CataloguePlaylist>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<CataloguePlaylist>>> {
    Ok(Json(store::catalogue(&state.ctx.db).await?))
}

pub const MAX_MOODS: usize = 20;
pub const MAX_MOOD_CHARS: usize = 40;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaylistBody {
    /// The playlist's id in Soundtrack.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$"
    )]
    pub soundtrack_id: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$"
    )]
    pub name: String,
    /// Mood words such as jazz, calm, upbeat, lounge (kept trimmed and in lower case): at most
    /// 20, each at most 40 characters without control characters.
    #[serde(default)]
    #[schema(schema_with = crate::api::schema::moods)]
    pub moods: Vec<String>,
}

/// Adds a playlist to the catalogue, or updates the one with this Soundtrack id.
#[utoipa::path(post, path = "/api/v1/playlists", tag = "zones", security(("bearer" = [])), request_body = PlaylistBody,
    responses((status = 201, body = CataloguePlaylist), (status = 422, body = ErrorBody)))]
pub async fn upsert(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Json(body): Json<PlaylistBody>,
) -> ApiResult<Response> {
    let mut inv = Invalid::default();
    let text = |field: &str, raw: &str, inv: &mut Invalid| {
        bma_domain::member::bounded_text(raw, 1, 200).map_err(|m| inv.push(field, m)).unwrap_or_default()
    };
    let sid = text("soundtrack_id", &body.soundtrack_id, &mut inv);
    let name = text("name", &body.name, &mut inv);
    // Checked as sent (the document states the same), then kept trimmed and in lower case.
    let bad_mood = |m: &String| m.chars().count() > MAX_MOOD_CHARS || m.chars().any(char::is_control);
    if body.moods.len() > MAX_MOODS || body.moods.iter().any(bad_mood) {
        inv.push("moods", "at most 20 moods of at most 40 characters, without control characters");
    }
    inv.into_result()?;
    let moods: Vec<String> = body.moods.iter().map(|m| m.trim().to_lowercase()).filter(|m| !m.is_empty()).collect();
    let mut tx = state.ctx.db.begin().await?;
    let p = store::upsert_playlist(&mut *tx, &sid, &name, &moods).await?;
    bma_store::audit::record(
        &mut *tx,
        actor.audit(
            "playlist.upsert",
            "playlist",
            p.id,
            None,
            Some(serde_json::json!({"name": p.name, "moods": p.moods})),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}
