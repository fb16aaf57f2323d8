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
pub mod status_links;
pub mod team;
pub mod venues;
pub mod webhooks;
pub mod zones;

use serde::Serialize;

/// Whole numbers in bodies: JSON does not tell 4 from 4.0, so neither do we.
pub mod whole {
    use serde::{Deserialize, Deserializer, de::Error};

    fn number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        if let Some(i) = n.as_i64() {
            return Ok(i);
        }
        match n.as_f64() {
            #[allow(clippy::cast_possible_truncation)]
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => Err(D::Error::custom("expected a whole number")),
        }
    }

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        number(d)
    }

    pub fn u8<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        u8::try_from(number(d)?).map_err(|_| D::Error::custom("expected a whole number from 0 to 255"))
    }
}

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
