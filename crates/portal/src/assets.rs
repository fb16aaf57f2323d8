//! The portal's static files, embedded in the binary and served under names that carry a hash of
//! their contents, so browsers may keep them for a year and a new build is fetched at once.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bma_web::AppState;
use std::sync::OnceLock;

/// One embedded file: its logical name, its bytes and its content type.
struct Source {
    name: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

const SOURCES: &[Source] = &[
    Source { name: "portal.css", bytes: include_bytes!("../assets/portal.css"), content_type: CSS },
    Source { name: "portal.js", bytes: include_bytes!("../assets/portal.js"), content_type: JS },
    Source { name: "htmx.min.js", bytes: include_bytes!("../assets/htmx.min.js"), content_type: JS },
    Source { name: "htmx-sse.min.js", bytes: include_bytes!("../assets/htmx-sse.min.js"), content_type: JS },
    Source { name: "uplot.min.js", bytes: include_bytes!("../assets/uplot.min.js"), content_type: JS },
    Source { name: "charts.js", bytes: include_bytes!("../assets/charts.js"), content_type: JS },
    Source { name: "uplot.min.css", bytes: include_bytes!("../assets/uplot.min.css"), content_type: CSS },
];

/// An embedded file under its fingerprinted name (`htmx.min.3f2a1c0b.js`).
pub struct Asset {
    pub name: &'static str,
    pub path: String,
    bytes: &'static [u8],
    content_type: &'static str,
}

fn fingerprinted(name: &str, bytes: &[u8]) -> String {
    let digest = bma_app::security::tokens::hash_token_bytes(bytes);
    let hash: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{name}.{hash}"),
    }
}

/// Every asset, fingerprinted once per process.
pub fn all() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        SOURCES
            .iter()
            .map(|s| Asset {
                name: s.name,
                path: format!("/assets/{}", fingerprinted(s.name, s.bytes)),
                bytes: s.bytes,
                content_type: s.content_type,
            })
            .collect()
    })
}

/// The URL of the asset called `name` (`"htmx.min.js"`); empty for a name that is not embedded,
/// which a test rules out for every name the templates use.
pub fn url(name: &str) -> &'static str {
    all().iter().find(|a| a.name == name).map_or("", |a| a.path.as_str())
}

async fn serve(Path(file): Path<String>) -> Response {
    let wanted = format!("/assets/{file}");
    let Some(a) = all().iter().find(|a| a.path == wanted) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(a.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        a.bytes,
    )
        .into_response()
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(serve))
}
