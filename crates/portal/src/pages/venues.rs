//! Venues: the list with search, filters, sort and pages; a venue's page (zones with their
//! status, contacts, opening hours, satisfaction); create and edit; and CSV import with its
//! per-row report (all or nothing). Each handler calls what the matching `/api/v1/venues`
//! handler calls: `store::venues::list`, `app::services::venues`, `app::services::import`.

use crate::error::{PortalError, PortalResult};
use crate::forms::{Field, FieldErrors, Pager, page_of};
use crate::layout::{Chrome, render};
use crate::session::{Visit, see_other};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bma_app::services::import::{ImportOutcome, ImportReport, RowError};
use bma_app::services::venues::{self as svc, VenueDetail};
use bma_domain::Invalid;
use bma_domain::hours::{OpeningPeriod, parse_schedule};
use bma_domain::monitoring::ZoneStatus;
use bma_domain::venue::{CountryCode, RawVenue, VenueDraft};
use bma_store::venues::{self as store, SatisfactionSummary, Venue, VenueFilter, VenueSort, Zone};
use bma_web::AppState;
use serde::Deserialize;
use uuid::Uuid;

const LIST_API: &str = "/api/v1/venues";
const ONE_API: &str = "/api/v1/venues/{id}";
const IMPORT_API: &str = "/api/v1/venues/import";
const PER_PAGE: u32 = 25;
/// The day names of the compact opening-hours form (`Mon-Fri 08:00-22:00`), as the CSV import reads it.
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// The sort orders of `GET /api/v1/venues` and their labels.
const SORTS: [(&str, &str); 6] = [
    ("name", "venues-sort-name"),
    ("-name", "venues-sort-name-desc"),
    ("-created_at", "venues-sort-newest"),
    ("created_at", "venues-sort-oldest"),
    ("country", "venues-sort-country"),
    ("brand", "venues-sort-brand"),
];

#[derive(Deserialize, Default)]
struct ListQuery {
    page: Option<u32>,
    #[serde(default)]
    q: String,
    #[serde(default)]
    brand: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    sort: String,
}

#[derive(Template)]
#[template(path = "venues/list.html")]
struct ListPage {
    c: Chrome,
    venues: Vec<Venue>,
    q: ListQuery,
    sorts: Vec<(&'static str, String, bool)>,
    pager: Pager,
    errors: FieldErrors,
    can_create: bool,
    can_import: bool,
}

async fn list(State(state): State<AppState>, visit: Visit, Query(q): Query<ListQuery>) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, LIST_API)?;
    let mut inv = Invalid::default();
    let at = page_of(q.page, PER_PAGE);
    let sort = VenueSort::parse(&q.sort).unwrap_or(VenueSort::Name);
    let country =
        Some(q.country.trim()).filter(|c| !c.is_empty()).and_then(|c| inv.check("country", CountryCode::parse(c)));
    let filter = VenueFilter {
        brand: Some(q.brand.trim().to_owned()).filter(|b| !b.is_empty()),
        country: country.map(|c| c.as_str().to_owned()),
        search: Some(q.q.trim().to_owned()).filter(|s| !s.is_empty()),
        include_archived: false,
    };
    let (venues, total) = store::list(&state.ctx.db, &filter, sort, at.limit(), at.offset()).await?;
    let c = Chrome::new(&visit, "venues-title", "/venues");
    let sorts = SORTS.iter().map(|(v, k)| (*v, c.t(k), q.sort == *v)).collect();
    let filters =
        [("q", q.q.clone()), ("brand", q.brand.clone()), ("country", q.country.clone()), ("sort", q.sort.clone())];
    let page = ListPage {
        pager: Pager::new("/venues", &filters, at, total),
        can_create: s.can(&Method::POST, LIST_API),
        can_import: s.can(&Method::POST, IMPORT_API),
        errors: FieldErrors::from_invalid(&inv),
        venues,
        sorts,
        q,
        c,
    };
    render(&page)
}

/// A zone with its monitoring status.
pub struct ZoneRow {
    pub zone: Zone,
    pub status: ZoneStatus,
}

impl ZoneRow {
    /// How the status is shown: a good, bad or neutral pill.
    pub fn tone(&self) -> &'static str {
        match self.status {
            ZoneStatus::Ok | ZoneStatus::Recovering => "operational",
            ZoneStatus::Down | ZoneStatus::Flapping => "degraded",
            _ => "not-configured",
        }
    }
}

#[derive(Template)]
#[template(path = "venues/detail.html")]
struct DetailPage {
    c: Chrome,
    v: VenueDetail,
    zones: Vec<ZoneRow>,
    hours: Vec<(String, String)>,
    satisfaction: SatisfactionSummary,
    can_edit: bool,
}

fn clock(minutes: i16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

async fn detail(State(state): State<AppState>, visit: Visit, Path(id): Path<Uuid>) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, ONE_API)?;
    let can_edit = s.can(&Method::PUT, ONE_API);
    let ctx = &state.ctx;
    let v = svc::detail(ctx, id).await?;
    let zones = store::zones_of(&ctx.db, id)
        .await?
        .into_iter()
        .map(|zone| {
            let status = ZoneStatus::ALL.into_iter().find(|s| s.as_str() == zone.last_status).unwrap_or_default();
            ZoneRow { zone, status }
        })
        .collect();
    let satisfaction = store::satisfaction_of(&ctx.db, id).await?;
    let c = Chrome::new(&visit, "venues-detail-title", "/venues");
    let hours = v
        .opening_hours
        .iter()
        .map(|h| (c.tk("weekday-", &h.weekday.to_string()), format!("{}–{}", clock(h.opens_at), clock(h.closes_at))))
        .collect();
    render(&DetailPage { c, v, zones, hours, satisfaction, can_edit })
}

#[derive(Deserialize, Default)]
struct VenueForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    brand: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    soundtrack_account_id: String,
    #[serde(default)]
    opening_hours: String,
}

impl VenueForm {
    fn of(d: &VenueDetail) -> Self {
        let v = &d.venue;
        let hours: Vec<String> = d
            .opening_hours
            .iter()
            .map(|h| {
                let day = DAYS.get(usize::try_from(h.weekday).unwrap_or(0)).unwrap_or(&"Mon");
                format!("{day} {}-{}", clock(h.opens_at), clock(h.closes_at))
            })
            .collect();
        VenueForm {
            name: v.name.clone(),
            brand: v.brand.clone().unwrap_or_default(),
            country: v.country.clone().unwrap_or_default(),
            timezone: v.timezone.clone(),
            soundtrack_account_id: v.soundtrack_account_id.clone().unwrap_or_default(),
            opening_hours: hours.join(", "),
        }
    }

    /// The venue the form describes, parsed by the domain exactly as the API and the CSV import do.
    fn draft(&self) -> Result<VenueDraft, Invalid> {
        let mut inv = Invalid::default();
        let hours: Option<Vec<OpeningPeriod>> = if self.opening_hours.trim().is_empty() {
            Some(Vec::new())
        } else {
            inv.check("opening_hours", parse_schedule(&self.opening_hours))
        };
        let raw = RawVenue {
            name: Some(&self.name),
            brand: Some(&self.brand),
            country: Some(&self.country),
            timezone: Some(&self.timezone),
            soundtrack_account_id: Some(&self.soundtrack_account_id),
        };
        // Every error at once: the venue's fields', then the hours'.
        match VenueDraft::parse(&raw, hours) {
            Err(mut e) => {
                e.0.append(&mut inv.0);
                Err(e)
            }
            Ok(d) => inv.into_result().map(|()| d),
        }
    }
}

#[derive(Template)]
#[template(path = "venues/form.html")]
struct FormPage {
    c: Chrome,
    /// The venue being edited; `None` for a new one.
    id: Option<Uuid>,
    fields: Vec<Field>,
    errors: FieldErrors,
}

fn form_page(visit: &Visit, id: Option<Uuid>, f: VenueForm, errors: FieldErrors) -> PortalResult<Response> {
    let title = if id.is_some() { "venues-edit-title" } else { "venues-new-title" };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let c = Chrome::new(visit, title, "/venues");
    let (tr, e) = (&c.tr, &errors);
    let fields = vec![
        Field::new(tr, e, "name", "venues-name", &f.name),
        Field::new(tr, e, "brand", "venues-brand", &f.brand),
        Field::new(tr, e, "country", "venues-country", &f.country).hint(tr, "venues-country-hint"),
        Field::new(tr, e, "timezone", "venues-timezone", &f.timezone).hint(tr, "venues-timezone-hint"),
        Field::new(tr, e, "soundtrack_account_id", "venues-soundtrack-account", &f.soundtrack_account_id),
        Field::new(tr, e, "opening_hours", "venues-hours", &f.opening_hours).hint(tr, "venues-hours-hint"),
    ];
    let page = FormPage { c, id, fields, errors };
    Ok((status, render(&page)?).into_response())
}

async fn new_form(visit: Visit) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, LIST_API)?;
    let f = VenueForm { timezone: "Asia/Bangkok".into(), country: "TH".into(), ..VenueForm::default() };
    form_page(&visit, None, f, FieldErrors::default())
}

async fn edit_form(State(state): State<AppState>, visit: Visit, Path(id): Path<Uuid>) -> PortalResult<Response> {
    visit.member_allowed(&Method::PUT, ONE_API)?;
    let d = svc::detail(&state.ctx, id).await?;
    form_page(&visit, Some(id), VenueForm::of(&d), FieldErrors::default())
}

/// Saves a new venue (`id` `None`) or an edit, or shows the form again with its errors.
async fn save(state: &AppState, visit: &Visit, id: Option<Uuid>, f: VenueForm) -> PortalResult<Response> {
    let draft = match f.draft() {
        Ok(d) => d,
        Err(inv) => return form_page(visit, id, f, FieldErrors::from_invalid(&inv)),
    };
    let actor = visit.actor();
    let saved = match id {
        None => svc::create(&state.ctx, &actor, draft).await,
        Some(id) => svc::update(&state.ctx, &actor, id, draft).await,
    };
    match saved {
        Ok(d) => Ok(see_other(&format!("/venues/{}", d.venue.id))),
        Err(bma_app::Error::Invalid(inv)) => form_page(visit, id, f, FieldErrors::from_invalid(&inv)),
        Err(e) => Err(e.into()),
    }
}

async fn create(State(state): State<AppState>, visit: Visit, Form(f): Form<VenueForm>) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, LIST_API)?;
    save(&state, &visit, None, f).await
}

async fn update(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<Uuid>,
    Form(f): Form<VenueForm>,
) -> PortalResult<Response> {
    visit.member_allowed(&Method::PUT, ONE_API)?;
    save(&state, &visit, Some(id), f).await
}

#[derive(Template)]
#[template(path = "venues/import.html")]
struct ImportPage {
    c: Chrome,
    csv: String,
    report: Option<ImportReport>,
    rows: Vec<RowError>,
}

impl ImportPage {
    fn problems(&self) -> i64 {
        i64::try_from(self.rows.len()).unwrap_or(i64::MAX)
    }
}

async fn import_form(visit: Visit) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, IMPORT_API)?;
    let c = Chrome::new(&visit, "venues-import-title", "/venues");
    render(&ImportPage { c, csv: String::new(), report: None, rows: Vec::new() })
}

#[derive(Deserialize)]
struct ImportForm {
    #[serde(default)]
    csv: String,
}

/// Imports the pasted (or chosen, read into the field by `portal.js`) CSV with the API's import
/// service: everything, or nothing and the report of every bad row.
async fn import(State(state): State<AppState>, visit: Visit, Form(f): Form<ImportForm>) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, IMPORT_API)?;
    let outcome = bma_app::services::import::import_csv(&state.ctx, &visit.actor(), f.csv.as_bytes()).await;
    let c = Chrome::new(&visit, "venues-import-title", "/venues");
    match outcome {
        Ok(ImportOutcome::Imported(report)) => {
            render(&ImportPage { c, csv: String::new(), report: Some(report), rows: Vec::new() })
        }
        Ok(ImportOutcome::Rejected(rows)) => {
            let page = ImportPage { c, csv: f.csv, report: None, rows };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(bma_app::Error::Invalid(inv)) => {
            let rows = inv.0.into_iter().map(|e| RowError { row: 1, field: e.field, message: e.message }).collect();
            let page = ImportPage { c, csv: f.csv, report: None, rows };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(PortalError::from(e)),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/venues", get(list).post(create))
        .route("/venues/new", get(new_form))
        .route("/venues/import", get(import_form).post(import))
        .route("/venues/{id}", get(detail).post(update))
        .route("/venues/{id}/edit", get(edit_form))
}
