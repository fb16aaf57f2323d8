//! The team: members with their role and state, invite (email, name, role), change a role,
//! deactivate and reactivate. The controls are there only for roles the API's access table lets
//! manage the team; each calls `app::services::team`, as `/api/v1/team/members` does.

use crate::error::PortalResult;
use crate::forms::{Field, FieldErrors};
use crate::layout::{Chrome, render};
use crate::session::Visit;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bma_app::services::team::{self, MemberChanges};
use bma_domain::Invalid;
use bma_domain::access::Role;
use bma_domain::member::{Email, PersonName};
use bma_store::members::Member;
use bma_web::AppState;
use serde::Deserialize;
use uuid::Uuid;

const LIST_API: &str = "/api/v1/team/members";
const ONE_API: &str = "/api/v1/team/members/{id}";

#[derive(Template)]
#[template(path = "team/page.html")]
struct TeamPage {
    c: Chrome,
    members: Vec<Member>,
    roles: Vec<(&'static str, String)>,
    me: Uuid,
    can_invite: bool,
    can_manage: bool,
    fields: Vec<Field>,
    invite_role: String,
    errors: FieldErrors,
    notice: Option<String>,
    error: Option<String>,
}

/// What the page says after a change: the message id, and whether it is an error.
type Outcome = Option<(&'static str, bool)>;

#[derive(Deserialize, Default)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

async fn page(
    state: &AppState,
    visit: &Visit,
    form: InviteForm,
    errors: FieldErrors,
    outcome: Outcome,
) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, LIST_API)?;
    let members = bma_store::members::list(&state.ctx.db).await?;
    let c = Chrome::new(visit, "team-title", "/team");
    let (tr, e) = (&c.tr, &errors);
    let fields = vec![
        Field::new(tr, e, "email", "team-email", &form.email).kind("email"),
        Field::new(tr, e, "name", "team-name", &form.name),
    ];
    let (notice, error) = match outcome {
        Some((k, false)) => (Some(c.t(k)), None),
        Some((k, true)) => (None, Some(c.t(k))),
        None => (None, None),
    };
    let failed = outcome.is_some_and(|(_, bad)| bad) || !errors.is_empty();
    let page = TeamPage {
        roles: Role::ALL.iter().map(|r| (r.as_str(), c.tk("role-", r.as_str()))).collect(),
        me: s.member_id(),
        can_invite: s.can(&Method::POST, LIST_API),
        can_manage: s.can(&Method::PATCH, ONE_API),
        invite_role: if form.role.is_empty() { Role::Viewer.as_str().to_owned() } else { form.role },
        members,
        fields,
        errors,
        notice,
        error,
        c,
    };
    let status = if failed { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(&page)?).into_response())
}

async fn show(State(state): State<AppState>, visit: Visit) -> PortalResult<Response> {
    page(&state, &visit, InviteForm::default(), FieldErrors::default(), None).await
}

/// Invites a member with the same parsing and service as `POST /api/v1/team/members`.
async fn invite(State(state): State<AppState>, visit: Visit, Form(f): Form<InviteForm>) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, LIST_API)?;
    let mut inv = Invalid::default();
    let email = inv.check("email", Email::parse(&f.email));
    let name = inv.check("name", PersonName::parse(&f.name));
    let role = inv.check("role", Role::parse(&f.role));
    let (Some(email), Some(name), Some(role)) = (email, name, role) else {
        return page(&state, &visit, f, FieldErrors::from_invalid(&inv), None).await;
    };
    match team::invite(&state.ctx, &visit.actor(), email, name, role).await {
        Ok(_) => {
            page(&state, &visit, InviteForm::default(), FieldErrors::default(), Some(("team-invited", false))).await
        }
        Err(bma_app::Error::Conflict { .. }) => {
            let errors = FieldErrors::one("email", Chrome::new(&visit, "team-title", "/team").t("team-email-taken"));
            page(&state, &visit, f, errors, None).await
        }
        Err(bma_app::Error::Invalid(inv)) => page(&state, &visit, f, FieldErrors::from_invalid(&inv), None).await,
        Err(e) => Err(e.into()),
    }
}

/// Applies one change with `app::services::team::update`, as `PATCH /api/v1/team/members/{id}` does.
async fn change(
    state: &AppState,
    visit: &Visit,
    id: Uuid,
    changes: MemberChanges,
    done: &'static str,
) -> PortalResult<Response> {
    visit.member_allowed(&Method::PATCH, ONE_API)?;
    let outcome = match team::update(&state.ctx, &visit.actor(), id, changes).await {
        Ok(_) => (done, false),
        Err(bma_app::Error::Conflict { .. } | bma_app::Error::Invalid(_)) => ("team-change-refused", true),
        Err(e) => return Err(e.into()),
    };
    page(state, visit, InviteForm::default(), FieldErrors::default(), Some(outcome)).await
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn set_role(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<Uuid>,
    Form(f): Form<RoleForm>,
) -> PortalResult<Response> {
    let Ok(role) = Role::parse(&f.role) else {
        return page(
            &state,
            &visit,
            InviteForm::default(),
            FieldErrors::default(),
            Some(("team-change-refused", true)),
        )
        .await;
    };
    let changes = MemberChanges { name: None, role: Some(role), active: None };
    change(&state, &visit, id, changes, "team-role-changed").await
}

async fn deactivate(State(state): State<AppState>, visit: Visit, Path(id): Path<Uuid>) -> PortalResult<Response> {
    let changes = MemberChanges { name: None, role: None, active: Some(false) };
    change(&state, &visit, id, changes, "team-deactivated").await
}

async fn reactivate(State(state): State<AppState>, visit: Visit, Path(id): Path<Uuid>) -> PortalResult<Response> {
    let changes = MemberChanges { name: None, role: None, active: Some(true) };
    change(&state, &visit, id, changes, "team-reactivated").await
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/team", get(show).post(invite))
        .route("/team/{id}/role", post(set_role))
        .route("/team/{id}/deactivate", post(deactivate))
        .route("/team/{id}/reactivate", post(reactivate))
}
