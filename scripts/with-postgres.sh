#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster:
#   scripts/with-postgres.sh make test
# Starts a fresh cluster in a temporary directory on 127.0.0.1 and a free port, creates database
# "thumbs", exports DATABASE_URL=postgres://postgres@127.0.0.1:PORT/thumbs, runs the command, then
# always stops the cluster and removes the directory (on success, failure or interrupt), and exits with
# the command's exit code.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$pg_bin" || ! -x "$pg_bin/initdb" || ! -x "$pg_bin/pg_ctl" ]]; then
    echo "with-postgres: PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin." >&2
    echo "Install them: apt-get install postgresql (Debian/Ubuntu)." >&2
    exit 1
fi

# initdb refuses to run as root: as root, the cluster runs as the postgres user.
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
    if ! id -u postgres >/dev/null 2>&1; then
        echo "with-postgres: running as root needs a 'postgres' user to own the cluster (the postgresql package creates it)." >&2
        exit 1
    fi
    as_owner=(runuser -u postgres --)
fi

python=python3
[[ -x .venv/bin/python ]] && python=.venv/bin/python
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

dir=$(mktemp -d "${TMPDIR:-/tmp}/thumbs-pg.XXXXXX")
if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$dir"
fi
started=false
child=
signal=

# Waits up to $1 seconds for the command to end; true if it did.
child_ended_within() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        kill -0 "$child" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
        # After Ctrl-C the command got SIGINT from the terminal too: give it time to finish cleanly.
        if [[ "$signal" != INT ]] || ! child_ended_within 10; then
            kill -TERM "$child" 2>/dev/null || true
            child_ended_within 10 || kill -KILL "$child" 2>/dev/null || true
        fi
        wait "$child" 2>/dev/null || true
    fi
    if $started; then
        "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    exit "$rc"
}
trap cleanup EXIT
trap 'signal=INT; exit 130' INT
trap 'signal=TERM; exit 143' TERM

echo "with-postgres: starting PostgreSQL $(basename "$(dirname "$pg_bin")") on 127.0.0.1:$port ($dir)"
if ! "${as_owner[@]}" "$pg_bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1; then
    echo "with-postgres: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 1
fi
started=true
if ! "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null; then
    echo "with-postgres: PostgreSQL did not start; its log:" >&2
    cat "$dir/server.log" >&2 || true
    exit 1
fi
"$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres thumbs

export DATABASE_URL="postgres://postgres@127.0.0.1:$port/thumbs"
echo "with-postgres: DATABASE_URL=$DATABASE_URL; running: $*"

# The command runs in the background so that a TERM or INT sent to this script is handled at once
# (bash defers traps while a foreground command runs); `trap - INT` gives it back Ctrl-C, which
# background jobs otherwise ignore, and stdin stays connected.
set +e
( trap - INT; exec "$@" ) <&0 &
child=$!
wait "$child"
rc=$?
set -e
child=
exit "$rc"
