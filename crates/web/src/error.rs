//! One error type at the edge. Every failure becomes
//! `{"error": {"code", "message", "request_id", "fields"?}}` with a fitting status; internal
//! failures are logged with their cause and shown to clients only as "internal".

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bma_domain::FieldError;
use serde::Serialize;
use std::time::Duration;

tokio::task_local! {
    /// The id of the request being handled, for error bodies and logs.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String, fields: Vec<FieldError> },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("an administrator must enrol a second factor first (POST /api/v1/auth/mfa/enroll)")]
    MfaEnrolmentRequired,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} is not configured on this server")]
    ChannelNotConfigured(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests")]
    RateLimited { retry_after: Duration },
    #[error("the request took too long")]
    Timeout,
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code such as `validation_failed` or `not_found`.
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into(), fields: Vec::new() }
    }

    /// A query string whose parameters failed to parse, with every failing field.
    pub fn invalid_query(fields: Vec<FieldError>) -> Self {
        ApiError::BadRequest { code: "invalid_query", message: "invalid query parameters".into(), fields }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unauthorized { code, message: message.into() }
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::Unauthorized { code, .. } => (StatusCode::UNAUTHORIZED, code),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::MfaEnrolmentRequired => (StatusCode::FORBIDDEN, "mfa_enrolment_required"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::ChannelNotConfigured(_) => (StatusCode::NOT_FOUND, "channel_not_configured"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ApiError::Unavailable { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, code),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<bma_app::Error> for ApiError {
    fn from(e: bma_app::Error) -> Self {
        use bma_app::Error as E;
        match e {
            E::Invalid(i) => ApiError::Validation(i.0),
            E::NotFound(what) => ApiError::NotFound(what.to_owned()),
            E::Conflict { code, message } => ApiError::Conflict { code, message },
            E::Unauthorized { code, message } => ApiError::Unauthorized { code, message },
            E::Forbidden(m) => ApiError::Forbidden(m),
            E::TooManyRequests { retry_after } => ApiError::RateLimited { retry_after },
            E::Unavailable { code, message } => ApiError::Unavailable { code, message },
            E::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<bma_domain::Invalid> for ApiError {
    fn from(i: bma_domain::Invalid) -> Self {
        ApiError::Validation(i.0)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let request_id = current_request_id();
        let message = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, request_id = request_id.as_deref().unwrap_or("-"), "internal error");
                "an internal error occurred; quote the request id when reporting it".to_owned()
            }
            other => other.to_string(),
        };
        let fields = match &self {
            ApiError::Validation(f) => Some(f.clone()),
            ApiError::BadRequest { fields, .. } if !fields.is_empty() => Some(fields.clone()),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message, request_id, fields } };
        let mut res = (status, axum::Json(body)).into_response();
        if let ApiError::RateLimited { retry_after } = &self {
            let secs = retry_after.as_secs().max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if let ApiError::Unauthorized { .. } = &self {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
