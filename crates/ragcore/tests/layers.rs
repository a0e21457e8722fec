//! The ChatModel layers against a real loopback server with scripted faults: retry with
//! Retry-After, permanent errors not retried, timeouts, the circuit breaker opening and
//! recovering, fallback to another model, and a soak where every question is answered while the
//! API fails 30% of the time and hangs 5% of the time.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ragcore::llm::layers::{
    BreakerState, ChatStack, CircuitBreakerLayer, FallbackLayer, RetryLayer, RetryPolicy,
    TimeoutLayer,
};
use ragcore::llm::{ChatMessage, ChatRequest, Role};
use ragcore::{
    AskRequest, ChatModel, Endpoint, ErrorKind, LocalOptions, OpenAiChat, OpenAiChatConfig,
    Pipeline, Scope,
};
use support::openai_server::{Fault, TestServer};

type R = Result<(), Box<dyn std::error::Error>>;

fn model(server: &TestServer, name: &str) -> ragcore::Result<Arc<dyn ChatModel>> {
    Ok(Arc::new(OpenAiChat::new(OpenAiChatConfig::new(
        Endpoint::new(server.base_url.clone(), None),
        name,
    ))?))
}

fn req() -> ChatRequest {
    ChatRequest {
        messages: vec![ChatMessage {
            role: Role::User,
            content: "hi".into(),
        }],
        ..Default::default()
    }
}

fn fast_retry(max_retries: u32) -> RetryLayer {
    RetryLayer::new(RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(3),
        jitter: true,
    })
}

#[tokio::test]
async fn retry_honours_retry_after_and_skips_permanent_errors() -> R {
    let server = TestServer::start(8).await?;
    let m = ChatStack::new(model(&server, "gpt-4o-mini")?)
        .layer(fast_retry(3))
        .build();
    server.script([Fault::RateLimited(1), Fault::Status(503, "busy".into())]);
    let t = Instant::now();
    let r = m.chat(req()).await?;
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "waited only {:?}",
        t.elapsed()
    );
    assert_eq!(server.request_count(), 3);
    assert!(!r.text.is_empty());
    server.script([Fault::Status(
        429,
        "{\"error\":{\"code\":\"insufficient_quota\"}}".into(),
    )]);
    let e = m.chat(req()).await.err().ok_or("quota error expected")?;
    assert!(!e.is_retryable());
    assert_eq!(
        server.request_count(),
        4,
        "insufficient_quota is permanent: no retry"
    );
    Ok(())
}

#[tokio::test]
async fn timeouts_bound_each_attempt_and_are_retried() -> R {
    let server = TestServer::start(8).await?;
    let only_timeout = ChatStack::new(model(&server, "m")?)
        .layer(TimeoutLayer::new(Duration::from_millis(150)))
        .build();
    server.script([Fault::Delay(Duration::from_secs(3))]);
    let e = only_timeout
        .chat(req())
        .await
        .err()
        .ok_or("timeout expected")?;
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let with_retry = ChatStack::new(model(&server, "m")?)
        .layer(fast_retry(2))
        .layer(TimeoutLayer::new(Duration::from_millis(150)))
        .build();
    server.script([Fault::Delay(Duration::from_secs(3))]);
    assert!(
        with_retry.chat(req()).await.is_ok(),
        "the second attempt answers"
    );
    Ok(())
}

#[tokio::test]
async fn breaker_opens_fails_fast_and_recovers_after_a_probe() -> R {
    let server = TestServer::start(8).await?;
    let breaker = Arc::new(
        CircuitBreakerLayer {
            failure_threshold: 3,
            open_for: Duration::from_millis(300),
        }
        .wrap(model(&server, "m")?),
    );
    server.script((0..3).map(|_| Fault::Status(500, "down".into())));
    for _ in 0..3 {
        assert!(breaker.chat(req()).await.is_err());
    }
    assert!(matches!(breaker.state()?, BreakerState::Open(_)));
    let e = breaker
        .chat(req())
        .await
        .err()
        .ok_or("open breaker let a call through")?;
    assert!(e.to_string().contains("circuit open"), "{e}");
    assert_eq!(
        server.request_count(),
        3,
        "no call reaches the server while open"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(breaker.chat(req()).await.is_ok(), "the probe succeeds");
    assert_eq!(breaker.state()?, BreakerState::Closed(0));
    // A failed probe re-opens it.
    server.script((0..4).map(|_| Fault::Status(500, "down".into())));
    for _ in 0..3 {
        let _ = breaker.chat(req()).await;
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(breaker.chat(req()).await.is_err());
    assert!(matches!(breaker.state()?, BreakerState::Open(_)));
    Ok(())
}

#[tokio::test]
async fn fallback_answers_with_the_next_model() -> R {
    let primary = TestServer::start(8).await?;
    let backup = TestServer::start(8).await?;
    let m = ChatStack::new(model(&primary, "big-model")?)
        .layer(FallbackLayer::new(vec![model(&backup, "small-model")?]))
        .build();
    primary.script([Fault::Status(503, "down".into())]);
    let r = m.chat(req()).await?;
    assert_eq!(r.model, "small-model");
    let r = m.chat(req()).await?;
    assert_eq!(
        r.model, "big-model",
        "the primary answers again once it is back"
    );
    // Invalid requests are not "unavailable": no fallback.
    primary.script([Fault::Status(400, "bad request".into())]);
    assert!(m.chat(req()).await.is_err());
    assert_eq!(backup.request_count(), 1);
    Ok(())
}

#[tokio::test]
async fn every_question_is_answered_while_the_api_fails_30_percent_and_hangs_5_percent() -> R {
    let server = TestServer::start(8).await?;
    let asks: usize = std::env::var("RAGCORE_SOAK_ASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // Deterministic fault script for every request the soak can make (attempts included).
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut faults = Vec::new();
    for _ in 0..asks * 4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        faults.push(match x % 100 {
            0..=9 => Fault::RateLimited(0),
            10..=19 => Fault::Status(500, "internal".into()),
            20..=29 => Fault::Status(503, "overloaded".into()),
            30..=34 => Fault::Delay(Duration::from_secs(5)),
            _ => Fault::Ok,
        });
    }
    server.script(faults);
    let chat = ChatStack::new(model(&server, "gpt-4o-mini")?)
        .layer(CircuitBreakerLayer {
            failure_threshold: 8,
            open_for: Duration::from_millis(200),
        })
        .layer(fast_retry(2))
        .layer(TimeoutLayer::new(Duration::from_millis(100)))
        .build();
    let dir = tempfile::tempdir()?;
    let p = Pipeline::open_local(
        dir.path(),
        LocalOptions {
            chat: Some(chat),
            ..Default::default()
        },
    )
    .await?;
    support::ingest(
        &p,
        "acme",
        vec![support::faq(
            "r",
            "How many days do I have to return a product?",
            "Returns are accepted within 7 days.",
        )],
    )
    .await?;
    let (mut by_model, mut degraded) = (0, 0);
    for _ in 0..asks {
        let a = p
            .ask(AskRequest::new(
                "How many days do I have to return a product?",
                Scope::tenant("acme"),
            ))
            .await?;
        assert!(!a.text.is_empty());
        if a.degraded {
            degraded += 1;
            assert!(
                a.text.contains("7 days"),
                "the degraded answer comes from the passages: {}",
                a.text
            );
            assert!(a.verdicts.iter().any(|v| v.name == "generate"));
        } else {
            by_model += 1;
        }
    }
    eprintln!("{asks} asks: {by_model} answered by the model, {degraded} degraded, 0 errors");
    assert_eq!(by_model + degraded, asks);
    assert!(
        by_model > asks / 2,
        "retries should rescue most calls ({by_model}/{asks})"
    );
    Ok(())
}
