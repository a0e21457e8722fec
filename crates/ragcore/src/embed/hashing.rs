//! The offline default embedder: signed feature hashing of word and CJK character n-grams.

use std::collections::HashMap;

use async_trait::async_trait;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::{l2_normalize, EmbedRequest, EmbedResponse, Embedder, EmbedderFingerprint};
use crate::error::{Error, Result};
use crate::text::{is_cjk, is_word_char, normalize};

/// Deterministic, offline embedder: no model, no network, identical output on every machine.
///
/// Features: Latin-script words (and adjacent word pairs), character trigrams inside words (so
/// `vaccine` and `vaccinated` share features), and CJK character unigrams, bigrams and trigrams.
/// Each feature's weight is sublinear in its count; features are hashed into `dimensions` buckets
/// with a hashed sign (so collisions cancel out on average), and the vector is L2-normalised.
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dimensions: usize,
}

impl HashingEmbedder {
    /// The default dimensionality.
    pub const DEFAULT_DIMENSIONS: usize = 512;

    /// An embedder producing `dimensions`-long vectors (16 to 8192).
    pub fn new(dimensions: usize) -> Result<Self> {
        if !(16..=8192).contains(&dimensions) {
            return Err(Error::invalid(
                "hashing.dimensions",
                format!("{dimensions} is out of range 16..=8192"),
            ));
        }
        Ok(HashingEmbedder { dimensions })
    }

    /// Embeds one text synchronously.
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut feats: HashMap<u64, (f32, u32)> = HashMap::new();
        let mut add = |key: &str, ns: u64, w: f32| {
            let h = xxh3_64_with_seed(key.as_bytes(), ns);
            let e = feats.entry(h).or_insert((w, 0));
            e.1 += 1;
        };
        let norm = normalize(text);
        let mut words: Vec<String> = Vec::new();
        let mut cjk_run: Vec<char> = Vec::new();
        let mut word = String::new();
        let flush_cjk = |run: &mut Vec<char>, add: &mut dyn FnMut(&str, u64, f32)| {
            for i in 0..run.len() {
                let mut buf = [0u8; 4];
                add(run[i].encode_utf8(&mut buf), 10, 0.4);
                if i + 1 < run.len() {
                    let s: String = run[i..i + 2].iter().collect();
                    add(&s, 11, 1.0);
                }
                if i + 2 < run.len() {
                    let s: String = run[i..i + 3].iter().collect();
                    add(&s, 12, 0.5);
                }
            }
            run.clear();
        };
        for c in norm.chars() {
            if is_cjk(c) {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                cjk_run.push(c);
            } else if is_word_char(c) {
                if !cjk_run.is_empty() {
                    flush_cjk(&mut cjk_run, &mut add);
                }
                word.push(c);
            } else {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                if !cjk_run.is_empty() {
                    flush_cjk(&mut cjk_run, &mut add);
                }
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        flush_cjk(&mut cjk_run, &mut add);
        for (i, w) in words.iter().enumerate() {
            add(w, 1, 1.0);
            if i + 1 < words.len() {
                add(&format!("{w} {}", words[i + 1]), 2, 0.5);
            }
            let padded: Vec<char> = format!("<{w}>").chars().collect();
            if padded.len() > 4 {
                for tri in padded.windows(3) {
                    let s: String = tri.iter().collect();
                    add(&s, 3, 0.25);
                }
            }
        }
        let mut v = vec![0f32; self.dimensions];
        for (h, (w, n)) in feats {
            let idx = (h % self.dimensions as u64) as usize;
            let sign = if (h >> 63) & 1 == 1 { -1.0 } else { 1.0 };
            v[idx] += sign * w * (1.0 + (n as f32).ln());
        }
        l2_normalize(&mut v);
        v
    }
}

impl Default for HashingEmbedder {
    fn default() -> Self {
        HashingEmbedder {
            dimensions: Self::DEFAULT_DIMENSIONS,
        }
    }
}

#[async_trait]
impl Embedder for HashingEmbedder {
    fn fingerprint(&self) -> EmbedderFingerprint {
        EmbedderFingerprint {
            model: "hashing-v1".into(),
            dimensions: self.dimensions,
            normalized: true,
        }
    }

    async fn embed(&self, request: EmbedRequest) -> Result<EmbedResponse> {
        let vectors = request.texts.iter().map(|t| self.embed_one(t)).collect();
        Ok(EmbedResponse {
            vectors,
            tokens: 0,
            estimated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn deterministic_normalised_and_similar_texts_are_close() -> Result<()> {
        let e = HashingEmbedder::new(256)?;
        let a = e.embed_one("退貨政策是什麼？");
        assert_eq!(a, e.embed_one("退貨政策是什麼？"));
        assert!((cos(&a, &a) - 1.0).abs() < 1e-5);
        let b = e.embed_one("請問退貨的政策");
        let c = e.embed_one("How long does shipping take?");
        assert!(cos(&a, &b) > cos(&a, &c) + 0.2);
        Ok(())
    }

    #[test]
    fn rejects_bad_dimensions() {
        assert!(HashingEmbedder::new(3).is_err());
    }
}
