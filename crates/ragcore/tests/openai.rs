//! The OpenAI-compatible clients against a real HTTP server on 127.0.0.1 (no mocked client):
//! embeddings batching and validation, chat answers with citations and cost, error
//! classification, timeouts, degradation, and keys that never leak.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ragcore::embed::{EmbedRequest, InputType};
use ragcore::{
    AskRequest, Embedder, Endpoint, ErrorKind, LocalOptions, OpenAiChat, OpenAiChatConfig,
    OpenAiEmbedder, OpenAiEmbedderConfig, Pipeline, PipelineConfig, Scope,
};
use secrecy::SecretString;
use support::openai_server::{Fault, TestServer};
use support::{faq, ingest};

type R = Result<(), Box<dyn std::error::Error>>;
const KEY: &str = "sk-test-SECRET-0123456789abcdef";

fn endpoint(server: &TestServer) -> Endpoint {
    Endpoint::new(server.base_url.clone(), Some(SecretString::from(KEY)))
}

#[tokio::test]
async fn embeddings_are_batched_normalised_and_authenticated() -> R {
    let server = TestServer::start(16).await?;
    let mut cfg = OpenAiEmbedderConfig::new(endpoint(&server), "text-embedding-3-small", 16);
    cfg.batch_size = 2;
    cfg.concurrency = 2;
    let e = OpenAiEmbedder::new(cfg)?;
    let texts: Vec<String> = (0..5).map(|i| format!("文件 {i} document")).collect();
    let r = e
        .embed(EmbedRequest {
            texts: texts.clone(),
            input_type: InputType::Passage,
        })
        .await?;
    assert_eq!(r.vectors.len(), 5);
    for v in &r.vectors {
        assert_eq!(v.len(), 16);
        let n: f32 = v.iter().map(|x| x * x).sum();
        assert!((n - 1.0).abs() < 1e-4);
    }
    assert!(r.tokens > 0 && !r.estimated);
    assert_eq!(server.request_count(), 3, "5 texts in batches of 2");
    let auth = server.state.auth.lock().map_err(|_| "lock")?.clone();
    assert!(auth.iter().all(|a| a == &format!("Bearer {KEY}")));
    // Order is kept: the same text gives the same vector at the same position.
    let again = e
        .embed(EmbedRequest {
            texts,
            input_type: InputType::Passage,
        })
        .await?;
    assert_eq!(again.vectors, r.vectors);
    Ok(())
}

#[tokio::test]
async fn provider_errors_are_classified_and_never_contain_the_key() -> R {
    let server = TestServer::start(8).await?;
    let e = OpenAiEmbedder::new(OpenAiEmbedderConfig::new(endpoint(&server), "m", 8))?;
    let req = || EmbedRequest {
        texts: vec!["x".into()],
        input_type: InputType::Query,
    };
    server.script([
        Fault::Status(
            401,
            format!("{{\"error\":{{\"message\":\"Incorrect API key provided: {KEY}\"}}}}"),
        ),
        Fault::Status(429, "{\"error\":{\"type\":\"rate_limit\"}}".into()),
        Fault::Status(429, "{\"error\":{\"code\":\"insufficient_quota\"}}".into()),
        Fault::Status(503, "overloaded".into()),
        Fault::Malformed,
    ]);
    let expect = [(false, 401), (true, 429), (false, 429), (true, 503)];
    for (retryable, status) in expect {
        let err = e.embed(req()).await.err().ok_or("error expected")?;
        assert_eq!(err.kind(), ErrorKind::Provider);
        assert_eq!(err.is_retryable(), retryable, "{err}");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(&status.to_string()), "{shown}");
        assert!(!shown.contains(KEY), "key leaked: {shown}");
    }
    let err = e.embed(req()).await.err().ok_or("malformed accepted")?;
    assert!(err.to_string().contains("malformed JSON"), "{err}");
    // Debug of the configuration hides the key.
    let dbg = format!("{:?} {:?}", endpoint(&server), e);
    assert!(!dbg.contains(KEY) && dbg.contains("redacted"), "{dbg}");
    Ok(())
}

#[tokio::test]
async fn wrong_dimensions_and_timeouts_are_clear_errors() -> R {
    let server = TestServer::start(8).await?;
    let e = OpenAiEmbedder::new(OpenAiEmbedderConfig::new(endpoint(&server), "m", 12))?;
    let err = e
        .embed(EmbedRequest {
            texts: vec!["x".into()],
            input_type: InputType::Query,
        })
        .await
        .err()
        .ok_or("ok")?;
    assert_eq!(err.kind(), ErrorKind::Incompatible);
    assert!(
        err.to_string()
            .contains("returned 8 dimensions, configured 12"),
        "{err}"
    );

    let mut ep = endpoint(&server);
    ep.timeout = Duration::from_millis(200);
    let e = OpenAiEmbedder::new(OpenAiEmbedderConfig::new(ep, "m", 8))?;
    server.script([Fault::Delay(Duration::from_secs(2))]);
    let err = e
        .embed(EmbedRequest {
            texts: vec!["x".into()],
            input_type: InputType::Query,
        })
        .await
        .err()
        .ok_or("ok")?;
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_retryable());
    let bad = Endpoint::new("ftp://nowhere", None);
    assert_eq!(
        OpenAiEmbedder::new(OpenAiEmbedderConfig::new(bad, "m", 8))
            .err()
            .ok_or("ok")?
            .kind(),
        ErrorKind::Config
    );
    Ok(())
}

async fn chat_pipeline(
    server: &TestServer,
    dir: &std::path::Path,
    degrade: bool,
) -> ragcore::Result<Pipeline> {
    let chat = OpenAiChat::new(OpenAiChatConfig::new(endpoint(server), "gpt-4o-mini"))?;
    let config = PipelineConfig {
        degrade_on_model_error: degrade,
        ..Default::default()
    };
    let p = Pipeline::open_local(
        dir,
        LocalOptions {
            chat: Some(Arc::new(chat)),
            config,
            ..Default::default()
        },
    )
    .await?;
    ingest(
        &p,
        "acme",
        vec![faq(
            "ret",
            "How many days do I have to return a product?",
            "Returns are accepted within 7 days of delivery.",
        )],
    )
    .await?;
    Ok(p)
}

#[tokio::test]
async fn chat_answers_carry_citations_usage_and_cost() -> R {
    let server = TestServer::start(8).await?;
    let dir = tempfile::tempdir()?;
    let p = chat_pipeline(&server, dir.path(), true).await?;
    let a = p
        .ask(AskRequest::new(
            "How many days do I have to return a product?",
            Scope::tenant("acme"),
        ))
        .await?;
    assert_eq!(a.text, "Returns are accepted within 7 days [1].");
    assert_eq!(a.citations.len(), 1);
    assert_eq!(a.citations[0].document_id, "ret");
    assert_eq!(a.model, "gpt-4o-mini");
    assert!(!a.degraded && !a.no_answer);
    assert_eq!(
        (a.usage.prompt_tokens, a.usage.completion_tokens),
        (123, 17)
    );
    // Hand-computed with the shipped price table: 123 * $0.15/M + 17 * $0.60/M.
    let expected = 123.0 * 0.15 / 1e6 + 17.0 * 0.60 / 1e6;
    assert!(
        (a.cost.total_usd - expected).abs() < 1e-12,
        "{} vs {expected}",
        a.cost.total_usd
    );
    // The prompt sent holds the numbered passage and the question.
    let reqs = server.state.requests.lock().map_err(|_| "lock")?.clone();
    let body = reqs.last().ok_or("no request")?;
    let user = body["messages"][1]["content"]
        .as_str()
        .ok_or("no user message")?;
    assert!(
        user.contains("[1]") && user.contains("Returns are accepted within 7 days of delivery."),
        "{user}"
    );
    assert_eq!(body["messages"][0]["role"], "system");
    Ok(())
}

#[tokio::test]
async fn model_failure_degrades_to_a_flagged_extractive_answer_or_errors_by_policy() -> R {
    let server = TestServer::start(8).await?;
    let dir = tempfile::tempdir()?;
    let p = chat_pipeline(&server, dir.path(), true).await?;
    server.script([Fault::Status(500, "boom".into())]);
    let a = p
        .ask(AskRequest::new(
            "How many days do I have to return a product?",
            Scope::tenant("acme"),
        ))
        .await?;
    assert!(a.degraded);
    assert_eq!(a.model, "extractive");
    assert!(
        a.text.contains("7 days") && !a.citations.is_empty(),
        "{}",
        a.text
    );
    assert!(a
        .verdicts
        .iter()
        .any(|v| v.name == "generate" && v.detail.contains("provider")));
    drop(p);

    let dir2 = tempfile::tempdir()?;
    let p = chat_pipeline(&server, dir2.path(), false).await?;
    server.script([Fault::Status(503, "down".into())]);
    let err = p
        .ask(AskRequest::new(
            "How many days do I have to return a product?",
            Scope::tenant("acme"),
        ))
        .await
        .err()
        .ok_or("ok")?;
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.is_retryable());
    Ok(())
}

#[tokio::test]
async fn model_refusal_is_reported_as_no_answer() -> R {
    let server = TestServer::start(8).await?;
    let dir = tempfile::tempdir()?;
    let p = chat_pipeline(&server, dir.path(), true).await?;
    *server.state.chat_answer.lock().map_err(|_| "lock")? =
        ragcore::prompt::DEFAULT_NO_ANSWER_TEXT.to_string();
    let a = p
        .ask(AskRequest::new(
            "How many days do I have to return a product?",
            Scope::tenant("acme"),
        ))
        .await?;
    assert!(a.no_answer && a.citations.is_empty());
    Ok(())
}

#[tokio::test]
async fn personal_data_the_model_invents_is_redacted_but_published_contacts_stay() -> R {
    let server = TestServer::start(8).await?;
    let dir = tempfile::tempdir()?;
    let chat = OpenAiChat::new(OpenAiChatConfig::new(endpoint(&server), "gpt-4o-mini"))?;
    let p = Pipeline::open_local(
        dir.path(),
        LocalOptions {
            chat: Some(Arc::new(chat)),
            ..Default::default()
        },
    )
    .await?;
    ingest(
        &p,
        "acme",
        vec![faq(
            "repair",
            "How do I book a repair?",
            "Call our service line 0800-123-456 or use the web form.",
        )],
    )
    .await?;
    *server.state.chat_answer.lock().map_err(|_| "lock")? =
        "Call 0800-123-456 [1], or write to the manager at jane.doe@example.com.".into();
    let a = p
        .ask(AskRequest::new(
            "How do I book a repair?",
            Scope::tenant("acme"),
        ))
        .await?;
    assert!(
        a.text.contains("0800-123-456"),
        "the knowledge base's own number stays: {}",
        a.text
    );
    assert!(!a.text.contains("jane.doe"), "{}", a.text);
    assert!(
        a.verdicts
            .iter()
            .any(|v| v.name == "pii_leak" && v.detail.contains("EMAIL")),
        "{:?}",
        a.verdicts
    );
    Ok(())
}

#[tokio::test]
async fn an_invented_answer_is_flagged_as_ungrounded() -> R {
    let server = TestServer::start(8).await?;
    let dir = tempfile::tempdir()?;
    let p = chat_pipeline(&server, dir.path(), true).await?;
    let ask = || {
        AskRequest::new(
            "How many days do I have to return a product?",
            Scope::tenant("acme"),
        )
    };
    let a = p.ask(ask()).await?;
    let v = a
        .verdicts
        .iter()
        .find(|v| v.name == "groundedness")
        .ok_or("no groundedness verdict")?;
    assert_eq!(v.action, ragcore::VerdictAction::Pass, "{}", v.detail);
    *server.state.chat_answer.lock().map_err(|_| "lock")? =
        "We also offer a 100-year UFO warranty and free teleportation delivery [1].".into();
    let a = p.ask(ask()).await?;
    let v = a
        .verdicts
        .iter()
        .find(|v| v.name == "groundedness")
        .ok_or("no groundedness verdict")?;
    assert_eq!(v.action, ragcore::VerdictAction::Annotate, "{}", v.detail);
    assert!(v.detail.contains("citations not supported"), "{}", v.detail);
    Ok(())
}
