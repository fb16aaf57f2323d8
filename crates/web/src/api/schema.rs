//! Schemas of query parameters the handlers read as text and parse themselves: each lists
//! exactly the values the parser accepts, taken from the parser's own list, so the document and
//! the server cannot disagree.

use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, ArrayItems, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
    SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Object, RefOr};

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

/// The moods of a playlist.
pub fn moods() -> RefOr<Schema> {
    use crate::api::playlists::{MAX_MOOD_CHARS, MAX_MOODS};
    let mood = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_MOOD_CHARS))
        .pattern(Some("^[^\\x00-\\x1F\\x7F-\\x9F]*$"))
        .build();
    array(mood, MAX_MOODS, false)
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

/// The calendar of a report: a time zone, `venue` for each venue's own, or empty for UTC.
pub fn report_time_zone() -> Object {
    one_of(["", "venue"].into_iter().chain(bma_domain::time_zones::NAMES.iter().copied()))
}

/// An RFC 3339 time such as 2026-01-31T09:00:00+07:00.
pub fn time() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .build()
}

/// The characters the server trims, inside a regular-expression class.
pub fn white_space() -> String {
    bma_domain::member::white_space_class()
}

/// Text with at least one character that is not white space, and no NUL (which the server
/// refuses in every body), at most `max` characters.
pub fn non_blank_text(max: usize) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!("^[^\\x00]*[^\\x00{}][^\\x00]*$", white_space())))
        .build()
}

/// Text without NUL, at most `max` characters (possibly empty).
pub fn text(max: usize) -> Object {
    ObjectBuilder::new().schema_type(Type::String).max_length(Some(max)).pattern(Some("^[^\\x00]*$")).build()
}

/// A UUID.
pub fn uuid() -> Object {
    ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))).build()
}

/// JSON null only: the member may be given as null, or left out.
pub fn null() -> Object {
    ObjectBuilder::new().schema_type(Type::Null).build()
}

/// The same schema, null allowed too (an enumeration gains null among its values).
pub fn or_null(mut o: Object) -> Object {
    o.schema_type = match o.schema_type {
        SchemaType::Type(t) => SchemaType::Array(vec![t, Type::Null]),
        SchemaType::Array(mut ts) => {
            ts.push(Type::Null);
            SchemaType::Array(ts)
        }
        other => other,
    };
    if let Some(values) = o.enum_values.as_mut() {
        values.push(serde_json::Value::Null);
    }
    o
}

pub fn boolean() -> Object {
    ObjectBuilder::new().schema_type(Type::Boolean).build()
}

/// The boolean `value` only.
pub fn exactly(value: bool) -> Object {
    ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([value])).build()
}

/// One of `values`.
pub fn enumeration<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    one_of(values)
}

/// An array of `item`, at most `max` long.
pub fn array(item: impl Into<RefOr<Schema>>, max: usize, unique: bool) -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(ArrayItems::RefOrSchema(Box::new(item.into())))
        .max_items(Some(max))
        .unique_items(unique)
        .into()
}

/// An object with exactly `properties` (no others allowed), of which `required` must be given.
pub fn closed_object(title: &str, properties: Vec<(&str, RefOr<Schema>)>, required: &[&str]) -> Object {
    let mut b = ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Object))
        .title(Some(title))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for (name, schema) in properties {
        b = b.property(name, schema);
    }
    for r in required {
        b = b.required(*r);
    }
    b.build()
}

/// Exactly one of `alternatives`, described, with examples.
pub fn exactly_one_of(description: &str, alternatives: Vec<Object>, examples: Vec<serde_json::Value>) -> RefOr<Schema> {
    let mut b = OneOfBuilder::new().description(Some(description)).examples(examples);
    for a in alternatives {
        b = b.item(a);
    }
    b.into()
}

/// At least one of `alternatives`, described, with examples.
pub fn any_of(description: &str, alternatives: Vec<Object>, examples: Vec<serde_json::Value>) -> RefOr<Schema> {
    let mut b = AnyOfBuilder::new().description(Some(description)).examples(examples);
    for a in alternatives {
        b = b.item(a);
    }
    b.into()
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
