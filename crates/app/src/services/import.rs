//! Bulk import of venues with their zones and contacts from CSV, as a reseller onboards hundreds
//! at once. One row per zone (venue columns repeated, or left empty after the venue's first row);
//! rows with the same `venue_ref` (or, without one, the same `venue_name`) are one venue. All or
//! nothing: any bad row and nothing is written, with every bad row reported.

use super::venues::{contact_fields, fields, zone_fields};
use super::{Actor, snapshot};
use crate::{AppContext, Result};
use bma_domain::contact::{ContactDraft, RawContact};
use bma_domain::venue::{RawVenue, VenueDraft, ZoneDraft};
use bma_store::{audit, venues as store};
use serde::Serialize;
use std::collections::HashMap;

pub const MAX_ROWS: usize = 20_000;

/// The most unknown columns a refusal names one by one.
const MAX_COLUMN_ERRORS: usize = 16;

pub const COLUMNS: &[&str] = &[
    "venue_ref",
    "venue_name",
    "brand",
    "country",
    "timezone",
    "soundtrack_account_id",
    "opening_hours",
    "zone_name",
    "zone_type",
    "soundtrack_zone_id",
    "contact_name",
    "contact_role",
    "contact_channel",
    "contact_whatsapp",
    "contact_line_user_id",
    "contact_email",
];

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RowError {
    /// The line in the file where the row starts (the header is line 1).
    pub row: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub venues_created: usize,
    pub zones_created: usize,
    pub contacts_created: usize,
}

#[derive(Debug)]
pub enum ImportOutcome {
    Imported(ImportReport),
    Rejected(Vec<RowError>),
}

struct PlannedVenue {
    first_row: usize,
    draft: VenueDraft,
    zones: Vec<(usize, ZoneDraft)>,
    contacts: Vec<ContactDraft>,
}

/// The CSV column a zone field comes from.
fn zone_column(field: &str) -> &str {
    if field == "name" { "zone_name" } else { field }
}

/// The CSV column a contact field comes from.
fn contact_column(field: &str) -> &str {
    match field {
        "name" => "contact_name",
        "role" => "contact_role",
        "channel" => "contact_channel",
        "whatsapp_number" => "contact_whatsapp",
        "line_user_id" => "contact_line_user_id",
        "email" => "contact_email",
        other => other,
    }
}

fn err(row: usize, field: &str, message: impl Into<String>) -> RowError {
    RowError { row, field: field.to_owned(), message: message.into() }
}

/// Finds the line a row starts on, as an editor shows it, reading the file once. A row's number
/// (`i + 2`) is off it after a blank line or a line break inside a quoted cell, and so is csv's
/// own line: its position of a row is where it began looking, before the blank lines it skipped.
#[derive(Default)]
struct Lines {
    /// Bytes of the file already counted, and the newlines among them.
    counted: usize,
    newlines: usize,
}

impl Lines {
    /// The line of the first byte at or after `byte` that does not end a line.
    fn line_of(&mut self, bytes: &[u8], byte: u64) -> usize {
        let from = usize::try_from(byte).unwrap_or(usize::MAX).clamp(self.counted, bytes.len());
        let tail = bytes.get(from..).unwrap_or_default();
        let start = from + tail.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
        let seen = bytes.get(self.counted..start).unwrap_or_default();
        self.newlines += seen.iter().filter(|b| **b == b'\n').count();
        self.counted = start;
        self.newlines + 1
    }
}

/// Parses and checks the whole file without touching the database.
fn plan(bytes: &[u8]) -> std::result::Result<Vec<PlannedVenue>, Vec<RowError>> {
    // No cell can hold a NUL (PostgreSQL's text cannot), and the report must not echo one back.
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
        return Err(vec![err(1, "file", format!("must not contain NUL characters; the first is on line {line}"))]);
    }
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_lowercase()).collect(),
        Err(e) => return Err(vec![err(1, "header", format!("unreadable header: {e}"))]),
    };
    let mut errors = Vec::new();
    // Each unknown column once, and at most MAX_COLUMN_ERRORS of them: a 32 KB header of 16,000
    // empty columns made 16,000 errors of 300 bytes each (a 5 MB answer).
    let mut unknown: Vec<&str> = Vec::new();
    for h in &headers {
        if !COLUMNS.contains(&h.as_str()) && !unknown.contains(&h.as_str()) {
            unknown.push(h);
        }
    }
    let expected = format!("unknown column (expected some of: {})", COLUMNS.join(", "));
    for h in unknown.iter().take(MAX_COLUMN_ERRORS) {
        errors.push(err(1, h, expected.clone()));
    }
    if unknown.len() > MAX_COLUMN_ERRORS {
        errors.push(err(1, "header", format!("{} more unknown columns", unknown.len() - MAX_COLUMN_ERRORS)));
    }
    for required in ["venue_name", "timezone"] {
        if !headers.iter().any(|h| h == required) {
            errors.push(err(1, required, "required column is missing"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let idx: HashMap<&str, Option<usize>> = COLUMNS.iter().map(|c| (*c, col(c))).collect();

    let mut lines = Lines::default();
    let mut venues: Vec<PlannedVenue> = Vec::new();
    let mut by_ref: HashMap<String, usize> = HashMap::new();
    let mut zone_ids: HashMap<String, usize> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let at = record.as_ref().map_or_else(|e| e.position(), |r| r.position()).map(csv::Position::byte);
        let row = at.map_or(i + 2, |byte| lines.line_of(bytes, byte));
        if i >= MAX_ROWS {
            errors.push(err(row, "row", format!("a file may hold at most {MAX_ROWS} rows")));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(row, "row", format!("unreadable row: {e}")));
                continue;
            }
        };
        let get = |name: &str| idx.get(name).copied().flatten().and_then(|c| record.get(c)).filter(|s| !s.is_empty());
        let Some(venue_name) = get("venue_name") else {
            errors.push(err(row, "venue_name", "is required"));
            continue;
        };
        let key = get("venue_ref").unwrap_or(venue_name).to_owned();
        let vi = match by_ref.get(&key) {
            Some(&vi) => vi,
            None => {
                let hours = match get("opening_hours").map(bma_domain::hours::parse_schedule) {
                    None => None,
                    Some(Ok(h)) => Some(h),
                    Some(Err(e)) => {
                        errors.extend(e.0.into_iter().map(|f| err(row, &f.field, f.message)));
                        continue;
                    }
                };
                let raw = RawVenue {
                    name: Some(venue_name),
                    brand: get("brand"),
                    country: get("country"),
                    timezone: get("timezone"),
                    soundtrack_account_id: get("soundtrack_account_id"),
                };
                match VenueDraft::parse(&raw, hours) {
                    Ok(draft) => {
                        venues.push(PlannedVenue { first_row: row, draft, zones: Vec::new(), contacts: Vec::new() });
                        by_ref.insert(key, venues.len() - 1);
                        venues.len() - 1
                    }
                    Err(e) => {
                        errors.extend(
                            e.0.into_iter()
                                .map(|f| err(row, if f.field == "name" { "venue_name" } else { &f.field }, f.message)),
                        );
                        continue;
                    }
                }
            }
        };
        let v = &mut venues[vi];
        if row != v.first_row {
            if get("timezone").is_some_and(|tz| tz != v.draft.timezone.as_str()) {
                errors.push(err(row, "timezone", format!("differs from the venue's first row (line {})", v.first_row)));
            }
            if venue_name != v.draft.name.as_str() {
                errors.push(err(
                    row,
                    "venue_name",
                    format!("differs from the venue's first row (line {})", v.first_row),
                ));
            }
        }
        if let Some(zone_name) = get("zone_name") {
            match ZoneDraft::parse(Some(zone_name), get("zone_type"), get("soundtrack_zone_id")) {
                Ok(z) => {
                    if v.zones.iter().any(|(_, o)| o.name.as_str().eq_ignore_ascii_case(z.name.as_str())) {
                        errors.push(err(row, "zone_name", "the venue already has a zone with this name in the file"));
                    }
                    if let Some(sid) = &z.soundtrack_zone_id
                        && let Some(prev) = zone_ids.insert(sid.as_str().to_owned(), row)
                    {
                        errors.push(err(row, "soundtrack_zone_id", format!("also used on line {prev}")));
                    }
                    v.zones.push((row, z));
                }
                Err(e) => errors.extend(e.0.into_iter().map(|f| err(row, zone_column(&f.field), f.message))),
            }
        } else if get("zone_type").is_some() || get("soundtrack_zone_id").is_some() {
            errors.push(err(row, "zone_name", "is required when other zone columns are filled"));
        }
        if get("contact_name").is_some() || get("contact_channel").is_some() {
            let raw = RawContact {
                name: get("contact_name"),
                role: get("contact_role"),
                channel: get("contact_channel"),
                whatsapp_number: get("contact_whatsapp"),
                line_user_id: get("contact_line_user_id"),
                email: get("contact_email"),
                is_staff: None,
            };
            match ContactDraft::parse(&raw) {
                Ok(c) => {
                    if !v.contacts.contains(&c) {
                        v.contacts.push(c);
                    }
                }
                Err(e) => errors.extend(e.0.into_iter().map(|f| err(row, contact_column(&f.field), f.message))),
            }
        }
    }
    if venues.is_empty() && errors.is_empty() {
        errors.push(err(1, "file", "the file holds no venues"));
    }
    if errors.is_empty() { Ok(venues) } else { Err(errors) }
}

pub async fn import_csv(ctx: &AppContext, actor: &Actor, bytes: &[u8]) -> Result<ImportOutcome> {
    let venues = match plan(bytes) {
        Ok(v) => v,
        Err(mut e) => {
            e.sort_by_key(|r| r.row);
            return Ok(ImportOutcome::Rejected(e));
        }
    };
    // Checks that need the database: time zones it knows, Soundtrack zone ids already taken.
    let mut errors = Vec::new();
    let mut tzs: Vec<String> = venues.iter().map(|v| v.draft.timezone.as_str().to_owned()).collect();
    tzs.sort();
    tzs.dedup();
    let known: Vec<String> = sqlx::query_scalar("SELECT name FROM pg_timezone_names WHERE name = ANY($1)")
        .bind(&tzs)
        .fetch_all(&ctx.db)
        .await?;
    for v in &venues {
        if !known.iter().any(|k| k == v.draft.timezone.as_str()) {
            errors.push(err(
                v.first_row,
                "timezone",
                format!("{:?} is not a known IANA time zone", v.draft.timezone.as_str()),
            ));
        }
    }
    let ids: Vec<String> = venues
        .iter()
        .flat_map(|v| v.zones.iter().filter_map(|(_, z)| z.soundtrack_zone_id.as_ref().map(|s| s.as_str().to_owned())))
        .collect();
    let taken = store::soundtrack_zone_ids_taken(&ctx.db, &ids).await?;
    for v in &venues {
        for (row, z) in &v.zones {
            if z.soundtrack_zone_id.as_ref().is_some_and(|s| taken.iter().any(|t| t == s.as_str())) {
                errors.push(err(*row, "soundtrack_zone_id", "already belongs to an existing zone"));
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|r| r.row);
        return Ok(ImportOutcome::Rejected(errors));
    }

    let mut report = ImportReport::default();
    let mut created = Vec::new();
    let mut tx = ctx.db.begin().await?;
    for v in &venues {
        let id = bma_domain::ids::new_id();
        store::insert(&mut *tx, id, &fields(&v.draft)).await?;
        if let Some(h) = &v.draft.opening_hours {
            store::replace_opening_hours(&mut tx, id, h).await?;
        }
        for (_, z) in &v.zones {
            store::insert_zone(&mut *tx, bma_domain::ids::new_id(), id, &zone_fields(z)).await?;
            report.zones_created += 1;
        }
        for c in &v.contacts {
            store::insert_contact(&mut *tx, bma_domain::ids::new_id(), id, &contact_fields(c)).await?;
            report.contacts_created += 1;
        }
        report.venues_created += 1;
        created.push(id);
    }
    let after = serde_json::json!({"report": snapshot(&report), "venue_ids": created});
    audit::record(&mut *tx, actor.audit("venue.import", "venue", "bulk", None, Some(after))).await?;
    tx.commit().await?;
    crate::cache::bump(ctx, crate::cache::VENUE_LISTS).await?;
    Ok(ImportOutcome::Imported(report))
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "venue_ref,venue_name,brand,country,timezone,opening_hours,zone_name,zone_type,soundtrack_zone_id,contact_name,contact_channel,contact_whatsapp\n";

    #[test]
    fn rows_of_one_venue_are_grouped_with_their_zones_and_contacts() {
        let csv = format!(
            "{HEADER}v1,Hotel A,Lotus,TH,Asia/Bangkok,daily 07:00-23:00,Lobby,lobby,SZ1,Somchai,whatsapp,+66812345678\n\
             v1,Hotel A,,,,,Pool,pool,SZ2,Somchai,whatsapp,+66812345678\n\
             v2,Cafe B,,SG,Asia/Singapore,,Main,restaurant,,,,\n"
        );
        let plan = plan(csv.as_bytes()).unwrap_or_default();
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].zones.len(), 2);
        assert_eq!(plan[0].contacts.len(), 1, "an identical contact on two rows is one contact");
        assert_eq!(plan[0].draft.opening_hours.as_ref().map(Vec::len), Some(7));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_field() {
        let csv = format!(
            "{HEADER}v1,Hotel A,,THA,Asia/Bangkok,,Lobby,lobby,SZ1,,,\n\
             v2,Hotel B,,TH,,,Lobby,garage,SZ1,,,\n\
             v3,Hotel C,,TH,Asia/Bangkok,,Lobby,lobby,,Ann,whatsapp,0812\n"
        );
        let errors = match plan(csv.as_bytes()) {
            Ok(_) => Vec::new(),
            Err(e) => e,
        };
        let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert!(found.contains(&(2, "country")), "{errors:?}");
        assert!(found.contains(&(3, "timezone")), "{errors:?}");
        assert!(found.contains(&(4, "contact_whatsapp")), "{errors:?}");
    }

    #[test]
    fn a_reported_line_is_where_the_row_starts_after_blank_lines_and_quoted_line_breaks() {
        // Found by the fuzz properties: the report said line 2 for a row on line 3.
        let csv =
            "venue_name,timezone,country\n\nHotel A,Asia/Bangkok,THA\r\n\"Hotel\nB\",Asia/Bangkok,TH\n\nHotel C,,TH\n";
        let errors = plan(csv.as_bytes()).err().unwrap_or_default();
        let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(found, vec![(3, "country"), (4, "venue_name"), (7, "timezone")]);
    }

    #[test]
    fn a_file_saved_with_a_byte_order_mark_is_read_like_one_without() {
        let plain = "venue_name,timezone\nHotel A,Asia/Bangkok\n";
        let with_bom = format!("\u{feff}{plain}");
        assert_eq!(plan(with_bom.as_bytes()).map(|v| v.len()).ok(), Some(1));
    }

    #[test]
    fn a_header_of_thousands_of_unknown_columns_is_refused_in_a_few_errors() {
        // Found by the fuzz properties: 16,000 empty columns gave 16,000 errors (5 MB).
        let header = ",\t".repeat(16_000);
        let errors = plan(header.as_bytes()).err().unwrap_or_default();
        assert!(errors.len() <= MAX_COLUMN_ERRORS + 3, "{} errors", errors.len());
        let many: String = (0..100).map(|i| format!("c{i},")).collect();
        let errors = plan(format!("{many}venue_name,timezone\n").as_bytes()).err().unwrap_or_default();
        assert_eq!(errors.len(), MAX_COLUMN_ERRORS + 1);
        assert_eq!(errors.last().map(|e| e.message.as_str()), Some("84 more unknown columns"));
    }

    #[test]
    fn unknown_columns_are_refused() {
        let errors = plan(b"venue_name,timezone,colour\nA,Asia/Bangkok,red\n").err().unwrap_or_default();
        assert_eq!(errors.first().map(|e| e.field.as_str()), Some("colour"));
    }
}
