//! Hostile files against the CSV import's reading and checking (RELIABILITY.md, "Hostile input"):
//! any upload must give a plan or a per-row report in time linear in its size, and every line a
//! report names must be the line in the file where that row starts (the person fixes the file by
//! it), never past the end of the file.

use super::*;
use bma_hostile::{bounded, text::bytes, text::text};
use proptest::prelude::*;

/// Realistic values of each column, so that most rows get past the reader into the checks.
fn realistic(column: &str) -> &'static [&'static str] {
    match column {
        "venue_ref" => &["v1", "v2", "v3", ""],
        "venue_name" => &["Hotel A", "Cafe B", "โรงแรม ซี", ""],
        "brand" => &["Lotus", ""],
        "country" => &["TH", "SG", "THA", ""],
        "timezone" => &["Asia/Bangkok", "Asia/Singapore", "Mars/Base", ""],
        "soundtrack_account_id" => &["QWNjb3VudCwsMXN2", ""],
        "opening_hours" => &["daily 07:00-23:00", "mon-fri 09:00-17:00; sat 10:00-02:00", "24/7", "25:00-26:00", ""],
        "zone_name" => &["Lobby", "Pool", "lobby", ""],
        "zone_type" => &["lobby", "pool", "restaurant", "garage", ""],
        "soundtrack_zone_id" => &["SZ1", "SZ2", ""],
        "contact_name" => &["Somchai", ""],
        "contact_role" => &["manager", ""],
        "contact_channel" => &["whatsapp", "line", "email", "fax", ""],
        "contact_whatsapp" => &["+66812345678", "0812", ""],
        "contact_line_user_id" => &["U4af4980629e7d9f2b4c1b2d0e5e1a9b0", "U1", ""],
        "contact_email" => &["a@hotel.example", "nope", ""],
        _ => &[""],
    }
}

fn cell(column: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        5 => prop::sample::select(realistic(column)).prop_map(str::to_owned),
        1 => text(),
    ]
    .boxed()
}

/// A cell as a person's spreadsheet writes it: quoted when it must be, sometimes when not.
fn written(value: &str, quote: bool) -> String {
    if quote || value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// One line of the file: a blank line, or a row with (usually) one cell per column.
#[derive(Debug, Clone)]
enum Line {
    Blank,
    Row(Vec<(String, bool)>),
}

/// A file and the line on which each of its rows starts (the header is line 1).
#[derive(Clone)]
struct File {
    bytes: Vec<u8>,
    row_starts: Vec<usize>,
    lines: usize,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "File({:?}, rows start at {:?})", String::from_utf8_lossy(&self.bytes), self.row_starts)
    }
}

fn file() -> impl Strategy<Value = File> {
    let header = prop::sample::subsequence(COLUMNS.to_vec(), 1..=COLUMNS.len()).prop_shuffle();
    (header, any::<bool>(), any::<bool>())
        .prop_flat_map(|(columns, crlf, bom)| {
            let row =
                columns.iter().map(|c| (cell(c), prop::bool::weighted(0.1))).collect::<Vec<_>>().prop_map(Line::Row);
            let ragged = (prop::collection::vec((text(), any::<bool>()), 0..4)).prop_map(Line::Row);
            let line = prop_oneof![8 => row, 1 => Just(Line::Blank), 1 => ragged];
            (Just(columns), prop::collection::vec(line, 0..40), Just(crlf), Just(bom), any::<bool>())
        })
        .prop_map(|(columns, lines, crlf, bom, trailing)| {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut out = String::new();
            if bom {
                out.push('\u{feff}');
            }
            out.push_str(&columns.join(","));
            let mut line = 1;
            let mut row_starts = Vec::new();
            for l in &lines {
                out.push_str(end);
                line += 1;
                match l {
                    Line::Blank => {}
                    Line::Row(cells) => {
                        let text: Vec<String> = cells.iter().map(|(v, q)| written(v, *q)).collect();
                        let text = text.join(",");
                        row_starts.push(line);
                        line += text.matches('\n').count();
                        out.push_str(&text);
                    }
                }
            }
            if trailing {
                out.push_str(end);
            }
            let lines = out.matches('\n').count() + 1;
            File { bytes: out.into_bytes(), row_starts, lines }
        })
}

proptest! {
    #[test]
    fn every_reported_line_is_where_a_row_starts_and_the_plan_is_bounded(f in file()) {
        let plan = bounded(f.bytes.len(), || plan(&f.bytes));
        match plan {
            Ok(venues) => {
                prop_assert!(!venues.is_empty());
                let zones: usize = venues.iter().map(|v| v.zones.len()).sum();
                prop_assert!(zones <= f.row_starts.len());
                for v in &venues {
                    prop_assert!(f.row_starts.contains(&v.first_row), "venue at line {}", v.first_row);
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    prop_assert!(e.row <= f.lines);
                    prop_assert!(
                        e.row == 1 || f.row_starts.contains(&e.row),
                        "{:?} names line {}, where no row starts (rows start at {:?})", e, e.row, f.row_starts
                    );
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_are_planned_or_reported_within_the_bound_and_the_file(body in bytes()) {
        let lines = body.iter().filter(|b| **b == b'\n').count() + 1;
        if let Err(errors) = bounded(body.len(), || plan(&body)) {
            prop_assert!(errors.iter().all(|e| (1..=lines).contains(&e.row)), "{:?} in a file of {} lines", errors, lines);
        }
    }
}
