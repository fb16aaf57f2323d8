//! The portal's one error type. A handler returns it; the session layer, which knows the
//! viewer's language, turns it into a page (or, for a missing session, a redirect to sign-in).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("sign in first")]
    SignIn,
    #[error("two-factor enrolment first")]
    EnrolMfa,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type PortalResult<T> = Result<T, PortalError>;

impl From<bma_app::Error> for PortalError {
    fn from(e: bma_app::Error) -> Self {
        match e {
            bma_app::Error::NotFound(_) => PortalError::NotFound,
            bma_app::Error::Forbidden(_) => PortalError::Forbidden,
            other => PortalError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<sqlx::Error> for PortalError {
    fn from(e: sqlx::Error) -> Self {
        PortalError::Internal(e.into())
    }
}

/// Which error page a response stands for; the session layer renders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPage {
    Forbidden,
    NotFound,
    Internal,
}

impl ErrorPage {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorPage::Forbidden => StatusCode::FORBIDDEN,
            ErrorPage::NotFound => StatusCode::NOT_FOUND,
            ErrorPage::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message id of the page's explanation.
    pub fn message(self) -> &'static str {
        match self {
            ErrorPage::Forbidden => "error-forbidden",
            ErrorPage::NotFound => "error-not-found",
            ErrorPage::Internal => "error-internal",
        }
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let page = match self {
            PortalError::SignIn => return crate::session::see_other("/sign-in"),
            PortalError::EnrolMfa => return crate::session::see_other("/profile/mfa"),
            PortalError::Forbidden => ErrorPage::Forbidden,
            PortalError::NotFound => ErrorPage::NotFound,
            PortalError::Internal(e) => {
                tracing::error!(error = ?e, "portal request failed");
                ErrorPage::Internal
            }
        };
        let mut res = page.status().into_response();
        res.extensions_mut().insert(page);
        res
    }
}
