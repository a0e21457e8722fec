#!/usr/bin/env bash
# Load test of `ragcore serve` on loopback: throughput and p50/p95/p99 latency of POST /v1/ask on
# the offline default (sample FAQ, hashing embedder, extractive answerer) at 1, 16 and 64
# concurrent connections, each run bounded in time. Not part of CI; results go in docs/server.md.
#   PROFILE=release|dev (default release)   DURATION=15s   THREADS=2   SKIP_BUILD=1 (use the built binary)
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PROFILE=${PROFILE:-release}
DURATION=${DURATION:-15s}
THREADS=${THREADS:-2}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }

[ -n "${SKIP_BUILD:-}" ] || cargo build -q --profile "$PROFILE" -p ragcore-cli
dir=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
bin="target/$dir/ragcore"
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
"$bin" ingest --kb "$work/kb" --tenant acme examples/faq >/dev/null
export RAGCORE_BENCH_KEY="sk-bench-$$"
hash="$(printf %s "$RAGCORE_BENCH_KEY" | sha256sum | cut -d' ' -f1)"
cat > "$work/ragcore.toml" <<TOML
bind = "127.0.0.1:0"
kb = "kb"
[[keys]]
id = "bench"
sha256 = "$hash"
tenant = "acme"
requests_per_minute = 0
TOML
"$bin" serve --config "$work/ragcore.toml" > "$work/out" 2> "$work/err" &
pid=$!
url=""
for _ in $(seq 1 300); do
    url="$(sed -n 's/^ragcore serve: listening on \(http:[^ ]*\).*/\1/p' "$work/out")"
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { cat "$work/err" >&2; exit 1; }
echo "| connections | requests/s | p50 ms | p95 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|"
for c in 1 16 64; do
    t=$THREADS; [ "$c" -lt "$t" ] && t=$c
    line=$(wrk -t"$t" -c"$c" -d"$DURATION" --latency -s benches/server/ask.lua "$url" | grep '^RESULT')
    eval "$(echo "$line" | sed 's/^RESULT //')"
    echo "| $c | $rps | $p50_ms | $p95_ms | $p99_ms | $errors |"
done
