//! Errors as OpenAI-style bodies: `{"error": {"message", "type", "code"}}` with the matching HTTP
//! status, so OpenAI clients raise their usual exception classes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ragcore::ErrorKind;
use serde_json::json;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong and what to do (never a secret, a stored text or an internal path).
    pub message: String,
    /// OpenAI error type (`invalid_request_error`, `authentication_error`, ...).
    pub kind: &'static str,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// Seconds to wait before retrying (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, type, code and message.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            message: message.into(),
            kind,
            code,
            retry_after: None,
        }
    }

    /// 400: the request cannot be understood.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            code,
            message,
        )
    }

    /// 401: no key, an unknown key or a revoked key.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            code,
            message,
        )
    }

    /// 403: the key is valid but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            "forbidden",
            message,
        )
    }

    /// 404: an unknown model or route.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            code,
            message,
        )
    }

    /// 413: the body is larger than the configured limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "request_too_large",
            format!("the request body is larger than the server's limit of {limit} bytes; send a shorter request"),
        )
    }

    /// 429: the key's rate limit is exhausted.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limit_exceeded",
            format!("rate limit of this API key exceeded; retry after {retry_after_secs} s"),
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// 504: the request did not finish within the server's timeout.
    pub fn timeout(millis: u128) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout_error",
            "timeout",
            format!("the request did not finish within {millis} ms; try again or ask a shorter question"),
        )
    }

    /// 503: the server is shutting down or not ready.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "unavailable",
            message,
        )
    }

    /// 500 without details (they are logged, not returned).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal_error",
            "internal server error; the details are in the server log",
        )
    }

    /// The body for a status produced outside the handlers (no route, wrong method, ...).
    pub fn for_status(status: StatusCode) -> Self {
        let reason = status.canonical_reason().unwrap_or("error").to_string();
        match status.as_u16() {
            404 => Self::not_found(
                "not_found",
                format!("{reason}: no such route; see GET /v1/models and docs/server.md"),
            ),
            405 => Self::new(
                status,
                "invalid_request_error",
                "method_not_allowed",
                reason,
            ),
            413 => Self::too_large(0).with_message(
                "the request body is larger than the server's limit; send a shorter request",
            ),
            408 => Self::timeout(0).with_message("the request was not received in time"),
            s if s >= 500 => Self::new(status, "server_error", "server_error", reason),
            _ => Self::new(status, "invalid_request_error", "invalid_request", reason),
        }
    }

    fn with_message(mut self, m: &str) -> Self {
        self.message = m.to_string();
        self
    }
}

impl From<ragcore::Error> for ApiError {
    fn from(e: ragcore::Error) -> Self {
        match e.kind() {
            ErrorKind::InvalidInput => ApiError::bad_request("invalid_input", e.to_string()),
            ErrorKind::Blocked => ApiError::bad_request("blocked", e.to_string()),
            ErrorKind::NotFound => ApiError::not_found("not_found", e.to_string()),
            ErrorKind::BudgetExceeded => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "insufficient_quota",
                "budget_exceeded",
                e.to_string(),
            ),
            ErrorKind::Timeout => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout_error",
                "timeout",
                e.to_string(),
            ),
            ErrorKind::Provider => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "server_error",
                "provider_error",
                "the model provider failed; try again later",
            ),
            _ => {
                tracing::error!(target: "ragcore_server", error = %e, "request failed");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "code": self.code,
                "param": null,
            }
        });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
