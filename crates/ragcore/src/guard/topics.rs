//! Banned topics: a question or an answer that mentions one of a topic's terms fires the
//! `banned_topic` guard (what happens then is the tenant's policy). Matching runs on the
//! injection normalisation of both sides (lower case, full-width folded, zero-width characters
//! removed, common Traditional characters mapped to Simplified), so `ＤＩＡＧＮＯＳＩＳ` and
//! `處方`/`处方` written either way match; ASCII terms must stand as whole words.

use super::injection::normalize_for_injection;
use super::policy::BannedTopic;

/// The names of the topics `text` touches, in list order.
pub fn banned_topics_in<'a>(text: &str, topics: &'a [BannedTopic]) -> Vec<&'a str> {
    if topics.is_empty() {
        return Vec::new();
    }
    let norm = normalize_for_injection(text);
    topics
        .iter()
        .filter(|t| t.terms.iter().any(|term| mentions(&norm, term)))
        .map(|t| t.name.as_str())
        .collect()
}

fn mentions(norm: &str, term: &str) -> bool {
    let term = normalize_for_injection(term.trim());
    if term.is_empty() {
        return false;
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let ascii_edges = (
        term.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric()),
        term.chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric()),
    );
    let mut from = 0;
    while let Some(i) = norm.get(from..).and_then(|s| s.find(&term)) {
        let start = from + i;
        let end = start + term.len();
        let before = norm[..start].chars().next_back();
        let after = norm[end..].chars().next();
        let glued = (ascii_edges.0 && word(before)) || (ascii_edges.1 && word(after));
        if !glued {
            return true;
        }
        from = start + term.chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_and_folded_chinese() {
        let topics = vec![
            BannedTopic {
                name: "medical".into(),
                terms: vec!["diagnosis".into(), "處方".into()],
            },
            BannedTopic {
                name: "rivals".into(),
                terms: vec!["globex".into()],
            },
        ];
        assert_eq!(
            banned_topics_in("Need a ＤＩＡＧＮＯＳＩＳ now", &topics),
            ["medical"]
        );
        assert_eq!(banned_topics_in("幫我开处方", &topics), ["medical"]);
        assert_eq!(banned_topics_in("Is Globex cheaper?", &topics), ["rivals"]);
        assert!(banned_topics_in("globexcorp and prognosis", &topics).is_empty());
    }
}
