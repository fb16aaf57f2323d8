//! The campaign form: create and edit a draft, with the audience's size and a sample shown live
//! (an htmx post of the form to `/campaigns/audience`, resolved by `app::campaigns::audience`
//! exactly as `GET /api/v1/campaigns/{id}/audience` resolves a saved one). The form becomes the
//! API's own `CampaignInput`, so variables, the WhatsApp template and the schedule are checked by
//! `app::campaigns::{create, update}` and their errors shown next to their fields.

use crate::error::PortalResult;
use crate::forms::{FieldErrors, viewer_offset};
use crate::layout::{Chrome, render};
use crate::session::{Visit, see_other};
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bma_app::AppContext;
use bma_app::campaigns::draft::{WhatsappTemplateInput, parse_local};
use bma_app::campaigns::{self as svc, AudiencePreview, CampaignInput};
use bma_domain::Invalid;
use bma_domain::campaign::{AudienceFilter, CampaignStatus, CampaignType, ChannelChoice, ContactScope};
use bma_domain::contact::Channel;
use bma_domain::venue::ZoneType;
use bma_store::campaigns::Campaign;
use bma_web::AppState;
use time::OffsetDateTime;
use uuid::Uuid;

pub const CREATE_API: &str = "/api/v1/campaigns";
pub const UPDATE_API: &str = "/api/v1/campaigns/{id}";
pub const AUDIENCE_API: &str = "/api/v1/campaigns/{id}/audience";
const TEMPLATES_API: &str = "/api/v1/messaging/templates";
const TYPES: [CampaignType; 3] = [CampaignType::Marketing, CampaignType::Service, CampaignType::Holiday];
const CHOICES: [ChannelChoice; 4] =
    [ChannelChoice::Preferred, ChannelChoice::Whatsapp, ChannelChoice::Line, ChannelChoice::Email];
const CHANNELS: [Channel; 3] = [Channel::Whatsapp, Channel::Line, Channel::Email];
/// Venues offered in the explicit-venue picker.
const VENUES_OFFERED: i64 = 200;

/// Who gets the campaign: chosen venues, or venues matching a saved filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AudienceMode {
    #[default]
    Venues,
    Filter,
}

/// When it goes: by hand later (a draft), at one moment, or at a wall-clock time in each venue's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScheduleMode {
    #[default]
    Draft,
    At,
    Local,
}

/// The form as posted (repeated fields, such as the venues, arrive as pairs).
#[derive(Debug, Clone, Default)]
pub struct CampaignForm {
    pub name: String,
    pub kind: String,
    pub channel: String,
    pub fallback: Vec<String>,
    pub audience: AudienceMode,
    pub venues: Vec<String>,
    pub brand: String,
    pub country: String,
    pub zone_type: String,
    pub labels: String,
    pub contacts: String,
    pub role: String,
    pub message: String,
    /// `name|language` of the WhatsApp template, or empty.
    pub wa_template: String,
    /// One parameter a line.
    pub wa_params: String,
    pub schedule: ScheduleMode,
    pub at: String,
    pub local: String,
    /// The browser's offset from UTC in minutes, for `at`.
    pub offset: String,
}

impl CampaignForm {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = CampaignForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => f.name = v,
                "type" => f.kind = v,
                "channel" => f.channel = v,
                "fallback" => f.fallback.push(v),
                "audience" => f.audience = if v == "filter" { AudienceMode::Filter } else { AudienceMode::Venues },
                "venue" => f.venues.push(v),
                "brand" => f.brand = v,
                "country" => f.country = v,
                "zone_type" => f.zone_type = v,
                "labels" => f.labels = v,
                "contacts" => f.contacts = v,
                "role" => f.role = v,
                "message" => f.message = v,
                "wa_template" => f.wa_template = v,
                "wa_params" => f.wa_params = v,
                "schedule" => {
                    f.schedule = match v.as_str() {
                        "at" => ScheduleMode::At,
                        "local" => ScheduleMode::Local,
                        _ => ScheduleMode::Draft,
                    }
                }
                "at" => f.at = v,
                "local" => f.local = v,
                "offset" => f.offset = v,
                _ => {}
            }
        }
        f
    }

    /// The form of a saved campaign.
    pub fn of(c: &Campaign) -> Self {
        let filter = c.audience_filter.as_ref().map(|j| j.0.clone()).unwrap_or_default();
        let (contacts, role) = match &c.contacts {
            ContactScope::Role(r) => ("role".to_owned(), r.clone()),
            other => (other.as_str(), String::new()),
        };
        let wa = c.whatsapp_template.as_ref().map(|j| &j.0);
        let params: Vec<String> = wa
            .map(|t| {
                t.params.iter().filter_map(|p| serde_json::to_value(p).ok()?.as_str().map(str::to_owned)).collect()
            })
            .unwrap_or_default();
        let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
        CampaignForm {
            name: c.name.clone(),
            kind: c.kind.as_str().to_owned(),
            channel: c.channel.as_str().to_owned(),
            fallback: c.channel_fallback.iter().map(|ch| ch.as_str().to_owned()).collect(),
            audience: if c.target_venues.is_empty() { AudienceMode::Filter } else { AudienceMode::Venues },
            venues: c.target_venues.iter().map(Uuid::to_string).collect(),
            brand: filter.brand.unwrap_or_default(),
            country: filter.country.unwrap_or_default(),
            zone_type: filter.zone_type.map(|z| z.as_str().to_owned()).unwrap_or_default(),
            labels: filter.labels.join(", "),
            contacts,
            role,
            message: c.message_template.clone(),
            wa_template: wa.map(|t| format!("{}|{}", t.name, t.language)).unwrap_or_default(),
            wa_params: params.join("\n"),
            schedule: match (&c.send_at_local, &c.scheduled_at) {
                (Some(_), _) => ScheduleMode::Local,
                (None, Some(_)) => ScheduleMode::At,
                _ => ScheduleMode::Draft,
            },
            at: c.scheduled_at.and_then(|t| t.format(&f).ok()).unwrap_or_default(),
            local: c.send_at_local.clone().unwrap_or_default(),
            offset: String::new(),
        }
    }

    fn filter(&self) -> Option<AudienceFilter> {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        (self.audience == AudienceMode::Filter).then(|| AudienceFilter {
            brand: text(&self.brand),
            country: text(&self.country).map(|c| c.to_uppercase()),
            zone_type: ZoneType::parse(&self.zone_type).ok(),
            labels: self.labels.split(',').filter_map(text).collect(),
        })
    }

    /// The API's input for this form; what cannot even be read into it is reported by field.
    pub fn input(&self) -> Result<CampaignInput, Invalid> {
        let mut inv = Invalid::default();
        let mut venues = Vec::new();
        if self.audience == AudienceMode::Venues {
            for v in &self.venues {
                match v.parse::<Uuid>() {
                    Ok(id) => venues.push(id),
                    Err(_) => inv.push("target_venues", "lists an unknown venue"),
                }
            }
        }
        let whatsapp_template = Some(self.wa_template.trim()).filter(|t| !t.is_empty()).map(|t| {
            let (name, language) = t.split_once('|').unwrap_or((t, ""));
            WhatsappTemplateInput {
                name: name.to_owned(),
                language: language.to_owned(),
                params: self.wa_params.lines().map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect(),
            }
        });
        let scheduled_at = match self.schedule {
            ScheduleMode::At => match parse_local(&self.at) {
                Some(t) => Some(t.assume_offset(viewer_offset(self.offset.trim().parse().ok()))),
                None => {
                    inv.push("scheduled_at", "choose a date and time");
                    None
                }
            },
            _ => None,
        };
        let send_at_local = (self.schedule == ScheduleMode::Local).then(|| self.local.clone());
        let contacts = match self.contacts.as_str() {
            "role" => Some(format!("role:{}", self.role.trim())),
            "" => None,
            other => Some(other.to_owned()),
        };
        let input = CampaignInput {
            name: self.name.clone(),
            kind: self.kind.clone(),
            channel: self.channel.clone(),
            channel_fallback: self.fallback.clone(),
            target_venues: venues,
            audience_filter: self.filter(),
            contacts,
            message_template: self.message.clone(),
            whatsapp_template,
            reply_window_hours: None,
            scheduled_at,
            send_at_local,
            quiet_hours: None,
        };
        inv.into_result().map(|()| input)
    }
}

/// A choice of a select or a group of boxes: value, label, chosen.
pub type Choice = (String, String, bool);

#[derive(Template)]
#[template(path = "campaigns/form.html")]
struct FormPage {
    c: Chrome,
    id: Option<Uuid>,
    f: CampaignForm,
    errors: FieldErrors,
    types: Vec<Choice>,
    choices: Vec<Choice>,
    fallbacks: Vec<Choice>,
    venues: Vec<Choice>,
    zone_types: Vec<Choice>,
    scopes: Vec<Choice>,
    templates: Vec<Choice>,
    templates_unavailable: bool,
    preview: Option<AudiencePreview>,
}

#[derive(Template)]
#[template(path = "campaigns/audience.html")]
pub struct AudienceFragment<'a> {
    pub c: &'a Chrome,
    pub preview: &'a Option<AudiencePreview>,
}

/// The approved WhatsApp templates (as `GET /api/v1/messaging/templates` lists them), or `None`
/// when WhatsApp is not configured or did not answer.
async fn whatsapp_templates(ctx: &AppContext) -> Option<Vec<(String, String)>> {
    let client = ctx.channels.whatsapp.as_ref()?;
    let list = client.templates().await.map_err(|e| tracing::warn!(error = %e, "templates not listed")).ok()?;
    Some(
        list.into_iter()
            .map(|t| (format!("{}|{}", t.name, t.language), format!("{} ({})", t.name, t.language)))
            .collect(),
    )
}

/// Who the form's audience reaches now, resolved as for a saved campaign.
async fn preview_of(ctx: &AppContext, f: &CampaignForm) -> Option<AudiencePreview> {
    let input = f.input().ok()?;
    let empty = input.target_venues.is_empty() && input.audience_filter.as_ref().is_none_or(AudienceFilter::is_empty);
    if empty {
        return None;
    }
    let now = OffsetDateTime::now_utc();
    let campaign = Campaign {
        id: Uuid::nil(),
        name: String::new(),
        kind: CampaignType::parse(&f.kind).unwrap_or(CampaignType::Service),
        channel: ChannelChoice::parse(&f.channel).unwrap_or(ChannelChoice::Preferred),
        channel_fallback: f.fallback.iter().filter_map(|c| Channel::parse(c).ok()).collect(),
        target_venues: input.target_venues,
        audience_filter: input.audience_filter.map(sqlx::types::Json),
        contacts: input.contacts.as_deref().map_or(Ok(ContactScope::Staff), ContactScope::parse).ok()?,
        message_template: String::new(),
        whatsapp_template: None,
        reply_window_hours: 72,
        scheduled_at: None,
        send_at_local: None,
        quiet_start: None,
        quiet_end: None,
        status: CampaignStatus::Draft,
        created_by: None,
        started_at: None,
        finished_at: None,
        created_at: now,
        updated_at: now,
    };
    let mut conn = ctx.db.acquire().await.ok()?;
    let r = bma_app::campaigns::audience::resolve(&mut conn, &campaign).await.ok()?;
    Some(AudiencePreview::from(&r))
}

fn choices<T: Copy>(
    all: &[T],
    key: impl Fn(T) -> &'static str,
    label: impl Fn(&str) -> String,
    chosen: impl Fn(&str) -> bool,
) -> Vec<Choice> {
    all.iter().map(|t| key(*t)).map(|k| (k.to_owned(), label(k), chosen(k))).collect()
}

pub async fn form_page(
    state: &AppState,
    visit: &Visit,
    id: Option<Uuid>,
    f: CampaignForm,
    errors: FieldErrors,
) -> PortalResult<Response> {
    let ctx = &state.ctx;
    let title = if id.is_some() { "campaigns-edit-title" } else { "campaigns-new-title" };
    let c = Chrome::new(visit, title, "/campaigns");
    let s = visit.member()?;
    let (venues, _) = bma_store::venues::list(
        &ctx.db,
        &bma_store::venues::VenueFilter::default(),
        bma_store::venues::VenueSort::Name,
        VENUES_OFFERED,
        0,
    )
    .await?;
    let wa = if s.can(&Method::GET, TEMPLATES_API) { whatsapp_templates(ctx).await } else { None };
    let mut templates: Vec<Choice> =
        wa.iter().flatten().map(|(v, l)| (v.clone(), l.clone(), *v == f.wa_template)).collect();
    if !f.wa_template.is_empty() && !templates.iter().any(|t| t.2) {
        templates.push((f.wa_template.clone(), f.wa_template.replace('|', " "), true));
    }
    let page = FormPage {
        types: choices(&TYPES, CampaignType::as_str, |k| c.tk("campaigns-type-", k), |k| k == f.kind),
        choices: choices(&CHOICES, ChannelChoice::as_str, |k| c.tk("campaigns-channel-", k), |k| k == f.channel),
        fallbacks: choices(&CHANNELS, Channel::as_str, |k| c.tk("channel-", k), |k| f.fallback.iter().any(|x| x == k)),
        zone_types: choices(&ZoneType::ALL, ZoneType::as_str, |k| c.tk("zone-type-", k), |k| k == f.zone_type),
        venues: venues
            .into_iter()
            .map(|v| {
                let id = v.id.to_string();
                let chosen = f.venues.contains(&id);
                (id, v.name, chosen)
            })
            .collect(),
        scopes: ["staff", "all", "role"]
            .iter()
            .map(|k| ((*k).to_owned(), c.tk("campaigns-contacts-", k), f.contacts == *k))
            .collect(),
        templates_unavailable: wa.is_none(),
        templates,
        preview: preview_of(ctx, &f).await,
        id,
        f,
        errors,
        c,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, render(&page)?).into_response())
}

pub async fn new_form(State(state): State<AppState>, visit: Visit) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, CREATE_API)?;
    let f = CampaignForm {
        kind: "service".into(),
        channel: "preferred".into(),
        contacts: "staff".into(),
        ..CampaignForm::default()
    };
    form_page(&state, &visit, None, f, FieldErrors::default()).await
}

pub async fn edit_form(State(state): State<AppState>, visit: Visit, Path(id): Path<Uuid>) -> PortalResult<Response> {
    visit.member_allowed(&Method::PUT, UPDATE_API)?;
    let c = svc::get(&state.ctx, id).await?;
    form_page(&state, &visit, Some(id), CampaignForm::of(&c), FieldErrors::default()).await
}

async fn save(state: &AppState, visit: &Visit, id: Option<Uuid>, f: CampaignForm) -> PortalResult<Response> {
    let input = match f.input() {
        Ok(i) => i,
        Err(inv) => return form_page(state, visit, id, f, FieldErrors::from_invalid(&inv)).await,
    };
    let actor = visit.actor();
    let saved = match id {
        None => svc::create(&state.ctx, &actor, &input).await,
        Some(id) => svc::update(&state.ctx, &actor, id, &input).await,
    };
    match saved {
        Ok(c) => Ok(see_other(&format!("/campaigns/{}", c.id))),
        Err(bma_app::Error::Invalid(inv)) => form_page(state, visit, id, f, FieldErrors::from_invalid(&inv)).await,
        Err(bma_app::Error::Unavailable { message, .. }) => {
            form_page(state, visit, id, f, FieldErrors::one("whatsapp_template", message)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn create(
    State(state): State<AppState>,
    visit: Visit,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, CREATE_API)?;
    save(&state, &visit, None, CampaignForm::from_pairs(pairs)).await
}

pub async fn update(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PortalResult<Response> {
    visit.member_allowed(&Method::PUT, UPDATE_API)?;
    save(&state, &visit, Some(id), CampaignForm::from_pairs(pairs)).await
}

/// The audience of the form as it stands (htmx swaps it in as the form changes).
pub async fn audience(
    State(state): State<AppState>,
    visit: Visit,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PortalResult<Response> {
    visit.member_allowed(&Method::GET, AUDIENCE_API)?;
    let preview = preview_of(&state.ctx, &CampaignForm::from_pairs(pairs)).await;
    let c = Chrome::new(&visit, "campaigns-title", "/campaigns");
    render(&AudienceFragment { c: &c, preview: &preview })
}
