//! Accepting an invitation: the emailed link carries the token in the URL fragment (never sent to
//! a server or a log); `portal.js` copies it into the form, where the member chooses a password.

use crate::error::PortalResult;
use crate::layout::{Chrome, render};
use crate::session::Visit;
use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bma_domain::member::Password;
use bma_web::AppState;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "signin/invitation.html")]
struct InvitationPage {
    c: Chrome,
    error: Option<String>,
    done: bool,
}

async fn show(visit: Visit) -> PortalResult<Response> {
    render(&InvitationPage { c: Chrome::new(&visit, "invitation-title", ""), error: None, done: false })
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

async fn accept(State(state): State<AppState>, visit: Visit, Form(form): Form<AcceptForm>) -> PortalResult<Response> {
    let c = Chrome::new(&visit, "invitation-title", "");
    let failed = |c: Chrome, key: &str, status: StatusCode| {
        let page = InvitationPage { error: Some(c.t(key)), c, done: false };
        render(&page).map(|r| (status, r).into_response())
    };
    let Ok(password) = Password::parse(&form.password) else {
        return failed(c, "invitation-password-weak", StatusCode::UNPROCESSABLE_ENTITY);
    };
    match bma_app::services::team::accept_invitation(&state.ctx, form.token.trim(), &password, visit.ip).await {
        Ok(_) => render(&InvitationPage { c, error: None, done: true }),
        Err(bma_app::Error::Invalid(_)) => failed(c, "invitation-password-weak", StatusCode::UNPROCESSABLE_ENTITY),
        Err(bma_app::Error::Unauthorized { .. } | bma_app::Error::NotFound(_) | bma_app::Error::Conflict { .. }) => {
            failed(c, "invitation-invalid", StatusCode::UNAUTHORIZED)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/accept-invitation", get(show).post(accept))
}
