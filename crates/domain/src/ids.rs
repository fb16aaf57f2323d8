//! Identifiers. Ids are UUID v7, generated in Rust so that they sort by creation time.

use uuid::Uuid;

/// A new time-ordered id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
