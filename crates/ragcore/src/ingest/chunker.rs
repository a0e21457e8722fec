//! Token-exact chunking: Markdown headings kept as context, sentence boundaries for Chinese and
//! English, overlap between neighbouring chunks, content-derived chunk ids.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::text::{is_cjk, split_sentences, Tokenizer};
use crate::types::{Chunk, Document, DocumentKind};

/// Chunker settings. They are part of the knowledge base's fingerprint: changing them changes ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerConfig {
    /// The vocabulary used to count tokens.
    pub tokenizer: Tokenizer,
    /// Maximum tokens of chunk text (the heading context is not counted).
    pub max_tokens: usize,
    /// Tokens of trailing sentences repeated at the start of the next chunk.
    pub overlap_tokens: usize,
}

impl Default for ChunkerConfig {
    fn default() -> Self {
        ChunkerConfig {
            tokenizer: Tokenizer::Cl100kBase,
            max_tokens: 256,
            overlap_tokens: 32,
        }
    }
}

impl ChunkerConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.max_tokens < 8 {
            return Err(Error::invalid("chunker.max_tokens", "must be at least 8"));
        }
        if self.overlap_tokens >= self.max_tokens {
            return Err(Error::invalid(
                "chunker.overlap_tokens",
                format!("must be smaller than max_tokens ({})", self.max_tokens),
            ));
        }
        Ok(())
    }
}

/// Splits documents into chunks.
#[derive(Debug, Clone, Default)]
pub struct Chunker {
    config: ChunkerConfig,
}

struct Piece {
    text: String,
    tokens: usize,
}

impl Chunker {
    /// A chunker with the given settings.
    pub fn new(config: ChunkerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Chunker { config })
    }

    /// The settings.
    pub fn config(&self) -> &ChunkerConfig {
        &self.config
    }

    /// Cuts one document into chunks. Every chunk's `tokens` is the exact count of its text and
    /// never exceeds `max_tokens`.
    pub fn chunk(&self, doc: &Document) -> Result<Vec<Chunk>> {
        let sections = match doc.kind {
            DocumentKind::Faq => vec![(doc.title.clone(), doc.text.clone())],
            DocumentKind::Text => markdown_sections(&doc.text),
        };
        let mut out: Vec<Chunk> = Vec::new();
        let mut seen: HashMap<String, u32> = HashMap::new();
        for (context, body) in sections {
            for (text, tokens) in self.pack(&body)? {
                let base = chunk_id(&doc.id, &context, &text);
                let n = seen.entry(base.clone()).or_insert(0);
                let id = if *n == 0 { base } else { format!("{base}-{n}") };
                *n += 1;
                out.push(Chunk {
                    id,
                    document_id: doc.id.clone(),
                    ordinal: out.len() as u32,
                    context: context.clone(),
                    text,
                    tokens: tokens as u32,
                });
            }
        }
        Ok(out)
    }

    /// Packs the sentences of one section into chunk texts, each with its exact token count.
    fn pack(&self, body: &str) -> Result<Vec<(String, usize)>> {
        let tk = self.config.tokenizer;
        let max = self.config.max_tokens;
        let mut pieces: Vec<Piece> = Vec::new();
        for s in split_sentences(body) {
            let n = tk.count(s)?;
            if n <= max {
                pieces.push(Piece {
                    text: s.to_string(),
                    tokens: n,
                });
            } else {
                for part in split_long(tk, s, max)? {
                    let tokens = tk.count(&part)?;
                    pieces.push(Piece { text: part, tokens });
                }
            }
        }
        let mut chunks = Vec::new();
        let mut start = 0;
        while start < pieces.len() {
            // Greedily extend, then verify the joined text's exact count.
            let mut end = start;
            let mut sum = 0;
            while end < pieces.len() && sum + pieces[end].tokens <= max {
                sum += pieces[end].tokens;
                end += 1;
            }
            if end == start {
                end = start + 1;
            }
            let mut text = join(&pieces[start..end]);
            let mut tokens = tk.count(&text)?;
            while end > start + 1 && tokens > max {
                end -= 1;
                text = join(&pieces[start..end]);
                tokens = tk.count(&text)?;
            }
            chunks.push((text, tokens));
            if end >= pieces.len() {
                break;
            }
            // Overlap: restart at the trailing sentences that fit the overlap budget.
            let mut next = end;
            let mut ov = 0;
            while next > start + 1 && ov + pieces[next - 1].tokens <= self.config.overlap_tokens {
                ov += pieces[next - 1].tokens;
                next -= 1;
            }
            start = next;
        }
        Ok(chunks)
    }
}

fn join(pieces: &[Piece]) -> String {
    let mut s = String::new();
    for p in pieces {
        let needs_space = match (s.chars().last(), p.text.chars().next()) {
            (Some(a), Some(b)) => !(is_cjk(a) || is_cjk(b) || is_cjk_punct(a)),
            _ => false,
        };
        if needs_space {
            s.push(' ');
        }
        s.push_str(&p.text);
    }
    s
}

fn is_cjk_punct(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFFEF)
}

/// Splits an over-long sentence at character boundaries into parts of at most `max` tokens.
fn split_long(tk: Tokenizer, s: &str, max: usize) -> Result<Vec<String>> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        // Binary search the longest prefix that fits.
        let (mut lo, mut hi) = (start + 1, chars.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let cand: String = chars[start..mid].iter().collect();
            if tk.count(&cand)? <= max {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let mut end = lo.max(start + 1);
        // Prefer to break after whitespace when one is near the end.
        if end < chars.len() {
            if let Some(ws) = (start + 1..end)
                .rev()
                .take(40)
                .find(|&i| chars[i].is_whitespace())
            {
                end = ws + 1;
            }
        }
        let part: String = chars[start..end].iter().collect();
        let part = part.trim().to_string();
        if !part.is_empty() {
            out.push(part);
        }
        start = end;
    }
    Ok(out)
}

/// Splits Markdown into (heading path, body) sections. Text before the first heading has an
/// empty context. Headings inside fenced code blocks are ignored.
fn markdown_sections(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut body = String::new();
    let mut in_fence = false;
    let ctx = |path: &Vec<(usize, String)>| {
        path.iter()
            .map(|(_, h)| h.as_str())
            .collect::<Vec<_>>()
            .join(" > ")
    };
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
        }
        let level = trimmed.chars().take_while(|&c| c == '#').count();
        let is_heading = !in_fence && (1..=6).contains(&level) && trimmed[level..].starts_with(' ');
        if is_heading {
            if !body.trim().is_empty() {
                out.push((ctx(&path), std::mem::take(&mut body)));
            }
            body.clear();
            let title = trimmed[level..]
                .trim()
                .trim_end_matches('#')
                .trim()
                .to_string();
            while path.last().is_some_and(|(l, _)| *l >= level) {
                path.pop();
            }
            path.push((level, title));
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    if !body.trim().is_empty() {
        out.push((ctx(&path), body));
    }
    out
}

/// The content-derived chunk id: the first 16 hex digits of SHA-256(document id, context, text).
pub fn chunk_id(document_id: &str, context: &str, text: &str) -> String {
    let mut h = Sha256::new();
    h.update(document_id.as_bytes());
    h.update([0u8]);
    h.update(context.as_bytes());
    h.update([0u8]);
    h.update(text.as_bytes());
    let d = h.finalize();
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunker(max: usize, overlap: usize) -> Chunker {
        Chunker::new(ChunkerConfig {
            tokenizer: Tokenizer::Cl100kBase,
            max_tokens: max,
            overlap_tokens: overlap,
        })
        .unwrap_or_default()
    }

    #[test]
    fn chunks_respect_token_limit_and_overlap() -> Result<()> {
        let text = "退貨需在收到商品後七天內申請。".repeat(30)
            + &"Refunds take five business days. ".repeat(30);
        let doc = Document::new("d1", text);
        let c = chunker(40, 10);
        let chunks = c.chunk(&doc)?;
        assert!(chunks.len() > 5);
        for ch in &chunks {
            assert!(ch.tokens as usize <= 40, "{} tokens", ch.tokens);
            assert_eq!(ch.tokens as usize, Tokenizer::Cl100kBase.count(&ch.text)?);
        }
        // Overlap: consecutive chunks share a sentence.
        let first_last = split_sentences(&chunks[0].text)
            .last()
            .map(|s| s.to_string())
            .unwrap_or_default();
        assert!(chunks[1].text.starts_with(&first_last));
        Ok(())
    }

    #[test]
    fn headings_become_context_and_ids_are_stable() -> Result<()> {
        let doc = Document::new(
            "faq.md",
            "# 退換貨\n## 退貨\n七天內可退貨。\n## 運費\n滿千免運。\n",
        );
        let c = chunker(64, 8);
        let a = c.chunk(&doc)?;
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].context, "退換貨 > 退貨");
        assert_eq!(a[1].context, "退換貨 > 運費");
        let b = c.chunk(&doc)?;
        assert_eq!(a, b);
        let other = c.chunk(&Document::new("other.md", doc.text.clone()))?;
        assert_ne!(a[0].id, other[0].id);
        Ok(())
    }

    #[test]
    fn very_long_sentence_is_split() -> Result<()> {
        let doc = Document::new("x", "字".repeat(2000));
        let chunks = chunker(50, 0).chunk(&doc)?;
        assert!(chunks.len() > 10);
        assert!(chunks.iter().all(|c| c.tokens <= 50));
        Ok(())
    }

    #[test]
    fn bad_settings_are_rejected() {
        assert!(Chunker::new(ChunkerConfig {
            tokenizer: Tokenizer::Cl100kBase,
            max_tokens: 10,
            overlap_tokens: 10
        })
        .is_err());
    }
}
