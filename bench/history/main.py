"""Benchmark: the history page against its floor and Django's own admin changelist, at a million tasks.

    .venv/bin/python -m bench.history                          # SQLite file in a temp dir, 1,000,000 tasks
    scripts/with-postgres.sh .venv/bin/python -m bench.history  # the same on a throwaway PostgreSQL

It migrates the target database, bulk-fills tasks and attempts (raw executemany on SQLite, COPY on
PostgreSQL, secondary indexes built after the load), ANALYZEs, then times whole requests through Django's
WSGI handler with a logged-in superuser: middleware, session, auth, view, selector and template rendering,
and the connection handling a server gets. Beside every case it times its floor: the same request with the
selector answering from memory with the same rows (no task query). Every response must be a 200 and every
history page (and floor) must list
exactly the rows an independent reference query gives, so an error page or a wrong answer can never be
timed as a fast one. Results are printed as a table and written as JSON (bench/README.md: targets, figures).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEVELOPER_DB = ROOT / "db.sqlite3"
PAGE = 200  # the deep page reached by following cursors


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.history",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("--tasks", type=int, default=1_000_000, help="tasks to fill (default 1,000,000)")
    p.add_argument("--attempts-per-task", type=int, default=2, help="attempts per task (default 2)")
    p.add_argument("--repeat", type=int, default=20, help="timed requests per history case and floor (default 20)")
    p.add_argument("--admin-repeat", type=int, default=3, help="timed requests per admin case (default 3)")
    p.add_argument("--page", type=int, default=PAGE, help="the deep page reached by cursor (default 200)")
    p.add_argument(
        "--database-url",
        help="database to fill and measure (default: $DATABASE_URL, else a fresh SQLite file in a temp dir)",
    )
    p.add_argument("--output", type=Path, help="write the results as JSON to this file")
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the filled database after the run, and reuse it if it already holds the requested rows",
    )
    p.add_argument("--no-admin", action="store_true", help="skip the admin changelist (much faster)")
    p.add_argument("--explain", action="store_true", help="store each history query's plan in the JSON")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target is missed")
    args = p.parse_args(argv)
    if args.tasks < 1 or args.attempts_per_task < 1 or args.repeat < 1 or args.admin_repeat < 0 or args.page < 1:
        p.error("--tasks, --attempts-per-task, --repeat and --page must be at least 1, --admin-repeat at least 0")
    return args


def resolve_database(args: argparse.Namespace) -> tuple[str, Path | None]:
    """The URL to use, and the temp SQLite file this run owns (deleted unless --keep)."""
    url = args.database_url or os.environ.get("DATABASE_URL", "")
    owned = None
    if not url:
        owned = Path(tempfile.gettempdir()) / "thumbs-bench" / f"history-{args.tasks}x{args.attempts_per_task}.sqlite3"
        owned.parent.mkdir(parents=True, exist_ok=True)
        if not args.keep:
            _remove_sqlite(owned)
        url = f"sqlite:///{owned}"
    if url.startswith("sqlite:"):
        path = url.split(":///", 1)[-1] if ":///" in url else ""
        if path and Path(path).resolve() == DEVELOPER_DB.resolve():
            raise SystemExit(f"bench: refusing to fill the developer's database {DEVELOPER_DB}")
        if not path or path == ":memory:":
            raise SystemExit("bench: give SQLite a file (sqlite:////tmp/bench.sqlite3), not memory")
    return url, owned


def setup_django(database_url: str, *, log_level: str = "INFO") -> None:
    """The benchmarks' own environment (bench/pacing.py and bench/batch.py use it too): no .env is read, so
    the developer's settings never leak in."""
    os.environ.update(
        {
            "THUMBS_LOG_LEVEL": log_level,
            "THUMBS_ENV_FILE": "",
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "off",
            "DJANGO_SECRET_KEY": "bench-only-not-a-secret",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DJANGO_SECURE_SSL_REDIRECT": "off",
            "DJANGO_HSTS_SECONDS": "0",
            "ZEGO_SIMULATOR": "on",
            "DJANGO_SETTINGS_MODULE": "thumbs_admin.settings",
        }
    )
    for name in ("ZEGO_APP_ID", "ZEGO_SERVER_SECRET", "ZEGO_API_URL"):
        os.environ.pop(name, None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def write_results(path: Path | None, results: dict) -> None:
    """The benchmark's figures as JSON (bench/results/...), when asked for."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"bench: results written to {path}")


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url, owned = resolve_database(args)
    setup_django(url)
    # These modules import the models: only now that Django is set up.
    from django.db import connection

    from . import cases, fill, measure, report

    vendor = connection.vendor
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    shown = url if vendor == "sqlite" else re.sub(r"//[^@/]*@", "//***@", url)
    print(f"bench: {vendor} at {shown}; {args.tasks:,} tasks x {args.attempts_per_task} attempts", flush=True)
    try:
        admin, fill_info = fill.prepare(tasks=args.tasks, attempts_per_task=args.attempts_per_task, keep=args.keep)
        client = measure.WsgiClient(admin)
        all_cases = cases.build_cases(client, tasks=args.tasks, page=args.page)

        for case in all_cases:
            case.results["history"] = measure.check_page(client, case, explain=args.explain)
            case.results["floor"] = measure.check_floor(client, case)
        print(
            f"bench: every page answers right; timing {args.repeat} rounds of {len(all_cases)} pages and their floors"
        )
        measure.time_round_robin(client, all_cases, args.repeat)
        for case in all_cases:
            h, f = case.results["history"], case.results["floor"]
            h["selector"] = measure.time_selector(case, args.repeat)
            print(
                f"bench: history {case.name:<18} median {h['median_ms']:8.2f} ms  p95 {h['p95_ms']:8.2f}  "
                f"floor {f['median_ms']:6.2f}  selector {h['selector']['median_ms']:7.2f}  {h['queries']} queries  "
                f"{h['rows']} rows",
                flush=True,
            )
        if not args.no_admin:
            for case in all_cases:
                if case.admin_params is None:
                    continue
                case.results["admin"] = a = measure.time_admin(client, case, args.admin_repeat)
                print(
                    f"bench: admin   {case.name:<18} median {a['median_ms']:8.1f} ms  (warm-up {a['warmup_ms']:.1f})",
                    flush=True,
                )
        for case in all_cases:
            report.verdict(case.results)

        results = {
            "benchmark": "history page vs its floor and the admin changelist",
            "machine": {**report.machine_info(), "load_average_at_start": load_at_start},
            "config": {
                "tasks": args.tasks,
                "attempts_per_task": args.attempts_per_task,
                "repeat": args.repeat,
                "admin_repeat": 0 if args.no_admin else args.admin_repeat,
                "page": args.page,
                "database": shown,
                "client": "django.core.handlers.wsgi.WSGIHandler",
                **report.connection_settings(),
            },
            "fill": fill_info,
            "targets": {"floor_ratio": report.FLOOR_RATIO},
            "cases": [{"name": c.name, "label": c.label, "note": c.note, **c.results} for c in all_cases],
            "all_pass": all(c.results["pass"] for c in all_cases),
        }
        report.print_table(all_cases, vendor)
        passed = sum(c.results["pass"] for c in all_cases)
        verdict = "all targets met" if results["all_pass"] else "TARGETS MISSED"
        print(f"\nbench: {verdict} ({passed}/{len(all_cases)} cases within {report.FLOOR_RATIO}x the floor)")
        write_results(args.output, results)
        return 1 if args.strict and not results["all_pass"] else 0
    finally:
        connection.close()
        if owned and not args.keep:
            _remove_sqlite(owned)
