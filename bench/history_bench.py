"""History import and standards reports (issue 18.5).

* import: a simulated contact-centre transcript imported with the house rules (findings,
  flags, promises) into SQLite and PostgreSQL, in a child process: events/s and peak RSS;
* import memory: the same import of a small and a ten times larger transcript (repeated real
  calls): peak RSS of each (flat memory means the same figure);
* report: a month of synthetic calls (with per-rule results) written straight to the store,
  the rollups built, then the month's standards report (by day and queue, and by agent) timed.

PostgreSQL: ``RINGWATCH_BENCH_PG_URL``, else a throwaway cluster (tests/pg_fixture.py) when the
Debian server binaries are there, else that row is left out.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "results" / "cache"
MONTH_START = 1767225600.0  # 2026-01-01T00:00Z

_IMPORT = """
import json, sys, time
from monitor.config import build_config
from monitor.history.wiring import build_importer
from monitor.rules import load_rules
from monitor.store.store import Store
url, rules, files = sys.argv[1], sys.argv[2], sys.argv[3:]
cfg = build_config({"site": {"country": "GB"}, "store": {"url": url}})
store = Store.open(url)
t0 = time.perf_counter()
stats = build_importer(cfg, store, load_rules(rules) if rules != "-" else None).run(files)
wall = time.perf_counter() - t0
peak = [int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM')][0]
print(json.dumps({"events": stats.events, "calls": stats.calls_new, "seconds": wall,
                  "findings": stats.findings, "promises": stats.promise_changes,
                  "peak_rss_mib": peak / 1024}))
"""


def _transcript(hours: float) -> Path:
    from monitor.simulator import ContactCentre, default_config, write_transcript

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"history-{hours:g}h.ami"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as out:
            write_transcript(ContactCentre(default_config(), seed=5), hours * 3600.0, out)
        tmp.rename(path)
    return path


def _child_import(url: str, files: list[Path], rules: bool = True) -> dict[str, Any]:
    args = [sys.executable, "-c", _IMPORT, url, str(ROOT / "rules") if rules else "-"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [*args, *map(str, files)], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@contextmanager
def postgres() -> Iterator[Any]:
    """A PostgreSQL URL factory (a fresh database each call), or None."""
    url = os.environ.get("RINGWATCH_BENCH_PG_URL")
    if url:
        yield lambda: url
        return
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import pg_fixture

        cluster = pg_fixture.start_cluster()
    except Exception as exc:  # noqa: BLE001 - no server here: the row is left out
        print(f"bench: no PostgreSQL ({exc}); its rows are left out", file=sys.stderr)
        yield None
        return
    try:
        yield lambda: cluster.url(cluster.create_db())
    finally:
        cluster.stop()


def run_import(hours: float, repeats: int, with_pg: bool = True) -> dict[str, Any]:
    path = _transcript(hours)
    out: dict[str, Any] = {"hours": hours, "bytes": path.stat().st_size}
    with tempfile.TemporaryDirectory() as tmp:
        runs = [_child_import(str(Path(tmp) / f"s{i}.sqlite"), [path]) for i in range(repeats)]
    out["sqlite"] = _summary(runs)
    if with_pg:
        with postgres() as pg:
            if pg is not None:
                out["postgresql"] = _summary([_child_import(pg(), [path]) for _ in range(repeats)])
    return out


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["events"] / r["seconds"] for r in runs]
    return {
        "events": runs[0]["events"],
        "calls": runs[0]["calls"],
        "findings": runs[0]["findings"],
        "promises": runs[0]["promises"],
        "events_per_s": {
            "median": statistics.median(rates),
            "min": min(rates),
            "max": max(rates),
            "values": rates,
        },
        "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
    }


def run_import_memory(small_mib: int, factor: int = 10) -> dict[str, Any]:
    """Peak RSS of importing N MiB and factor x N MiB of repeated real calls (no rules)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from history_testkit import repeated_transcript

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, mib in (("small", small_mib), ("large", small_mib * factor)):
            path = Path(tmp) / f"{label}.ami"
            repeated_transcript(path, mib << 20)
            r = _child_import(str(Path(tmp) / f"{label}.sqlite"), [path], rules=False)
            out[label] = {
                "mib": mib,
                "events": r["events"],
                "peak_rss_mib": r["peak_rss_mib"],
                "events_per_s": r["events"] / r["seconds"],
            }
            path.unlink()
    return out


def _synthetic_month(url: str, calls: int, seed: int = 1) -> float:
    """Write ``calls`` calls spread over 30 days (4 queues, 40 agents) with 3 rule results
    each, in batches; returns the seconds it took."""
    from sqlalchemy import insert

    from monitor.store.history_schema import call_checks, ensure_history_schema
    from monitor.store.schema import calls as calls_t
    from monitor.store.store import Store

    store = Store.open(url)
    ensure_history_schema(store.engine)
    rnd = random.Random(seed)
    queues = ["sales", "support", "billing", "retention"]
    outcomes = ["answered"] * 85 + ["abandoned"] * 10 + ["voicemail"] * 3 + ["unanswered"] * 2
    t0 = time.perf_counter()
    batch, checks = [], []
    for i in range(calls):
        start = MONTH_START + rnd.random() * 30 * 86400
        outcome = rnd.choice(outcomes)
        answered = outcome == "answered"
        wait = rnd.expovariate(1 / 25)
        batch.append(
            {
                "call_id": f"bench-{i}",
                "pbx": "main",
                "direction": "inbound",
                "caller": f"0770090{i % 10000:04d}",
                "caller_name": None,
                "dialed": "100",
                "queue": queues[i % 4],
                "agent": f"agent{i % 40}" if answered else None,
                "started_at": start,
                "answered_at": start + wait if answered else None,
                "ended_at": start + wait + 180,
                "outcome": outcome,
                "ring_seconds": wait + 3 if answered else None,
                "rings": None,
                "queue_wait_seconds": wait,
                "talk_seconds": 180.0 if answered else None,
                "hold_seconds": 0.0,
                "hold_count": 0,
                "longest_hold_seconds": 0.0,
                "transfers": 0,
                "hangup_cause": 16,
                "timing": "exact",
                "recording": None,
                "extra": {},
                "stored_at": 2e9 + i,
            }
        )
        for rule in ("answer-within-three-rings", "hold-check-back-60s", "no-ring-no-answer"):
            checks.append({"call_id": f"bench-{i}", "rule": rule, "met": rnd.random() < 0.9})
        if len(batch) == 5000 or i == calls - 1:
            with store.engine.begin() as conn:
                conn.execute(insert(calls_t), batch)
                conn.execute(insert(call_checks), checks)
            batch, checks = [], []
    seconds = time.perf_counter() - t0
    store.close()
    return seconds


def _time_reports(url: str, repeats: int) -> dict[str, Any]:
    from monitor.reports.query import ReportRequest, build_report
    from monitor.reports.rollup import refresh_rollups
    from monitor.rules import load_rules
    from monitor.store.store import Store

    store = Store.open(url)
    rules = load_rules(ROOT / "rules")
    t0 = time.perf_counter()
    buckets = refresh_rollups(store.engine)
    rollup_s = time.perf_counter() - t0
    out: dict[str, Any] = {"rollup_build_seconds": rollup_s, "buckets": buckets}
    for name, breakdown in (("month_by_day_and_queue", "queue"), ("month_by_agent", "agent")):
        req = ReportRequest(MONTH_START, MONTH_START + 31 * 86400, "day", breakdown, "UTC")
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            report = build_report(store.engine, req, rules)
            times.append(time.perf_counter() - t)
        offered = sum(r["figures"]["offered"] for r in report["totals"])
        out[name] = {
            "median": statistics.median(times),
            "min": min(times),
            "max": max(times),
            "values": times,
            "offered": offered,
        }
    store.close()
    return out


def run_report(calls: int, repeats: int, pg_calls: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"calls": calls}
    with tempfile.TemporaryDirectory() as tmp:
        url = str(Path(tmp) / "month.sqlite")
        out["sqlite_write_seconds"] = _synthetic_month(url, calls)
        out["sqlite"] = _time_reports(url, repeats)
    if pg_calls:
        with postgres() as pg:
            if pg is not None:
                url = pg()
                out["pg_calls"] = pg_calls
                out["postgresql_write_seconds"] = _synthetic_month(url, pg_calls)
                out["postgresql"] = _time_reports(url, repeats)
    return out
