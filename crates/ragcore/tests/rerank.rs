//! Rerankers: the HTTP client against a real loopback `/rerank` server, the LLM reranker
//! through a real OpenAI-compatible chat server, the built-in lexical reranker, and the
//! pipeline's rerank stage (timings and metered cost).

mod support;

use std::sync::Arc;

use ragcore::cost::{ReportBy, ReportRequest};
use ragcore::retrieve::rerank::{HttpReranker, HttpRerankerConfig, LlmReranker};
use ragcore::retrieve::{LexicalReranker, RerankRequest, Reranker};
use ragcore::{
    AskRequest, DocumentKind, Endpoint, ErrorKind, Hit, LocalOptions, OpenAiChat, OpenAiChatConfig,
    Pipeline, Scope, Segmenter,
};
use secrecy::SecretString;
use support::openai_server::{Fault, TestServer};
use support::{faq, ingest};

type R = Result<(), Box<dyn std::error::Error>>;

fn hit(id: &str, title: &str, text: &str, score: f32) -> Hit {
    Hit {
        chunk_id: format!("{id}#0"),
        document_id: id.into(),
        title: title.into(),
        context: String::new(),
        text: text.into(),
        kind: DocumentKind::Faq,
        score,
        vector_score: None,
        lexical_score: None,
        valid_until: None,
    }
}

fn candidates() -> Vec<Hit> {
    vec![
        hit("ship", "Shipping", "Parcels ship within two days.", 0.9),
        hit(
            "refund",
            "Refunds",
            "A refund takes five working days.",
            0.5,
        ),
    ]
}

#[tokio::test]
async fn http_reranker_orders_by_the_endpoint_and_sends_the_cohere_shape() -> R {
    let server = TestServer::start(8).await?;
    let r = HttpReranker::new(HttpRerankerConfig::new(
        Endpoint::new(&server.base_url, Some(SecretString::from("rk-secret-1"))),
        "rerank-english-v3.0",
    ))?;
    let out = r
        .rerank(RerankRequest {
            question: "how long does a refund take".into(),
            hits: candidates(),
            top_k: 2,
        })
        .await?;
    assert_eq!(out.hits[0].document_id, "refund");
    assert!(out.hits[0].score > out.hits[1].score);
    assert_eq!(out.usage.prompt_tokens, 42);
    let body = server.state.requests.lock().map_err(|e| e.to_string())?[0].clone();
    assert_eq!(body["query"], "how long does a refund take");
    assert_eq!(body["model"], "rerank-english-v3.0");
    assert_eq!(body["top_n"], 2);
    assert_eq!(body["documents"].as_array().map(Vec::len), Some(2));
    let auth = server.state.auth.lock().map_err(|e| e.to_string())?[0].clone();
    assert_eq!(auth, "Bearer rk-secret-1");
    Ok(())
}

#[tokio::test]
async fn http_reranker_errors_are_classified_and_never_echo_the_key() -> R {
    let server = TestServer::start(8).await?;
    server.script([
        Fault::Status(500, "upstream echoed rk-secret-2".into()),
        Fault::Status(
            200,
            r#"{"results":[{"index":7,"relevance_score":1.0}]}"#.into(),
        ),
    ]);
    let r = HttpReranker::new(HttpRerankerConfig::new(
        Endpoint::new(&server.base_url, Some(SecretString::from("rk-secret-2"))),
        "m",
    ))?;
    let req = || RerankRequest {
        question: "refund".into(),
        hits: candidates(),
        top_k: 2,
    };
    let e = r.rerank(req()).await.err().ok_or("expected an error")?;
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert!(e.is_retryable());
    assert!(!e.to_string().contains("rk-secret-2"), "{e}");
    assert!(!format!("{r:?}").contains("rk-secret-2"));
    let e = r.rerank(req()).await.err().ok_or("expected an error")?;
    assert!(e.to_string().contains("out of range"), "{e}");
    Ok(())
}

#[tokio::test]
async fn llm_reranker_follows_the_models_order_and_reports_its_usage() -> R {
    let server = TestServer::start(8).await?;
    *server.state.chat_answer.lock().map_err(|e| e.to_string())? = "2, 1".into();
    let chat = OpenAiChat::new(OpenAiChatConfig::new(
        Endpoint::new(&server.base_url, None),
        "gpt-4o-mini",
    ))?;
    let r = LlmReranker::new(Arc::new(chat));
    let out = r
        .rerank(RerankRequest {
            question: "how long does a refund take".into(),
            hits: candidates(),
            top_k: 2,
        })
        .await?;
    let ids: Vec<&str> = out.hits.iter().map(|h| h.document_id.as_str()).collect();
    assert_eq!(ids, ["refund", "ship"]);
    assert_eq!(out.usage.prompt_tokens, 123);
    let body = server.state.requests.lock().map_err(|e| e.to_string())?[0].clone();
    let prompt = body["messages"][1]["content"].as_str().unwrap_or_default();
    assert!(prompt.contains("[2] Refunds"), "{prompt}");
    Ok(())
}

async fn faq_pipeline(
    dir: &std::path::Path,
    reranker: Arc<dyn Reranker>,
) -> ragcore::Result<Pipeline> {
    let p = Pipeline::open_local(
        dir,
        LocalOptions {
            reranker: Some(reranker),
            ..Default::default()
        },
    )
    .await?;
    ingest(
        &p,
        "acme",
        vec![
            faq(
                "refund",
                "How long does a refund take?",
                "A refund takes five working days after we receive the parcel.",
            ),
            faq(
                "ship",
                "How long does shipping take?",
                "Parcels ship within two days.",
            ),
            faq(
                "pay",
                "Which payment methods do you accept?",
                "We accept credit cards and bank transfers.",
            ),
        ],
    )
    .await?;
    Ok(p)
}

#[tokio::test]
async fn the_pipeline_reranks_before_the_prompt_and_meters_time_and_cost() -> R {
    let server = TestServer::start(8).await?;
    *server.state.chat_answer.lock().map_err(|e| e.to_string())? = "1".into();
    let chat = OpenAiChat::new(OpenAiChatConfig::new(
        Endpoint::new(&server.base_url, None),
        "gpt-4o-mini",
    ))?;
    let dir = tempfile::tempdir()?;
    let p = faq_pipeline(dir.path(), Arc::new(LlmReranker::new(Arc::new(chat)))).await?;
    let a = p
        .ask(AskRequest::new(
            "How long does a refund take?",
            Scope::tenant("acme"),
        ))
        .await?;
    assert!(a.timings.contains_key("rerank"), "{:?}", a.timings);
    // The answerer is the offline one (free); every token and cent here is the reranker's.
    assert_eq!(a.usage.prompt_tokens, 123);
    assert!(a.cost.total_usd > 0.0, "{:?}", a.cost);
    assert_eq!(server.request_count(), 1);
    // The budget ledger is charged for the rerank call too, under the reranker's model.
    let budgets = p
        .budgets()
        .ok_or("the local pipeline always has a ledger")?;
    let rows = budgets
        .ledger()
        .report(ReportRequest {
            by: ReportBy::Model,
            tenant: Some("acme".into()),
            since_ms: None,
        })
        .await?;
    let rerank = rows
        .iter()
        .find(|r| r.key == "gpt-4o-mini")
        .ok_or_else(|| format!("no ledger row for the reranker's model: {rows:?}"))?;
    assert_eq!(rerank.usage.prompt_tokens, 123);
    assert!(
        (rerank.cost_usd - a.cost.total_usd).abs() < 1e-12,
        "{rows:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_built_in_reranker_keeps_top_k_and_puts_the_matching_faq_first() -> R {
    let dir = tempfile::tempdir()?;
    let p = faq_pipeline(
        dir.path(),
        Arc::new(LexicalReranker::new(Segmenter::Bigram)),
    )
    .await?;
    let r = p
        .retrieve_full("how long does a refund take", &Scope::tenant("acme"), None)
        .await?;
    assert_eq!(r.rerank_model.as_deref(), Some("lexical"));
    assert_eq!(r.hits[0].document_id, "refund");
    assert!(r.hits.len() <= p.config().retrieval.top_k);
    let a = p
        .ask(AskRequest::new(
            "how long does a refund take",
            Scope::tenant("acme"),
        ))
        .await?;
    assert!(a.timings.contains_key("rerank"));
    assert_eq!(a.cost.total_usd, 0.0);
    assert_eq!(a.citations[0].document_id, "refund");
    Ok(())
}
