#!/usr/bin/env bash
# Builds the Node.js package of ragcore (crates/ragcore-node) and runs its tests.
#
#   scripts/test-node.sh        # from the repository root
#
# 1. installs the package's dev dependencies (`npm ci` from the committed lockfile);
# 2. builds the addon in the dev profile with a plain `cargo build -p ragcore-node`, so it reuses
#    the dependency artifacts `cargo test` leaves in the workspace ./target (`napi build` would
#    pass `--target` and rebuild everything under target/<triple>/), and regenerates index.js and
#    index.d.ts with @napi-rs/cli's generators (crates/ragcore-node/scripts/build.mjs);
# 3. runs `node --test` over crates/ragcore-node/__test__/*.test.mjs.
#
# Needs Rust (cargo, rustc), Node.js >= 20.17 and npm; nothing else.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/crates/ragcore-node"
cd "$PKG"

echo "==> npm dependencies" >&2
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

echo "==> building the addon (dev profile, shared ./target)" >&2
start=$SECONDS
node scripts/build.mjs
echo "==> built in $((SECONDS - start)) s" >&2

echo "==> node --test" >&2
shopt -s nullglob
tests=(__test__/*.test.mjs)
if ((${#tests[@]} == 0)); then
  echo "no tests found in $PKG/__test__" >&2
  exit 1
fi
node --test "${tests[@]}"
