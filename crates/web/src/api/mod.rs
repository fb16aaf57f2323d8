//! The handlers, one module per resource. Each handler parses its input into domain types,
//! calls a service or a store function, and answers JSON.

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod campaigns;
pub mod conversations;
pub mod events;
pub mod health;
pub mod monitoring;
pub mod playlists;
pub mod report;
pub mod schema;
pub mod team;
pub mod venues;
pub mod webhooks;
pub mod zones;

use serde::Serialize;

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub pagination: Pagination,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Pagination {
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
    pub total_pages: i64,
}

impl Pagination {
    pub fn new(p: bma_domain::page::PageRequest, total: i64) -> Self {
        let per = i64::from(p.per_page);
        Self { page: p.page, per_page: p.per_page, total, total_pages: (total + per - 1) / per }
    }
}
