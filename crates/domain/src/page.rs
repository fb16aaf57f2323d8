//! Pagination of list endpoints.

use crate::Invalid;

/// A page request: 1-based page number and a bounded page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl PageRequest {
    pub const MAX_PER_PAGE: u32 = 200;
    pub const MAX_PAGE: u32 = 1_000_000;

    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(50);
        if page == 0 || page > Self::MAX_PAGE {
            inv.push("page", format!("must be between 1 and {}", Self::MAX_PAGE));
        }
        if per_page == 0 || per_page > Self::MAX_PER_PAGE {
            inv.push("per_page", format!("must be between 1 and {}", Self::MAX_PER_PAGE));
        }
        inv.into_result().map(|()| Self { page, per_page })
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}
