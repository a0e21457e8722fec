#!/usr/bin/env bash
# The official OpenAI clients against `ragcore serve` on 127.0.0.1: the `openai` Python package
# (pytest) and the `openai` npm package (node --test), chat and streaming.
#
# Builds target/debug/ragcore, ingests examples/faq into a temporary knowledge base, starts the
# server on an ephemeral port with one API key, runs both suites, stops the server (SIGTERM,
# graceful). Reaches PyPI and npm once to install the pinned clients.
#   RAGCORE_CLIENTS_VENV  virtual environment (default: target/clients-venv)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
cd "$root"

OPENAI_PY_VERSION=3.57.0
PYTEST_VERSION=9.2.0
VENV=${RAGCORE_CLIENTS_VENV:-target/clients-venv}
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

echo "==> build ragcore (debug)"
# Same package selection as scripts/test-all.sh, so dependency features resolve the same way.
cargo build -q --workspace --exclude ragcore-py --exclude ragcore-node --bins
bin="$root/target/debug/ragcore"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "==> knowledge base"
"$bin" ingest --kb "$work/kb" --tenant acme examples/faq >/dev/null
key="sk-clients-$(date +%s)-$$"
hash="$(printf %s "$key" | sha256sum | cut -d' ' -f1)"
cat > "$work/ragcore.toml" <<TOML
bind = "127.0.0.1:0"
kb = "kb"
models = ["ragcore"]

[[keys]]
id = "clients"
sha256 = "$hash"
tenant = "acme"
TOML

echo "==> ragcore serve"
"$bin" serve --config "$work/ragcore.toml" > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
url=""
for _ in $(seq 1 300); do
    url="$(sed -n 's/^ragcore serve: listening on \(http:[^ ]*\).*/\1/p' "$work/server.out")"
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { echo "server did not start" >&2; cat "$work/server.err" >&2; exit 1; }
export RAGCORE_SERVER_URL="$url/v1" RAGCORE_SERVER_KEY="$key"
echo "server at $url"

echo "==> openai (Python $OPENAI_PY_VERSION)"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "openai==$OPENAI_PY_VERSION" "pytest==$PYTEST_VERSION"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$here/test_openai_client.py"

echo "==> openai (npm, pinned in package-lock.json)"
(cd "$here" && npm ci --no-audit --no-fund --silent && node --test)

echo "==> graceful stop"
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
grep -q "stopped" "$work/server.err"
echo "clients OK"
