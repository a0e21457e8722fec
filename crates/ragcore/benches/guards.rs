//! Criterion benchmarks of the guard engine: the input guard set (PII + secrets + injection) on
//! a 2 KB mixed Traditional Chinese / English customer question (target <= 0.5 ms p50), each
//! detector alone, placeholder pseudonymization, and a 64 KB adversarial input.
//!
//! `cargo bench -p ragcore --bench guards`

// A benchmark that cannot set up has nothing to measure: failing loudly is the right outcome.
#![allow(clippy::panic)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ragcore::guard::{pseudonymize, InjectionDetector, PiiRedactor, SecretScanner};

fn text_2kb() -> String {
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

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("setup: {e}"),
    }
}

fn guards(c: &mut Criterion) {
    let pii = ok(PiiRedactor::new());
    let secrets = ok(SecretScanner::new());
    let inj = ok(InjectionDetector::new());
    let text = text_2kb();
    let mut g = c.benchmark_group("guards");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("input_set_2kb", |b| {
        b.iter(|| {
            let (t, s) = secrets.redact(black_box(&text));
            let score = inj.score(&t);
            let red = pii.redaction(&t);
            (s.len(), score, red.spans.len())
        })
    });
    g.bench_function("pii_2kb", |b| b.iter(|| pii.detect(black_box(&text)).len()));
    g.bench_function("secrets_2kb", |b| {
        b.iter(|| secrets.scan(black_box(&text)).len())
    });
    g.bench_function("injection_2kb", |b| b.iter(|| inj.score(black_box(&text))));
    g.bench_function("pseudonymize_2kb", |b| {
        b.iter(|| pseudonymize(&pii, &secrets, black_box(&text)).entries.len())
    });
    g.finish();

    // Adversarial: long runs built for backtracking engines and zero-width evasion.
    let mut evil = String::new();
    while evil.len() < 64 * 1024 {
        evil.push_str("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@");
        evil.push_str("1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1 ");
        evil.push_str("i\u{200B}g\u{200B}n\u{200B}o\u{200B}r\u{200B}e ［［［［<<<<");
    }
    let mut g = c.benchmark_group("guards_adversarial");
    g.throughput(Throughput::Bytes(evil.len() as u64));
    g.sample_size(20);
    g.bench_function("input_set_64kb", |b| {
        b.iter(|| {
            let (t, _) = secrets.redact(black_box(&evil));
            (inj.score(&t), pii.redaction(&t).spans.len())
        })
    });
    g.finish();
}

criterion_group!(benches, guards);
criterion_main!(benches);
