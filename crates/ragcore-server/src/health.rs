//! `GET /healthz` (the process answers), `GET /readyz` (the knowledge base is open and its index
//! loaded; 503 while draining) and `GET /metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::ApiError;
use crate::AppState;

pub(crate) async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "uptime_s": state.uptime().as_secs()}))
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining() {
        return ApiError::unavailable("the server is shutting down").into_response();
    }
    // The local store loads or rebuilds its HNSW index and catches it up with SQLite before
    // `open_local` returns, so a readable store is a caught-up one.
    match state.pipeline().store().info().await {
        Ok(info) => (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "kb_version": info.kb_version,
                "documents": info.documents,
                "chunks": info.chunks,
            })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(target: "ragcore_server", error = %e, "knowledge base not readable");
            ApiError::unavailable("the knowledge base cannot be read; see the server log")
                .into_response()
        }
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(),
    )
        .into_response()
}
