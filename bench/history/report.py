"""The verdict, the printed table and the JSON; run as a module, the growth table across result files:

.venv/bin/python -m bench.history.report bench/results/*.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import psycopg
from django import get_version
from django.db import connection

# Every case's median page within this factor of its floor's: the same request, with the selector answering
# from memory with the same rows (middleware, session, auth, form and template all run; no task query).
# A ratio, because on shared cores absolute times vary by half from run to run.
FLOOR_RATIO = 1.5


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": get_version(),
        "sqlite": sqlite3.sqlite_version,
        "database": connection.vendor,
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
        info["psycopg"] = psycopg.__version__
    return info


def connection_settings() -> dict:
    db = connection.settings_dict
    return {
        "conn_max_age": db.get("CONN_MAX_AGE"),
        "conn_health_checks": db.get("CONN_HEALTH_CHECKS"),
        "pool": bool(db.get("OPTIONS", {}).get("pool")),
    }


def verdict(case_results: dict) -> None:
    h, f, a = case_results["history"], case_results["floor"], case_results.get("admin")
    case_results["floor_ratio"] = round(h["median_ms"] / f["median_ms"], 2)
    case_results["pass"] = case_results["floor_ratio"] <= FLOOR_RATIO
    if a:
        case_results["ratio"] = round(a["median_ms"] / h["median_ms"], 1)  # the admin's median over the page's


def print_table(cases: list, vendor: str, out: TextIO = sys.stdout) -> None:
    print(
        f"\n{vendor}: whole requests through Django's WSGI handler, median and p95 (ms); floor = the same request\n"
        "with the selector answering from memory (same rows); sel. = the selector alone; sql = the page's time in\n"
        "database calls (median); q = SQL queries a page",
        file=out,
    )
    head = (
        f"{'case':<34} {'median':>7} {'p95':>7} {'floor':>7} {'x floor':>7} {'sel.':>6} {'sql':>6} {'q':>2}  "
        f"{'admin':>7} {'admin/page':>10}  result"
    )
    print(head, file=out)
    print("-" * len(head), file=out)
    for case in cases:
        r, h, a = case.results, case.results["history"], case.results.get("admin")
        admin = f"{a['median_ms']:>7.0f} {r['ratio']:>9.0f}x" if a else f"{'-':>7} {'-':>10}"
        print(
            f"{case.label:<34} {h['median_ms']:>7.2f} {h['p95_ms']:>7.2f} {r['floor']['median_ms']:>7.2f} "
            f"{r['floor_ratio']:>7.2f} {h['selector']['median_ms']:>6.2f} {h['sql_median_ms']:>6.2f} "
            f"{h['queries']:>2}  {admin}  {'PASS' if r['pass'] else 'FAIL'}",
            file=out,
        )
    for case in cases:
        if case.note:
            print(f"  {case.name}: {case.note}", file=out)


# --- The growth table: the same cases at several sizes, from result files ---------------------------------
def _size(tasks: int) -> str:
    return f"{tasks // 1_000_000}M" if tasks >= 1_000_000 else f"{tasks // 1000}k"


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def growth_table(reports: list[dict]) -> str:
    """Markdown, one table per database and one column group per table size: each case's median page,
    its floor, the ratio of the two, the admin's median and the admin's ratio to the page."""
    out = []
    by_db: dict[str, list[dict]] = {}
    for report in reports:
        by_db.setdefault(report["machine"]["database"], []).append(report)
    for database, runs in by_db.items():
        runs.sort(key=lambda r: r["config"]["tasks"])
        sizes = [_size(r["config"]["tasks"]) for r in runs]
        columns = ("page", "floor", "x floor", "admin", "admin/page")
        out.append(f"\n{database} (ms, medians)\n")
        out.append("| case | " + " | ".join(f"{s} {c}" for s in sizes for c in columns) + " |")
        out.append("|---|" + "---:|" * (len(columns) * len(sizes)))
        for name in [c["name"] for c in runs[-1]["cases"]]:
            cells, label = [], name
            for run in runs:
                case = next((c for c in run["cases"] if c["name"] == name), None)
                if case is None:
                    cells += ["-"] * len(columns)
                    continue
                label = "Deep page by cursor" if case["label"].startswith("Page ") else case["label"]
                admin = case.get("admin")
                cells += [
                    _ms(case["history"]["median_ms"]),
                    _ms(case["floor"]["median_ms"]),
                    f"{case['floor_ratio']:.2f}" + ("" if case["pass"] else " **missed**"),
                    _ms(admin["median_ms"]) if admin else "-",
                    f"{case['ratio']:,.0f}x" if admin else "-",
                ]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The history benchmark's growth table from result files.")
    parser.add_argument("files", nargs="+", type=Path, help="JSON written by python -m bench.history --output")
    args = parser.parse_args(argv)
    print(growth_table([json.loads(path.read_text()) for path in args.files]), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
