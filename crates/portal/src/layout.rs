//! What every page shares: the layout's data (language, navigation for the member's role, the
//! CSRF token), rendering a template into a response, and the error page.

use crate::access::nav_for;
use crate::error::{ErrorPage, PortalError, PortalResult};
use crate::i18n::{Lang, Tr};
use crate::session::Visit;
use askama::Template;
use axum::response::{Html, IntoResponse, Response};

/// A link of the navigation, translated.
pub struct NavLink {
    pub label: String,
    pub href: &'static str,
    pub current: bool,
}

/// The layout's data, handed to every page template as `c`.
pub struct Chrome {
    pub tr: Tr,
    pub lang: Lang,
    pub title: String,
    pub csrf: String,
    pub nav: Vec<NavLink>,
    pub signed_in: bool,
}

impl Chrome {
    /// The layout for `visit`, titled by the message `title`, with `current` (a page's path)
    /// marked in the navigation.
    pub fn new(visit: &Visit, title: &str, current: &str) -> Self {
        let tr = Tr::new(visit.lang);
        let full = visit.session.as_ref().filter(|s| s.claims.scope == bma_app::security::jwt::Scope::Full);
        let nav = full
            .map(|s| {
                nav_for(s.role())
                    .map(|e| NavLink { label: tr.t(e.key), href: e.href, current: e.href == current })
                    .collect()
            })
            .unwrap_or_default();
        Chrome {
            title: tr.t(title),
            lang: visit.lang,
            csrf: visit.session.as_ref().map(|s| s.csrf.clone()).unwrap_or_default(),
            nav,
            signed_in: visit.session.is_some(),
            tr,
        }
    }

    pub fn t(&self, id: &str) -> String {
        self.tr.t(id)
    }

    pub fn ta(&self, id: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.tr.ta(id, name, value)
    }

    /// The message `prefix` + `key`: a family of messages named after an enum's values.
    pub fn tk(&self, prefix: &str, key: &str) -> String {
        self.tr.t(&format!("{prefix}{key}"))
    }

    pub fn tn(&self, id: &str, name: &str, value: i64) -> String {
        self.tr.tn(id, name, value)
    }

    pub fn asset(&self, name: &str) -> &'static str {
        crate::assets::url(name)
    }

    /// The `hx-headers` JSON that makes htmx send the CSRF token.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ crate::session::CSRF_HEADER: self.csrf }).to_string()
    }

    pub fn csrf_field(&self) -> &'static str {
        crate::session::CSRF_FIELD
    }

    /// A moment for `<time datetime>`; `portal.js` shows it in the viewer's time zone.
    pub fn iso(&self, t: &time::OffsetDateTime) -> String {
        t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
    }

    /// The same moment in UTC, shown until the script has run (or without it).
    pub fn utc(&self, t: &time::OffsetDateTime) -> String {
        let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
        t.to_offset(time::UtcOffset::UTC).format(&f).unwrap_or_default()
    }

    /// A percentage with one decimal, or a dash when there is none.
    pub fn pct(&self, v: &Option<f64>) -> String {
        v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} %"))
    }

    /// A number with one decimal, or a dash.
    pub fn num1(&self, v: &Option<f64>) -> String {
        v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
    }
}

/// Renders a page template.
pub fn render(t: &impl Template) -> PortalResult<Response> {
    let html = t.render().map_err(|e| PortalError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(Html(html).into_response())
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    c: Chrome,
    message: String,
}

/// The error page in the viewer's language.
pub fn error_page(visit: &Visit, page: ErrorPage) -> Response {
    let c = Chrome::new(visit, "error-title", "");
    let t = ErrorTemplate { message: c.t(page.message()), c };
    let body = t.render().unwrap_or_else(|_| page.status().to_string());
    (page.status(), Html(body)).into_response()
}
