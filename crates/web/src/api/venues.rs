//! Venues: the specification's endpoints, plus contacts and bulk import from CSV.

use super::{Page, Pagination};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuditActor, Id, Json, Query};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bma_app::services::import::{ImportOutcome, ImportReport, RowError};
use bma_app::services::venues::{self as svc, DeleteOutcome, VenueDetail};
use bma_domain::Invalid;
use bma_domain::contact::{ContactDraft, RawContact};
use bma_domain::hours::OpeningPeriod;
use bma_domain::page::PageRequest;
use bma_domain::venue::{CountryCode, RawVenue, VenueDraft, ZoneDraft};
use bma_store::venues::{self as store, Contact, SatisfactionSummary, Venue, VenueFilter, VenueSort, Zone};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListVenuesQuery {
    /// 1-based page number (default 1).
    #[param(schema_with = crate::api::schema::page)]
    pub page: Option<u32>,
    /// Items per page, 1 to 200 (default 50).
    #[param(schema_with = crate::api::schema::per_page)]
    pub per_page: Option<u32>,
    #[param(max_length = 100)]
    pub brand: Option<String>,
    /// Two-letter country code.
    #[param(schema_with = crate::api::schema::country)]
    pub country: Option<String>,
    /// Part of the venue's name, any case.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// name, -name, created_at, -created_at, country or brand (default name).
    #[param(schema_with = crate::api::schema::venue_sort)]
    pub sort: Option<String>,
    #[serde(default)]
    pub include_archived: bool,
}

/// Venues, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/v1/venues", tag = "venues", security(("bearer" = [])), params(ListVenuesQuery),
    responses((status = 200, body = Page<Venue>), (status = 400, body = ErrorBody)))]
pub async fn list_venues(State(state): State<AppState>, Query(q): Query<ListVenuesQuery>) -> ApiResult<Response> {
    let mut inv = Invalid::default();
    let page = inv.absorb(PageRequest::new(q.page, q.per_page));
    let sort = match q.sort.as_deref() {
        None => Some(VenueSort::Name),
        Some(s) => {
            let parsed = VenueSort::parse(s);
            if parsed.is_none() {
                inv.push("sort", "must be one of name, -name, created_at, -created_at, country, brand");
            }
            parsed
        }
    };
    let country = q.country.as_deref().and_then(|c| inv.check("country", CountryCode::parse(c)));
    if q.q.as_deref().is_some_and(|s| s.chars().count() > 100)
        || q.brand.as_deref().is_some_and(|s| s.chars().count() > 100)
    {
        inv.push("q", "must be at most 100 characters");
    }
    if !inv.is_empty() {
        return Err(ApiError::invalid_query(inv.0));
    }
    let (Some(page), Some(sort)) = (page, sort) else {
        return Err(ApiError::bad_request("invalid_query", "invalid query parameters"));
    };
    let filter = VenueFilter {
        brand: q.brand.filter(|b| !b.trim().is_empty()),
        country: country.map(|c| c.as_str().to_owned()),
        search: q.q.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        include_archived: q.include_archived,
    };
    let key = format!("{filter:?}|{sort:?}|{}|{}", page.page, page.per_page);
    let ctx = &state.ctx;
    let body = bma_app::cache::json(ctx, bma_app::cache::VENUE_LISTS, &key, || async {
        let (data, total) = store::list(&ctx.db, &filter, sort, page.limit(), page.offset()).await?;
        serde_json::to_string(&Page { data, pagination: Pagination::new(page, total) })
            .map_err(|e| bma_app::Error::Internal(e.into()))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Deserialize, Serialize, Clone, Copy, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningPeriodInput {
    /// 0 = Monday … 6 = Sunday.
    #[schema(maximum = 6)]
    #[serde(deserialize_with = "crate::api::whole::u8")]
    pub weekday: u8,
    /// "HH:MM", local time of the venue.
    #[schema(value_type = String, example = "08:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub opens: ClockText,
    /// "HH:MM"; at or before `opens` means the next day (a bar open until 02:00).
    #[schema(value_type = String, example = "23:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub closes: ClockText,
}

/// A clock time as text, kept as given so that its error can name the field.
#[derive(Deserialize, Serialize, Clone, Copy)]
#[serde(transparent)]
pub struct ClockText(#[serde(with = "clock")] Option<u16>);

mod clock {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        let s = String::deserialize(d)?;
        Ok(bma_domain::hours::OpeningPeriod::parse_clock(&s).ok())
    }
    #[allow(clippy::ref_option, clippy::trivially_copy_pass_by_ref)]
    pub fn serialize<S: Serializer>(v: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
        let m = v.unwrap_or(0);
        s.serialize_str(&format!("{:02}:{:02}", m / 60, m % 60))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueInput {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 255, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub name: Option<String>,
    #[schema(max_length = 100, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub brand: Option<String>,
    /// ISO 3166-1 alpha-2, any case; empty or null for none.
    #[schema(pattern = "^([A-Za-z]{2})?$")]
    pub country: Option<String>,
    /// IANA time zone, such as Asia/Bangkok.
    #[schema(schema_with = crate::api::schema::time_zone, required = true)]
    pub timezone: Option<String>,
    #[schema(max_length = 100, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub soundtrack_account_id: Option<String>,
    /// Replaces the venue's opening hours when present.
    pub opening_hours: Option<Vec<OpeningPeriodInput>>,
}

fn parse_venue(body: &VenueInput) -> Result<VenueDraft, Invalid> {
    let mut inv = Invalid::default();
    let hours = body.opening_hours.as_ref().map(|list| {
        list.iter()
            .enumerate()
            .filter_map(|(i, p)| match (p.opens.0, p.closes.0) {
                (Some(o), Some(c)) if o < 1440 => {
                    inv.check(&format!("opening_hours[{i}]"), OpeningPeriod::new(p.weekday, o, c))
                }
                _ => {
                    inv.push(format!("opening_hours[{i}]"), "opens and closes must be HH:MM");
                    None
                }
            })
            .collect::<Vec<_>>()
    });
    let raw = RawVenue {
        name: body.name.as_deref(),
        brand: body.brand.as_deref(),
        country: body.country.as_deref(),
        timezone: body.timezone.as_deref(),
        soundtrack_account_id: body.soundtrack_account_id.as_deref(),
    };
    match VenueDraft::parse(&raw, hours) {
        Ok(d) if inv.is_empty() => Ok(d),
        Ok(_) => Err(inv),
        Err(e) => {
            inv.0.extend(e.0);
            Err(inv)
        }
    }
}

/// Creates a venue.
#[utoipa::path(post, path = "/api/v1/venues", tag = "venues", security(("bearer" = [])), request_body = VenueInput,
    responses((status = 201, body = VenueDetail), (status = 422, body = ErrorBody)))]
pub async fn create_venue(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Json(body): Json<VenueInput>,
) -> ApiResult<(StatusCode, Json<VenueDetail>)> {
    let draft = parse_venue(&body)?;
    Ok((StatusCode::CREATED, Json(svc::create(&state.ctx, &actor, draft).await?)))
}

/// One venue with its opening hours and contacts.
#[utoipa::path(get, path = "/api/v1/venues/{id}", tag = "venues", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = VenueDetail), (status = 404, body = ErrorBody)))]
pub async fn get_venue(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<VenueDetail>> {
    Ok(Json(svc::detail(&state.ctx, id).await?))
}

/// Replaces a venue's fields (and its opening hours when given).
#[utoipa::path(put, path = "/api/v1/venues/{id}", tag = "venues", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = VenueInput,
    responses((status = 200, body = VenueDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_venue(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<VenueInput>,
) -> ApiResult<Json<VenueDetail>> {
    let draft = parse_venue(&body)?;
    Ok(Json(svc::update(&state.ctx, &actor, id, draft).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeleteResult {
    pub id: uuid::Uuid,
    /// "deleted", or "archived" when history (alerts, conversations, scores, status logs) refers to it.
    pub outcome: DeleteOutcome,
}

/// Deletes a venue, or archives it when history refers to it.
#[utoipa::path(delete, path = "/api/v1/venues/{id}", tag = "venues", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = DeleteResult), (status = 404, body = ErrorBody)))]
pub async fn delete_venue(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<DeleteResult>> {
    let outcome = svc::delete(&state.ctx, &actor, id).await?;
    Ok(Json(DeleteResult { id, outcome }))
}

async fn existing_venue(state: &AppState, id: uuid::Uuid) -> ApiResult<Venue> {
    store::find(&state.ctx.db, id).await?.ok_or_else(|| ApiError::NotFound("venue".into()))
}

/// The sound zones of a venue.
#[utoipa::path(get, path = "/api/v1/venues/{id}/zones", tag = "venues", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Zone>), (status = 404, body = ErrorBody)))]
pub async fn list_zones(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<Vec<Zone>>> {
    let zones = store::zones_of(&state.ctx.db, id).await?;
    if zones.is_empty() {
        existing_venue(&state, id).await?;
    }
    Ok(Json(zones))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneInput {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub name: Option<String>,
    /// lobby, restaurant, pool, spa, bar, retail or other.
    #[schema(value_type = Option<bma_domain::venue::ZoneType>)]
    pub zone_type: Option<String>,
    /// The sound zone's id in Soundtrack Your Brand.
    #[schema(max_length = 100, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub soundtrack_zone_id: Option<String>,
}

pub fn parse_zone(body: &ZoneInput) -> Result<ZoneDraft, Invalid> {
    ZoneDraft::parse(body.name.as_deref(), body.zone_type.as_deref(), body.soundtrack_zone_id.as_deref())
}

/// Adds a sound zone to a venue.
#[utoipa::path(post, path = "/api/v1/venues/{id}/zones", tag = "venues", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = ZoneInput,
    responses((status = 201, body = Zone), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_zone(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<ZoneInput>,
) -> ApiResult<(StatusCode, Json<Zone>)> {
    let draft = parse_zone(&body)?;
    Ok((StatusCode::CREATED, Json(svc::create_zone(&state.ctx, &actor, id, draft).await?)))
}

/// The people who speak for a venue, and how to reach them.
#[utoipa::path(get, path = "/api/v1/venues/{id}/contacts", tag = "venues", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Contact>), (status = 404, body = ErrorBody)))]
pub async fn list_contacts(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<Vec<Contact>>> {
    existing_venue(&state, id).await?;
    Ok(Json(store::contacts_of(&state.ctx.db, id).await?))
}

/// A venue contact: a name, the channel to reach them on and that channel's address (the other
/// addresses may be given too).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: Option<String>,
    pub role: Option<String>,
    /// whatsapp, line or email; the matching address is then required.
    pub channel: Option<String>,
    /// International form such as +66812345678.
    pub whatsapp_number: Option<String>,
    /// U followed by 32 hexadecimal characters.
    pub line_user_id: Option<String>,
    pub email: Option<String>,
    /// Staff may control the venue's music through the bot (default true).
    pub is_staff: Option<bool>,
}

/// Text of a name or a role: no control characters, not blank, `max` characters at most.
const PRINTABLE_NOT_BLANK: &str = "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$";
/// A number as `PhoneNumber::parse` reads it: spaces, hyphens, brackets and dots anywhere, an
/// optional leading +, then 8 to 15 digits, the first not 0.
const PHONE: &str = "[ ().-]*(\\+[ ().-]*)?[1-9]([ ().-]*[0-9]){7,14}[ ().-]*";
const LINE_USER: &str = "U[0-9a-fA-F]{32}";
/// What the server takes for an address (ASCII here: a local part of the dot-atom characters, a
/// domain of letters, digits and hyphens with at least one dot).
const EMAIL: &str = "[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+";

impl utoipa::PartialSchema for ContactInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::api::schema::{boolean, closed_object, enumeration, exactly_one_of, or_null};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let text = |min: usize, max: usize, pattern: String| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(min))
                .max_length(Some(max))
                .pattern(Some(pattern))
                .build()
        };
        // The server trims white space around an address, and takes a blank one for none.
        let address = |pattern: &str, required: bool| {
            let ws = crate::api::schema::white_space();
            let p =
                if required { format!("^[{ws}]*{pattern}[{ws}]*$") } else { format!("^[{ws}]*({pattern})?[{ws}]*$") };
            let b = ObjectBuilder::new().schema_type(Type::String).pattern(Some(p));
            if pattern == EMAIL { b.max_length(Some(254)).build() } else { b.build() }
        };
        let alternative = |channel: &str, title: &str, required: &str| {
            let fields = [("whatsapp_number", PHONE), ("line_user_id", LINE_USER), ("email", EMAIL)];
            let mut props = vec![
                ("name", text(1, 100, PRINTABLE_NOT_BLANK.to_owned()).into()),
                ("role", or_null(text(0, 50, "^[^\\x00-\\x1F\\x7F-\\x9F]*$".to_owned())).into()),
                ("channel", enumeration([channel]).into()),
                ("is_staff", or_null(boolean()).into()),
            ];
            for (field, pattern) in fields {
                let schema = if field == required { address(pattern, true) } else { or_null(address(pattern, false)) };
                props.push((field, schema.into()));
            }
            closed_object(title, props, &["name", "channel", required])
        };
        exactly_one_of(
            "A venue contact: `channel` says how to reach them, and the address of that channel is required \
             (`whatsapp_number` for whatsapp, `line_user_id` for line, `email` for email); the other addresses \
             may be given too, or be empty or null.",
            vec![
                alternative("whatsapp", "a WhatsApp contact", "whatsapp_number"),
                alternative("line", "a LINE contact", "line_user_id"),
                alternative("email", "an email contact", "email"),
            ],
            vec![
                serde_json::json!({"name": "Khun Somchai", "role": "General manager", "channel": "whatsapp", "whatsapp_number": "+66812345678"}),
                serde_json::json!({"name": "Front desk", "channel": "email", "email": "frontdesk@hotel.example", "is_staff": true}),
            ],
        )
    }
}

impl utoipa::ToSchema for ContactInput {}

/// Adds a contact to a venue.
#[utoipa::path(post, path = "/api/v1/venues/{id}/contacts", tag = "venues", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = ContactInput,
    responses((status = 201, body = Contact), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_contact(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(b): Json<ContactInput>,
) -> ApiResult<(StatusCode, Json<Contact>)> {
    let draft = ContactDraft::parse(&RawContact {
        name: b.name.as_deref(),
        role: b.role.as_deref(),
        channel: b.channel.as_deref(),
        whatsapp_number: b.whatsapp_number.as_deref(),
        line_user_id: b.line_user_id.as_deref(),
        email: b.email.as_deref(),
        is_staff: b.is_staff,
    })?;
    Ok((StatusCode::CREATED, Json(svc::create_contact(&state.ctx, &actor, id, draft).await?)))
}

/// Satisfaction scores of a venue (empty until scores exist).
#[utoipa::path(get, path = "/api/v1/venues/{id}/satisfaction", tag = "venues", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = SatisfactionSummary), (status = 404, body = ErrorBody)))]
pub async fn venue_satisfaction(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<SatisfactionSummary>> {
    existing_venue(&state, id).await?;
    Ok(Json(store::satisfaction_of(&state.ctx.db, id).await?))
}

pub const IMPORT_LIMIT: usize = 10 * 1024 * 1024;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportRejected {
    pub error: crate::error::ErrorDetail,
    /// Every bad row; nothing was imported.
    pub rows: Vec<RowError>,
}

/// Imports venues with their zones and contacts from CSV (all or nothing). Columns:
/// venue_ref, venue_name, brand, country, timezone, soundtrack_account_id, opening_hours,
/// zone_name, zone_type, soundtrack_zone_id, contact_name, contact_role, contact_channel,
/// contact_whatsapp, contact_line_user_id, contact_email. One row per zone.
///
/// Rules the body's schema (plain text) cannot state: the first line is a header naming only
/// these columns (any case), among them venue_name and timezone; every row has as many cells as
/// the header, and its cells follow the rules of the venue, zone and contact bodies. Any problem
/// refuses the whole file with a 422 listing every bad line.
#[utoipa::path(post, path = "/api/v1/venues/import", tag = "venues", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        example = json!("venue_ref,venue_name,brand,country,timezone,zone_name,zone_type\nH1,Hilton Pattaya,Hilton,TH,Asia/Bangkok,Lobby,lobby\nH1,Hilton Pattaya,Hilton,TH,Asia/Bangkok,Pool bar,bar\n")),
    responses((status = 201, body = ImportReport), (status = 422, body = ImportRejected), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn import_venues(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !(ct.starts_with("text/csv") || ct.starts_with("application/csv")) {
        return Err(ApiError::UnsupportedMediaType("send the file with Content-Type: text/csv".into()));
    }
    let bytes = axum::body::to_bytes(body, IMPORT_LIMIT).await.map_err(|_| ApiError::PayloadTooLarge)?;
    match bma_app::services::import::import_csv(&state.ctx, &actor, &bytes).await? {
        ImportOutcome::Imported(report) => Ok((StatusCode::CREATED, axum::Json(report)).into_response()),
        ImportOutcome::Rejected(rows) => {
            let detail = crate::error::ErrorDetail {
                code: "import_rejected".into(),
                message: format!("{} problem(s) found; nothing was imported", rows.len()),
                request_id: crate::error::current_request_id(),
                fields: None,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, axum::Json(ImportRejected { error: detail, rows })).into_response())
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationBody {
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: f64,
}

/// Where the venue is (for the weather behind the bot's music suggestions).
#[utoipa::path(put, path = "/api/v1/venues/{id}/location", tag = "venues", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = LocationBody, responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_location(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<LocationBody>,
) -> ApiResult<StatusCode> {
    let mut inv = Invalid::default();
    if !(-90.0..=90.0).contains(&body.latitude) {
        inv.push("latitude", "must be between -90 and 90");
    }
    if !(-180.0..=180.0).contains(&body.longitude) {
        inv.push("longitude", "must be between -180 and 180");
    }
    inv.into_result()?;
    let mut tx = state.ctx.db.begin().await?;
    if !store::set_location(&mut *tx, id, body.latitude, body.longitude).await? {
        return Err(ApiError::NotFound("venue".into()));
    }
    bma_store::audit::record(
        &mut *tx,
        actor.audit(
            "venue.location",
            "venue",
            id,
            None,
            Some(serde_json::json!({"latitude": body.latitude, "longitude": body.longitude})),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
