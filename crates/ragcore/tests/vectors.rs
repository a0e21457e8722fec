//! The shared test vectors (tests/vectors/basic.json), also run by pytest and `node --test`:
//! the three languages must produce exactly the expected chunk ids, citations and decisions.
//! `RAGCORE_UPDATE_VECTORS=1 cargo test --test vectors` rewrites the expectations.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ragcore::{AskRequest, Document, DocumentKind, IngestRequest, LocalOptions, Pipeline, Scope};
use serde_json::{json, Value};

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/basic.json")
}

#[tokio::test]
async fn shared_vectors_match() -> Result<(), Box<dyn std::error::Error>> {
    let path = vectors_path();
    let mut spec: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let dir = tempfile::tempdir()?;
    let p = Pipeline::open_local(dir.path(), LocalOptions::default()).await?;
    let mut by_tenant: BTreeMap<String, Vec<Document>> = BTreeMap::new();
    for d in spec["documents"].as_array().ok_or("documents")? {
        let mut doc = Document::new(
            d["id"].as_str().ok_or("id")?,
            d["text"].as_str().ok_or("text")?,
        );
        doc.title = d["title"].as_str().ok_or("title")?.to_string();
        doc.kind = if d["kind"] == "faq" {
            DocumentKind::Faq
        } else {
            DocumentKind::Text
        };
        doc.acl = serde_json::from_value(d["acl"].clone())?;
        by_tenant
            .entry(d["tenant"].as_str().ok_or("tenant")?.to_string())
            .or_default()
            .push(doc);
    }
    for (tenant, docs) in by_tenant {
        let r = p.ingest(IngestRequest::documents(tenant, docs)).await?;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
    let update = std::env::var("RAGCORE_UPDATE_VECTORS").is_ok_and(|v| v == "1");
    let cases = spec["cases"].as_array_mut().ok_or("cases")?;
    for case in cases.iter_mut() {
        let scope: Scope = serde_json::from_value(case["scope"].clone())?;
        let q = case["question"].as_str().ok_or("question")?.to_string();
        let hits = p.retrieve(&q, &scope).await?;
        let a = p.ask(AskRequest::new(q.clone(), scope)).await?;
        let got = json!({
            "top_chunk_ids": hits.iter().take(3).map(|h| h.chunk_id.clone()).collect::<Vec<_>>(),
            "citation_chunk_ids": a.citations.iter().map(|c| c.chunk_id.clone()).collect::<Vec<_>>(),
            "no_answer": a.no_answer,
            "text": a.text,
        });
        if update {
            case["expected"] = got;
        } else {
            assert_eq!(case["expected"], got, "case {}", case["name"]);
        }
    }
    if update {
        std::fs::write(&path, serde_json::to_string_pretty(&spec)? + "\n")?;
    }
    Ok(())
}
