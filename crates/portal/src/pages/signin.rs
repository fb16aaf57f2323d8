//! Signing in (password, then the authenticator code when the member has one) and signing out,
//! through the same service functions as `/api/v1/auth/login` and `/logout`.

use crate::error::{PortalError, PortalResult};
use crate::layout::{Chrome, render};
use crate::session::{LANG_COOKIE, Visit, clear_session_cookies, see_other, session_cookies, set_cookie};
use askama::Template;
use axum::extract::{Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, http::StatusCode};
use base64::Engine as _;
use bma_app::AppContext;
use bma_app::security::secretbox;
use bma_app::services::auth::{self, TokenPair};
use bma_web::AppState;
use serde::{Deserialize, Serialize};

#[derive(Template)]
#[template(path = "signin/page.html")]
struct SignInPage {
    c: Chrome,
    email: String,
    error: Option<String>,
    /// Set on the second step: the sealed first step, and the code is asked for.
    pending: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    pending: String,
}

/// The first step, kept sealed in the second step's form for a few minutes so the password need
/// not be typed again; only the server can open it.
#[derive(Serialize, Deserialize)]
struct Pending {
    email: String,
    password: String,
    until: i64,
}

const PENDING_CONTEXT: &[u8] = b"portal sign-in step";
const PENDING_SECONDS: i64 = 300;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn seal(ctx: &AppContext, email: &str, password: &str) -> String {
    let p = Pending { email: email.to_owned(), password: password.to_owned(), until: now() + PENDING_SECONDS };
    let json = serde_json::to_vec(&p).unwrap_or_default();
    let sealed = secretbox::seal(&ctx.config.data_encryption_key, &json, PENDING_CONTEXT);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed)
}

fn open(ctx: &AppContext, pending: &str) -> Option<Pending> {
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(pending.trim()).ok()?;
    let json = secretbox::open(&ctx.config.data_encryption_key, &sealed, PENDING_CONTEXT).ok()?;
    serde_json::from_slice::<Pending>(&json).ok().filter(|p| p.until > now())
}

async fn show(visit: Visit) -> PortalResult<Response> {
    if visit.member().is_ok() {
        return Ok(see_other("/dashboard"));
    }
    render(&SignInPage { c: Chrome::new(&visit, "signin-title", ""), email: String::new(), error: None, pending: None })
}

/// The new session's cookies, and the member's saved language for this browser.
async fn signed_in(ctx: &AppContext, visit: &Visit, pair: &TokenPair) -> PortalResult<Response> {
    let to = if pair.scope == "full" { "/dashboard" } else { "/profile/mfa" };
    let mut res = see_other(to);
    for v in session_cookies(ctx, pair, visit.secure) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    let member = ctx.jwt.verify(&pair.access_token, now()).map(|c| c.sub).ok();
    if let Some(id) = member
        && let Some(lang) = bma_store::members::language(&ctx.db, id).await?
    {
        let cookie = set_cookie(LANG_COOKIE, lang.as_str(), 31_536_000, visit.secure, true);
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(res)
}

async fn submit(State(state): State<AppState>, visit: Visit, Form(form): Form<SignInForm>) -> PortalResult<Response> {
    let ctx = &state.ctx;
    let (email, password, code) = if form.pending.is_empty() {
        (form.email, form.password, None)
    } else {
        match open(ctx, &form.pending) {
            Some(p) => (p.email, p.password, Some(form.code)),
            None => (String::new(), String::new(), None),
        }
    };
    let error = |key: &str, pending: Option<String>, email: String| {
        let c = Chrome::new(&visit, "signin-title", "");
        let page = SignInPage { error: Some(c.t(key)), c, email, pending };
        render(&page).map(|r| (StatusCode::UNAUTHORIZED, r).into_response())
    };
    if email.is_empty() || email.len() > 320 || password.len() > 1024 {
        return error("signin-failed", None, email);
    }
    match auth::login(ctx, &email, &password, code.as_deref(), &visit.client()).await {
        Ok(pair) => signed_in(ctx, &visit, &pair).await,
        Err(bma_app::Error::Unauthorized { code: "mfa_required", .. }) => {
            let c = Chrome::new(&visit, "signin-title", "");
            render(&SignInPage { c, email: String::new(), error: None, pending: Some(seal(ctx, &email, &password)) })
        }
        Err(bma_app::Error::Unauthorized { code: "invalid_totp_code", .. }) => {
            error("signin-code-wrong", Some(seal(ctx, &email, &password)), String::new())
        }
        Err(bma_app::Error::Unauthorized { .. }) => error("signin-failed", None, email),
        Err(bma_app::Error::TooManyRequests { .. }) => {
            error("signin-too-many", None, email).map(|r| (StatusCode::TOO_MANY_REQUESTS, r).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn sign_out(State(state): State<AppState>, visit: Visit) -> PortalResult<Response> {
    if let Some(s) = &visit.session {
        auth::sign_out(&state.ctx, s.member_id(), s.claims.sid, &visit.actor()).await.map_err(PortalError::from)?;
    }
    let mut res = see_other("/sign-in");
    for v in clear_session_cookies(visit.secure) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/sign-in", get(show).post(submit)).route("/sign-out", post(sign_out))
}
