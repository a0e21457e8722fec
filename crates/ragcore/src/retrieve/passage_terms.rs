//! Memoised lexical terms of retrieved passages for the no-answer check. The same passages come
//! back on ask after ask and their text never changes under a chunk id, so each passage is
//! segmented once per process (keyed by the segmenter and a hash of title, context and text).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use xxhash_rust::xxh3::Xxh3;

use crate::text::Segmenter;
use crate::types::Hit;

/// Passages kept at most; the map is emptied when it is full (a bound, not an LRU).
const MAX_ENTRIES: usize = 16_384;

/// Distinct terms of passages already segmented.
#[derive(Default)]
pub(crate) struct PassageTerms {
    terms: Mutex<HashMap<u64, Arc<[String]>>>,
}

impl PassageTerms {
    /// The terms of `title\ncontext\ntext` of `hit` as `segmenter` cuts them.
    pub(crate) fn terms(&self, segmenter: Segmenter, hit: &Hit) -> Arc<[String]> {
        let text = format!("{}\n{}\n{}", hit.title, hit.context, hit.text);
        let mut h = Xxh3::new();
        h.update(segmenter.as_str().as_bytes());
        h.update(&[0]);
        h.update(text.as_bytes());
        let key = h.digest();
        if let Some(t) = self.terms.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return t;
        }
        let mut seen = std::collections::HashSet::new();
        let terms: Arc<[String]> = segmenter
            .terms(&text)
            .into_iter()
            .map(|t| t.text)
            .filter(|t| seen.insert(t.clone()))
            .collect();
        if let Ok(mut m) = self.terms.lock() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(key, terms.clone());
        }
        terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::DocumentKind;

    fn hit(text: &str) -> Hit {
        Hit {
            chunk_id: "c1".into(),
            document_id: "d1".into(),
            title: "Returns".into(),
            context: String::new(),
            text: text.into(),
            kind: DocumentKind::Text,
            score: 1.0,
            vector_score: None,
            lexical_score: None,
            valid_until: None,
        }
    }

    #[test]
    fn memoised_terms_equal_fresh_segmentation() {
        let memo = PassageTerms::default();
        for text in [
            "Returns are accepted within 7 days.",
            "退貨政策：七天內可退貨。",
        ] {
            let h = hit(text);
            let fresh: std::collections::HashSet<String> = Segmenter::default()
                .terms(&format!("{}\n{}\n{}", h.title, h.context, h.text))
                .into_iter()
                .map(|t| t.text)
                .collect();
            for _ in 0..2 {
                let got: std::collections::HashSet<String> = memo
                    .terms(Segmenter::default(), &h)
                    .iter()
                    .cloned()
                    .collect();
                assert_eq!(got, fresh);
            }
        }
        assert_eq!(memo.terms.lock().unwrap().len(), 2);
    }
}
