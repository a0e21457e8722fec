//! Prints the lexical terms of a text (debugging aid): `cargo run --example terms -- TEXT`.
fn main() {
    let text = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    for seg in [ragcore::Segmenter::Jieba, ragcore::Segmenter::Bigram] {
        let t: Vec<String> = seg
            .terms(&text)
            .into_iter()
            .map(|t| {
                format!(
                    "{}{}{}",
                    t.text,
                    if t.stop { "(stop)" } else { "" },
                    if t.entity { "(ent)" } else { "" }
                )
            })
            .collect();
        println!("{}: {}", seg.as_str(), t.join(" | "));
    }
}
