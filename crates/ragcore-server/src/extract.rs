//! Extractors that answer with OpenAI-style errors: [`ApiJson`] (400 malformed JSON, 413 too
//! large), [`Caller`] (401 / 429) and [`Admin`] (403 for a tenant key).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;

/// A JSON body whose rejections are OpenAI-style errors.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(json_rejection(e, state.config().limits.max_body_bytes)),
        }
    }
}

fn json_rejection(e: JsonRejection, limit: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::too_large(limit);
    }
    let code = match &e {
        JsonRejection::MissingJsonContentType(_) => "missing_content_type",
        JsonRejection::JsonDataError(_) => "invalid_body",
        _ => "invalid_json",
    };
    ApiError::bad_request(code, format!("{}; send a JSON body", e.body_text()))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state.keys().authenticate(&parts.headers)
    }
}

/// A caller whose key may use the admin endpoints.
pub(crate) struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let c = state.keys().authenticate(&parts.headers)?;
        if !c.admin {
            return Err(ApiError::forbidden(
                "this API key may not use the admin endpoints; use an admin key",
            ));
        }
        Ok(Admin(c))
    }
}
