//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod counting;
pub mod openai_server;

use std::path::Path;

use ragcore::{Document, DocumentKind, IngestRequest, LocalOptions, Pipeline};

/// Opens a pipeline on the offline default in `dir`.
pub async fn open(dir: &Path) -> ragcore::Result<Pipeline> {
    Pipeline::open_local(dir, LocalOptions::default()).await
}

/// A FAQ document.
pub fn faq(id: &str, q: &str, a: &str) -> Document {
    Document::faq(id, q, a)
}

/// A text document with an ACL.
pub fn text_doc(id: &str, title: &str, text: &str, acl: &[&str]) -> Document {
    let mut d = Document::new(id, text);
    d.title = title.to_string();
    d.kind = DocumentKind::Text;
    d.acl = acl.iter().map(|s| s.to_string()).collect();
    d
}

/// Ingests documents for a tenant and asserts there were no errors.
pub async fn ingest(
    p: &Pipeline,
    tenant: &str,
    docs: Vec<Document>,
) -> ragcore::Result<ragcore::IngestReport> {
    let r = p.ingest(IngestRequest::documents(tenant, docs)).await?;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    Ok(r)
}
