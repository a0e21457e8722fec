//! Text handling shared by every stage: normalisation, sentence splitting and lexical terms for
//! English and Chinese.

mod segment;
mod sentences;
mod tokens;

pub use segment::{Segmenter, Term, TermKind};
pub use sentences::split_sentences;
pub use tokens::Tokenizer;

/// Normalises text for matching: full-width ASCII to half-width, lower case, zero-width characters
/// removed. Used for lexical terms and hashing features, never for what the user sees.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' => continue,
            _ => c,
        };
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    out
}

/// Folds full-width digits (０-９) to ASCII and removes zero-width characters, leaving everything
/// else as it is (used before pattern matching so `０９１２` is seen as `0912`).
pub fn normalize_digits(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !matches!(
                c,
                '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
            )
        })
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// True for Han ideographs and the other CJK scripts that are written without spaces.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F
        | 0x3040..=0x30FF | 0x31F0..=0x31FF)
}

/// True for characters that make up Latin-script words and numbers.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_full_width_and_zero_width() {
        assert_eq!(normalize("ＡＢＣ０９１２\u{200B}x"), "abc0912x");
        assert_eq!(normalize("退貨　政策"), "退貨 政策");
    }
}
