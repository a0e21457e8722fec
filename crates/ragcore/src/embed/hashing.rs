//! The offline default embedder: signed feature hashing of word and CJK character n-grams.

use async_trait::async_trait;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
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
        let norm = normalize(text);
        let mut feats = Features::default();
        // Words and CJK runs are contiguous in `norm`: n-grams are hashed as slices of it.
        let mut words: Vec<&str> = Vec::new();
        let mut run: Vec<(usize, usize)> = Vec::new(); // byte span of each CJK char of a run
        let mut word_start: Option<usize> = None;
        for (i, c) in norm.char_indices() {
            let cjk = is_cjk(c);
            let word = !cjk && is_word_char(c);
            if !word {
                if let Some(s) = word_start.take() {
                    words.push(&norm[s..i]);
                }
            }
            if !cjk {
                feats.cjk_run(&norm, &mut run);
            }
            if cjk {
                run.push((i, i + c.len_utf8()));
            } else if word && word_start.is_none() {
                word_start = Some(i);
            }
        }
        if let Some(s) = word_start {
            words.push(&norm[s..]);
        }
        feats.cjk_run(&norm, &mut run);
        let mut buf = String::new();
        for (i, w) in words.iter().enumerate() {
            feats.add(w.as_bytes(), 1, 1.0);
            if let Some(next) = words.get(i + 1) {
                buf.clear();
                buf.push_str(w);
                buf.push(' ');
                buf.push_str(next);
                feats.add(buf.as_bytes(), 2, 0.5);
            }
            // Character trigrams of `<word>` for words of three or more characters.
            let padded_len = w.chars().count() + 2;
            if padded_len > 4 {
                buf.clear();
                buf.push('<');
                buf.push_str(w);
                buf.push('>');
                let bounds: Vec<usize> = buf
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain(std::iter::once(buf.len()))
                    .collect();
                for k in 0..padded_len - 2 {
                    feats.add(&buf.as_bytes()[bounds[k]..bounds[k + 3]], 3, 0.25);
                }
            }
        }
        let mut v = vec![0f32; self.dimensions];
        for (h, (w, n)) in feats.0 {
            let idx = (h % self.dimensions as u64) as usize;
            let sign = if (h >> 63) & 1 == 1 { -1.0 } else { 1.0 };
            v[idx] += sign * w * (1.0 + (n as f32).ln());
        }
        l2_normalize(&mut v);
        v
    }
}

/// Hashed features of one text: hash -> (weight of its namespace, occurrences). Insertion
/// order is kept, so a text's vector is the same bit for bit in every process.
#[derive(Default)]
struct Features(Vec<(u64, (f32, u32))>, FxHashMap<u64, usize>);

impl Features {
    fn add(&mut self, key: &[u8], namespace: u64, weight: f32) {
        let h = xxh3_64_with_seed(key, namespace);
        match self.1.entry(h) {
            std::collections::hash_map::Entry::Occupied(e) => self.0[*e.get()].1 .1 += 1,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.0.len());
                self.0.push((h, (weight, 1)));
            }
        }
    }

    /// CJK character unigrams, bigrams and trigrams of one run (given as byte spans in `text`);
    /// empties the run.
    fn cjk_run(&mut self, text: &str, run: &mut Vec<(usize, usize)>) {
        let b = text.as_bytes();
        for i in 0..run.len() {
            self.add(&b[run[i].0..run[i].1], 10, 0.4);
            if i + 1 < run.len() {
                self.add(&b[run[i].0..run[i + 1].1], 11, 1.0);
            }
            if i + 2 < run.len() {
                self.add(&b[run[i].0..run[i + 2].1], 12, 0.5);
            }
        }
        run.clear();
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
        // A batch is embedded on the rayon pool (pure CPU work, deterministic per text).
        let vectors = if request.texts.len() >= 16 {
            let texts = &request.texts;
            crate::parallel::install(|| texts.par_iter().map(|t| self.embed_one(t)).collect())
        } else {
            request.texts.iter().map(|t| self.embed_one(t)).collect()
        };
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
