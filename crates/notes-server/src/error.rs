//! The one mapping from failures to HTTP responses.
//!
//! Every error body has the shape
//! `{"error": {"code": "...", "message": "...", "field"?: "...", "current"?: note}}`.
//! A 500 carries a generic message; its cause chain goes to the log once.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use notes_core::{Note, RuleError, ValidationError};
use notes_store::StoreError;
use serde::Serialize;

/// A failure that becomes an HTTP error response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not valid JSON or does not have the expected shape.
    #[error("{0}")]
    InvalidJson(String),
    /// A field breaks a documented limit.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A path or query parameter is malformed.
    #[error("{message}")]
    InvalidParameter { field: &'static str, message: String },
    /// No valid credentials: the same response for every reason.
    #[error("authentication required: sign in and send a valid token")]
    Unauthorized,
    /// Login failed: the same response for an unknown email and a wrong password.
    #[error("email or password is incorrect")]
    InvalidCredentials,
    /// The user is signed in but may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such note or route.
    #[error("{0}")]
    NotFound(&'static str),
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The email is registered already.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// The update carried a stale version.
    #[error("the note was changed by someone else; the current version is included")]
    VersionConflict(Box<Note>),
    /// The note is at the highest version a store can hold.
    #[error("the note has reached the highest version and cannot be changed; copy it into a new note")]
    VersionLimit,
    /// The body is larger than the limit.
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// The body is not `application/json`.
    #[error("request body must be JSON with Content-Type: application/json")]
    UnsupportedMediaType,
    /// A rate or connection limit was hit.
    #[error("{message}")]
    TooManyRequests { message: &'static str, retry_after: Duration },
    /// The server cannot take more of this right now.
    #[error("{0}")]
    Unavailable(&'static str),
    /// Anything else; the cause is logged, the client gets a generic message.
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<&'a Note>,
}

impl ApiError {
    /// Returns the stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::Validation(_) | ApiError::InvalidParameter { .. } => "validation_failed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::EmailTaken => "email_taken",
            ApiError::VersionConflict(_) => "version_conflict",
            ApiError::VersionLimit => "version_limit",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Wraps any error as an internal one.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(error.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound("note not found"),
            StoreError::Conflict(_) => ApiError::EmailTaken,
            StoreError::Rule(RuleError::NotOwner) => {
                ApiError::Forbidden("only the owner of a note may change or delete it")
            }
            StoreError::Rule(RuleError::VersionConflict { current, .. }) => ApiError::VersionConflict(current),
            StoreError::Rule(RuleError::VersionLimit) => ApiError::VersionLimit,
            other => ApiError::internal(other),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) | ApiError::Validation(_) | ApiError::InvalidParameter { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthorized | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::EmailTaken | ApiError::VersionConflict(_) | ApiError::VersionLimit => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }

        let (field, current) = match self {
            ApiError::Validation(error) => (Some(error.field), None),
            ApiError::InvalidParameter { field, .. } => (Some(*field), None),
            ApiError::VersionConflict(note) => (None, Some(note.as_ref())),
            _ => (None, None),
        };
        let message = match self {
            ApiError::Validation(error) => error.message.clone(),
            other => other.to_string(),
        };
        let body = ErrorBody { error: ErrorDetail { code: self.code(), message, field, current } };

        let mut response = HttpResponse::build(self.status_code());
        if let ApiError::TooManyRequests { retry_after, .. } = self {
            let seconds = retry_after.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.insert_header((header::RETRY_AFTER, value));
            }
        }
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.json(body)
    }
}
