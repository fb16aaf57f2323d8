//! Schemas of query parameters the handlers read as text and parse themselves: each lists
//! exactly the values the parser accepts, taken from the parser's own list, so the document and
//! the server cannot disagree.

use utoipa::openapi::Object;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};

fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).build()
}

/// Page numbers start at 1.
pub fn page() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(bma_domain::page::PageRequest::MAX_PAGE))
        .build()
}

pub fn per_page() -> Object {
    let max = bma_domain::page::PageRequest::MAX_PER_PAGE;
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(max))
        .description(Some(format!("1 to {max}, default 50")))
        .build()
}

pub fn venue_sort() -> Object {
    one_of(bma_store::venues::VenueSort::ALL.map(|s| s.as_str()))
}

pub fn report_group() -> Object {
    one_of(bma_store::messaging::GroupBy::ALL.map(|g| g.as_str()))
}

pub fn uptime_group() -> Object {
    one_of(bma_app::services::uptime::GroupBy::ALL.map(|g| g.as_str()))
}

pub fn format() -> Object {
    one_of(["json", "csv"])
}

/// An ISO 3166-1 alpha-2 country code, any case.
pub fn country() -> Object {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[A-Za-z]{2}$")).build()
}

/// An IANA time-zone name the server knows.
pub fn time_zone() -> Object {
    one_of(bma_domain::time_zones::NAMES.iter().copied())
}

/// The calendar of a report: a time zone, or `venue` for each venue's own.
pub fn report_time_zone() -> Object {
    one_of(std::iter::once("venue").chain(bma_domain::time_zones::NAMES.iter().copied()))
}

/// An RFC 3339 time such as 2026-01-31T09:00:00+07:00.
pub fn time() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(o: &Object) -> Vec<String> {
        o.enum_values.iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
    }

    #[test]
    fn every_value_a_schema_lists_is_one_its_parser_accepts() {
        for v in values(&venue_sort()) {
            assert!(bma_store::venues::VenueSort::parse(&v).is_some(), "{v}");
        }
        for v in values(&report_group()) {
            assert!(bma_store::messaging::GroupBy::parse(&v).is_some(), "{v}");
        }
        for v in values(&uptime_group()) {
            assert!(bma_app::services::uptime::GroupBy::parse(&v).is_some(), "{v}");
        }
    }
}
