//! The native API: `POST /v1/ask` (question in, the full `Answer` out) and `POST /v1/retrieve`
//! (the passages and the no-answer decision). The tenant always comes from the API key; a body
//! naming another tenant, or principals the key does not hold, is refused with 403.

use axum::extract::State;
use axum::Json;
use ragcore::{Answer, AskRequest, Scope};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuestionBody {
    question: String,
    /// Optional; must be the key's tenant.
    #[serde(default)]
    tenant: Option<String>,
    /// Optional narrowing of the key's principals.
    #[serde(default)]
    principals: Option<Vec<String>>,
}

/// The scope of a request: the key's, optionally narrowed, never widened.
fn scope_for(caller: &Caller, body: &QuestionBody) -> Result<Scope, ApiError> {
    if let Some(t) = &body.tenant {
        if *t != caller.scope.tenant {
            return Err(ApiError::forbidden(
                "this API key belongs to another tenant; use a key of the tenant you ask about",
            ));
        }
    }
    let mut scope = caller.scope.clone();
    if let Some(ps) = &body.principals {
        if let Some(p) = ps.iter().find(|p| !caller.scope.principals.contains(p)) {
            return Err(ApiError::forbidden(format!(
                "this API key does not hold principal {p:?}; principals can only be narrowed"
            )));
        }
        scope.principals = ps.clone();
    }
    Ok(scope)
}

pub(crate) async fn ask(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<QuestionBody>,
) -> Result<Json<Answer>, ApiError> {
    let scope = scope_for(&caller, &body)?;
    let answer = state
        .pipeline()
        .ask(AskRequest::new(body.question, scope))
        .await?;
    Ok(Json(answer))
}

pub(crate) async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<QuestionBody>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope_for(&caller, &body)?;
    let r = state
        .pipeline()
        .retrieve_full(&body.question, &scope, None)
        .await?;
    let mut timings = json!({"embed": r.embed_ms, "retrieve": r.search_ms});
    if r.rerank_model.is_some() {
        timings["rerank"] = json!(r.rerank_ms);
    }
    Ok(Json(json!({
        "hits": r.hits,
        "no_answer": r.no_answer,
        "timings": timings,
    })))
}
