//! Sentence boundaries for Chinese (。！？；…) and English (. ! ? followed by space) text.

/// Splits text into sentences, keeping the closing punctuation with each sentence and dropping
/// empty pieces. Line breaks also end a sentence.
pub fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end_here = match c {
            '。' | '！' | '？' | '；' | '!' | '?' | ';' | '\n' => true,
            '…' => !matches!(chars.peek(), Some((_, '…'))),
            '.' => match chars.peek() {
                None => true,
                Some((_, n)) => n.is_whitespace(),
            },
            _ => false,
        };
        if end_here {
            // Keep closing quotes and brackets with the sentence they close.
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if matches!(n, '」' | '』' | '"' | '\'' | ')' | '）' | '”' | '’') {
                    end = j + n.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            push_trimmed(&mut out, &text[start..end]);
            start = end;
        }
    }
    push_trimmed(&mut out, &text[start..]);
    out
}

fn push_trimmed<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    let t = s.trim();
    if !t.is_empty() {
        out.push(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_chinese_and_english() {
        let s =
            split_sentences("退貨需在七天內申請。請保留發票！Is it free? Yes. Version 1.5 works");
        assert_eq!(
            s,
            vec![
                "退貨需在七天內申請。",
                "請保留發票！",
                "Is it free?",
                "Yes.",
                "Version 1.5 works"
            ]
        );
    }

    #[test]
    fn keeps_closing_quotes() {
        let s = split_sentences("他說「好。」然後離開。");
        assert_eq!(s, vec!["他說「好。」", "然後離開。"]);
    }
}
