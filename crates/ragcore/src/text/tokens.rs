//! Exact token counts with the OpenAI BPE vocabularies (bpe-openai: the same tokens as tiktoken,
//! with linear-time encoding; `tests/token_counts.rs` checks it against tiktoken-rs).

use std::sync::OnceLock;

use crate::memo::TextMemo;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A BPE vocabulary used for token-exact chunking and for metering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// `cl100k_base` (GPT-4, GPT-3.5, text-embedding-3-*).
    #[default]
    Cl100kBase,
    /// `o200k_base` (GPT-4o, GPT-4.1, o-series, GPT-5).
    O200kBase,
}

impl Tokenizer {
    /// The vocabulary's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tokenizer::Cl100kBase => "cl100k_base",
            Tokenizer::O200kBase => "o200k_base",
        }
    }

    /// Parses `cl100k_base` or `o200k_base`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "cl100k_base" => Ok(Tokenizer::Cl100kBase),
            "o200k_base" => Ok(Tokenizer::O200kBase),
            other => Err(Error::invalid(
                "tokenizer",
                format!("unknown tokenizer {other:?}; use cl100k_base or o200k_base"),
            )),
        }
    }

    /// The vocabulary OpenAI uses for a model name (o200k for gpt-4o/4.1/5/o-series).
    pub fn for_model(model: &str) -> Self {
        let m = model.to_ascii_lowercase();
        if m.starts_with("gpt-4o")
            || m.starts_with("gpt-4.1")
            || m.starts_with("gpt-5")
            || m.starts_with("o1")
            || m.starts_with("o3")
            || m.starts_with("o4")
        {
            Tokenizer::O200kBase
        } else {
            Tokenizer::Cl100kBase
        }
    }

    fn bpe(self) -> &'static bpe_openai::Tokenizer {
        match self {
            Tokenizer::Cl100kBase => bpe_openai::cl100k_base(),
            Tokenizer::O200kBase => bpe_openai::o200k_base(),
        }
    }

    /// Number of tokens in `text` (special tokens are treated as plain text).
    pub fn count(self, text: &str) -> Result<usize> {
        Ok(self.bpe().count(text))
    }

    /// [`Tokenizer::count`] remembered per process for texts that come back again and again
    /// (stored passages and titles packed into every prompt). Keyed by the vocabulary and a
    /// 64-bit hash of the text; bounded (the memo is emptied when full).
    pub fn count_memo(self, text: &str) -> Result<usize> {
        static COUNTS: OnceLock<TextMemo<usize, 65_536>> = OnceLock::new();
        COUNTS
            .get_or_init(Default::default)
            .get_or_try(self.as_str(), text, || self.count(text))
    }

    /// Token ids of `text`.
    pub fn encode(self, text: &str) -> Result<Vec<u32>> {
        Ok(self.bpe().encode(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_known_values() -> Result<()> {
        // Reference counts from OpenAI's tiktoken.
        assert_eq!(Tokenizer::Cl100kBase.count("hello world")?, 2);
        assert_eq!(Tokenizer::O200kBase.count("hello world")?, 2);
        assert!(Tokenizer::Cl100kBase.count("退貨政策")? >= 2);
        for t in ["hello world", "退貨政策", "hello world"] {
            assert_eq!(
                Tokenizer::Cl100kBase.count_memo(t)?,
                Tokenizer::Cl100kBase.count(t)?
            );
            assert_eq!(
                Tokenizer::O200kBase.count_memo(t)?,
                Tokenizer::O200kBase.count(t)?
            );
        }
        Ok(())
    }
}
