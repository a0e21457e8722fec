//! GenAI semantic-convention attributes on the request-path spans, seen by a real `tracing`
//! subscriber. Its own test binary with one test: `tracing` caches callsite interest
//! process-wide, so spans first hit by another test's thread (no subscriber) would be missed.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use ragcore::{AskRequest, LocalOptions, OpenAiChat, OpenAiChatConfig, Pipeline, Scope};
use support::openai_server::TestServer;

type R = Result<(), Box<dyn std::error::Error>>;

type Spans = Vec<(String, BTreeMap<String, String>)>;

/// A `tracing` layer that keeps every span's name and fields (span ids are reused after a span
/// closes, so spans are kept in order and the id points at the newest one).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<(Spans, HashMap<u64, usize>)>>);

struct Visit<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Visit<'_> {
    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        self.0.insert(
            f.name().to_string(),
            format!("{v:?}").trim_matches('"').to_string(),
        );
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(
        &self,
        a: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut f = BTreeMap::new();
        a.record(&mut Visit(&mut f));
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        g.0.push((a.metadata().name().to_string(), f));
        let n = g.0.len() - 1;
        g.1.insert(id.into_u64(), n);
    }
    fn on_record(
        &self,
        id: &tracing::span::Id,
        v: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = g.1.get(&id.into_u64()).copied() {
            v.record(&mut Visit(&mut g.0[i].1));
        }
    }
}

#[tokio::test]
async fn spans_carry_gen_ai_semantic_convention_attributes() -> R {
    use tracing_subscriber::layer::SubscriberExt;
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let server = TestServer::start(8).await?;
    let chat = OpenAiChat::new(OpenAiChatConfig::new(
        ragcore::Endpoint::new(server.base_url.clone(), None),
        "gpt-4o-mini",
    ))?;
    let dir = tempfile::tempdir()?;
    let p = faq_kb_with(
        dir.path(),
        LocalOptions {
            chat: Some(Arc::new(chat)),
            ..Default::default()
        },
    )
    .await?;
    let a = p
        .ask(AskRequest::new(
            "How many days do I have to return a product?",
            Scope::tenant("acme"),
        ))
        .await?;
    assert_eq!(a.usage.prompt_tokens, 123);
    let spans = capture
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .0
        .clone();
    let find = |name: &str| {
        spans
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.clone())
            .ok_or(format!("no span {name}"))
    };
    let ask = find("ragcore.ask")?;
    assert_eq!(ask["gen_ai.operation.name"], "chat");
    assert_eq!(ask["gen_ai.request.model"], "gpt-4o-mini");
    assert_eq!(ask["gen_ai.usage.input_tokens"], "123");
    assert_eq!(ask["gen_ai.usage.output_tokens"], "17");
    assert_eq!(ask["ragcore.prompt_version"], "qa@1");
    assert_eq!(ask["ragcore.kb_version"], a.kb_version.to_string());
    assert_eq!(ask["ragcore.cost_usd"].parse::<f64>()?, a.cost.total_usd);
    assert!(a.cost.total_usd > 0.0);
    let gen = find("ragcore.generate")?;
    assert_eq!(gen["gen_ai.usage.input_tokens"], "123");
    assert_eq!(gen["gen_ai.response.model"], "gpt-4o-mini");
    for stage in [
        "ragcore.guard_input",
        "ragcore.retrieve",
        "ragcore.guard_output",
    ] {
        find(stage)?;
    }
    // A failed ask records the error type.
    let _ = p.ask(AskRequest::new("x", Scope::tenant("nobody"))).await;
    let spans = capture
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .0
        .clone();
    assert!(spans
        .iter()
        .any(|(n, f)| n == "ragcore.ask"
            && f.get("error.type").map(String::as_str) == Some("not_found")));
    Ok(())
}

async fn faq_kb_with(dir: &std::path::Path, options: LocalOptions) -> ragcore::Result<Pipeline> {
    let p = Pipeline::open_local(dir, options).await?;
    support::ingest(
        &p,
        "acme",
        vec![support::faq(
            "ret",
            "How many days do I have to return a product?",
            "Returns are accepted within 7 days of delivery.",
        )],
    )
    .await?;
    Ok(p)
}
