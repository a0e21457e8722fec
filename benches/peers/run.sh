#!/usr/bin/env bash
# Peer benchmarks (issue #9): ragcore against LangChain / LlamaIndex (per-query overhead and
# ingestion), presidio-analyzer (PII scan), Python tiktoken (token counts), and the embedding
# throughput bound. Prints one Markdown table per comparison; the raw JSON lines are kept in
# $RESULTS (default target/peers/results.jsonl).
#   benches/peers/run.sh          (N=2000 queries per side; RUNS=3 ingests per side)
# Needs: ../shared/data (xquad_en, covidqa_faq, drcd), PyPI for the peer venv on first run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
N="${N:-2000}"
RUNS="${RUNS:-3}"
DATA="${RAGCORE_DATA_DIR:-$(cd .. && pwd)/shared/data}"
venv="${PEERS_VENV:-/opt/ragcore-peers-venv}"
out="target/peers"; mkdir -p "$out"
RESULTS="${RESULTS:-$out/results.jsonl}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
here=benches/peers

# 1. Peers from PyPI, pinned.
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r "$here/requirements.txt"
py="$venv/bin/python"

# 2. tiktoken offline: its cache file is named by the sha1 of the blob URL; the BPE file is the
#    one tiktoken-rs embeds (same vocabulary on both sides).
bpe="$(ls ~/.cargo/registry/src/*/tiktoken-rs-*/assets/cl100k_base.tiktoken | head -n 1)"
export TIKTOKEN_CACHE_DIR="$out/tiktoken"; mkdir -p "$TIKTOKEN_CACHE_DIR"
cp "$bpe" "$TIKTOKEN_CACHE_DIR/$(printf %s https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken | sha1sum | cut -d' ' -f1)"

# 3. ragcore: release examples and the release wheel in the peer venv.
cargo build -q --release -p ragcore --example peer_bench --example embed_throughput
bench=target/release/examples/peer_bench
"$venv/bin/maturin" build -q --release -m crates/ragcore-py/Cargo.toml -o "$work/wheels"
"$venv/bin/pip" install -q --force-reinstall --no-deps "$work"/wheels/ragcore-*.whl

# 4. The corpus (381 Markdown files, 1.5 MB: xquad_en + covidqa_faq + DRCD) and 300 questions.
"$py" "$here/make_corpus.py" "$DATA" "$work" >/dev/null
corpus="$work/corpus"
: > "$RESULTS"
emit() { tee -a "$RESULTS"; }

# 5. Ingestion: load + chunk (256 tokens, 32 overlap) + count tokens + embed + index.
"$bench" ingest "$corpus" "$work" "$RUNS" | sed 's/^{/{"bench":"ingest",/' | emit
PYTHONPATH="$here" "$py" "$here/ragcore_py.py" ingest "$corpus" "$work" "$RUNS" | sed 's/^{/{"bench":"ingest",/' | emit
PYTHONPATH="$here" "$py" "$here/ingest_peers.py" record "$corpus" "$work" 2>/dev/null >/dev/null
for side in LangChain LlamaIndex; do
  "$bench" embed passage "$work/$side-texts.json" "$work/$side-vectors.json" >/dev/null
done
PYTHONPATH="$here" "$py" "$here/ingest_peers.py" time "$corpus" "$work" "$RUNS" 2>/dev/null | sed 's/^{/{"bench":"ingest",/' | emit

# 6. Per-query overhead on the knowledge base step 5 built (same chunks, same vectors).
kb="$work/rust-ingest-$((RUNS - 1))"
"$bench" embed query "$work/questions.json" "$work/qvecs.json" >/dev/null
"$bench" ask "$kb" bench "$N" "$work/questions.json" | sed 's/^{/{"bench":"query",/' | emit
PYTHONPATH="$here" "$py" "$here/ragcore_py.py" query "$kb" "$work/questions.json" "$N" | sed 's/^{/{"bench":"query",/' | emit
PYTHONPATH="$here" "$py" "$here/query_peers.py" "$kb" "$work/questions.json" "$work/qvecs.json" "$N" 2>/dev/null | sed 's/^{/{"bench":"query",/' | emit

# 7. Token counting: every paragraph of the three corpora, cl100k_base.
"$bench" tokens "$work/texts.json" 5 | sed 's/^{/{"bench":"tokens",/' | emit
"$py" "$here/tiktoken_peer.py" "$work/texts.json" 5 | sed 's/^{/{"bench":"tokens",/' | emit

# 8. PII + secrets on the 2 KB mixed zh/en text of the guard benchmark.
"$bench" guards "$here/guard_text_2kb.txt" 2000 | sed 's/^{/{"bench":"guards",/' | emit
"$py" "$here/presidio_peer.py" "$here/guard_text_2kb.txt" 300 2>/dev/null | sed 's/^{/{"bench":"guards",/' | emit

# 9. Embedding throughput against a local endpoint answering after 50 ms.
target/release/examples/embed_throughput 50 | sed 's/^{/{"bench":"embed",/' | emit

python3 "$here/report.py" "$RESULTS"
