#!/usr/bin/env bash
# Print the path of a Python 3.12+ interpreter that can create a venv, or say what to install.
#
# Order: $PYTHON (if set, it must be suitable), then python3.13, python3.12, python3.14 and python3 on
# PATH, then the newest 3.12+ that pyenv has. Every candidate is run, not guessed from its name: pyenv
# puts shims such as python3.13 on PATH that fail unless that version is selected.
set -euo pipefail

readonly INSTALL_HINT="thumbs needs Python 3.12 or newer (Django 6 requires it). Install it with your package \
manager (Debian/Ubuntu: apt install python3.12 python3.12-venv) or pyenv (pyenv install 3.13), or point \
PYTHON=/path/to/python3.12 at one."

# Prints the interpreter's real path when it is 3.12+ and has venv+ensurepip; returns 1 if too old or
# not runnable, 2 if new enough but without ensurepip (Debian ships that in python3.X-venv).
probe() {
    local out
    out=$("$1" - 2>/dev/null <<'PY'
import sys
if sys.version_info < (3, 12):
    sys.exit(1)
try:
    import ensurepip, venv  # noqa: F401
except ImportError:
    print("%d.%d" % sys.version_info[:2])
    sys.exit(2)
print(sys.executable)
PY
    ) && { printf '%s\n' "$out"; return 0; }
    local rc=$?
    if [[ $rc -eq 2 ]]; then
        no_venv+=("$1 (Python $out: install python$out-venv)")
        return 2
    fi
    return 1
}

no_venv=()

if [[ -n "${PYTHON:-}" ]]; then
    if probe "$PYTHON"; then
        exit 0
    fi
    version=$("$PYTHON" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo "not runnable")
    echo "PYTHON=$PYTHON is not a usable Python 3.12+ with venv support (it is: $version)." >&2
    [[ ${#no_venv[@]} -gt 0 ]] && echo "It lacks the venv/ensurepip module: ${no_venv[0]}." >&2
    echo "$INSTALL_HINT" >&2
    exit 1
fi

for name in python3.13 python3.12 python3.14 python3; do
    if command -v "$name" >/dev/null 2>&1 && probe "$name"; then
        exit 0
    fi
done

if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    # Plain CPython releases only (3.13.0, 3.12.1), newest first; skips envs, -dev builds, pypy and conda.
    while IFS= read -r version; do
        candidate="$root/versions/$version/bin/python"
        if [[ -x "$candidate" ]] && probe "$candidate" >/dev/null; then
            printf '%s\n' "$candidate"
            exit 0
        fi
    done < <(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])\.[0-9]+$' | sort -rV)
fi

if [[ ${#no_venv[@]} -gt 0 ]]; then
    echo "Found Python 3.12+ without the venv module: ${no_venv[*]}." >&2
fi
echo "$INSTALL_HINT" >&2
exit 1
