#!/usr/bin/env bash
# Python bindings: builds the `ragcore` wheel (maturin, dev profile, so it reuses the dependency
# artifacts of `cargo test`), installs it into a virtual environment, type-checks the examples
# and the package with `mypy --strict`, and runs the pytest suite of crates/ragcore-py/tests.
#
# Needs only Rust, Python >= 3.9 and pip (reaching PyPI once to install the pinned tools).
#   RAGCORE_PY_VENV   virtual environment to use or create (default: target/py-venv)
#   PYTHON            interpreter that creates it (default: python3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MATURIN_VERSION=1.16.0
PYTEST_VERSION=9.2.0
MYPY_VERSION=2.4.1
VIRTUALENV_VERSION=21.15.11  # only when the interpreter lacks the venv module / ensurepip

VENV=${RAGCORE_PY_VENV:-target/py-venv}
PYTHON=${PYTHON:-python3}
CRATE=crates/ragcore-py
WHEELS=target/wheels

# Keep caches out of the source tree.
export PYTHONDONTWRITEBYTECODE=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

echo "==> python environment ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV"; then
        echo "python -m venv failed; falling back to virtualenv" >&2
        rm -rf "$VENV"
        PIP_BREAK_SYSTEM_PACKAGES=1 "$PYTHON" -m pip install --quiet --user \
            "virtualenv==$VIRTUALENV_VERSION"
        "$PYTHON" -m virtualenv --quiet "$VENV"
    fi
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet \
    "maturin==$MATURIN_VERSION" "pytest==$PYTEST_VERSION" "mypy==$MYPY_VERSION"
"$PY" --version

echo "==> maturin build (dev profile)"
mkdir -p "$WHEELS"
rm -f "$WHEELS"/ragcore-*.whl
start=$(date +%s)
"$VENV/bin/maturin" build --profile dev \
    --manifest-path "$CRATE/Cargo.toml" \
    --interpreter "$PY" \
    --out "$WHEELS"
echo "wheel built in $(($(date +%s) - start)) s"
wheel=$(ls -t "$WHEELS"/ragcore-*.whl | head -n 1)

echo "==> pip install $wheel"
"$PY" -m pip install --quiet --force-reinstall --no-deps "$wheel"

echo "==> mypy --strict"
"$PY" -m mypy --strict --cache-dir target/mypy-cache "$CRATE/examples"
"$PY" -m mypy --strict --cache-dir target/mypy-cache -p ragcore

echo "==> pytest"
# Run from the crate's tests against the installed wheel (not the source tree).
"$PY" -m pytest -q -p no:cacheprovider --rootdir "$CRATE" "$CRATE/tests"
