//! `ragcore demo`: the bundled sample FAQ of a fictional appliance retailer (Traditional Chinese
//! and English), ingested into a fresh knowledge base and asked a few questions, one of which
//! the knowledge base cannot answer.

use std::path::PathBuf;

use anyhow::{Context, Result};
use ragcore::{AskRequest, IngestRequest, Scope};

const FILES: &[(&str, &str)] = &[
    (
        "faq_zh.csv",
        include_str!("../../../examples/faq/faq_zh.csv"),
    ),
    (
        "faq_en.jsonl",
        include_str!("../../../examples/faq/faq_en.jsonl"),
    ),
    (
        "installation.md",
        include_str!("../../../examples/faq/installation.md"),
    ),
];

/// The demo questions; the last one has no answer in the sample knowledge base.
pub(crate) const QUESTIONS: &[&str] = &[
    "退貨要在幾天內申請？",
    "大型家電保固幾年？",
    "How long does shipping take?",
    "Can I pay in installments?",
    "冷氣安裝的銅管超過 4 米怎麼收費？",
    "你們有提供 UFO 保固嗎？",
];

pub(crate) async fn run(kb: Option<PathBuf>) -> Result<()> {
    let tmp;
    let dir = match kb {
        Some(d) => d,
        None => {
            tmp = std::env::temp_dir().join(format!("ragcore-demo-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            tmp.clone()
        }
    };
    let src = dir.join("sample-faq");
    std::fs::create_dir_all(&src).with_context(|| format!("creating {}", src.display()))?;
    for (name, text) in FILES {
        std::fs::write(src.join(name), text)
            .with_context(|| format!("writing sample file {name}"))?;
    }
    let p = crate::open(&dir.join("kb")).await?;
    println!(
        "ragcore demo — knowledge base in {}",
        dir.join("kb").display()
    );
    println!("model: {}\n", p.model_name());
    let report = p.ingest(IngestRequest::paths("demo", [src])).await?;
    crate::render::ingest_report(&report);
    let scope = Scope::tenant("demo");
    for q in QUESTIONS {
        println!("\nQ: {q}");
        let a = p.ask(AskRequest::new(*q, scope.clone())).await?;
        crate::render::answer(&a);
    }
    Ok(())
}
