//! Groundedness without an LLM: how much of each answer sentence is supported by the passages.
//!
//! Each sentence's content terms (words, numbers, Chinese bigrams) are looked up in the passages;
//! numbers and name-like words weigh double, since hallucinations most often change exactly
//! those. A sentence's support is its weighted share of found terms; the answer's score blends
//! its weakest sentence with the average, so one invented sentence pulls the whole answer down.
//! A sentence that cites `[n]` is also checked against passage `n` alone (citation validity).

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::memo::TextMemo;
use crate::text::{split_sentences, Segmenter, Term, TermKind};

/// Scores of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Groundedness {
    /// 0..1, higher is better supported.
    pub score: f32,
    /// Support of each sentence, in order.
    pub sentences: Vec<f32>,
    /// Citation numbers whose passage does not support the sentence citing it.
    pub unsupported_citations: Vec<u32>,
}

/// Computes [`Groundedness`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GroundednessChecker {
    segmenter: Segmenter,
}

fn weight(t: &Term) -> f32 {
    let numeric = t.text.chars().any(|c| c.is_ascii_digit());
    if numeric || t.entity {
        2.0
    } else {
        1.0
    }
}

fn strip_markers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits = after.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && after[digits..].starts_with(']') {
            rest = &after[digits + 1..];
        } else {
            out.push('[');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn markers(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('[') {
        let after = &rest[i + 1..];
        let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            if let Ok(n) = digits.parse() {
                out.push(n);
            }
        }
        rest = after;
    }
    out
}

impl GroundednessChecker {
    /// A checker using `segmenter`'s terms.
    pub fn new(segmenter: Segmenter) -> Self {
        GroundednessChecker { segmenter }
    }

    fn terms(&self, text: &str) -> Vec<Term> {
        let mut seen = HashSet::new();
        self.segmenter
            .terms(text)
            .into_iter()
            .filter(|t| {
                !t.stop
                    && (t.kind == TermKind::Cjk
                        || t.text.chars().count() > 1
                        || t.text.chars().all(|c| c.is_ascii_digit()))
            })
            .filter(|t| seen.insert(t.text.clone()))
            .collect()
    }

    fn support(&self, sentence: &[Term], has: impl Fn(&str) -> bool) -> Option<f32> {
        let total: f32 = sentence.iter().map(weight).sum();
        if total == 0.0 {
            return None;
        }
        let found: f32 = sentence.iter().filter(|t| has(&t.text)).map(weight).sum();
        Some(found / total)
    }

    /// The distinct terms of a passage. The same passages are checked answer after answer
    /// and a text's terms never change, so they are memoised per process (keyed by the
    /// segmenter and the text).
    fn passage_terms(&self, passage: &str) -> Arc<HashSet<String>> {
        static MEMO: OnceLock<TextMemo<Arc<HashSet<String>>, 16_384>> = OnceLock::new();
        MEMO.get_or_init(TextMemo::default)
            .get_or(self.segmenter.as_str(), passage, || {
                Arc::new(self.terms(passage).into_iter().map(|t| t.text).collect())
            })
    }

    /// Scores `answer` against `passages` (numbered from 1 in order, as cited).
    pub fn check(&self, answer: &str, passages: &[&str]) -> Groundedness {
        let per_passage: Vec<Arc<HashSet<String>>> =
            passages.iter().map(|p| self.passage_terms(p)).collect();
        let in_any = |t: &str| per_passage.iter().any(|p| p.contains(t));
        let mut sentences = Vec::new();
        let mut unsupported = Vec::new();
        for s in split_sentences(answer) {
            let terms = self.terms(&strip_markers(s));
            let Some(support) = self.support(&terms, in_any) else {
                continue;
            };
            sentences.push(support);
            for n in markers(s) {
                let cited = (n as usize).checked_sub(1).and_then(|i| per_passage.get(i));
                let ok = cited
                    .and_then(|p| self.support(&terms, |t| p.contains(t)))
                    .is_some_and(|v| v >= 0.5);
                if !ok && !unsupported.contains(&n) {
                    unsupported.push(n);
                }
            }
        }
        let score = if sentences.is_empty() {
            1.0
        } else {
            let min = sentences.iter().copied().fold(1.0f32, f32::min);
            let mean = sentences.iter().sum::<f32>() / sentences.len() as f32;
            0.5 * min + 0.5 * mean
        };
        Groundedness {
            score,
            sentences,
            unsupported_citations: unsupported,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_facts_score_low_and_bad_citations_are_found() {
        let g = GroundednessChecker::default();
        let passages = [
            "大型家電享有 2 年保固，小型家電為 1 年保固。",
            "Returns are accepted within 7 days of delivery.",
        ];
        let good = g.check(
            "大型家電享有 2 年保固 [1]。Returns are accepted within 7 days [2].",
            &passages,
        );
        assert!(good.score > 0.8, "{good:?}");
        assert!(good.unsupported_citations.is_empty(), "{good:?}");
        let bad = g.check(
            "我們提供 UFO 保固一百年 [1]。Returns are accepted within 30 days [1].",
            &passages,
        );
        assert!(bad.score < 0.6, "{bad:?}");
        assert!(bad.unsupported_citations.contains(&1), "{bad:?}");
    }
}
