//! The built-in reranker: no model, a few microseconds per passage. The fused score is combined
//! with lexical features of the question against each candidate, weighted by how rare each
//! question term is among the candidates:
//!
//! - **title match**: question terms in the document title (for FAQ entries the title is the FAQ
//!   question, so this is the FAQ-question match);
//! - **coverage**: question terms anywhere in the passage;
//! - **phrase overlap**: adjacent question-term pairs that occur adjacent in the passage (word
//!   bigrams in English, character trigrams in Chinese with the bigram segmenter);
//! - **shared span**: the longest run of consecutive question terms found verbatim in the passage.
//!
//! A final maximal-marginal-relevance pass keeps near-duplicate passages from crowding the top.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{reorder, RerankRequest, RerankResponse, Reranker};
use crate::error::{Error, Result};
use crate::text::{Segmenter, Term};
use crate::types::{Hit, Usage};

/// Weights of the built-in reranker's features (measured in docs/retrieval.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LexicalRerankerConfig {
    /// Weight of the fused retrieval score (scaled so the best candidate has 1).
    pub fused_weight: f32,
    /// Weight of the question terms found in the title.
    pub title_weight: f32,
    /// Weight of the question terms found in the passage.
    pub coverage_weight: f32,
    /// Weight of the adjacent question-term pairs found adjacent in the passage.
    pub phrase_weight: f32,
    /// Weight of the longest run of question terms found verbatim.
    pub span_weight: f32,
    /// MMR trade-off: 1.0 ranks by relevance only; lower values push near-duplicates down.
    pub mmr_lambda: f32,
}

impl Default for LexicalRerankerConfig {
    fn default() -> Self {
        LexicalRerankerConfig {
            fused_weight: 1.0,
            title_weight: 0.3,
            coverage_weight: 0.0,
            phrase_weight: 0.3,
            span_weight: 0.2,
            mmr_lambda: 0.9,
        }
    }
}

impl LexicalRerankerConfig {
    /// Checks the weights.
    pub fn validate(&self) -> Result<()> {
        let w = [
            self.fused_weight,
            self.title_weight,
            self.coverage_weight,
            self.phrase_weight,
            self.span_weight,
        ];
        if w.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(Error::invalid(
                "rerank weights",
                "must be finite and not negative",
            ));
        }
        if !(0.0..=1.0).contains(&self.mmr_lambda) {
            return Err(Error::invalid(
                "rerank.mmr_lambda",
                "must be between 0 and 1",
            ));
        }
        Ok(())
    }
}

/// The built-in lexical reranker (see the module docs).
#[derive(Debug, Clone)]
pub struct LexicalReranker {
    segmenter: Segmenter,
    config: LexicalRerankerConfig,
}

impl LexicalReranker {
    /// A reranker cutting text with `segmenter` (use the pipeline's) and the default weights.
    pub fn new(segmenter: Segmenter) -> Self {
        LexicalReranker {
            segmenter,
            config: LexicalRerankerConfig::default(),
        }
    }

    /// A reranker with explicit weights.
    pub fn with_config(segmenter: Segmenter, config: LexicalRerankerConfig) -> Result<Self> {
        config.validate()?;
        Ok(LexicalReranker { segmenter, config })
    }

    /// The weights.
    pub fn config(&self) -> &LexicalRerankerConfig {
        &self.config
    }

    /// Relevance of every hit (before MMR), in the order given.
    pub fn scores(&self, question: &str, hits: &[Hit]) -> Vec<f32> {
        let q_all = self.segmenter.terms(question);
        let q_content: Vec<&Term> = {
            let content: Vec<&Term> = q_all.iter().filter(|t| !t.stop).collect();
            if content.is_empty() {
                q_all.iter().collect()
            } else {
                content
            }
        };
        let mut q_unique: Vec<&str> = Vec::new();
        for t in &q_content {
            if !q_unique.contains(&t.text.as_str()) {
                q_unique.push(&t.text);
            }
        }
        let passages: Vec<Passage> = hits
            .iter()
            .map(|h| Passage::new(self.segmenter, h))
            .collect();
        // Rarity of each question term among the candidates (a local IDF).
        let n = passages.len() as f32;
        let weight: HashMap<&str, f32> = q_unique
            .iter()
            .map(|t| {
                let df = passages.iter().filter(|p| p.set.contains(*t)).count() as f32;
                (*t, ((n + 1.0) / (df + 0.5)).ln().max(0.05))
            })
            .collect();
        let total: f32 = weight.values().sum::<f32>().max(f32::EPSILON);
        let q_seq: Vec<&str> = q_all.iter().map(|t| t.text.as_str()).collect();
        let q_pairs: Vec<(String, String)> = q_all
            .windows(2)
            .filter(|w| !(w[0].stop && w[1].stop))
            .map(|w| (w[0].text.clone(), w[1].text.clone()))
            .collect();
        let max_fused = hits
            .iter()
            .map(|h| h.score)
            .fold(f32::MIN, f32::max)
            .max(f32::EPSILON);
        let c = &self.config;
        hits.iter()
            .zip(&passages)
            .map(|(h, p)| {
                let weighted = |set: &HashSet<String>| {
                    q_unique
                        .iter()
                        .filter(|t| set.contains(**t))
                        .map(|t| weight.get(*t).copied().unwrap_or(0.0))
                        .sum::<f32>()
                        / total
                };
                let title = weighted(&p.title_set);
                let coverage = weighted(&p.set);
                let phrase = if q_pairs.is_empty() {
                    0.0
                } else {
                    q_pairs.iter().filter(|pr| p.pairs.contains(*pr)).count() as f32
                        / q_pairs.len() as f32
                };
                let span = if q_seq.is_empty() {
                    0.0
                } else {
                    longest_shared_run(&q_seq, &p.seq) as f32 / q_seq.len() as f32
                };
                c.fused_weight * (h.score / max_fused).max(0.0)
                    + c.title_weight * title
                    + c.coverage_weight * coverage
                    + c.phrase_weight * phrase
                    + c.span_weight * span
            })
            .collect()
    }
}

/// A candidate cut into terms once.
struct Passage {
    seq: Vec<String>,
    set: HashSet<String>,
    title_set: HashSet<String>,
    pairs: HashSet<(String, String)>,
}

impl Passage {
    fn new(segmenter: Segmenter, h: &Hit) -> Self {
        let body = format!("{}\n{}\n{}", h.title, h.context, h.text);
        let seq: Vec<String> = segmenter.terms(&body).into_iter().map(|t| t.text).collect();
        let set = seq.iter().cloned().collect();
        let title_set = segmenter
            .terms(&h.title)
            .into_iter()
            .map(|t| t.text)
            .collect();
        let pairs = seq
            .windows(2)
            .map(|w| (w[0].clone(), w[1].clone()))
            .collect();
        Passage {
            seq,
            set,
            title_set,
            pairs,
        }
    }
}

/// Length of the longest run of consecutive question terms that appears in the passage.
fn longest_shared_run(q: &[&str], p: &[String]) -> usize {
    let mut prev = vec![0usize; p.len() + 1];
    let mut cur = vec![0usize; p.len() + 1];
    let mut best = 0;
    for qt in q {
        for (j, pt) in p.iter().enumerate() {
            cur[j + 1] = if *qt == pt.as_str() { prev[j] + 1 } else { 0 };
            best = best.max(cur[j + 1]);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    best
}

/// Jaccard similarity of two term sets.
fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f32 {
    let inter = a.intersection(b).count() as f32;
    let union = (a.len() + b.len()) as f32 - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

#[async_trait]
impl Reranker for LexicalReranker {
    fn name(&self) -> String {
        "lexical".into()
    }

    async fn rerank(&self, request: RerankRequest) -> Result<RerankResponse> {
        let RerankRequest { question, hits, .. } = request;
        let scores = self.scores(&question, &hits);
        let ranked = reorder(hits, &scores);
        let hits = if self.config.mmr_lambda < 1.0 && ranked.len() > 2 {
            mmr(self.segmenter, ranked, self.config.mmr_lambda)
        } else {
            ranked
        };
        Ok(RerankResponse {
            hits,
            model: self.name(),
            usage: Usage::default(),
        })
    }
}

/// Greedy maximal marginal relevance over hits already sorted by relevance (`score`); the best
/// hit always stays first.
fn mmr(segmenter: Segmenter, ranked: Vec<Hit>, lambda: f32) -> Vec<Hit> {
    let sets: Vec<HashSet<String>> = ranked
        .iter()
        .map(|h| {
            segmenter
                .terms(&h.text)
                .into_iter()
                .filter(|t| !t.stop)
                .map(|t| t.text)
                .collect()
        })
        .collect();
    let mut remaining: Vec<usize> = (0..ranked.len()).collect();
    let mut order: Vec<usize> = Vec::with_capacity(ranked.len());
    while !remaining.is_empty() {
        let mut best_pos = 0;
        let mut best_val = f32::MIN;
        for (pos, &i) in remaining.iter().enumerate() {
            let redundancy = order
                .iter()
                .map(|&j| jaccard(&sets[i], &sets[j]))
                .fold(0.0f32, f32::max);
            let val = lambda * ranked[i].score - (1.0 - lambda) * redundancy;
            if val > best_val {
                best_val = val;
                best_pos = pos;
            }
        }
        order.push(remaining.remove(best_pos));
    }
    let mut slots: Vec<Option<Hit>> = ranked.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::DocumentKind;

    fn hit(id: &str, title: &str, text: &str, score: f32) -> Hit {
        Hit {
            chunk_id: id.into(),
            document_id: id.into(),
            title: title.into(),
            context: String::new(),
            text: text.into(),
            kind: DocumentKind::Text,
            score,
            vector_score: None,
            lexical_score: None,
            valid_until: None,
        }
    }

    #[test]
    fn shared_run_counts_consecutive_terms() {
        let p: Vec<String> = ["a", "b", "c", "x", "b", "c", "d"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(longest_shared_run(&["b", "c", "d"], &p), 3);
        assert_eq!(longest_shared_run(&["z"], &p), 0);
    }

    #[tokio::test]
    async fn faq_question_match_beats_a_slightly_higher_fused_score() {
        let r = LexicalReranker::new(Segmenter::Bigram);
        let hits = vec![
            hit(
                "weather",
                "Will warm weather stop the outbreak?",
                "Some viruses spread more in cold weather; it is not known for this one.",
                0.52,
            ),
            hit(
                "pets",
                "Can my pet spread the virus to people?",
                "There is no evidence that pets spread the virus to people.",
                0.50,
            ),
        ];
        let out = r
            .rerank(RerankRequest {
                question: "can pets spread the virus to people".into(),
                hits,
                top_k: 2,
            })
            .await
            .expect("rerank");
        assert_eq!(out.hits[0].document_id, "pets");
        assert_eq!(out.hits.len(), 2);
        assert!(out.hits[0].score >= out.hits[1].score);
    }

    #[test]
    fn mmr_pushes_a_duplicate_below_a_distinct_passage() {
        let ranked = vec![
            hit(
                "a",
                "t",
                "refunds are accepted within seven days of delivery",
                1.0,
            ),
            hit(
                "b",
                "t",
                "refunds are accepted within seven days of delivery",
                0.95,
            ),
            hit("c", "t", "shipping to Taiwan takes three working days", 0.9),
        ];
        let out = mmr(Segmenter::Bigram, ranked, 0.5);
        let ids: Vec<&str> = out.iter().map(|h| h.document_id.as_str()).collect();
        assert_eq!(ids, ["a", "c", "b"]);
    }

    #[test]
    fn negative_weights_are_rejected() {
        let c = LexicalRerankerConfig {
            title_weight: -1.0,
            ..Default::default()
        };
        assert!(LexicalReranker::with_config(Segmenter::Bigram, c).is_err());
    }
}
