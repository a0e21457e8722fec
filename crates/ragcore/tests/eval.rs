//! Golden-set evaluation through the real pipeline, and the promotion gate: a deliberately worse
//! prompt is refused (naming the metrics) and a better one is accepted. The "model" is the
//! loopback OpenAI-compatible server with a responder that follows the prompt it is sent.

mod support;

use std::sync::Arc;

use ragcore::eval::{
    compare, evaluate, parse_golden, promote, EvalOptions, PromoteRequest, Tolerance,
};
use ragcore::prompt::{GetPromptRequest, SavePromptRequest, DEFAULT_NO_ANSWER_TEXT};
use ragcore::{LocalOptions, OpenAiChat, OpenAiChatConfig, Pipeline, PipelineConfig};
use support::openai_server::TestServer;

type R = Result<(), Box<dyn std::error::Error>>;

const GOLDEN: &str = r#"
{"id": "ret", "question": "How many days do I have to return a product?", "expected_doc_ids": ["ret"], "expected_answer": "7 days"}
{"id": "ship", "question": "How long does shipping take?", "expected_doc_ids": ["ship"], "expected_answer": "3 to 5 business days"}
{"id": "pay", "question": "Which payment methods do you accept?", "expected_doc_ids": ["pay"], "expected_answer": "credit cards"}
{"id": "none1", "question": "What is the warranty on the Zephyr-9000 drone?", "answerable": false}
{"question": "Who won the Quorbix-77 chess cup in 1998?", "answerable": false}
"#;

async fn kb(
    dir: &std::path::Path,
    chat: Option<Arc<dyn ragcore::ChatModel>>,
    label: &str,
) -> ragcore::Result<Pipeline> {
    Pipeline::open_local(
        dir,
        LocalOptions {
            chat,
            config: PipelineConfig {
                prompt_label: label.into(),
                ..Default::default()
            },
            no_event_log: true,
            ..Default::default()
        },
    )
    .await
}

async fn ingest(p: &Pipeline) -> ragcore::Result<()> {
    support::ingest(
        p,
        "acme",
        vec![
            support::faq(
                "ret",
                "How many days do I have to return a product?",
                "Returns are accepted within 7 days of delivery.",
            ),
            support::faq(
                "ship",
                "How long does shipping take?",
                "Shipping takes 3 to 5 business days.",
            ),
            support::faq(
                "pay",
                "Which payment methods do you accept?",
                "We accept credit cards and bank transfers.",
            ),
        ],
    )
    .await?;
    Ok(())
}

fn opts(label: &str) -> EvalOptions {
    EvalOptions {
        k: 5,
        label: label.into(),
        tenant: "acme".into(),
    }
}

#[tokio::test]
async fn golden_set_metrics_on_the_offline_pipeline() -> R {
    let cases = parse_golden(GOLDEN, "golden.jsonl")?;
    assert_eq!(cases.len(), 5);
    assert_eq!(cases[4].id, "line-6", "ids default to the line number");
    assert!(parse_golden("{\"id\": 1}", "bad.jsonl")
        .err()
        .ok_or("bad")?
        .to_string()
        .contains("line 1"));
    let dir = tempfile::tempdir()?;
    let p = kb(dir.path(), None, "production").await?;
    ingest(&p).await?;
    let r = evaluate(&p, &cases, &opts("offline")).await?;
    let m = &r.metrics;
    assert_eq!(r.prompt_versions, vec!["qa@1".to_string()]);
    assert_eq!(m.recall_at_k, Some(1.0));
    assert_eq!(m.mrr, Some(1.0));
    assert_eq!(m.ndcg_at_k, Some(1.0));
    assert_eq!(m.answerable_answered, Some(1.0));
    assert_eq!(m.unanswerable_refused, Some(1.0));
    assert_eq!(m.no_answer_accuracy, Some(1.0));
    assert_eq!(m.citation_precision, Some(1.0));
    assert_eq!(m.answer_match, Some(1.0));
    assert!(m.groundedness.is_some_and(|g| g > 0.8), "{m:?}");
    assert_eq!(m.error_rate, 0.0);
    assert_eq!(r.per_case.iter().filter(|c| c.refused).count(), 2);
    // Compared with itself nothing regresses.
    assert!(compare(&r, &r, &Tolerance::default())
        .regressions()
        .is_empty());
    Ok(())
}

fn gate<'a>(
    baseline: &'a Pipeline,
    candidate: &'a Pipeline,
    version: u32,
    cases: &'a [ragcore::eval::GoldenCase],
) -> PromoteRequest<'a> {
    PromoteRequest {
        baseline,
        candidate,
        name: "qa".into(),
        version,
        label: "production".into(),
        cases,
        tolerance: Tolerance::default(),
        options: opts("gate"),
    }
}

fn passage_text(body: &serde_json::Value) -> String {
    // The default user template: "[1] title\ntext\n\n[2] ..."
    let user = body["messages"][1]["content"].as_str().unwrap_or("");
    user.split("[1] ")
        .nth(1)
        .and_then(|s| s.lines().nth(1))
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn promote_refuses_a_worse_prompt_and_accepts_a_better_one() -> R {
    let server = TestServer::start(8).await?;
    // A model that follows its system prompt: DECLINE -> always refuses; CITE -> quotes the
    // first passage with its marker; otherwise it answers without citing and adds a made-up
    // sentence.
    server.respond_with(|body| {
        let system = body["messages"][0]["content"].as_str().unwrap_or("");
        let passage = passage_text(body);
        if system.contains("DECLINE") {
            DEFAULT_NO_ANSWER_TEXT.to_string()
        } else if system.contains("CITE") {
            format!("{passage} [1]")
        } else {
            format!("{passage} Our office cat Mochi approves every refund personally on Fridays.")
        }
    });
    let chat: Arc<dyn ragcore::ChatModel> = Arc::new(OpenAiChat::new(OpenAiChatConfig::new(
        ragcore::Endpoint::new(server.base_url.clone(), None),
        "gpt-4o-mini",
    ))?);
    let dir = tempfile::tempdir()?;
    let baseline = kb(dir.path(), Some(chat.clone()), "production").await?;
    ingest(&baseline).await?;
    let reg = baseline.prompts().clone();
    let v1 = reg
        .get(GetPromptRequest {
            name: "qa".into(),
            label: "production".into(),
        })
        .await?;
    let save = |extra: &str| SavePromptRequest {
        name: "qa".into(),
        system: format!("{} {extra}", v1.system),
        user: v1.user.clone(),
        labels: vec![],
    };
    let worse = reg.save(save("DECLINE every question.")).await?;
    let better = reg.save(save("CITE the passage you use.")).await?;
    let cases = parse_golden(GOLDEN, "golden.jsonl")?;

    let cand = kb(
        dir.path(),
        Some(chat.clone()),
        &format!("@{}", worse.version),
    )
    .await?;
    let refused = promote(gate(&baseline, &cand, worse.version, &cases)).await?;
    assert!(!refused.accepted);
    assert!(refused.moved.is_none());
    let names: Vec<&str> = refused
        .comparison
        .regressions()
        .iter()
        .map(|r| r.metric.as_str())
        .collect();
    assert!(names.contains(&"answerable_answered"), "{names:?}");
    assert!(
        refused
            .regressions
            .iter()
            .any(|r| r.starts_with("answerable_answered 1.0000 -> 0.0000")),
        "{:?}",
        refused.regressions
    );
    let prod = || {
        reg.get(GetPromptRequest {
            name: "qa".into(),
            label: "production".into(),
        })
    };
    assert_eq!(
        prod().await?.version,
        1,
        "a refused promotion moves nothing"
    );

    let cand = kb(
        dir.path(),
        Some(chat.clone()),
        &format!("@{}", better.version),
    )
    .await?;
    let accepted = promote(gate(&baseline, &cand, better.version, &cases)).await?;
    assert!(accepted.accepted, "{}", accepted.comparison.to_markdown());
    let row = |m: &str| {
        accepted
            .comparison
            .rows
            .iter()
            .find(|r| r.metric == m)
            .cloned()
            .ok_or(format!("no {m}"))
    };
    let g = row("groundedness")?;
    assert!(
        g.candidate > g.baseline,
        "the better prompt is more grounded: {g:?}"
    );
    assert_eq!(row("citation_precision")?.candidate, Some(1.0));
    assert_eq!(prod().await?.version, better.version);
    // The running baseline pipeline (label `production`) now answers with the promoted version.
    let a = baseline
        .ask(ragcore::AskRequest::new(
            "How long does shipping take?",
            ragcore::Scope::tenant("acme"),
        ))
        .await?;
    assert_eq!(a.prompt_version, better.id());
    assert!(a.text.ends_with("[1]"), "{}", a.text);
    let hist = reg
        .label_history(ragcore::prompt::LabelHistoryRequest {
            name: "qa".into(),
            label: "production".into(),
        })
        .await?;
    assert!(hist
        .last()
        .is_some_and(|m| m.how == "promote" && m.reason.contains("golden set passed")));
    Ok(())
}
