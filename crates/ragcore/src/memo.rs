//! A bounded, per-process memo of values derived from texts (token counts, injection scores,
//! lexical terms of passages): the same stored passages come back on ask after ask, and a value
//! computed from a text never changes, so it is computed once per process.
//!
//! Keys are a 64-bit xxh3 hash of a tag (what the value depends on besides the text: a
//! vocabulary, a segmenter, a chunk id) and the text. The map is emptied when it holds `MAX`
//! entries (a bound, not an LRU: a full map means an unusually large working set, which is then
//! computed again).

use std::collections::HashMap;
use std::sync::Mutex;

use xxhash_rust::xxh3::Xxh3;

/// Values by (tag, text), at most `MAX` of them.
pub(crate) struct TextMemo<V, const MAX: usize> {
    map: Mutex<HashMap<u64, V>>,
}

impl<V, const MAX: usize> Default for TextMemo<V, MAX> {
    fn default() -> Self {
        TextMemo {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone, const MAX: usize> TextMemo<V, MAX> {
    /// The value for `text` under `tag`, computed by `compute` the first time (an error is
    /// returned and nothing is remembered).
    pub(crate) fn get_or_try<E>(
        &self,
        tag: &str,
        text: &str,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let mut h = Xxh3::new();
        h.update(tag.as_bytes());
        h.update(&[0]);
        h.update(text.as_bytes());
        let key = h.digest();
        if let Some(v) = self.map.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(v);
        }
        let v = compute()?;
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= MAX {
                m.clear();
            }
            m.insert(key, v.clone());
        }
        Ok(v)
    }

    /// The value for `text` under `tag`, computed by `compute` the first time.
    pub(crate) fn get_or(&self, tag: &str, text: &str, compute: impl FnOnce() -> V) -> V {
        match self.get_or_try::<std::convert::Infallible>(tag, text, || Ok(compute())) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// Entries remembered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }
}
