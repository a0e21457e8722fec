//! ragcore's token counts (bpe-openai) are tiktoken's: the same ids and counts as tiktoken-rs
//! (`encode_ordinary`) on tricky fixed strings and on thousands of generated mixed zh/en texts
//! with every whitespace and punctuation shape the pre-tokenizer regex distinguishes.

use ragcore::text::Tokenizer;

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

const FRAGMENTS: &[&str] = &[
    "hello",
    "Hello",
    "HELLO",
    "world",
    "don't",
    "it's",
    "we're",
    "I'll",
    "they've",
    "I'd",
    "I'm",
    "'S",
    "退貨",
    "政策",
    "請問",
    "保固",
    "臺北市",
    "的",
    "。",
    "，",
    "？",
    "！",
    "「",
    "」",
    "（",
    "）",
    "０９１２",
    "１２３",
    "12",
    "1234567",
    "3.14",
    "-42",
    "$9.99",
    "100%",
    "a",
    "x",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    " \n",
    "\r\n",
    " \t ",
    "\u{3000}",
    "\u{200B}",
    ".",
    ",",
    "...",
    "!?",
    "--",
    "/",
    "://",
    "#",
    "##",
    "**",
    "`code`",
    "```",
    "<|endoftext|>",
    "<|im_start|>",
    "😀",
    "👍🏽",
    "é",
    "naïve",
    "Ünïcödé",
    "ß",
    "İ",
    "ﬁ",
    "x200",
    "iPhone",
    "COVID-19",
    "e-mail",
    "user@example.com",
    "https://example.com/a?b=c",
    "中文English混合",
    "日本語",
    "ひらがな",
    "カタカナ",
    "한국어",
    "Ελληνικά",
    "русский",
    "العربية",
    "हिन्दी",
];

fn tiktoken(t: Tokenizer) -> R<tiktoken_rs::CoreBPE> {
    let bpe = match t {
        Tokenizer::Cl100kBase => tiktoken_rs::cl100k_base(),
        Tokenizer::O200kBase => tiktoken_rs::o200k_base(),
    };
    bpe.map_err(|e| format!("tiktoken-rs {}: {e}", t.as_str()).into())
}

fn check(t: Tokenizer, reference: &tiktoken_rs::CoreBPE, text: &str) -> R {
    let want = reference.encode_ordinary(text);
    let got = t.encode(text)?;
    assert_eq!(got, want, "{}: ids differ for {text:?}", t.as_str());
    let n = t.count(text)?;
    assert_eq!(n, want.len(), "{}: count differs for {text:?}", t.as_str());
    Ok(())
}

/// A deterministic generator (64-bit LCG), so a failure names a reproducible text.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

#[test]
fn counts_and_ids_equal_tiktoken_on_fixed_texts() -> R {
    for t in [Tokenizer::Cl100kBase, Tokenizer::O200kBase] {
        let reference = tiktoken(t)?;
        check(t, &reference, "")?;
        for f in FRAGMENTS {
            check(t, &reference, f)?;
        }
        for text in [
            "退貨政策是什麼？我們提供30天內免費退貨。",
            "  leading and trailing spaces  ",
            "line one\n\n\nline two   \n   indented",
            "trailing whitespace only at the end \n",
            "tabs\tbetween\t\twords",
            "数字１２３４５和12345与1,234,567.89",
            "COVID-19 vaccines (mRNA-1273) were 94.1% effective.",
            "<|endoftext|> is plain text here, not a special token",
        ] {
            check(t, &reference, text)?;
        }
    }
    Ok(())
}

#[test]
fn counts_and_ids_equal_tiktoken_on_generated_texts() -> R {
    for t in [Tokenizer::Cl100kBase, Tokenizer::O200kBase] {
        let reference = tiktoken(t)?;
        let mut rng = Lcg(0x5eed ^ t.as_str().len() as u64);
        for _ in 0..3000 {
            let len = 1 + rng.next() % 40;
            let mut text = String::new();
            for _ in 0..len {
                text.push_str(FRAGMENTS[rng.next() % FRAGMENTS.len()]);
                if rng.next() % 3 == 0 {
                    text.push(' ');
                }
            }
            check(t, &reference, &text)?;
        }
        // Long runs without spaces (a Chinese paragraph is one pre-tokenizer piece per run).
        let long: String = "臺灣大學是一所綜合大學位於臺北市大安區".repeat(40);
        check(t, &reference, &long)?;
        check(t, &reference, &"a".repeat(5000))?;
        check(t, &reference, &" ".repeat(300))?;
    }
    Ok(())
}
