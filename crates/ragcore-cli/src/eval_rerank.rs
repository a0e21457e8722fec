//! `retrieval-eval --rerank`: recall with and without the built-in lexical reranker, over the
//! candidates of the default fusion, on all queries and on the two halves of a stable split of
//! the queries (weights are tuned on half `a` with `--rerank-grid`; half `b` checks that they
//! generalise).

use anyhow::Result;
use ragcore::retrieve::rerank::LexicalRerankerConfig;
use ragcore::retrieve::{
    hit_from_fused, LexicalReranker, RerankRequest, Reranker, DEFAULT_RERANK_DEPTH,
};
use ragcore::store::StoredChunk;
use ragcore::{Fusion, Hit, Segmenter};

use crate::eval::sha2_free::group_half;
use crate::eval::{docs_of, Metrics};

struct Variant {
    name: String,
    reranker: Option<LexicalReranker>,
    all: Metrics,
    a: Metrics,
    b: Metrics,
}

pub(crate) struct RerankEval {
    on: bool,
    variants: Vec<Variant>,
    grid: Vec<Variant>,
}

impl RerankEval {
    pub(crate) fn new(seg: Segmenter, on: bool, grid: bool) -> Result<Self> {
        let v = |name: &str, r: Option<LexicalReranker>| Variant {
            name: name.into(),
            reranker: r,
            all: Metrics::default(),
            a: Metrics::default(),
            b: Metrics::default(),
        };
        let variants = vec![
            v("linear 0.3", None),
            v("linear 0.3 + lexical", Some(LexicalReranker::new(seg))),
        ];
        let mut g = Vec::new();
        if grid {
            for title in [0.0f32, 0.15, 0.3, 0.6] {
                for phrase in [0.0f32, 0.15, 0.3, 0.6] {
                    for span in [0.0f32, 0.2, 0.4] {
                        let c = LexicalRerankerConfig {
                            title_weight: title,
                            phrase_weight: phrase,
                            span_weight: span,
                            ..Default::default()
                        };
                        g.push(v(
                            &format!("t{title} p{phrase} s{span}"),
                            Some(LexicalReranker::with_config(seg, c)?),
                        ));
                    }
                }
            }
        }
        Ok(RerankEval {
            on,
            variants,
            grid: g,
        })
    }

    pub(crate) async fn add(
        &mut self,
        id: &str,
        question: &str,
        gold: &str,
        vec_hits: &[StoredChunk],
        lex_hits: &[StoredChunk],
    ) -> Result<()> {
        if !self.on {
            return Ok(());
        }
        let fused = ragcore::retrieve::fuse(
            &Fusion::Linear { vector_weight: 0.3 },
            vec_hits.to_vec(),
            lex_hits.to_vec(),
        );
        let hits: Vec<Hit> = fused
            .into_iter()
            .take(DEFAULT_RERANK_DEPTH)
            .map(hit_from_fused)
            .collect();
        let half_a = group_half(if id.is_empty() { question } else { id });
        for v in self.variants.iter_mut().chain(self.grid.iter_mut()) {
            let ranked = match &v.reranker {
                None => hits.clone(),
                Some(r) => {
                    r.rerank(RerankRequest {
                        question: question.to_string(),
                        hits: hits.clone(),
                        top_k: 10,
                    })
                    .await?
                    .hits
                }
            };
            let docs = docs_of(ranked.into_iter().map(|h| h.document_id));
            v.all.add(&docs, gold);
            if half_a {
                v.a.add(&docs, gold);
            } else {
                v.b.add(&docs, gold);
            }
        }
        Ok(())
    }

    pub(crate) fn print(&self) {
        if !self.on {
            return;
        }
        println!("\nReranking the top {DEFAULT_RERANK_DEPTH} candidates of linear 0.3 (all queries | half a | half b):\n");
        println!("| method                 | R@1   | R@5   | MRR@10 | R@1 a | R@1 b |\n|------------------------|-------|-------|--------|-------|-------|");
        for v in &self.variants {
            println!("{}", row(v));
        }
        if !self.grid.is_empty() {
            println!("\nWeight grid (title, phrase, span), half a only:\n");
            let mut g: Vec<&Variant> = self.grid.iter().collect();
            g.sort_by(|x, y| r1(&y.a).total_cmp(&r1(&x.a)));
            for v in g.iter().take(12) {
                println!("{}", row(v));
            }
        }
    }
}

fn r1(m: &Metrics) -> f64 {
    m.r1 / m.n.max(1) as f64
}

fn row(v: &Variant) -> String {
    format!("{} {:.3} | {:.3} |", v.all.row(&v.name), r1(&v.a), r1(&v.b))
}
