//! Evaluation: a golden set (JSONL, [`GoldenCase`]) run through the real pipeline, giving
//! retrieval recall@k, MRR and nDCG, no-answer correctness, groundedness, citation precision,
//! answer match, cost and latency ([`evaluate`]); two runs side by side with a regression
//! decision ([`compare`]); and the promotion gate for protected prompt labels ([`promote`]).

mod compare;
mod gate;
mod golden;
pub mod metrics;
mod run;

pub use compare::{compare, metric_rows, CompareRow, Comparison, Tolerance};
pub use gate::{promote, PromoteOutcome, PromoteRequest};
pub use golden::{parse_golden, read_golden, GoldenCase};
pub use run::{aggregate, evaluate, CaseResult, EvalMetrics, EvalOptions, EvalReport};
