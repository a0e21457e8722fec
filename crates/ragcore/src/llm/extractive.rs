//! [`ExtractiveAnswerer`]: answers with the best-matching sentences of the retrieved passages,
//! cited, without any model. It is the offline default and the degradation path when every model
//! fails.

use std::collections::HashSet;

use async_trait::async_trait;

use super::{ChatModel, ChatRequest, ChatResponse};
use crate::error::Result;
use crate::text::{split_sentences, Segmenter};
use crate::types::Usage;

/// The offline answerer.
#[derive(Debug, Clone, Default)]
pub struct ExtractiveAnswerer {
    segmenter: Segmenter,
}

impl ExtractiveAnswerer {
    /// An answerer matching sentences with `segmenter`'s terms.
    pub fn new(segmenter: Segmenter) -> Self {
        ExtractiveAnswerer { segmenter }
    }

    /// Builds the answer text from a request's passages (no I/O).
    pub fn answer(&self, request: &ChatRequest) -> (String, bool) {
        let Some(first) = request.passages.first() else {
            return (request.no_answer_text.clone(), true);
        };
        if first.is_faq {
            // A FAQ chunk is "question answer": answer with the part after the question.
            let text = first.text.trim();
            let answer = text
                .strip_prefix(first.title.trim())
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .unwrap_or(text);
            return (format!("{answer} [{}]", first.index), false);
        }
        let q: HashSet<String> = self
            .segmenter
            .terms(&request.question)
            .into_iter()
            .filter(|t| !t.stop)
            .map(|t| t.text)
            .collect();
        // (score, passage order, sentence order, text, citation)
        let mut scored: Vec<(f32, usize, usize, String, u32)> = Vec::new();
        for (pi, p) in request.passages.iter().take(3).enumerate() {
            for (si, s) in split_sentences(&p.text).into_iter().enumerate() {
                let terms: HashSet<String> = self
                    .segmenter
                    .terms(s)
                    .into_iter()
                    .filter(|t| !t.stop)
                    .map(|t| t.text)
                    .collect();
                if terms.is_empty() {
                    continue;
                }
                let overlap = q.intersection(&terms).count() as f32;
                // Earlier passages rank better; very long sentences are penalised gently.
                let score = overlap / (1.0 + (terms.len() as f32).ln()) * (1.0 - 0.15 * pi as f32);
                scored.push((score, pi, si, s.to_string(), p.index));
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let best: Vec<_> = scored.into_iter().filter(|s| s.0 > 0.0).take(2).collect();
        if best.is_empty() {
            let s = split_sentences(&first.text)
                .into_iter()
                .next()
                .unwrap_or(first.text.as_str())
                .to_string();
            return (format!("{s} [{}]", first.index), false);
        }
        let mut best = best;
        best.sort_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)));
        // Consecutive sentences of one passage share one citation marker.
        let mut text = String::new();
        for (i, (_, _, _, s, idx)) in best.iter().enumerate() {
            let cjk_end = text
                .chars()
                .last()
                .is_some_and(|c| crate::text::is_cjk(c) || matches!(c, '。' | '！' | '？' | '；'));
            if !text.is_empty() && !cjk_end {
                text.push(' ');
            }
            text.push_str(s);
            if best.get(i + 1).is_none_or(|next| next.4 != *idx) {
                text.push_str(&format!(" [{idx}]"));
            }
        }
        (text, false)
    }
}

#[async_trait]
impl ChatModel for ExtractiveAnswerer {
    fn name(&self) -> String {
        "extractive".into()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let (text, refused) = self.answer(&request);
        Ok(ChatResponse {
            text,
            model: self.name(),
            usage: Usage::default(),
            refused,
            calls: Vec::new(),
        })
    }
}
