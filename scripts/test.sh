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
# Debian packages the tests need: Chromium for the browser tests, GNU gettext (msgfmt, xgettext, msgcmp) for
# the translation catalogue's tests. Installed when missing; those tests never skip.
packages=()
[[ -x "$CHROMIUM" ]] || packages+=(chromium)
command -v msgfmt >/dev/null 2>&1 && command -v xgettext >/dev/null 2>&1 && command -v msgcmp >/dev/null 2>&1 \
    || packages+=(gettext)
if [[ ${#packages[@]} -gt 0 ]]; then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "test: the tests need ${packages[*]} (Chromium at $CHROMIUM, GNU gettext's msgfmt), and this user cannot install them." >&2
            echo "Install them (Debian/Ubuntu): sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
            exit 1
        fi
    fi
    echo "test: installing ${packages[*]} for the tests (apt-get install)"
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo[@]}" apt-get update -q || ! "${sudo[@]}" apt-get install -y -q "${packages[@]}"; then
        echo "test: installing ${packages[*]} failed; the tests need them." >&2
        exit 1
    fi
    if [[ ! -x "$CHROMIUM" ]] || ! command -v msgfmt >/dev/null 2>&1; then
        echo "test: apt-get installed ${packages[*]} but $CHROMIUM or msgfmt is still missing." >&2
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
