//! Evaluates the guardrail detectors: `cargo run --release -p ragcore --example guard_eval`.
//!
//! * PII: precision and recall per entity type on `../shared/data/pii/pii.jsonl`.
//! * Prompt injection: TPR per attack subset at the threshold where FPR <= 5% on the benign rows,
//!   and FPR / TPR per subset at the default threshold, on `../shared/data/injection/injection.jsonl`.
//! * Speed: median microseconds of the input guard set (PII + secrets + injection) on a 2 KB mixed
//!   Chinese/English text.
//!
//! The data directory is `$RAGCORE_DATA_DIR`, else `../shared/data` (from the working directory
//! or from the workspace root). Missing files are skipped with a message. Pass `--verbose` to
//! print the misses.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ragcore::guard::{InjectionDetector, PiiKind, PiiRedactor, SecretScanner};
use serde_json::Value;

type R<T> = Result<T, Box<dyn Error>>;

fn data_dir() -> PathBuf {
    if let Ok(d) = std::env::var("RAGCORE_DATA_DIR") {
        return PathBuf::from(d);
    }
    let cwd = PathBuf::from("../shared/data");
    if cwd.exists() {
        return cwd;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn read_jsonl(path: &Path) -> R<Option<Vec<Value>>> {
    if !path.exists() {
        println!("skipped: {} not found", path.display());
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)?;
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        rows.push(serde_json::from_str(line)?);
    }
    Ok(Some(rows))
}

/// The detector kind a dataset label is scored as (`None`: not covered by this detector).
fn kind_of(label: &str) -> Option<PiiKind> {
    use PiiKind::*;
    Some(match label {
        "EMAIL_ADDRESS" => Email,
        "PHONE_NUMBER" | "TR_PHONE_NUMBER" | "PH_MOBILE_NUMBER" | "TW_MOBILE_PHONE" => Phone,
        "CREDIT_CARD" => CreditCard,
        "IBAN_CODE" => Iban,
        "IP_ADDRESS" => IpAddress,
        "MAC_ADDRESS" => MacAddress,
        "CRYPTO" => CryptoWallet,
        "TW_NATIONAL_ID" => TwNationalId,
        "TW_RESIDENT_CERTIFICATE" => TwResidentCertificate,
        "US_SSN" => UsSsn,
        "US_ITIN" => UsItin,
        "US_NPI" => UsNpi,
        "ABA_ROUTING_NUMBER" => UsBankRouting,
        "CA_SIN" => CaSin,
        "UK_NHS" => UkNhs,
        "UK_NINO" => UkNino,
        "AU_ABN" => AuAbn,
        "IN_AADHAAR" => InAadhaar,
        "IN_PAN" => InPan,
        "FI_PERSONAL_IDENTITY_CODE" => FiPersonalId,
        "SE_PERSONNUMMER" => SePersonnummer,
        "PL_PESEL" => PlPesel,
        "TR_NATIONAL_ID" => TrNationalId,
        "KR_RRN" | "KR_FRN" => KrRegistration,
        "TH_TNIN" => ThNationalId,
        "ZA_ID_NUMBER" => ZaId,
        "ES_NIF" => EsNif,
        "ES_NIE" => EsNie,
        "SG_NRIC_FIN" => SgNric,
        _ => return None,
    })
}

#[derive(Default, Clone, Copy)]
struct Prf {
    tp_pred: usize,
    pred: usize,
    tp_gold: usize,
    gold: usize,
}

impl Prf {
    fn p(&self) -> f64 {
        if self.pred == 0 {
            f64::NAN
        } else {
            self.tp_pred as f64 / self.pred as f64
        }
    }
    fn r(&self) -> f64 {
        if self.gold == 0 {
            f64::NAN
        } else {
            self.tp_gold as f64 / self.gold as f64
        }
    }
    fn add(&mut self, o: Prf) {
        self.tp_pred += o.tp_pred;
        self.pred += o.pred;
        self.tp_gold += o.tp_gold;
        self.gold += o.gold;
    }
}

/// Byte offset of a character offset.
fn byte_at(text: &str, ch: usize) -> usize {
    text.char_indices().nth(ch).map_or(text.len(), |(b, _)| b)
}

fn eval_pii(dir: &Path, verbose: bool) -> R<()> {
    let Some(rows) = read_jsonl(&dir.join("pii/pii.jsonl"))? else {
        return Ok(());
    };
    let pii = PiiRedactor::new()?;
    let mut stats: BTreeMap<PiiKind, Prf> = BTreeMap::new();
    let mut uncovered: BTreeMap<String, usize> = BTreeMap::new();
    for row in &rows {
        let text = row["text"].as_str().unwrap_or("");
        let subset = row["subset"].as_str().unwrap_or("");
        let tested = row["tested_type"].as_str();
        let expected_count = row["expected_count"].as_u64().unwrap_or(0) as usize;
        let mut gold: Vec<(PiiKind, usize, usize)> = Vec::new();
        for e in row["entities"].as_array().into_iter().flatten() {
            let label = e["type"].as_str().unwrap_or("");
            let (s, t) = (
                e["start"].as_u64().unwrap_or(0),
                e["end"].as_u64().unwrap_or(0),
            );
            match kind_of(label) {
                Some(k) => gold.push((k, byte_at(text, s as usize), byte_at(text, t as usize))),
                None => *uncovered.entry(label.to_string()).or_default() += 1,
            }
        }
        let n_entities = row["entities"].as_array().map_or(0, Vec::len);
        let count_only =
            n_entities == 0 && row["should_detect"].as_bool() == Some(true) && expected_count > 0;
        if count_only && tested.and_then(kind_of).is_none() {
            *uncovered
                .entry(tested.unwrap_or("?").to_string())
                .or_default() += expected_count;
        }
        // Unit-test rows annotate only the tested type: other predictions are not scored there.
        let scored_kind: Option<PiiKind> = if subset == "presidio_research_synth" {
            None
        } else {
            match tested.and_then(kind_of) {
                Some(k) => Some(k),
                None => continue,
            }
        };
        let preds: Vec<_> = pii
            .detect(text)
            .into_iter()
            .filter(|p| scored_kind.is_none_or(|k| p.kind == k))
            .collect();
        let count_only =
            gold.is_empty() && row["should_detect"].as_bool() == Some(true) && expected_count > 0;
        let mut row_stats: BTreeMap<PiiKind, Prf> = BTreeMap::new();
        if count_only {
            if let Some(k) = scored_kind {
                let n = preds.len();
                let tp = n.min(expected_count);
                let st = row_stats.entry(k).or_default();
                st.add(Prf {
                    tp_pred: tp,
                    pred: n,
                    tp_gold: tp,
                    gold: expected_count,
                });
            }
        } else {
            let mut used = vec![false; gold.len()];
            for p in &preds {
                let st = row_stats.entry(p.kind).or_default();
                st.pred += 1;
                let hit = gold
                    .iter()
                    .enumerate()
                    .position(|(i, g)| !used[i] && g.0 == p.kind && p.start < g.2 && g.1 < p.end);
                if let Some(i) = hit {
                    used[i] = true;
                    st.tp_pred += 1;
                }
            }
            for (i, g) in gold.iter().enumerate() {
                let st = row_stats.entry(g.0).or_default();
                st.gold += 1;
                if used[i] {
                    st.tp_gold += 1;
                }
            }
        }
        for (k, st) in &row_stats {
            stats.entry(*k).or_default().add(*st);
            let miss = st.tp_gold < st.gold || st.tp_pred < st.pred;
            if verbose && miss {
                let found: Vec<String> = preds
                    .iter()
                    .map(|p| format!("{}:{:?}", p.kind.label(), &text[p.start..p.end]))
                    .collect();
                println!("  miss {} [{subset}] {:?} found {found:?}", k.label(), text);
            }
        }
    }
    // Taiwan IDs scored as one class: a national/resident mix-up still counts.
    let mut tw_one = Prf::default();
    for row in rows.iter().filter(|r| r["subset"] == "taiwan_validators") {
        let tested = row["tested_type"].as_str().unwrap_or("");
        if !tested.starts_with("TW_") || tested == "TW_MOBILE_PHONE" {
            continue;
        }
        let text = row["text"].as_str().unwrap_or("");
        let n_gold = row["entities"].as_array().map_or(0, Vec::len);
        let n_pred = pii
            .detect(text)
            .iter()
            .filter(|p| {
                matches!(
                    p.kind,
                    PiiKind::TwNationalId | PiiKind::TwResidentCertificate
                )
            })
            .count();
        let tp = n_pred.min(n_gold);
        tw_one.add(Prf {
            tp_pred: tp,
            pred: n_pred,
            tp_gold: tp,
            gold: n_gold,
        });
    }
    println!("\n== PII ({} rows) ==", rows.len());
    println!(
        "Matching: a predicted span is correct when it overlaps (>= 1 char) an unmatched gold span"
    );
    println!("of the same type; each gold span matches once. Unit-test rows (presidio_tests,");
    println!(
        "taiwan_validators) annotate only their tested type, so only predictions of that type are"
    );
    println!("scored there; synthetic sentences are scored for every type. Count-only rows compare counts.");
    println!(
        "{:<16} {:>6} {:>6} {:>7} {:>7}",
        "type", "gold", "pred", "P", "R"
    );
    let mut all = Prf::default();
    for (k, st) in &stats {
        println!(
            "{:<16} {:>6} {:>6} {:>7.3} {:>7.3}",
            k.label(),
            st.gold,
            st.pred,
            st.p(),
            st.r()
        );
        all.add(*st);
    }
    println!(
        "{:<16} {:>6} {:>6} {:>7.3} {:>7.3}",
        "TW_ID (either)",
        tw_one.gold,
        tw_one.pred,
        tw_one.p(),
        tw_one.r()
    );
    println!(
        "{:<16} {:>6} {:>6} {:>7.3} {:>7.3}",
        "micro (covered)",
        all.gold,
        all.pred,
        all.p(),
        all.r()
    );
    let unc: Vec<String> = uncovered.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("not covered (gold spans): {}", unc.join(", "));
    Ok(())
}

fn eval_injection(dir: &Path, verbose: bool) -> R<()> {
    let Some(rows) = read_jsonl(&dir.join("injection/injection.jsonl"))? else {
        return Ok(());
    };
    let det = InjectionDetector::new()?;
    let scored: Vec<(String, i64, f32, &str)> = rows
        .iter()
        .map(|r| {
            let text = r["text"].as_str().unwrap_or("");
            (
                r["subset"].as_str().unwrap_or("?").to_string(),
                r["label"].as_i64().unwrap_or(0),
                det.score(text),
                text,
            )
        })
        .collect();
    let mut benign: Vec<f32> = scored.iter().filter(|r| r.1 == 0).map(|r| r.2).collect();
    benign.sort_by(|a, b| b.total_cmp(a));
    // Lowest threshold with FPR <= 5%: just above the score of the first benign row over budget.
    let allowed = benign.len() * 5 / 100;
    let t5 = match benign.get(allowed) {
        Some(&s) => s + 1e-6,
        None => 0.0,
    };
    let fpr_at =
        |t: f32| benign.iter().filter(|&&s| s >= t).count() as f64 / benign.len().max(1) as f64;
    println!(
        "\n== Prompt injection ({} rows: {} benign) ==",
        rows.len(),
        benign.len()
    );
    let shown = |t: f32| {
        if t <= 1e-5 {
            "any match (score > 0)".to_string()
        } else {
            format!("{t:.3}")
        }
    };
    println!(
        "threshold at FPR <= 5%: {} (benign FPR {:.3}); default threshold {:.2} (benign FPR {:.3})",
        shown(t5),
        fpr_at(t5),
        det.threshold(),
        fpr_at(det.threshold())
    );
    let mut subsets: BTreeMap<(i64, String), Vec<f32>> = BTreeMap::new();
    for (s, l, score, _) in &scored {
        subsets.entry((*l, s.clone())).or_default().push(*score);
    }
    println!(
        "{:<32} {:>5} {:>5} {:>14} {:>16}",
        "subset", "label", "n", "TPR@FPR<=5%", "rate@default"
    );
    let mut pos_all = (0usize, 0usize, 0usize);
    for ((label, subset), scores) in &subsets {
        let n = scores.len();
        let at_t5 = scores.iter().filter(|&&s| s >= t5).count();
        let at_def = scores.iter().filter(|&&s| s >= det.threshold()).count();
        if *label == 1 {
            pos_all = (pos_all.0 + n, pos_all.1 + at_t5, pos_all.2 + at_def);
            println!(
                "{subset:<32} {label:>5} {n:>5} {:>14.3} {:>12.3} TPR",
                at_t5 as f64 / n as f64,
                at_def as f64 / n as f64
            );
        } else {
            println!(
                "{subset:<32} {label:>5} {n:>5} {:>14} {:>12.3} FPR",
                "-",
                at_def as f64 / n as f64
            );
        }
    }
    println!(
        "{:<32} {:>5} {:>5} {:>14.3} {:>12.3} TPR",
        "all attacks",
        1,
        pos_all.0,
        pos_all.1 as f64 / pos_all.0.max(1) as f64,
        pos_all.2 as f64 / pos_all.0.max(1) as f64
    );
    // Document mode (how retrieved chunks are scanned): the bare BIPIA instructions are meant to
    // sit inside e-mails and web pages. Benign prompts scored as documents give a pessimistic FPR.
    let doc: Vec<(&str, i64, f32)> = scored
        .iter()
        .map(|(s, l, _, t)| (s.as_str(), *l, det.score_document(t)))
        .collect();
    let mut doc_benign: Vec<f32> = doc.iter().filter(|r| r.1 == 0).map(|r| r.2).collect();
    doc_benign.sort_by(|a, b| b.total_cmp(a));
    let d5 = doc_benign.get(allowed).map_or(0.0, |&s| s + 1e-6);
    let doc_fpr = |t: f32| {
        doc_benign.iter().filter(|&&s| s >= t).count() as f64 / doc_benign.len().max(1) as f64
    };
    println!(
        "document mode (score_document): threshold at FPR <= 5%: {}; benign FPR at {:.2}: {:.3}",
        shown(d5),
        det.threshold(),
        doc_fpr(det.threshold())
    );
    for subset in ["bipia_code_attack", "bipia_text_attack", "cyberseceval_en"] {
        let rows: Vec<f32> = doc.iter().filter(|r| r.0 == subset).map(|r| r.2).collect();
        let rate =
            |t: f32| rows.iter().filter(|&&s| s >= t).count() as f64 / rows.len().max(1) as f64;
        println!(
            "  {subset:<30} TPR@FPR<=5% {:.3}, TPR at {:.2}: {:.3}",
            rate(d5),
            det.threshold(),
            rate(det.threshold())
        );
    }
    if verbose {
        for (s, l, score, text) in &scored {
            let wrong = (*l == 1) != (*score >= det.threshold());
            if wrong {
                let short: String = text.chars().take(160).collect();
                println!(
                    "  {} {s} {l} {score:.2} {short:?}",
                    if *l == 1 { "FN" } else { "FP" }
                );
            }
        }
    }
    Ok(())
}

/// Detections on ordinary documents (Wikipedia zh-TW and en, a COVID FAQ): nearly all are false
/// alarms, so this shows how the detectors behave on clean retrieval chunks.
fn eval_clean_text(dir: &Path, verbose: bool) -> R<()> {
    let pii = PiiRedactor::new()?;
    let secrets = SecretScanner::new()?;
    let inj = InjectionDetector::new()?;
    println!("\n== Ordinary documents (expected: nothing found) ==");
    for name in [
        "drcd/corpus.jsonl",
        "xquad_en/corpus.jsonl",
        "covidqa_faq/corpus.jsonl",
    ] {
        let Some(rows) = read_jsonl(&dir.join(name))? else {
            continue;
        };
        let (mut bytes, mut flagged, mut n_secrets) = (0usize, 0usize, 0usize);
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for row in &rows {
            let text = row["text"].as_str().unwrap_or("");
            bytes += text.len();
            for sp in pii.detect(text) {
                *kinds.entry(sp.kind.label()).or_default() += 1;
                if verbose {
                    println!("  pii {} {:?}", sp.kind.label(), &text[sp.start..sp.end]);
                }
            }
            n_secrets += secrets.scan(text).len();
            let score = inj.score_document(text);
            if score >= inj.threshold() {
                flagged += 1;
                if verbose {
                    let short: String = text.chars().take(160).collect();
                    let cats = inj.analyze_document(text).categories.join(",");
                    println!("  injection {score:.2} [{cats}] {short:?}");
                }
            }
        }
        let k: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!(
            "{name:<26} {:>5} docs {:>7} KB: PII spans [{}], secrets {n_secrets}, injection flagged {flagged}",
            rows.len(),
            bytes / 1024,
            k.join(", ")
        );
    }
    Ok(())
}

fn bench_text() -> String {
    let parts = [
        "您好，我上週在官網訂購了 Clearsky X200 空氣清淨機（訂單編號 20241105-3381），",
        "到貨後發現濾網卡榫斷裂，想申請退貨或換貨。請問退貨要在幾天內申請？需要保留原廠包裝嗎？",
        "My email is amy.chen@example.com.tw and my phone is 0912-345-678. ",
        "I also tried calling the hotline (02) 2345-6789 twice but nobody answered. ",
        "如果需要驗證身分，我的會員帳號綁定的是同一支手機。運費是由誰負擔？",
        "Could you also tell me whether the warranty covers the motor for two years, ",
        "and if I can get a refund to the original credit card instead of store credit? ",
        "另外想確認延長保固方案的價格，以及是否可以到門市直接更換。謝謝！",
        "The unit was bought for our office in Taipei; the invoice lists our company address. ",
        "請幫我查詢目前的處理進度，並告訴我下一步要準備哪些文件。",
    ];
    let mut text = String::new();
    while text.len() < 2048 {
        for p in parts {
            if text.len() >= 2048 {
                break;
            }
            text.push_str(p);
        }
    }
    text
}

fn bench() -> R<()> {
    let pii = PiiRedactor::new()?;
    let secrets = SecretScanner::new()?;
    let inj = InjectionDetector::new()?;
    let text = bench_text();
    let runs = 2000;
    let time = |f: &dyn Fn() -> usize| {
        for _ in 0..100 {
            std::hint::black_box(f());
        }
        let mut us: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        us.sort_by(f64::total_cmp);
        (
            us[us.len() / 2],
            us[us.len() * 9 / 10],
            us[us.len() * 99 / 100],
        )
    };
    let all = time(&|| {
        let red = pii.redaction(&text);
        let (t, s) = secrets.redact(&red.text);
        red.spans.len() + s.len() + usize::from(inj.score(&t) > 0.5)
    });
    let p = time(&|| pii.detect(&text).len());
    let s = time(&|| secrets.scan(&text).len());
    let i = time(&|| usize::from(inj.score(&text) > 0.5));
    println!(
        "\n== Speed: {} bytes of mixed zh/en, {runs} runs (median / p90 / p99 µs) ==",
        text.len()
    );
    let mut huge = String::with_capacity(1 << 20);
    while huge.len() < 1 << 20 {
        huge.push_str(&text);
    }
    let t = Instant::now();
    let n = pii.detect(&huge).len() + secrets.scan(&huge).len();
    let score = inj.score(&huge);
    println!(
        "1 MB input (the same text repeated): {:.1} ms for PII + secrets + injection ({n} spans, score {score:.2})",
        t.elapsed().as_secs_f64() * 1e3
    );
    for (name, (a, b, c)) in [
        ("input guard set", all),
        ("  pii", p),
        ("  secrets", s),
        ("  injection", i),
    ] {
        println!("{name:<18} {a:>8.1} {b:>8.1} {c:>8.1}");
    }
    Ok(())
}

fn main() -> R<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--score") {
        // Debugging aid: `guard_eval --score TEXT` prints what each detector finds in TEXT.
        let text = args[1..].join(" ");
        let r = InjectionDetector::new()?.analyze(&text);
        println!("injection {:.3} {:?}", r.score, r.categories);
        for s in PiiRedactor::new()?.detect(&text) {
            println!(
                "pii {} {:.2} {:?}",
                s.kind.label(),
                s.score,
                &text[s.start..s.end]
            );
        }
        for s in SecretScanner::new()?.scan(&text) {
            println!("secret {}", s.kind.label());
        }
        return Ok(());
    }
    let verbose = args.iter().any(|a| a == "--verbose");
    let dir = data_dir();
    println!("data: {}", dir.display());
    eval_pii(&dir, verbose)?;
    eval_injection(&dir, verbose)?;
    eval_clean_text(&dir, verbose)?;
    bench()
}
