//! Cookie sessions for the portal. The cookies carry the access and refresh tokens of an ordinary
//! API session, so signing out, expiry, revocation and deactivation act exactly as for the API.
//! Every request that changes something must come from our own origin and carry the session's
//! CSRF token (a hidden form field, or the header htmx sends); anything else gets 403.

use crate::error::ErrorPage;
use crate::i18n::Lang;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bma_app::AppContext;
use bma_app::security::jwt::{Claims, Scope, TokenError};
use bma_app::services::auth::{self, ClientInfo, TokenPair};
use bma_domain::access::Role;
use bma_web::AppState;
use std::net::IpAddr;
use uuid::Uuid;

pub const ACCESS_COOKIE: &str = "bma_session";
pub const REFRESH_COOKIE: &str = "bma_refresh";
pub const LANG_COOKIE: &str = "bma_lang";
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form bodies the CSRF check reads are at most this long.
const FORM_LIMIT: usize = 256 * 1024;

/// A signed-in member's session.
#[derive(Debug, Clone)]
pub struct Session {
    pub claims: Claims,
    pub csrf: String,
}

impl Session {
    pub fn member_id(&self) -> Uuid {
        self.claims.sub
    }

    pub fn role(&self) -> Role {
        self.claims.role
    }

    /// May `method api_path` be called in this session (see [`crate::access::can`])?
    pub fn can(&self, method: &Method, api_path: &str) -> bool {
        self.claims.scope == Scope::Full && crate::access::can(self.role(), method, api_path)
    }
}

/// What the portal knows of every request: the language, the session if any, where it comes
/// from, and whether its cookies must be `Secure`.
#[derive(Debug, Clone)]
pub struct Visit {
    pub lang: Lang,
    pub session: Option<Session>,
    pub secure: bool,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl Visit {
    pub fn client(&self) -> ClientInfo {
        ClientInfo {
            ip: self.ip,
            user_agent: self.user_agent.clone(),
            request_id: bma_web::error::current_request_id(),
        }
    }

    pub fn actor(&self) -> bma_app::services::Actor {
        let member = self.session.as_ref().map(Session::member_id);
        bma_app::services::Actor::member(member, self.ip, bma_web::error::current_request_id())
    }

    /// The session, which must be a full one (an admin still to enrol MFA is sent to enrol).
    pub fn member(&self) -> Result<&Session, crate::error::PortalError> {
        let s = self.session.as_ref().ok_or(crate::error::PortalError::SignIn)?;
        if s.claims.scope != Scope::Full {
            return Err(crate::error::PortalError::EnrolMfa);
        }
        Ok(s)
    }

    /// The session, which must allow `method api_path`.
    pub fn member_allowed(&self, method: &Method, api_path: &str) -> Result<&Session, crate::error::PortalError> {
        let s = self.member()?;
        if !s.can(method, api_path) {
            return Err(crate::error::PortalError::Forbidden);
        }
        Ok(s)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = crate::error::PortalError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Visit>()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the portal's session layer is missing").into())
    }
}

pub fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers).find(|(k, _)| *k == name).map(|(_, v)| v).filter(|v| !v.is_empty())
}

/// Plain http is allowed only on the loopback, for development and tests.
fn is_secure(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let local = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|h| host == *h || host.strip_prefix(h).is_some_and(|rest| rest.starts_with(':')));
    let forwarded_https = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes() == b"https");
    !local || forwarded_https
}

/// A `Set-Cookie` value; an empty value with `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool, http_only: bool) -> HeaderValue {
    let s = format!(
        "{name}={value}; Path=/; SameSite=Lax; Max-Age={max_age}{}{}",
        if http_only { "; HttpOnly" } else { "" },
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("bma_invalid=; Max-Age=0"))
}

/// The cookies that hold a newly issued session.
pub fn session_cookies(ctx: &AppContext, pair: &TokenPair, secure: bool) -> [HeaderValue; 2] {
    let age = ctx.config.refresh_token_ttl.as_secs();
    [
        set_cookie(ACCESS_COOKIE, &pair.access_token, age, secure, true),
        set_cookie(REFRESH_COOKIE, &pair.refresh_token, age, secure, true),
    ]
}

pub fn clear_session_cookies(secure: bool) -> [HeaderValue; 2] {
    [set_cookie(ACCESS_COOKIE, "", 0, secure, true), set_cookie(REFRESH_COOKIE, "", 0, secure, true)]
}

/// The session's CSRF token: derived from the session id and the server's secret, so it needs
/// no storage and dies with the session.
pub fn csrf_token(ctx: &AppContext, sid: Uuid) -> String {
    let material = format!("portal-csrf|{sid}|{}", ctx.config.jwt_secret.expose());
    bma_app::security::tokens::hash_token(&material).iter().take(20).map(|b| format!("{b:02x}")).collect()
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The request comes from our own pages: the browser says so (`Sec-Fetch-Site`), or its `Origin`
/// names this host. Clients that send neither (not a browser) still need the CSRF token.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

fn verify(ctx: &AppContext, token: &str) -> Result<Claims, TokenError> {
    ctx.jwt.verify(token, time::OffsetDateTime::now_utc().unix_timestamp())
}

/// The live session behind the cookies, refreshing an expired access token once.
async fn resolve(ctx: &AppContext, headers: &HeaderMap, secure: bool, set: &mut Vec<HeaderValue>) -> Option<Session> {
    let access = cookie(headers, ACCESS_COOKIE);
    let refresh = cookie(headers, REFRESH_COOKIE);
    if access.is_none() && refresh.is_none() {
        return None;
    }
    let claims = match access.map(|t| verify(ctx, t)) {
        Some(Ok(c)) => Some(c),
        _ => match refresh {
            Some(r) => match auth::refresh(ctx, r).await {
                Ok(pair) => {
                    set.extend(session_cookies(ctx, &pair, secure));
                    verify(ctx, &pair.access_token).ok()
                }
                Err(_) => None,
            },
            None => None,
        },
    };
    let live = match &claims {
        Some(c) => auth::session_is_live(ctx, c.sid).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "session check failed");
            false
        }),
        None => false,
    };
    match claims.filter(|_| live) {
        Some(claims) => Some(Session { csrf: csrf_token(ctx, claims.sid), claims }),
        None => {
            set.extend(clear_session_cookies(secure));
            None
        }
    }
}

fn language(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE).and_then(Lang::parse).unwrap_or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::i18n::from_accept_language)
            .unwrap_or_default()
    })
}

/// The CSRF token a form post or an htmx request carries.
async fn presented_token(req: Request) -> (Option<String>, Request) {
    if let Some(t) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        let t = t.to_owned();
        return (Some(t), req);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if !is_form {
        return (None, req);
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return (None, Request::from_parts(parts, Body::empty()));
    };
    let token = bytes
        .split(|b| *b == b'&')
        .find_map(|pair| pair.strip_prefix(format!("{CSRF_FIELD}=").as_bytes()))
        .map(|t| String::from_utf8_lossy(t).into_owned());
    (token, Request::from_parts(parts, Body::from(bytes)))
}

pub fn see_other(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// The portal's layer: resolves language and session, refuses cross-site or token-less changes,
/// and renders error pages in the viewer's language.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ctx = &state.ctx;
    let headers = req.headers();
    let secure = is_secure(headers);
    let mut set = Vec::new();
    let session = resolve(ctx, headers, secure, &mut set).await;
    let (parts, body) = req.into_parts();
    let visit = Visit {
        lang: language(&parts.headers),
        secure,
        ip: bma_web::extract::client_ip(&parts, state.trust_proxy),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(300).collect()),
        session,
    };
    let mut req = Request::from_parts(parts, body);
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let mut allowed = same_origin(req.headers());
        if let Some(s) = &visit.session {
            let (token, r) = presented_token(req).await;
            req = r;
            allowed &= token.is_some_and(|t| same(&t, &s.csrf));
        }
        if !allowed {
            tracing::warn!(path = %req.uri().path(), "portal request refused: cross-site or without the CSRF token");
            return finish(crate::layout::error_page(&visit, ErrorPage::Forbidden), set);
        }
    }
    req.extensions_mut().insert(visit.clone());
    let res = next.run(req).await;
    let res = match res.extensions().get::<ErrorPage>().copied() {
        Some(page) => crate::layout::error_page(&visit, page),
        None => res,
    };
    finish(res, set)
}

/// Adds the layer's cookies, except those the handler set itself (a new session wins).
fn finish(mut res: Response, set: Vec<HeaderValue>) -> Response {
    let name = |v: &HeaderValue| v.to_str().ok().and_then(|s| s.split('=').next()).map(str::to_owned);
    let by_handler: Vec<String> = res.headers().get_all(header::SET_COOKIE).iter().filter_map(name).collect();
    for v in set {
        if name(&v).is_none_or(|n| !by_handler.contains(&n)) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}
