//! The playlist catalogue the bot chooses from.

use serde::Serialize;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct CataloguePlaylist {
    pub id: Uuid,
    pub soundtrack_id: String,
    pub name: String,
    pub moods: Vec<String>,
}

/// Adds or updates a playlist of the catalogue (keyed by its Soundtrack id).
pub async fn upsert_playlist(
    db: impl PgExecutor<'_>,
    soundtrack_id: &str,
    name: &str,
    moods: &[String],
) -> sqlx::Result<CataloguePlaylist> {
    sqlx::query_as(
        "INSERT INTO playlist_catalogue (id, soundtrack_id, name, moods) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (soundtrack_id) DO UPDATE SET name = EXCLUDED.name, moods = EXCLUDED.moods \
         RETURNING id, soundtrack_id, name, moods",
    )
    .bind(bma_domain::ids::new_id())
    .bind(soundtrack_id)
    .bind(name)
    .bind(moods)
    .fetch_one(db)
    .await
}

pub async fn catalogue(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<CataloguePlaylist>> {
    sqlx::query_as("SELECT id, soundtrack_id, name, moods FROM playlist_catalogue ORDER BY name").fetch_all(db).await
}

/// The playlist a request names: by name first, then by mood.
pub async fn find_playlist(db: impl PgExecutor<'_>, query: &str) -> sqlx::Result<Option<CataloguePlaylist>> {
    sqlx::query_as(
        "SELECT id, soundtrack_id, name, moods FROM playlist_catalogue \
         WHERE name ILIKE '%' || $1 || '%' OR lower($1) = ANY(moods) \
         ORDER BY (name ILIKE '%' || $1 || '%') DESC, name LIMIT 1",
    )
    .bind(query)
    .fetch_optional(db)
    .await
}
