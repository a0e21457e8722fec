//! Streaming against a real loopback server speaking the OpenAI SSE protocol: deltas then the
//! final answer, usage from the provider (cached and reasoning tokens) or estimated, the cost of a
//! fixture conversation equal to the hand-computed value streamed and not, and every streaming
//! fault: truncated streams, malformed events, a slow first token, 429 with Retry-After, 500/503
//! and hangs; plus the small-model-first cascade.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ragcore::cost::{ReportBy, ReportRequest};
use ragcore::llm::layers::{CascadeLayer, ChatStack, RetryLayer, RetryPolicy, TimeoutLayer};
use ragcore::llm::{ChatEvent, ChatMessage, ChatRequest, Role};
use ragcore::pipeline::StreamEvent;
use ragcore::{
    Answer, AskRequest, ChatModel, Endpoint, LocalOptions, OpenAiChat, OpenAiChatConfig, Pipeline,
    PipelineConfig, PriceTable, Scope,
};
use serde_json::json;
use support::openai_server::{Fault, TestServer};
use support::{faq, ingest};

type R = Result<(), Box<dyn std::error::Error>>;

const QUESTION: &str = "How many days do I have to return a product?";

fn chat(server: &TestServer, model: &str) -> ragcore::Result<Arc<dyn ChatModel>> {
    Ok(Arc::new(OpenAiChat::new(OpenAiChatConfig::new(
        Endpoint::new(server.base_url.clone(), None),
        model,
    ))?))
}

fn fast_retry() -> RetryLayer {
    RetryLayer::new(RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(3),
        jitter: true,
    })
}

/// Prices of a fixture model with distinct cached-input and reasoning prices.
fn fixture_prices() -> ragcore::Result<PriceTable> {
    PriceTable::from_toml(
        "version = '2026-12-01'\nrevision = 1\n[models.fixture-model]\ninput_per_million = 2.0\ncached_input_per_million = 0.5\noutput_per_million = 8.0\nreasoning_per_million = 10.0\n[models.small-model]\ninput_per_million = 0.1\noutput_per_million = 0.4\n",
        "fixture",
    )
}

async fn pipeline(
    dir: &std::path::Path,
    model: Arc<dyn ChatModel>,
    degrade: bool,
) -> ragcore::Result<Pipeline> {
    let p = Pipeline::open_local(
        dir,
        LocalOptions {
            chat: Some(model),
            prices: Some(fixture_prices()?),
            config: PipelineConfig {
                degrade_on_model_error: degrade,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await?;
    ingest(
        &p,
        "acme",
        vec![faq(
            "ret",
            QUESTION,
            "Returns are accepted within 7 days of delivery.",
        )],
    )
    .await?;
    Ok(p)
}

/// Collects a streamed answer: the concatenated deltas and the final answer.
async fn collect(p: &Pipeline, q: &str) -> ragcore::Result<(String, usize, Answer)> {
    let mut s = p
        .ask_stream(AskRequest::new(q, Scope::tenant("acme")))
        .await?;
    let mut text = String::new();
    let mut deltas = 0;
    let mut answer = None;
    while let Some(ev) = s.next().await {
        match ev? {
            StreamEvent::Delta(d) => {
                assert!(answer.is_none(), "a delta after the answer");
                text.push_str(&d);
                deltas += 1;
            }
            StreamEvent::Answer(a) => answer = Some(*a),
        }
    }
    let answer =
        answer.ok_or_else(|| ragcore::Error::Internal("stream ended without an answer".into()))?;
    Ok((text, deltas, answer))
}

#[tokio::test]
async fn streamed_and_whole_answers_cost_the_hand_computed_value() -> R {
    let server = TestServer::start(8).await?;
    server.set_usage(json!({
        "prompt_tokens": 1000, "completion_tokens": 300, "total_tokens": 1300,
        "prompt_tokens_details": {"cached_tokens": 400},
        "completion_tokens_details": {"reasoning_tokens": 200}
    }));
    let dir = tempfile::tempdir()?;
    let p = pipeline(dir.path(), chat(&server, "fixture-model")?, false).await?;
    // By hand: (1000-400)*$2/M + 400*$0.5/M = $0.0014 input; (300-200)*$8/M + 200*$10/M =
    // $0.0028 output; the hashing embedder is free. $0.0042 per turn, 3 turns = $0.0126.
    let per_turn = 0.0042;
    let mut streamed = 0.0;
    for _ in 0..3 {
        let (text, deltas, a) = collect(&p, QUESTION).await?;
        assert!(deltas > 3, "streamed in pieces: {deltas}");
        assert_eq!(text, "Returns are accepted within 7 days [1].");
        assert_eq!(a.text, text);
        assert_eq!(a.citations.len(), 1);
        assert!(!a.degraded && !a.usage.estimated);
        assert_eq!(
            (
                a.usage.prompt_tokens,
                a.usage.cached_prompt_tokens,
                a.usage.completion_tokens,
                a.usage.reasoning_tokens
            ),
            (1000, 400, 300, 200)
        );
        assert!((a.cost.input_usd - 0.0014).abs() < 1e-12, "{:?}", a.cost);
        assert!((a.cost.output_usd - 0.0028).abs() < 1e-12, "{:?}", a.cost);
        streamed += a.cost.total_usd;
    }
    let mut whole = 0.0;
    for _ in 0..3 {
        let a = p
            .ask(AskRequest::new(QUESTION, Scope::tenant("acme")))
            .await?;
        whole += a.cost.total_usd;
    }
    assert!(
        (streamed - 3.0 * per_turn).abs() < 1e-12,
        "streamed {streamed}"
    );
    assert!((whole - 3.0 * per_turn).abs() < 1e-12, "whole {whole}");
    // The request asked for usage in the stream.
    let reqs = server.state.requests.lock().map_err(|_| "lock")?.clone();
    assert_eq!(reqs[0]["stream"], json!(true));
    assert_eq!(reqs[0]["stream_options"]["include_usage"], json!(true));
    // The ledger holds the six turns at the same total.
    let budgets = p.budgets().ok_or("no budgets")?;
    let rows = budgets
        .ledger()
        .report(ReportRequest {
            by: ReportBy::Model,
            tenant: Some("acme".into()),
            since_ms: None,
        })
        .await?;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].key, "fixture-model");
    assert_eq!(rows[0].requests, 6);
    assert!((rows[0].cost_usd - 6.0 * per_turn).abs() < 1e-12);
    assert_eq!(rows[0].usage.cached_prompt_tokens, 2400);
    Ok(())
}

#[tokio::test]
async fn a_stream_without_usage_is_counted_locally_and_marked_estimated() -> R {
    let server = TestServer::start(8).await?;
    let m = chat(&server, "gpt-4o-mini")?;
    server.script_stream([Fault::NoUsage]);
    let req = ChatRequest {
        messages: vec![ChatMessage {
            role: Role::User,
            content: "How many days do I have to return a product?".into(),
        }],
        ..Default::default()
    };
    let mut s = m.chat_stream(req.clone()).await?;
    let mut done = None;
    while let Some(ev) = s.next().await {
        if let ChatEvent::Done(r) = ev? {
            done = Some(r);
        }
    }
    let r = done.ok_or("no final reply")?;
    assert!(r.usage.estimated);
    // tiktoken o200k: the reply and the framed prompt.
    let tk = ragcore::text::Tokenizer::for_model("gpt-4o-mini");
    assert_eq!(
        r.usage.completion_tokens,
        tk.count("Returns are accepted within 7 days [1].")? as u64
    );
    assert_eq!(
        r.usage.prompt_tokens,
        tk.count("How many days do I have to return a product?")? as u64 + 4 + 3
    );
    Ok(())
}

#[tokio::test]
async fn failures_before_the_first_token_are_retried() -> R {
    let server = TestServer::start(8).await?;
    let m = ChatStack::new(chat(&server, "fixture-model")?)
        .layer(fast_retry())
        .layer(TimeoutLayer::new(Duration::from_millis(400)))
        .build();
    let dir = tempfile::tempdir()?;
    let p = pipeline(dir.path(), m, false).await?;
    // 429 with Retry-After: 1 s, then 500, then 503, then a stream cut before any token, then a
    // first token slower than the timeout; the sixth attempt would be one too many, so the
    // faults are split over two asks.
    server.script([
        Fault::RateLimited(1),
        Fault::Status(500, "oops".into()),
        Fault::Status(503, "busy".into()),
    ]);
    let t = Instant::now();
    let (text, _, a) = collect(&p, QUESTION).await?;
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured: {:?}",
        t.elapsed()
    );
    assert_eq!(server.request_count(), 4, "3 failures + 1 answer");
    assert!(!a.degraded && text == a.text, "{a:?}");

    let before = server.request_count();
    server.script_stream([
        Fault::Truncated(0),
        Fault::SlowFirstToken(Duration::from_secs(2)),
    ]);
    let (_, _, a) = collect(&p, QUESTION).await?;
    assert!(
        !a.degraded,
        "retried past a truncated stream and a slow first token: {a:?}"
    );
    assert_eq!(server.request_count() - before, 3);
    Ok(())
}

#[tokio::test]
async fn failures_after_the_first_token_degrade_without_a_retry() -> R {
    let server = TestServer::start(8).await?;
    let m = ChatStack::new(chat(&server, "fixture-model")?)
        .layer(fast_retry())
        .layer(TimeoutLayer::new(Duration::from_millis(500)))
        .build();
    let dir = tempfile::tempdir()?;
    let p = pipeline(dir.path(), m, true).await?;
    for fault in [Fault::Truncated(2), Fault::MalformedEvent] {
        let before = server.request_count();
        server.script_stream([fault.clone()]);
        let (text, deltas, a) = collect(&p, QUESTION).await?;
        assert!(
            deltas >= 1 && !text.is_empty(),
            "{fault:?}: some text was streamed"
        );
        assert!(a.degraded, "{fault:?}: {a:?}");
        assert_eq!(a.model, "extractive");
        assert_eq!(
            a.text,
            "Returns are accepted within 7 days of delivery. [1]"
        );
        assert!(a.verdicts.iter().any(|v| v.name == "generate"));
        assert_eq!(
            server.request_count() - before,
            1,
            "{fault:?}: no retry after a token"
        );
    }
    // A hang: the timeout fires on every attempt; the answer degrades.
    let before = server.request_count();
    server.script((0..4).map(|_| Fault::Delay(Duration::from_secs(30))));
    let (_, _, a) = collect(&p, QUESTION).await?;
    assert!(a.degraded);
    assert_eq!(server.request_count() - before, 4, "1 attempt + 3 retries");
    Ok(())
}

#[tokio::test]
async fn the_error_policy_reports_a_broken_stream() -> R {
    let server = TestServer::start(8).await?;
    let dir = tempfile::tempdir()?;
    let p = pipeline(dir.path(), chat(&server, "fixture-model")?, false).await?;
    server.script_stream([Fault::Truncated(1)]);
    let mut s = p
        .ask_stream(AskRequest::new(QUESTION, Scope::tenant("acme")))
        .await?;
    let mut saw_delta = false;
    let mut err = None;
    while let Some(ev) = s.next().await {
        match ev {
            Ok(StreamEvent::Delta(_)) => saw_delta = true,
            Ok(StreamEvent::Answer(a)) => return Err(format!("answered: {a:?}").into()),
            Err(e) => err = Some(e),
        }
    }
    let e = err.ok_or("no error")?;
    assert!(saw_delta);
    assert!(
        e.is_retryable() && e.to_string().contains("truncated"),
        "{e}"
    );
    Ok(())
}

#[tokio::test]
async fn cascade_escalates_an_ungrounded_small_answer_and_costs_both_calls() -> R {
    let small = TestServer::start(8).await?;
    let large = TestServer::start(8).await?;
    small.answer("Our headquarters moved to Lisbon in 1999 [1].");
    let m = ChatStack::new(chat(&large, "fixture-model")?)
        .layer(CascadeLayer::new(chat(&small, "small-model")?).min_groundedness(0.6))
        .build();
    let dir = tempfile::tempdir()?;
    let p = pipeline(dir.path(), m, false).await?;
    let a = p
        .ask(AskRequest::new(QUESTION, Scope::tenant("acme")))
        .await?;
    assert_eq!(a.model, "fixture-model", "the large model answered");
    assert_eq!(a.text, "Returns are accepted within 7 days [1].");
    // Small: 123 * $0.1/M + 17 * $0.4/M; large: 123 * $2/M + 17 * $8/M.
    let small_cost = 123.0 * 0.1 / 1e6 + 17.0 * 0.4 / 1e6;
    let large_cost = 123.0 * 2.0 / 1e6 + 17.0 * 8.0 / 1e6;
    assert!(
        (a.cost.total_usd - (small_cost + large_cost)).abs() < 1e-12,
        "{:?}",
        a.cost
    );
    assert_eq!(a.usage.prompt_tokens, 246);
    let (_, _, s) = collect(&p, QUESTION).await?;
    assert_eq!(s.model, "fixture-model");
    assert!(
        (s.cost.total_usd - a.cost.total_usd).abs() < 1e-12,
        "streamed alike"
    );
    let rows = p
        .budgets()
        .ok_or("no budgets")?
        .ledger()
        .report(ReportRequest {
            by: ReportBy::Model,
            tenant: None,
            since_ms: None,
        })
        .await?;
    let keys: Vec<_> = rows.iter().map(|r| (r.key.as_str(), r.requests)).collect();
    assert_eq!(keys, [("fixture-model", 2), ("small-model", 2)]);

    // A grounded small answer is kept: the large model is not called.
    small.answer("Returns are accepted within 7 days of delivery [1].");
    let calls = large.request_count();
    let a = p
        .ask(AskRequest::new(QUESTION, Scope::tenant("acme")))
        .await?;
    assert_eq!(a.model, "small-model");
    assert_eq!(large.request_count(), calls);
    // A refusal by the small model escalates.
    small.answer(ragcore::prompt::DEFAULT_NO_ANSWER_TEXT);
    let a = p
        .ask(AskRequest::new(QUESTION, Scope::tenant("acme")))
        .await?;
    assert_eq!(a.model, "fixture-model");
    assert!(!a.no_answer);
    Ok(())
}
