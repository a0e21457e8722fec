"""Turns the JSON lines of benches/peers/run.sh into the Markdown tables of docs/benchmarks.md."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
by = lambda bench: [r for r in rows if r["bench"] == bench]


def first(bench, prefix):
    return next(r for r in by(bench) if r["side"].startswith(prefix))


q = by("query")
if q:
    rust, pyr = first("query", "ragcore (Rust)"), first("query", "ragcore (Python)")
    print("| per query (excluding model calls) | p50 µs | p95 µs | peer p50 / ragcore-Rust ask p50 | peer p50 / ragcore-Python ask p50 |")
    print("|---|---|---|---|---|")
    for r in q:
        if r["side"].startswith("ragcore"):
            print(f"| {r['side']} `ask` (guards, retrieve, no-answer, prompt, extractive answer, event log) | {r['ask_p50_us']} | {r['ask_p95_us']} | | |")
            print(f"| {r['side']} `retrieve` (embed, vector + BM25, fusion) | {r['retrieve_p50_us']} | {r['retrieve_p95_us']} | | |")
        else:
            print(f"| {r['side']}, {r['chunks']} chunks | {r['p50_us']} | {r['p95_us']} | {r['p50_us'] / rust['ask_p50_us']:.1f}x | {r['p50_us'] / pyr['ask_p50_us']:.1f}x |")
    print()
i = by("ingest")
if i:
    rust = first("ingest", "ragcore (Rust)")
    print("| ingestion (load, chunk, count tokens, embed, index) | chunks | seconds (median) | MB/s | ragcore-Rust MB/s / this |")
    print("|---|---|---|---|---|")
    for r in i:
        print(f"| {r['side']} | {r['chunks']} | {r['median_s']} | {r['mb_per_s']} | {rust['mb_per_s'] / r['mb_per_s']:.1f}x |")
    print()
t = by("tokens")
if t:
    rust = first("tokens", "ragcore")
    print("| token counting, cl100k_base | texts | tokens | seconds (median) | MB/s | ragcore / this |")
    print("|---|---|---|---|---|---|")
    for r in t:
        print(f"| {r['side']} | {r['texts']} | {r['tokens']} | {r['median_s']} | {r['mb_per_s']} | {rust['mb_per_s'] / r['mb_per_s']:.2f}x |")
    print()
g = by("guards")
if g:
    rust = first("guards", "ragcore")
    print("| PII scan of the 2 KB text | findings | p50 µs | p95 µs | this p50 / ragcore p50 |")
    print("|---|---|---|---|---|")
    for r in g:
        print(f"| {r['side']} | {r['findings']} | {r['p50_us']} | {r['p95_us']} | {r['p50_us'] / rust['p50_us']:.1f}x |")
    print()
e = by("embed")
if e:
    print("| embedding, endpoint latency 50 ms | concurrency × batch | texts | achieved texts/s | bound texts/s | achieved / bound | max in flight |")
    print("|---|---|---|---|---|---|---|")
    for r in e:
        print(f"| {r['what']} | {r['concurrency']} × {r['batch']} | {r['texts']} | {r['achieved_per_s']} | {r['bound_per_s']} | {r['ratio'] * 100:.1f}% | {r['max_in_flight']} |")
