//! `ragcore cost` reports the ledger that every `ragcore ask` writes to.

use std::process::Command;

fn ragcore(args: &[&str], kb: &std::path::Path) -> std::io::Result<std::process::Output> {
    Command::new(env!("CARGO_BIN_EXE_ragcore"))
        .args(args)
        .env("RAGCORE_KB", kb)
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("RAGCORE_EMBED_MODEL")
        .output()
}

#[test]
fn cost_reports_by_tenant_model_and_day() -> Result<(), Box<dyn std::error::Error>> {
    let kb = tempfile::tempdir()?;
    let sample = format!("{}/../../examples/faq", env!("CARGO_MANIFEST_DIR"));
    for tenant in ["acme", "globex"] {
        let out = ragcore(&["ingest", &sample, "--tenant", tenant], kb.path())?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (tenant, q) in [
        ("acme", "退貨要在幾天內申請？"),
        ("acme", "你們有提供 UFO 保固嗎？"),
        ("globex", "退貨要在幾天內申請？"),
    ] {
        let out = ragcore(&["ask", q, "--tenant", tenant], kb.path())?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report = |by: &str| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let out = ragcore(&["cost", "--by", by, "--json"], kb.path())?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let by_tenant = report("tenant")?;
    let mut tenants: Vec<(String, u64)> = by_tenant
        .as_array()
        .ok_or("not a list")?
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap_or("").to_string(),
                r["requests"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    tenants.sort();
    assert_eq!(
        tenants,
        [("acme".to_string(), 2), ("globex".to_string(), 1)]
    );
    let by_model = report("model")?;
    let mut models: Vec<&str> = by_model
        .as_array()
        .ok_or("not a list")?
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    models.sort();
    assert_eq!(models, ["extractive", "none"], "an answer and a refusal");
    let by_day = report("day")?;
    assert_eq!(by_day.as_array().map(|a| a.len()), Some(1));
    assert_eq!(by_day[0]["requests"], 3);
    // The text table and a bad grouping.
    let out = ragcore(&["cost", "--by", "model"], kb.path())?;
    assert!(String::from_utf8_lossy(&out.stdout).contains("extractive"));
    let out = ragcore(&["cost", "--by", "colour"], kb.path())?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not one of tenant, model, day"));
    Ok(())
}
