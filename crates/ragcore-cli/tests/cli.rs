//! The `ragcore` binary: ingest, ask (text and JSON), honest refusal, and clear failures.

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

fn sample() -> String {
    format!("{}/../../examples/faq", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn ingest_then_ask_with_citations_and_refusal() -> Result<(), Box<dyn std::error::Error>> {
    let kb = tempfile::tempdir()?;
    let out = ragcore(
        &["ingest", &sample(), "--tenant", "acme", "--json"],
        kb.path(),
    )?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["documents_added"], 29);
    assert_eq!(report["errors"].as_array().map(|e| e.len()), Some(0));

    let out = ragcore(
        &["ask", "退貨要在幾天內申請？", "--tenant", "acme", "--json"],
        kb.path(),
    )?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert!(a["text"].as_str().unwrap_or("").contains("7 天"), "{a}");
    assert_eq!(a["citations"][0]["document_id"], "faq_zh.csv#return-window");
    assert_eq!(a["no_answer"], false);
    assert_eq!(a["kb_version"], 1);

    let out = ragcore(
        &["ask", "你們有提供 UFO 保固嗎？", "--tenant", "acme"],
        kb.path(),
    )?;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not in the knowledge base"));
    Ok(())
}

#[test]
fn failures_exit_non_zero_with_a_clear_message() -> Result<(), Box<dyn std::error::Error>> {
    let kb = tempfile::tempdir()?;
    let out = ragcore(&["ingest", &sample(), "--tenant", "acme"], kb.path())?;
    assert!(out.status.success());
    let out = ragcore(&["ask", "退貨？", "--tenant", "nobody"], kb.path())?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tenant not found: nobody"), "{err}");
    let out = ragcore(
        &["ingest", "/no/such/file.md", "--tenant", "acme"],
        kb.path(),
    )?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("/no/such/file.md"));
    Ok(())
}
