//! A client for hosted or self-served rerank endpoints: Cohere and Jina (`POST {base}/rerank`
//! with `{model, query, documents, top_n}` → `{results: [{index, relevance_score}]}`) and
//! Hugging Face text-embeddings-inference (`POST {base}/rerank` with `{query, texts}` →
//! `[{index, score}]`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{RerankRequest, RerankResponse, Reranker};
use crate::error::{Error, Result};
use crate::http::Endpoint;
use crate::types::Usage;

/// Which request shape the endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RerankApi {
    /// Cohere and Jina: `{model, query, documents, top_n}`.
    #[default]
    Cohere,
    /// text-embeddings-inference: `{query, texts}`.
    Tei,
}

/// Settings of an [`HttpReranker`].
#[derive(Debug, Clone)]
pub struct HttpRerankerConfig {
    /// Base URL (the client posts to `{base_url}/rerank`) and key.
    pub endpoint: Endpoint,
    /// Model name sent to the endpoint (ignored by TEI) and used for pricing.
    pub model: String,
    /// Request shape.
    pub api: RerankApi,
}

impl HttpRerankerConfig {
    /// A Cohere/Jina-style endpoint.
    pub fn new(endpoint: Endpoint, model: impl Into<String>) -> Self {
        HttpRerankerConfig {
            endpoint,
            model: model.into(),
            api: RerankApi::Cohere,
        }
    }
}

/// Reranks through an HTTP `/rerank` endpoint.
#[derive(Debug, Clone)]
pub struct HttpReranker {
    config: HttpRerankerConfig,
    client: reqwest::Client,
}

impl HttpReranker {
    /// A client; fails on a malformed base URL.
    pub fn new(config: HttpRerankerConfig) -> Result<Self> {
        let client = config.endpoint.client()?;
        Ok(HttpReranker { config, client })
    }
}

const PROVIDER: &str = "rerank";

fn malformed(what: &str) -> Error {
    Error::Provider {
        provider: PROVIDER.into(),
        status: None,
        retryable: false,
        retry_after: None,
        message: format!("malformed rerank response: {what}"),
    }
}

/// `(index, score)` pairs from either response shape.
fn parse_results(body: &Value) -> Result<Vec<(usize, f32)>> {
    let list = match body {
        Value::Array(a) => a,
        Value::Object(o) => o
            .get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("no `results` array"))?,
        _ => return Err(malformed("neither an array nor an object")),
    };
    list.iter()
        .map(|r| {
            let index = r
                .get("index")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed("a result has no `index`"))?;
            let score = r
                .get("relevance_score")
                .or_else(|| r.get("score"))
                .and_then(Value::as_f64)
                .ok_or_else(|| malformed("a result has no `relevance_score` or `score`"))?;
            Ok((index as usize, score as f32))
        })
        .collect()
}

#[async_trait]
impl Reranker for HttpReranker {
    fn name(&self) -> String {
        self.config.model.clone()
    }

    async fn rerank(&self, request: RerankRequest) -> Result<RerankResponse> {
        let RerankRequest {
            question,
            hits,
            top_k,
        } = request;
        if hits.is_empty() {
            return Ok(RerankResponse {
                hits,
                model: self.name(),
                usage: Usage::default(),
            });
        }
        let texts: Vec<String> = hits
            .iter()
            .map(|h| {
                if h.title.is_empty() {
                    h.text.clone()
                } else {
                    format!("{}\n{}", h.title, h.text)
                }
            })
            .collect();
        let body = match self.config.api {
            RerankApi::Cohere => json!({
                "model": self.config.model,
                "query": question,
                "documents": texts,
                "top_n": top_k.min(hits.len()),
            }),
            RerankApi::Tei => json!({"query": question, "texts": texts}),
        };
        let resp = self
            .config
            .endpoint
            .post_json(&self.client, PROVIDER, "rerank", &body)
            .await?;
        let mut results = parse_results(&resp)?;
        results.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut slots: Vec<Option<crate::types::Hit>> = hits.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(results.len());
        for (i, score) in results {
            let Some(mut h) = slots.get_mut(i).and_then(Option::take) else {
                return Err(malformed(&format!("index {i} is out of range or repeated")));
            };
            h.score = score;
            out.push(h);
        }
        let tokens = resp
            .pointer("/usage/total_tokens")
            .or_else(|| resp.pointer("/meta/tokens/input_tokens"))
            .and_then(Value::as_u64);
        Ok(RerankResponse {
            hits: out,
            model: self.name(),
            usage: Usage {
                prompt_tokens: tokens.unwrap_or(0),
                ..Default::default()
            },
        })
    }
}
