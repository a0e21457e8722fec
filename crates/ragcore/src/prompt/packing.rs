//! Packing retrieved passages into the prompt's token budget, numbered for citation.

use serde::Serialize;

use crate::error::Result;
use crate::text::Tokenizer;
use crate::types::{DocumentKind, Hit};

/// A passage as it appears in the prompt: `[index] title\ntext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackedPassage {
    /// Citation number, starting at 1.
    pub index: u32,
    /// The chunk it came from.
    pub chunk_id: String,
    /// Document title (and heading context).
    pub title: String,
    /// Passage text (possibly cut to fit the budget).
    pub text: String,
    /// Tokens of `title` and `text`.
    pub tokens: u32,
    /// True when the passage is a FAQ entry (first line question, then the answer).
    pub is_faq: bool,
}

/// Takes hits in rank order while they fit `budget` tokens; the first passage is cut to fit when
/// even it is too long, so a prompt always has context when there are hits.
pub fn pack_passages(
    hits: &[Hit],
    tokenizer: Tokenizer,
    budget: usize,
) -> Result<Vec<PackedPassage>> {
    let mut out = Vec::new();
    let mut used = 0usize;
    for h in hits {
        let title = if h.context.is_empty() || h.context == h.title {
            h.title.clone()
        } else {
            format!("{} > {}", h.title, h.context)
        };
        let n = tokenizer.count_memo(&title)? + tokenizer.count_memo(&h.text)? + 4;
        if used + n <= budget {
            used += n;
            out.push(PackedPassage {
                index: out.len() as u32 + 1,
                chunk_id: h.chunk_id.clone(),
                title,
                text: h.text.clone(),
                tokens: n as u32,
                is_faq: h.kind == DocumentKind::Faq,
            });
        } else if out.is_empty() {
            let mut text: String = h.text.clone();
            while !text.is_empty()
                && tokenizer.count(&title)? + tokenizer.count(&text)? + 4 > budget
            {
                let keep = text.chars().count() * 3 / 4;
                text = text.chars().take(keep).collect();
            }
            let n = tokenizer.count(&title)? + tokenizer.count(&text)? + 4;
            used += n;
            out.push(PackedPassage {
                index: 1,
                chunk_id: h.chunk_id.clone(),
                title,
                text,
                tokens: n as u32,
                is_faq: h.kind == DocumentKind::Faq,
            });
        }
    }
    Ok(out)
}
