//! Extractors whose rejections speak the API's error body: JSON bodies, query strings, ids in
//! paths, the signed-in member and the client's address.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use bma_app::security::jwt::Claims;
use bma_app::services::Actor;
use bma_domain::FieldError;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};
use uuid::Uuid;

/// The field a serde error points at ("name: invalid type…" → "name", "missing field `group`" →
/// "group").
fn field_of(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("missing field `") {
        return rest.split_once('`').map(|(name, _)| name.to_owned());
    }
    let (path, rest) = message.split_once(": ")?;
    let ok = !path.is_empty() && !path.contains(' ') && !rest.is_empty();
    ok.then(|| path.to_owned())
}

/// A JSON body; malformed JSON is a 400, a wrong type or a missing field a 422 naming the field,
/// and a NUL character (which no text column can hold) a 422.
pub struct Json<T>(pub T);

fn is_json(req: &Request) -> bool {
    let Some(ct) = req.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => return Err(ApiError::PayloadTooLarge),
            Err(e) => return Err(ApiError::bad_request("invalid_body", e.body_text())),
        };
        if bytes.windows(6).any(|w| w == b"\\u0000") {
            return Err(ApiError::Validation(vec![FieldError {
                field: "body".into(),
                message: "text must not contain NUL characters (\\u0000)".into(),
            }]));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::JsonDataError(e)) => {
                let text = e.body_text();
                let detail = text.split_once("target type: ").map_or(text.as_str(), |(_, d)| d).to_owned();
                let field = field_of(&detail).unwrap_or_else(|| "body".into());
                let message = detail.split_once(": ").map_or(detail.as_str(), |(_, m)| m).to_owned();
                Err(ApiError::Validation(vec![FieldError { field, message }]))
            }
            Err(JsonRejection::JsonSyntaxError(_)) => {
                Err(ApiError::bad_request("malformed_json", "the body is not valid JSON"))
            }
            Err(e) => Err(ApiError::bad_request("invalid_body", e.body_text())),
        }
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters; a value of the wrong type is a 400 naming the parameter.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // No parameter may carry a NUL: no text column can hold one, and PostgreSQL refuses it
        // even as a search term.
        if parts.uri.query().is_some_and(|q| q.contains("%00")) {
            return Err(ApiError::BadRequest {
                code: "invalid_query",
                message: "invalid query string: a parameter contains a NUL character (%00)".into(),
                fields: vec![FieldError { field: "query".into(), message: "must not contain NUL characters".into() }],
            });
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let text = e.body_text();
                // axum says "Failed to deserialize query string: per_page: invalid digit …".
                let detail = text.split_once("uery string: ").map_or(text.as_str(), |(_, d)| d).to_owned();
                let field = field_of(&detail).unwrap_or_else(|| "query".into());
                Err(ApiError::BadRequest {
                    code: "invalid_query",
                    message: format!("invalid query string: {detail}"),
                    fields: vec![FieldError { field, message: detail }],
                })
            }
            Err(e) => Err(ApiError::bad_request("invalid_query", e.body_text())),
        }
    }
}

/// The id in the path (`/venues/{id}`); anything but a UUID is a 400.
pub struct Id(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<Uuid>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Id(id)),
            Err(_) => Err(ApiError::BadRequest {
                code: "invalid_id",
                message: "the id in the path must be a UUID".into(),
                fields: vec![FieldError { field: "id".into(), message: "must be a UUID".into() }],
            }),
        }
    }
}

/// The signed-in member, put in the request by the access middleware.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Claims);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("unauthenticated", "sign in first"))
    }
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when the service
/// runs behind its own proxy (TRUST_PROXY_HEADERS).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

pub fn client_ip(parts: &Parts, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

impl FromRequestParts<crate::AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, state.trust_proxy)))
    }
}

/// The actor of a write: the member, their address and the request id, for the audit log.
pub struct AuditActor(pub Actor);

impl FromRequestParts<crate::AppState> for AuditActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, Self::Rejection> {
        let user = parts.extensions.get::<CurrentUser>().map(|u| u.0.sub);
        Ok(AuditActor(Actor::member(user, client_ip(parts, state.trust_proxy), crate::error::current_request_id())))
    }
}
