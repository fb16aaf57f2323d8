//! How an analytics answer leaves the server: JSON, or CSV for a spreadsheet (`format=csv`),
//! served from the query cache under a key made of the parameters, the format and the viewer's
//! role, so that entries are never shared between permission scopes.

use crate::error::{ApiError, ApiResult};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bma_app::{AppContext, cache};
use bma_domain::Invalid;
use serde::Serialize;

/// The period of a report from its two optional ends, named `names.0` and `names.1` in errors.
/// With neither, the `default` span up to now; with only the start, up to now (at most `max`
/// later); with only the end, the `default` span before it. An end before the start, or a
/// period longer than `max`, is a field error.
pub fn period(
    inv: &mut Invalid,
    names: (&str, &str),
    given: (Option<&str>, Option<&str>),
    now: time::OffsetDateTime,
    default: time::Duration,
    max: time::Duration,
) -> Option<(time::OffsetDateTime, time::OffsetDateTime)> {
    use time::format_description::well_known::Rfc3339;
    let mut at = |field: &str, v: Option<&str>| match v {
        None => Some(None),
        Some(v) => time::OffsetDateTime::parse(v, &Rfc3339)
            .map(Some)
            .map_err(|_| inv.push(field, "must be an RFC 3339 time"))
            .ok(),
    };
    let (from, to) = (at(names.0, given.0)?, at(names.1, given.1)?);
    let (from, to) = match (from, to) {
        (None, None) => (now - default, now),
        (Some(from), None) => (from, (from + max).min(now).max(from)),
        (None, Some(to)) => (to - default, to),
        (Some(from), Some(to)) => (from, to),
    };
    if to < from || to - from > max {
        inv.push(names.1, format!("must not be before {}, and at most {} days after it", names.0, max.whole_days()));
        return None;
    }
    Some((from, to))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    /// `json` (the default) or `csv`; anything else is a field error.
    pub fn parse(v: Option<&str>, inv: &mut Invalid) -> Option<Format> {
        match v {
            None | Some("json") => Some(Format::Json),
            Some("csv") => Some(Format::Csv),
            Some(_) => {
                inv.push("format", "must be json or csv");
                None
            }
        }
    }
}

/// A report that is also a table: a header, then one record per row.
pub trait Table: Serialize {
    /// The downloaded file's name, without `.csv`.
    const FILE: &'static str;
    fn header() -> Vec<&'static str>;
    fn records(&self) -> Vec<Vec<String>>;
}

/// A number as a CSV cell: empty when there is none.
pub fn cell<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> bma_app::Error {
    bma_app::Error::Internal(anyhow::Error::new(e))
}

fn csv_of<T: Table>(report: &T) -> bma_app::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(T::header()).map_err(internal)?;
    for r in report.records() {
        w.write_record(&r).map_err(internal)?;
    }
    let bytes = w.into_inner().map_err(|e| internal(e.into_error()))?;
    String::from_utf8(bytes).map_err(internal)
}

/// `compute`'s report as JSON or CSV, from the cache (a write to any of `scopes` invalidates it).
pub async fn table<T, F, Fut>(
    ctx: &AppContext,
    scopes: &[&str],
    key: &str,
    format: Format,
    compute: F,
) -> ApiResult<Response>
where
    T: Table,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = bma_app::Result<T>>,
{
    let key = format!("{key}|{format:?}");
    let body = cache::json_over(ctx, scopes, &key, || async {
        let report = compute().await?;
        match format {
            Format::Json => serde_json::to_string(&report).map_err(internal),
            Format::Csv => csv_of(&report),
        }
    })
    .await?;
    Ok(match format {
        Format::Json => ([(header::CONTENT_TYPE, "application/json".to_owned())], body).into_response(),
        Format::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.csv\"", T::FILE)),
            ],
            body,
        )
            .into_response(),
    })
}

/// `compute`'s answer as JSON, from the cache.
pub async fn json<T, F, Fut>(ctx: &AppContext, scopes: &[&str], key: &str, compute: F) -> ApiResult<Response>
where
    T: Serialize,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = bma_app::Result<T>>,
{
    let body = cache::json_over(ctx, scopes, key, || async {
        let value = compute().await?;
        serde_json::to_string(&value).map_err(internal)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A query whose fields failed to parse.
pub fn invalid(inv: Invalid) -> ApiError {
    ApiError::invalid_query(inv.0)
}

/// The calendar of a report's periods from its `tz` field: an IANA time zone PostgreSQL knows,
/// `venue` for each venue's own, UTC when absent; anything else is noted in `inv`.
pub async fn calendar_zone(
    state: &crate::AppState,
    tz: Option<&str>,
    inv: &mut Invalid,
) -> Result<Option<bma_store::messaging::PeriodZone>, ApiError> {
    use bma_store::messaging::{PeriodZone, known_time_zone};
    Ok(match tz.map(str::trim) {
        None | Some("") => Some(PeriodZone::default()),
        Some("venue") => Some(PeriodZone::Venue),
        Some(name) => match bma_domain::venue::TimeZoneName::parse(name) {
            Ok(tz) if known_time_zone(&state.ctx.read_db, tz.as_str()).await? => {
                Some(PeriodZone::Named(tz.as_str().to_owned()))
            }
            _ => {
                inv.push("tz", "must be an IANA time zone such as Asia/Bangkok, or venue");
                None
            }
        },
    })
}
