//! Human-readable output of answers and reports.

use ragcore::{Answer, IngestReport};

pub(crate) fn ingest_report(r: &IngestReport) {
    println!(
        "kb version {}: {} documents ({} new, {} changed, {} unchanged, {} removed), {} chunks added, {} removed, {} embedded",
        r.kb_version,
        r.documents_seen,
        r.documents_added,
        r.documents_changed,
        r.documents_unchanged,
        r.documents_removed,
        r.chunks_added,
        r.chunks_removed,
        r.chunks_embedded
    );
    for e in &r.errors {
        println!("  skipped: {}", e.message);
    }
}

pub(crate) fn answer(a: &Answer) {
    println!("{}", a.text);
    if a.no_answer {
        println!("  (not in the knowledge base)");
    }
    for c in &a.citations {
        println!("  [{}] {} ({})", c.index, c.title, c.document_id);
    }
    let timings: Vec<String> = a
        .timings
        .iter()
        .map(|(k, v)| format!("{k} {v:.2}"))
        .collect();
    println!(
        "  model {} | prompt {} | kb v{} | tokens {}+{} (+{} embedding){} | cost ${:.6}{}",
        a.model,
        a.prompt_version,
        a.kb_version,
        a.usage.prompt_tokens,
        a.usage.completion_tokens,
        a.usage.embedding_tokens,
        if a.usage.estimated { " est." } else { "" },
        a.cost.total_usd,
        if a.degraded { " | DEGRADED" } else { "" }
    );
    println!("  ms: {}", timings.join(", "));
}
