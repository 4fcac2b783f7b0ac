#!/usr/bin/env bash
# The history benchmark at full scale (1,000,000 tasks, 2,000,000 attempts), on SQLite and then on a
# throwaway PostgreSQL cluster (scripts/with-postgres.sh); JSON results go to bench/results/.
#   bash bench/run.sh                 # both databases, about 10 to 15 minutes on 2 cores
#   bash bench/run.sh --tasks 100000  # extra arguments go to bench/history.py (both runs)
set -euo pipefail
cd "$(dirname "$0")/.."

python=.venv/bin/python
[[ -x "$python" ]] || { echo "bench: .venv is missing: run make install first." >&2; exit 1; }
mkdir -p bench/results

echo "bench: SQLite (a fresh file in a temp dir, deleted afterwards)"
env -u DATABASE_URL "$python" bench/history.py --output bench/results/sqlite-1m.json "$@"

echo "bench: PostgreSQL (a throwaway cluster, stopped and deleted afterwards)"
bash scripts/with-postgres.sh "$python" bench/history.py --output bench/results/postgresql-1m.json "$@"
