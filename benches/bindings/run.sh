#!/usr/bin/env bash
# Binding overhead: the same retrieval-only call (`retrieve`) on the same knowledge base from
# Rust, Python and Node, all built in the same cargo profile; prints the medians and the ratios.
#   benches/bindings/run.sh            (PROFILE=release by default; PROFILE=dev is faster to build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PROFILE="${PROFILE:-release}"
N="${N:-2000}"
flag=(); [ "$PROFILE" = release ] && flag=(--release)
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
questions=("退貨要在幾天內申請？" "How long is the warranty?" "運費怎麼計算？" "Can I pay in installments?" "冷氣安裝銅管超過 4 米怎麼收費？")

cargo build -q "${flag[@]}" -p ragcore-cli -p ragcore --bins --example retrieve_loop
bin="target/$([ "$PROFILE" = release ] && echo release || echo debug)"
"$bin/ragcore" ingest examples/faq --kb "$work/kb" --tenant bench >/dev/null

venv="${RAGCORE_PY_VENV:-target/py-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q maturin==1.16.0
if [ "$PROFILE" = release ]; then
  "$venv/bin/maturin" build -q --release -m crates/ragcore-py/Cargo.toml -o "$work/wheels"
else
  "$venv/bin/maturin" build -q --profile dev -m crates/ragcore-py/Cargo.toml -o "$work/wheels"
fi
"$venv/bin/pip" install -q --force-reinstall "$work"/wheels/ragcore-*.whl
(cd crates/ragcore-node && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && node scripts/build.mjs "${flag[@]}" >/dev/null)

rust=$("$bin/examples/retrieve_loop" "$work/kb" bench "$N" "${questions[@]}")
py=$("$venv/bin/python" benches/bindings/retrieve_loop.py "$work/kb" bench "$N" "${questions[@]}")
node=$(node benches/bindings/retrieve_loop.mjs "$work/kb" bench "$N" "${questions[@]}")
echo "$rust"; echo "$py"; echo "$node"
python3 - "$rust" "$py" "$node" <<'PY'
import json, sys
r, p, n = (json.loads(a) for a in sys.argv[1:])
print(f"| caller | median µs | p95 µs | median vs Rust |\n|---|---|---|---|")
for x in (r, p, n):
    print(f"| {x['lang']} | {x['median_us']} | {x['p95_us']} | {x['median_us'] / r['median_us']:.2f}x |")
PY
