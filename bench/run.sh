#!/usr/bin/env bash
# The history benchmark at 100,000 and 1,000,000 tasks (2 attempts each), on SQLite and then on throwaway
# PostgreSQL clusters (scripts/with-postgres.sh); JSON results go to bench/results/, and the growth table
# across them is printed at the end.
#   bash bench/run.sh                             # both databases, both sizes: about 10 minutes on 2 cores
#   SIZES=1000000 bash bench/run.sh --no-admin    # one size; extra arguments go to every run
set -euo pipefail
cd "$(dirname "$0")/.."

python=.venv/bin/python
[[ -x "$python" ]] || { echo "bench: .venv is missing: run make install first." >&2; exit 1; }
mkdir -p bench/results

name() { if (($1 % 1000000 == 0)); then echo "$(($1 / 1000000))m"; else echo "$(($1 / 1000))k"; fi; }

for tasks in ${SIZES:-100000 1000000}; do
    echo "bench: SQLite, $tasks tasks (a fresh file in a temp dir, deleted afterwards)"
    env -u DATABASE_URL "$python" -m bench.history --tasks "$tasks" --output "bench/results/sqlite-$(name "$tasks").json" "$@"
    echo "bench: PostgreSQL, $tasks tasks (a throwaway cluster, stopped and deleted afterwards)"
    bash scripts/with-postgres.sh "$python" -m bench.history --tasks "$tasks" \
        --output "bench/results/postgresql-$(name "$tasks").json" "$@"
done
"$python" -m bench.history.report bench/results/*.json
