//! AUROC of the groundedness score on ../shared/data/faithfulness (faithful vs unfaithful answers),
//! per subset: `cargo run --release -p ragcore --example grounding_eval`.

use std::collections::BTreeMap;

use ragcore::guard::GroundednessChecker;

fn auroc(pos: &[f32], neg: &[f32]) -> f64 {
    // Probability that a faithful answer scores higher than an unfaithful one (ties count half).
    let mut wins = 0.0;
    for p in pos {
        for n in neg {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (pos.len() * neg.len()).max(1) as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/faithfulness/faithfulness.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("{} not found: nothing to evaluate", path.display());
        return Ok(());
    };
    let g = GroundednessChecker::default();
    let mut by: BTreeMap<String, (Vec<f32>, Vec<f32>)> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let (Some(ctx), Some(ans), Some(label), Some(subset)) = (
            v["context"].as_str(),
            v["answer"].as_str(),
            v["label"].as_str(),
            v["subset"].as_str(),
        ) else {
            continue;
        };
        let score = g.check(ans, &[ctx]).score;
        let e = by.entry(subset.to_string()).or_default();
        if label == "faithful" {
            e.0.push(score);
        } else {
            e.1.push(score);
        }
    }
    println!("| subset | faithful | unfaithful | AUROC |\n|---|---|---|---|");
    let (mut all_p, mut all_n) = (Vec::new(), Vec::new());
    for (subset, (p, n)) in &by {
        println!(
            "| {subset} | {} | {} | {:.3} |",
            p.len(),
            n.len(),
            auroc(p, n)
        );
        all_p.extend(p);
        all_n.extend(n);
    }
    println!(
        "| all | {} | {} | {:.3} |",
        all_p.len(),
        all_n.len(),
        auroc(&all_p, &all_n)
    );
    Ok(())
}
