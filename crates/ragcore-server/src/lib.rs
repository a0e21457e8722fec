//! # ragcore-server
//!
//! A [`ragcore::Pipeline`] behind HTTP: an OpenAI-compatible `POST /v1/chat/completions` (with
//! `stream: true` as server-sent events), the native `POST /v1/ask` and `POST /v1/retrieve`,
//! `GET /v1/models`, `GET /healthz`, `GET /readyz`, `GET /metrics`, and admin endpoints
//! (`POST /admin/sync`, `POST /admin/prompts/label`, `GET /admin/spend`). Every request but the
//! health checks and metrics needs an API key, which maps to a tenant [`ragcore::Scope`].
//!
//! [`router`] returns an axum `Router` to mount in your own service; [`serve`] runs it with
//! header-read timeouts (slow clients cannot hold connections) and a graceful shutdown that
//! lets in-flight requests finish.
//!
//! ```no_run
//! # async fn run() -> Result<(), ragcore_server::ServerError> {
//! use ragcore_server::{router, serve, AppState, ServerConfig};
//! let config = ServerConfig::load("ragcore.toml".as_ref())?;
//! let pipeline = ragcore::Pipeline::open_local(&config.kb, Default::default()).await?;
//! let state = AppState::new(pipeline, config.clone())?;
//! let listener = tokio::net::TcpListener::bind(config.bind).await?;
//! serve(listener, state, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod admin;
pub mod auth;
pub mod config;
mod error;
mod extract;
mod health;
pub mod metrics;
mod native;
mod openai;
mod serve;
pub mod stream;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ragcore::Pipeline;
use tower_http::limit::RequestBodyLimitLayer;

pub use auth::{hash_key, Caller, KeyStore};
pub use config::{KeyConfig, Limits, ServerConfig, SyncTarget};
pub use error::ApiError;
pub use metrics::{Metrics, MetricsSource};
pub use serve::{serve, shutdown_signal};

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is wrong.
    #[error("server configuration: {0}")]
    Config(String),
    /// Listening or accepting failed.
    #[error("server I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The pipeline could not be opened.
    #[error(transparent)]
    Core(#[from] ragcore::Error),
}

/// What the handlers share: the pipeline, the keys, the limits, the metrics.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    pipeline: Pipeline,
    config: ServerConfig,
    keys: KeyStore,
    metrics: Metrics,
    draining: AtomicBool,
    started: Instant,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("pipeline", &self.inner.pipeline)
            .field("keys", &self.inner.keys)
            .finish()
    }
}

impl AppState {
    /// State over a pipeline with the keys, models and limits of `config`.
    pub fn new(pipeline: Pipeline, config: ServerConfig) -> Result<Self, ServerError> {
        config.validate()?;
        let keys = KeyStore::new(&config.keys)?;
        Ok(AppState {
            inner: Arc::new(StateInner {
                pipeline,
                config,
                keys,
                metrics: Metrics::default(),
                draining: AtomicBool::new(false),
                started: Instant::now(),
            }),
        })
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The metrics (add sources with [`Metrics::add_source`]).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Marks the server as shutting down: `/readyz` answers 503 so load balancers stop sending.
    pub fn set_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    pub(crate) fn draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    pub(crate) fn keys(&self) -> &KeyStore {
        &self.inner.keys
    }

    pub(crate) fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }
}

/// The paths served (metrics label requests by these).
const ROUTES: [&str; 11] = [
    "/v1/chat/completions",
    "/v1/models",
    "/v1/ask",
    "/v1/retrieve",
    "/admin/sync",
    "/admin/prompts/label",
    "/admin/prompts",
    "/admin/spend",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// The routes, with the body limit, the request timeout, OpenAI-style error bodies and the
/// request metrics applied.
pub fn router(state: AppState) -> Router {
    let limits = state.config().limits;
    Router::new()
        .route(ROUTES[0], post(openai::chat_completions))
        .route(ROUTES[1], get(openai::models))
        .route(ROUTES[2], post(native::ask))
        .route(ROUTES[3], post(native::retrieve))
        .route(ROUTES[4], post(admin::sync))
        .route(ROUTES[5], post(admin::set_label))
        .route(ROUTES[6], get(admin::prompts))
        .route(ROUTES[7], get(admin::spend))
        .route(ROUTES[8], get(health::healthz))
        .route(ROUTES[9], get(health::readyz))
        .route(ROUTES[10], get(health::metrics))
        .fallback(|| async { ApiError::for_status(StatusCode::NOT_FOUND) })
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(middleware::from_fn(error_bodies))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// 504 with an OpenAI-style body when a request takes longer than the limit.
async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ms = state.config().limits.request_timeout_ms;
    match tokio::time::timeout(Duration::from_millis(ms), next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::timeout(ms as u128).into_response(),
    }
}

/// Error responses produced outside the handlers (the body limit, an unknown method) get the
/// same OpenAI-style JSON body as the handlers' errors.
async fn error_bodies(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        return ApiError::for_status(status).into_response();
    }
    resp
}

/// Counts requests and observes their latency by route.
async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Label by route, never by raw path (unbounded label values).
    let path = req.uri().path();
    let route = ROUTES
        .iter()
        .find(|r| **r == path)
        .copied()
        .unwrap_or("unmatched");
    let method = req.method().as_str().to_string();
    let t = Instant::now();
    state.metrics().start();
    let resp = next.run(req).await;
    state
        .metrics()
        .finish(route, &method, resp.status().as_u16(), t.elapsed());
    resp
}
