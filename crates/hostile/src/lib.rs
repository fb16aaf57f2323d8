//! Hostile input for the parsers' property tests (RELIABILITY.md, "Hostile input"): real sample
//! payloads mutated along their structure and their bytes, hostile text, and the time bound one
//! input must be read within. It is shared so that every parser family is attacked the same way;
//! it is a dev-dependency only and nothing in the binary links it.
//!
//! The case count is proptest's own: 256 per property by default, `PROPTEST_CASES=20000` for the
//! long run.

pub mod bound;
pub mod json;
pub mod text;

pub use bound::{PER_64_KIB, bounded};
