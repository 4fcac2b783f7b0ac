#!/usr/bin/env bash
# Run the test suite: scripts/test.sh [PYTEST ARGS...]   (make test ARGS="-k history")
# Sets up .venv, makes sure Debian's Chromium is there for the browser tests (installing it when it can;
# the browser tests must never be skipped silently), then runs pytest. The test settings come from
# pyproject.toml (pytest-env): no .env is read. DATABASE_URL, if set, picks the database
# (scripts/with-postgres.sh sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

make --no-print-directory install

readonly CHROMIUM=/usr/bin/chromium
if [[ ! -x "$CHROMIUM" ]]; then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "test: the browser tests need Chromium at $CHROMIUM, and this user cannot install it." >&2
            echo "Install it (Debian/Ubuntu): sudo apt-get update && sudo apt-get install -y chromium" >&2
            exit 1
        fi
    fi
    echo "test: installing Chromium for the browser tests (apt-get install chromium)"
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo[@]}" apt-get update -q || ! "${sudo[@]}" apt-get install -y -q chromium; then
        echo "test: installing Chromium failed; the browser tests need it at $CHROMIUM." >&2
        exit 1
    fi
    if [[ ! -x "$CHROMIUM" ]]; then
        echo "test: apt-get installed chromium but $CHROMIUM is still missing." >&2
        exit 1
    fi
fi

echo "test: .venv/bin/python -m pytest $*${DATABASE_URL:+ (DATABASE_URL=$DATABASE_URL)}"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
    echo "test: pytest collected no tests: that is a failure (check the tests/ folder and any -k/-m/path arguments)." >&2
fi
exit "$rc"
