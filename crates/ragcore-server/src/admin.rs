//! Admin endpoints (admin keys only; a tenant key gets 403): `POST /admin/sync` mirrors the
//! configured directory, `POST /admin/prompts/label` moves a prompt label, `GET /admin/prompts`
//! lists prompt versions, `GET /admin/spend` reads the recorded usage and cost per tenant.

use axum::extract::State;
use axum::Json;
use ragcore::pipeline::SyncRequest;
use ragcore::prompt::SetLabelRequest;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{Admin, ApiJson};
use crate::AppState;

pub(crate) async fn sync(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<Json<Value>, ApiError> {
    let target = state.config().sync.clone().ok_or_else(|| {
        ApiError::bad_request(
            "no_sync_target",
            "the server has no [sync] section (dir, tenant) in its configuration",
        )
    })?;
    tracing::info!(target: "ragcore_server", key = %caller.key_id, dir = %target.dir.display(), "admin sync");
    let report = state
        .pipeline()
        .sync(SyncRequest {
            root: target.dir,
            tenant: target.tenant,
            acl: target.acl,
            strict: false,
        })
        .await?;
    Ok(Json(json!({
        "kb_version": report.kb_version,
        "report": report,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LabelBody {
    /// Prompt name (default: the pipeline's prompt).
    #[serde(default)]
    name: Option<String>,
    label: String,
    version: u32,
}

pub(crate) async fn set_label(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<LabelBody>,
) -> Result<Json<Value>, ApiError> {
    let name = body
        .name
        .unwrap_or_else(|| state.pipeline().config().prompt_name.clone());
    state
        .pipeline()
        .prompts()
        .set_label(SetLabelRequest {
            name: name.clone(),
            label: body.label.clone(),
            version: body.version,
        })
        .await?;
    tracing::info!(target: "ragcore_server", key = %caller.key_id, %name, label = %body.label, version = body.version, "prompt label moved");
    Ok(Json(
        json!({"name": name, "label": body.label, "version": body.version}),
    ))
}

pub(crate) async fn prompts(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> Result<Json<Value>, ApiError> {
    let list = state.pipeline().prompts().list().await?;
    let data: Vec<Value> = list
        .iter()
        .map(|p| json!({"id": p.id(), "name": p.name, "version": p.version, "labels": p.labels}))
        .collect();
    Ok(Json(json!({"data": data})))
}

pub(crate) async fn spend(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> Result<Json<Value>, ApiError> {
    let totals = state.pipeline().cost_meter().spend_by_tenant()?;
    let tenants = totals.map(|t| {
        t.into_iter()
            .map(|(tenant, (usage, cost))| (tenant, json!({"usage": usage, "cost": cost})))
            .collect::<serde_json::Map<String, Value>>()
    });
    Ok(Json(json!({
        "tenants": tenants,
        // Budgets are not part of the pipeline yet; this field is filled when they are.
        "budgets": null,
    })))
}
