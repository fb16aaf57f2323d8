//! Status links, for the roles the API's access table lets manage them: the links with what
//! each covers and whether it is revoked, a form to make one for a brand or a venue (the page
//! then shows its URL, once), and revoke. Each calls `app::services::status_links`, as
//! `/api/v1/status-links` does.

use crate::error::{PortalError, PortalResult};
use crate::forms::FieldErrors;
use crate::layout::{Chrome, render};
use crate::session::{Visit, see_other};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bma_app::services::status_links as svc;
use bma_domain::Invalid;
use bma_domain::status_link::{LinkLabel, ScopeKind, StatusScope};
use bma_store::status_links::StatusLink;
use bma_web::AppState;
use serde::Deserialize;
use uuid::Uuid;

const LIST_API: &str = "/api/v1/status-links";
const ONE_API: &str = "/api/v1/status-links/{id}";
/// Venues the form offers, by name.
const VENUES_OFFERED: i64 = 1_000;

/// A link just made: what it covers and its URL, shown this once.
struct Made {
    what: String,
    url: String,
}

#[derive(Template)]
#[template(path = "status_links/page.html")]
struct LinksPage {
    c: Chrome,
    links: Vec<StatusLink>,
    brands: Vec<String>,
    venues: Vec<(Uuid, String, String)>,
    can_create: bool,
    can_revoke: bool,
    /// Which form the errors belong to.
    posted: Option<ScopeKind>,
    form: CreateForm,
    errors: FieldErrors,
    made: Option<Made>,
    notice: Option<String>,
}

impl LinksPage {
    fn covers(&self, l: &StatusLink) -> String {
        match &l.scope {
            StatusScope::Brand(b) => self.c.ta("status-links-brand-is", "name", b.as_str()),
            StatusScope::Venue(_) => {
                self.c.ta("status-links-venue-is", "name", l.venue_name.as_deref().unwrap_or_default())
            }
        }
    }

    /// The form's error on `field`, when it is the form of `kind` that was posted.
    fn error(&self, kind: ScopeKind, field: &str) -> Option<String> {
        (self.posted == Some(kind)).then(|| self.errors.get(field)).flatten()
    }

    fn label_value(&self, kind: ScopeKind) -> &str {
        if self.posted == Some(kind) { &self.form.label } else { "" }
    }
}

#[derive(Deserialize, Default)]
struct CreateForm {
    brand: Option<String>,
    venue_id: Option<String>,
    #[serde(default)]
    label: String,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn page(
    state: &AppState,
    visit: &Visit,
    form: CreateForm,
    errors: FieldErrors,
    made: Option<Made>,
    notice: Option<&'static str>,
) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, LIST_API)?;
    let can_create = s.can(&Method::POST, LIST_API);
    let db = &state.ctx.db;
    let links = svc::list(&state.ctx).await?;
    let (brands, venues) = if can_create {
        (bma_store::fleet::choices(db).await?.0, bma_store::fleet::venue_names(db, VENUES_OFFERED).await?)
    } else {
        (Vec::new(), Vec::new())
    };
    let c = Chrome::new(visit, "status-links-title", "/status-links");
    let posted = match (&form.brand, &form.venue_id) {
        (Some(_), None) => Some(ScopeKind::Brand),
        (None, Some(_)) => Some(ScopeKind::Venue),
        _ => None,
    };
    let failed = !errors.is_empty();
    let page = LinksPage {
        notice: notice.map(|k| c.t(k)),
        can_revoke: s.can(&Method::DELETE, ONE_API),
        can_create,
        links,
        brands,
        venues,
        posted,
        form,
        errors,
        made,
        c,
    };
    let status = if failed { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(&page)?).into_response())
}

async fn show(State(state): State<AppState>, visit: Visit, Query(q): Query<Done>) -> PortalResult<Response> {
    let notice = q.done.as_deref().filter(|d| *d == "revoked").map(|_| "status-links-revoked");
    page(&state, &visit, CreateForm::default(), FieldErrors::default(), None, notice).await
}

/// Makes a link with the same parsing and service as `POST /api/v1/status-links`.
async fn create(State(state): State<AppState>, visit: Visit, Form(f): Form<CreateForm>) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, LIST_API)?;
    let mut inv = Invalid::default();
    let venue_id = match f.venue_id.as_deref().map(|v| Uuid::parse_str(v.trim())) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            inv.push("venue_id", "choose a venue");
            None
        }
        None => None,
    };
    let scope = if inv.is_empty() { inv.absorb(StatusScope::parse(f.brand.as_deref(), venue_id)) } else { None };
    let label = Some(f.label.trim()).filter(|l| !l.is_empty()).and_then(|l| inv.check("label", LinkLabel::parse(l)));
    let Some(scope) = scope.filter(|_| inv.is_empty()) else {
        return page(&state, &visit, f, FieldErrors::from_invalid(&inv), None, None).await;
    };
    match svc::create(&state.ctx, &visit.actor(), scope, label).await {
        Ok(created) => {
            let c = Chrome::new(&visit, "status-links-title", "/status-links");
            let what = match &created.link.scope {
                StatusScope::Brand(b) => c.ta("status-links-brand-is", "name", b.as_str()),
                StatusScope::Venue(_) => {
                    c.ta("status-links-venue-is", "name", created.link.venue_name.as_deref().unwrap_or_default())
                }
            };
            let made = Made { what, url: created.url };
            page(&state, &visit, CreateForm::default(), FieldErrors::default(), Some(made), None).await
        }
        Err(bma_app::Error::Invalid(inv)) => page(&state, &visit, f, FieldErrors::from_invalid(&inv), None, None).await,
        Err(e) => Err(e.into()),
    }
}

/// Revokes a link with `app::services::status_links::revoke`, as `DELETE /api/v1/status-links/{id}` does.
async fn revoke(State(state): State<AppState>, visit: Visit, Path(id): Path<Uuid>) -> PortalResult<Response> {
    visit.member_allowed(&Method::DELETE, ONE_API)?;
    match svc::revoke(&state.ctx, &visit.actor(), id).await {
        Ok(()) => Ok(see_other("/status-links?done=revoked")),
        Err(bma_app::Error::NotFound(_)) => Err(PortalError::NotFound),
        Err(e) => Err(e.into()),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/status-links", get(show).post(create)).route("/status-links/{id}/revoke", post(revoke))
}
