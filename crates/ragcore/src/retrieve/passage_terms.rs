//! Memoised lexical terms of retrieved passages for the no-answer check. The same passages come
//! back on ask after ask and their text never changes under a chunk id, so each passage is
//! segmented once per process (keyed by the segmenter and a hash of title, context and text).

use std::sync::Arc;

use crate::memo::TextMemo;
use crate::text::Segmenter;
use crate::types::Hit;

/// Distinct terms of passages already segmented, at most 16,384 passages.
#[derive(Default)]
pub(crate) struct PassageTerms {
    terms: TextMemo<Arc<[String]>, 16_384>,
}

impl PassageTerms {
    /// The terms of `title\ncontext\ntext` of `hit` as `segmenter` cuts them.
    pub(crate) fn terms(&self, segmenter: Segmenter, hit: &Hit) -> Arc<[String]> {
        let text = format!("{}\n{}\n{}", hit.title, hit.context, hit.text);
        self.terms.get_or(segmenter.as_str(), &text, || {
            let mut seen = std::collections::HashSet::new();
            segmenter
                .terms(&text)
                .into_iter()
                .map(|t| t.text)
                .filter(|t| seen.insert(t.clone()))
                .collect()
        })
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
        assert_eq!(memo.terms.len(), 2);
    }
}
