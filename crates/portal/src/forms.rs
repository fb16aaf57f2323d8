//! What the portal's forms and lists share: a form's errors by field (the domain's `Invalid`,
//! the same errors the API returns, shown next to their field), the links of a paginated list,
//! and the viewer's day boundaries for date filters (the browser sends its UTC offset).

use bma_domain::Invalid;
use bma_domain::page::PageRequest;
use time::{Date, OffsetDateTime, UtcOffset};

/// A form's errors, by field name.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn from_invalid(inv: &Invalid) -> Self {
        FieldErrors(inv.0.iter().map(|f| (f.field.clone(), f.message.clone())).collect())
    }

    /// One error on `field`.
    pub fn one(field: &str, message: impl Into<String>) -> Self {
        FieldErrors(vec![(field.to_owned(), message.into())])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors of `field` (and of its items, `field[0]`), joined; `None` when it has none.
    pub fn get(&self, field: &str) -> Option<String> {
        let of =
            |f: &str| f == field || f.strip_prefix(field).is_some_and(|r| r.starts_with('[') || r.starts_with('.'));
        let msgs: Vec<&str> = self.0.iter().filter(|(f, _)| of(f)).map(|(_, m)| m.as_str()).collect();
        (!msgs.is_empty()).then(|| msgs.join("; "))
    }

    /// Whether `field` has an error (for `aria-invalid`).
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }
}

/// Percent-encodes one query-string component.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `?k=v&…` of the pairs whose value is not empty ("" when none is).
pub fn query_string(params: &[(&str, String)]) -> String {
    let parts: Vec<String> =
        params.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

/// The previous and next links of one page of a list, keeping its filters.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: u32,
    pub total_pages: i64,
    pub total: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(path: &str, filters: &[(&str, String)], at: PageRequest, total: i64) -> Self {
        let per = i64::from(at.per_page.max(1));
        let total_pages = ((total + per - 1) / per).max(1);
        let link = |page: u32| {
            let mut params = filters.to_vec();
            params.push(("page", page.to_string()));
            format!("{path}{}", query_string(&params))
        };
        Pager {
            page: at.page,
            total_pages,
            total,
            prev: (at.page > 1).then(|| link(at.page - 1)),
            next: (i64::from(at.page) < total_pages).then(|| link(at.page + 1)),
        }
    }
}

/// Page `page` of `per_page` rows (page 1 when the number is out of range).
pub fn page_of(page: Option<u32>, per_page: u32) -> PageRequest {
    PageRequest::new(page, Some(per_page)).unwrap_or(PageRequest { page: 1, per_page })
}

/// The viewer's offset from UTC, from the minutes the browser put in the form (UTC without).
pub fn viewer_offset(minutes: Option<i32>) -> UtcOffset {
    minutes
        .filter(|m| m.abs() <= 18 * 60)
        .and_then(|m| UtcOffset::from_whole_seconds(m * 60).ok())
        .unwrap_or(UtcOffset::UTC)
}

/// A `YYYY-MM-DD` date from a form.
pub fn parse_date(s: &str) -> Option<Date> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &f).ok()
}

/// The first moment of `date` in the viewer's time zone.
pub fn day_start(date: Date, offset: UtcOffset) -> OffsetDateTime {
    date.midnight().assume_offset(offset)
}

/// A date as a form shows it.
pub fn date_text(date: Date) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    date.format(&f).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_of_a_field_include_those_of_its_items() {
        let mut inv = Invalid::default();
        inv.push("opening_hours[1]", "bad");
        inv.push("name", "is required");
        let e = FieldErrors::from_invalid(&inv);
        assert_eq!(e.get("opening_hours").as_deref(), Some("bad"));
        assert!(e.has("name") && !e.has("brand") && !e.has("opening"));
    }

    #[test]
    fn pager_links_keep_the_filters_and_skip_empty_ones() {
        let p = Pager::new("/venues", &[("q", "a b".into()), ("brand", String::new())], page_of(Some(2), 10), 25);
        assert_eq!(p.prev.as_deref(), Some("/venues?q=a%20b&page=1"));
        assert_eq!(p.next.as_deref(), Some("/venues?q=a%20b&page=3"));
        assert_eq!(p.total_pages, 3);
    }
}

/// One labelled input of a form, with its hint and error, drawn by `templates/field.html`.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub hint: Option<String>,
    pub error: Option<String>,
    /// The input's `type`.
    pub kind: &'static str,
}

impl Field {
    /// The input `name`, labelled by the message `label`, holding `value`.
    pub fn new(tr: &crate::i18n::Tr, errors: &FieldErrors, name: &'static str, label: &str, value: &str) -> Self {
        Field { name, label: tr.t(label), value: value.to_owned(), hint: None, error: errors.get(name), kind: "text" }
    }

    pub fn hint(mut self, tr: &crate::i18n::Tr, key: &str) -> Self {
        self.hint = Some(tr.t(key));
        self
    }

    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// The ids the input is described by.
    pub fn described_by(&self) -> String {
        let mut ids = format!("f-{}-error", self.name);
        if self.hint.is_some() {
            ids.push_str(&format!(" f-{}-hint", self.name));
        }
        ids
    }
}
