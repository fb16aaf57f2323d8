//! The member's own page: language, and two-factor enrolment with a QR code (admins are brought
//! here at sign-in until they enrol).

use crate::error::{PortalError, PortalResult};
use crate::i18n::Lang;
use crate::layout::{Chrome, render};
use crate::session::{LANG_COOKIE, Visit, see_other, session_cookies, set_cookie};
use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bma_app::services::auth;
use bma_web::AppState;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "profile/page.html")]
struct ProfilePage {
    c: Chrome,
    name: String,
    email: String,
    role: String,
    mfa_enabled: bool,
    /// Whether the member may turn two-factor sign-in off (admins must keep it).
    mfa_optional: bool,
    langs: Vec<(&'static str, String, bool)>,
    notice: Option<String>,
    error: Option<String>,
}

/// What the profile page says after a change: a message id, and whether it is an error.
type Outcome = Option<(&'static str, bool)>;

async fn profile(state: &AppState, visit: &Visit, outcome: Outcome) -> PortalResult<Response> {
    let s = visit.member()?;
    let m = bma_store::members::find(&state.ctx.db, s.member_id()).await?.ok_or(PortalError::SignIn)?;
    let c = Chrome::new(visit, "profile-title", "/profile");
    let langs =
        Lang::ALL.iter().map(|l| (l.as_str(), c.t(&format!("lang-{}", l.as_str())), *l == visit.lang)).collect();
    let role = c.t(&format!("role-{}", m.role.as_str()));
    let (notice, error) = match outcome {
        Some((key, false)) => (Some(c.t(key)), None),
        Some((key, true)) => (None, Some(c.t(key))),
        None => (None, None),
    };
    let page = ProfilePage {
        name: m.name,
        email: m.email,
        role,
        mfa_enabled: m.totp_confirmed_at.is_some(),
        mfa_optional: !m.role.requires_mfa(),
        langs,
        notice,
        error,
        c,
    };
    let status = if outcome.is_some_and(|(_, e)| e) { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(&page)?).into_response())
}

async fn show(State(state): State<AppState>, visit: Visit) -> PortalResult<Response> {
    profile(&state, &visit, None).await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

async fn change_password(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<PasswordForm>,
) -> PortalResult<Response> {
    let s = visit.member()?;
    let Ok(new) = bma_domain::member::Password::parse(&form.new) else {
        return profile(&state, &visit, Some(("invitation-password-weak", true))).await;
    };
    let outcome = match auth::change_password(&state.ctx, s.member_id(), &form.current, &new, &visit.client()).await {
        Ok(()) => ("profile-password-changed", false),
        Err(bma_app::Error::Unauthorized { .. }) => ("profile-password-wrong", true),
        Err(e) => return Err(e.into()),
    };
    profile(&state, &visit, Some(outcome)).await
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn disable_mfa(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<CodeForm>,
) -> PortalResult<Response> {
    let s = visit.member()?;
    let outcome = match auth::disable_mfa(&state.ctx, s.member_id(), &form.code, &visit.client()).await {
        Ok(()) => ("profile-mfa-disabled", false),
        Err(bma_app::Error::Invalid(_)) => ("mfa-code-wrong", true),
        Err(bma_app::Error::Conflict { .. }) => return Err(PortalError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    profile(&state, &visit, Some(outcome)).await
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
}

/// Saves the member's language, and sets it for this browser (a cookie the server reads first;
/// signing in elsewhere sets it from the member).
async fn set_language(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<LanguageForm>,
) -> PortalResult<Response> {
    let s = visit.member()?;
    let lang = Lang::parse(&form.lang).ok_or(PortalError::NotFound)?;
    bma_store::members::set_language(&state.ctx.db, s.member_id(), lang).await?;
    let mut res = see_other("/profile");
    res.headers_mut()
        .append(header::SET_COOKIE, set_cookie(LANG_COOKIE, lang.as_str(), 31_536_000, visit.secure, true));
    Ok(res)
}

#[derive(Template)]
#[template(path = "profile/mfa.html")]
struct MfaPage {
    c: Chrome,
    qr_svg: String,
    secret: String,
    error: Option<String>,
}

fn qr_svg(uri: &str) -> PortalResult<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| PortalError::Internal(anyhow::anyhow!("qr: {e}")))?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
}

/// Starts enrolment (a new secret each time the page is opened) and shows its QR code.
async fn enrol(State(state): State<AppState>, visit: Visit) -> PortalResult<Response> {
    let s = visit.session.as_ref().ok_or(PortalError::SignIn)?;
    match auth::enroll_mfa(&state.ctx, s.member_id()).await {
        Ok(e) => {
            let c = Chrome::new(&visit, "mfa-title", "/profile");
            render(&MfaPage { qr_svg: qr_svg(&e.otpauth_uri)?, secret: e.secret, error: None, c })
        }
        Err(bma_app::Error::Conflict { .. }) => Ok(see_other("/profile")),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    code: String,
    #[serde(default)]
    secret: String,
}

async fn confirm(State(state): State<AppState>, visit: Visit, Form(form): Form<ConfirmForm>) -> PortalResult<Response> {
    let s = visit.session.as_ref().ok_or(PortalError::SignIn)?;
    let ctx = &state.ctx;
    match auth::confirm_mfa(ctx, s.member_id(), s.claims.sid, &form.code, &visit.client()).await {
        Ok(pair) => {
            let mut res = see_other("/dashboard");
            for v in session_cookies(ctx, &pair, visit.secure) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(res)
        }
        Err(bma_app::Error::Invalid(_)) => {
            let c = Chrome::new(&visit, "mfa-title", "/profile");
            let page = MfaPage { qr_svg: String::new(), error: Some(c.t("mfa-code-wrong")), secret: form.secret, c };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(bma_app::Error::Conflict { .. }) => Ok(see_other("/profile")),
        Err(e) => Err(e.into()),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show))
        .route("/profile/language", post(set_language))
        .route("/profile/password", post(change_password))
        .route("/profile/mfa/disable", post(disable_mfa))
        .route("/profile/mfa", get(enrol).post(confirm))
}
