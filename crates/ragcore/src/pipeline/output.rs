//! Output checks of the request path: leak redaction, citation parsing, groundedness and
//! staleness verdicts.

use std::collections::HashSet;

use crate::guard::{GroundednessChecker, PiiRedactor};
use crate::prompt::PackedPassage;
use crate::text::Segmenter;
use crate::types::{Citation, Hit, Verdict, VerdictAction};

/// Redacts personal data in an answer unless the same value appears in a passage (the
/// knowledge base's own published contacts are not a leak).
pub(crate) fn redact_leaks(
    pii: &PiiRedactor,
    text: String,
    passages: &[PackedPassage],
    verdicts: &mut Vec<Verdict>,
) -> String {
    let spans = pii.detect(&text);
    let leaks: Vec<_> = spans
        .into_iter()
        .filter(|s| {
            let value = text.get(s.start..s.end).unwrap_or("");
            !value.is_empty() && !passages.iter().any(|p| p.text.contains(value))
        })
        .collect();
    if leaks.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut kinds = Vec::new();
    for s in &leaks {
        if s.start < last {
            continue;
        }
        out.push_str(text.get(last..s.start).unwrap_or(""));
        out.push_str(&format!("[{}]", s.kind.label()));
        kinds.push(s.kind.label().to_string());
        last = s.end;
    }
    out.push_str(text.get(last..).unwrap_or(""));
    verdicts.push(Verdict {
        name: "pii_leak".into(),
        stage: "output".into(),
        action: VerdictAction::Redact,
        detail: format!(
            "redacted personal data not found in the passages: {}",
            kinds.join(", ")
        ),
    });
    out
}

/// The passages an answer cites with `[n]` markers, in marker order, without duplicates.
pub(crate) fn citations_in(text: &str, passages: &[PackedPassage], hits: &[Hit]) -> Vec<Citation> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' {
            let rest = &text[i + 1..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if !digits.is_empty() && rest[digits.len()..].starts_with(']') {
                if let Ok(n) = digits.parse::<u32>() {
                    if let Some(p) = passages.iter().find(|p| p.index == n) {
                        if seen.insert(n) {
                            let hit = hits.iter().find(|h| h.chunk_id == p.chunk_id);
                            let score = hit.map(|h| h.score).unwrap_or(0.0);
                            let (document_id, title) = hit
                                .map(|h| (h.document_id.clone(), h.title.clone()))
                                .unwrap_or_default();
                            out.push(Citation {
                                index: n,
                                chunk_id: p.chunk_id.clone(),
                                document_id,
                                title,
                                snippet: p.text.chars().take(160).collect(),
                                score,
                            });
                        }
                    }
                }
            }
        }
        i += 1;
    }
    out
}

/// The groundedness verdict: lexical support of every answer sentence by the passages, and of
/// every `[n]` citation by passage n.
pub(crate) fn groundedness_verdict(
    segmenter: Segmenter,
    min_groundedness: f32,
    text: &str,
    passages: &[PackedPassage],
) -> Verdict {
    let g = GroundednessChecker::new(segmenter);
    let texts: Vec<&str> = passages.iter().map(|p| p.text.as_str()).collect();
    let gr = g.check(text, &texts);
    let low = gr.score < min_groundedness;
    Verdict {
        name: "groundedness".into(),
        stage: "output".into(),
        action: if low {
            VerdictAction::Annotate
        } else {
            VerdictAction::Pass
        },
        detail: format!(
            "score {:.2}{}{}",
            gr.score,
            if low {
                " (below the threshold: parts of the answer are not in the passages)"
            } else {
                ""
            },
            if gr.unsupported_citations.is_empty() {
                String::new()
            } else {
                format!(
                    "; citations not supported by their passage: {:?}",
                    gr.unsupported_citations
                )
            }
        ),
    }
}

/// A `stale` verdict when a cited document's `valid_until` has passed.
pub(crate) fn stale_verdict(citations: &[Citation], hits: &[Hit]) -> Option<Verdict> {
    let today = crate::types::today();
    let stale: Vec<String> = citations
        .iter()
        .filter_map(|c| hits.iter().find(|h| h.chunk_id == c.chunk_id))
        .filter(|h| h.valid_until.as_deref().is_some_and(|v| v < today.as_str()))
        .map(|h| {
            format!(
                "{} (valid until {})",
                h.document_id,
                h.valid_until.as_deref().unwrap_or("")
            )
        })
        .collect();
    if stale.is_empty() {
        return None;
    }
    Some(Verdict {
        name: "stale".into(),
        stage: "output".into(),
        action: VerdictAction::Annotate,
        detail: format!("cites expired documents: {}", stale.join(", ")),
    })
}
