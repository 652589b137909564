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

import gzip
import json
import os
import re
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
importer = build_importer(cfg, store, load_rules(rules) if rules != "-" else None)
t1 = time.perf_counter()  # the rules read and the importer built (schema, ledger): once a run
stats = importer.run(files)
wall = time.perf_counter() - t1
peak = [int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM')][0]
from monitor.native import compiled_modules, pure_python_requested
w = stats.writer_memory_kib
print(json.dumps({"events": stats.events, "calls": stats.calls_new, "seconds": wall,
                  "setup_seconds": t1 - t0,
                  "findings": stats.findings, "promises": stats.promise_changes,
                  "peak_rss_mib": peak / 1024, "writer_process": stats.writer_process,
                  "writer_peak_rss_mib": w.get("hwm", 0) / 1024,
                  "writer_private_mib": w.get("private", 0) / 1024,
                  "total_mib": (peak + w.get("private", 0)) / 1024,
                  "compiled": bool(compiled_modules()) and not pure_python_requested()}))
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
        "setup_seconds": statistics.median(r["setup_seconds"] for r in runs),
        "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
        "total_mib": statistics.median(r["total_mib"] for r in runs),
        "writer_process": runs[0]["writer_process"],
        "compiled": runs[0].get("compiled", False),
    }


_EPOCH = re.compile(rb"(17\d{8})\.")


def parse_size(text: str) -> int:
    """``2.6G``, ``300M``, ``64K`` or bytes -> bytes."""
    t = text.strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def big_transcript(size: int, base_hours: float = 12.0) -> Path:
    """A gzip transcript of about ``size`` uncompressed bytes (whole messages): the
    simulator's ``base_hours`` run repeated, each copy later by the run's span plus an hour,
    every epoch in it (timestamps, Uniqueid, Linkedid) shifted, so each copy's calls are new
    calls. Cached."""
    path = CACHE / f"history-big-{base_hours:g}h-{size}.ami.gz"
    if path.exists():
        return path
    base = _transcript(base_hours).read_bytes()
    span = int(base_hours * 3600) + 3600
    tmp = path.with_suffix(".tmp")
    written, k = 0, 0
    with gzip.open(tmp, "wb", compresslevel=1) as out:
        while written < size:
            shift = k * span

            def bump(m: re.Match[bytes], shift: int = shift) -> bytes:
                return str(int(m.group(1)) + shift).encode() + b"."

            block = _EPOCH.sub(bump, base) if k else base
            last = written + len(block) > size
            if last:  # the last copy: up to its last whole message
                room = size - written
                ends = [block.rfind(b"\r\n\r\n", 0, room) + 4, block.rfind(b"\n\n", 0, room) + 2]
                block = block[: max([e for e in ends if e > 3] or [0])]
            out.write(block)
            written += len(block)
            k += 1
            if last:
                break
    tmp.rename(path)
    return path


def run_import_memory(size: int, factor: int = 10, with_pg: bool = True) -> dict[str, Any]:
    """Peak RSS of importing (with the house rules: findings, flags, promises) a gzip
    transcript of ``size`` bytes and of one ``factor`` times smaller (flat memory: the same
    figure), into SQLite; then the large one into PostgreSQL when a server is there (a file
    past 2 GiB: offsets past 32 bits, and the server's plans as its tables grow)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, n in (("small", size // factor), ("large", size)):
            path = big_transcript(n)
            url = str(Path(tmp) / f"{label}.sqlite")
            out[label] = _memory_row(n, path, _child_import(url, [path]))
    if with_pg:
        with postgres() as pg:
            if pg is not None:
                path = big_transcript(size)
                out["large_postgresql"] = _memory_row(size, path, _child_import(pg(), [path]))
    return out


def _memory_row(n: int, path: Path, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "bytes": n,
        "gz_bytes": path.stat().st_size,
        "mib": n / (1 << 20),
        "events": r["events"],
        "calls": r["calls"],
        "seconds": r["seconds"],
        "peak_rss_mib": r["peak_rss_mib"],
        "writer_peak_rss_mib": r["writer_peak_rss_mib"],
        "writer_private_mib": r["writer_private_mib"],
        "total_mib": r["total_mib"],
        "events_per_s": r["events"] / r["seconds"],
    }


_RULES3 = ("answer-within-three-rings", "hold-check-back-60s", "no-ring-no-answer")


def _call_sql(dialect: str) -> str:
    """INSERT ... SELECT of synthetic calls :lo <= i < :hi (deterministic, both dialects):
    30 days, 4 queues, 40 agents, 85 % answered, 10 % abandoned, 3 % voicemail."""
    if dialect == "postgresql":
        src = "FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint) - 1) AS s(i)"
        pre, txt, extra = "", "CAST(i AS text)", "CAST('{}' AS json)"
    else:
        pre = "WITH RECURSIVE s(i) AS (SELECT :lo UNION ALL SELECT i + 1 FROM s WHERE i < :hi - 1) "
        src, txt, extra = "FROM s", "CAST(i AS text)", "'{}'"
    o = "((i * 37) % 100)"
    outcome = (
        f"CASE WHEN {o} < 85 THEN 'answered' WHEN {o} < 95 THEN 'abandoned' "
        f"WHEN {o} < 98 THEN 'voicemail' ELSE 'unanswered' END"
    )
    st = f"({MONTH_START} + ((i * 2654435761) % 2592000) + (i % 7) * 0.125)"
    wait = "(((i * 13) % 60) + 0.5)"
    ans = f"{o} < 85"
    cols = (
        "call_id, pbx, direction, caller, caller_name, dialed, queue, agent, started_at, "
        "answered_at, ended_at, outcome, ring_seconds, rings, queue_wait_seconds, talk_seconds, "
        "hold_seconds, hold_count, longest_hold_seconds, transfers, hangup_cause, timing, "
        "recording, extra, stored_at"
    )
    sel = (
        f"'bench-' || {txt}, 'main', 'inbound', '0770090' || CAST(i % 10000 AS text), NULL, "
        "'100', CASE i % 4 WHEN 0 THEN 'sales' WHEN 1 THEN 'support' WHEN 2 THEN 'billing' "
        f"ELSE 'retention' END, CASE WHEN {ans} THEN 'agent' || CAST((i / 4) % 40 AS text) "
        f"END, {st}, CASE WHEN {ans} THEN {st} + {wait} END, {st} + {wait} + 180, {outcome}, "
        f"CASE WHEN {ans} THEN {wait} + 3 END, NULL, {wait}, CASE WHEN {ans} THEN 180.0 END, "
        f"0.0, 0, 0.0, 0, 16, 'exact', NULL, {extra}, 2000000000.0 + i"
    )
    return f"INSERT INTO calls ({cols}) {pre}SELECT {sel} {src}"


def _checks_sql(dialect: str) -> str:
    met = "((i * 7 + k) % 10) <> 0"
    rules = " UNION ALL ".join(f"SELECT {k} AS k, '{r}' AS rule" for k, r in enumerate(_RULES3))
    if dialect == "postgresql":
        src = "generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint) - 1) AS s(i)"
        return (
            f"INSERT INTO call_checks (call_id, rule, met) SELECT 'bench-' || CAST(i AS text), "
            f"r.rule, {met} FROM {src} CROSS JOIN ({rules}) AS r"
        )
    pre = "WITH RECURSIVE s(i) AS (SELECT :lo UNION ALL SELECT i + 1 FROM s WHERE i < :hi - 1) "
    return (
        f"INSERT INTO call_checks (call_id, rule, met) {pre}SELECT 'bench-' || CAST(i AS text), "
        f"r.rule, {met} FROM s CROSS JOIN ({rules}) AS r"
    )


def _synthetic_month(url: str, calls: int, chunk: int = 1_000_000) -> float:
    """Write ``calls`` synthetic calls over 30 days with 3 rule results each, in SQL (no
    Python per row): returns the seconds it took."""
    from sqlalchemy import text

    from monitor.store.history_schema import ensure_history_schema
    from monitor.store.store import Store

    store = Store.open(url)
    ensure_history_schema(store.engine)
    dialect = store.engine.dialect.name
    call_sql, checks_sql = text(_call_sql(dialect)), text(_checks_sql(dialect))
    t0 = time.perf_counter()
    for lo in range(0, calls, chunk):
        bounds = {"lo": lo, "hi": min(lo + chunk, calls)}
        with store.engine.begin() as conn:
            conn.execute(call_sql, bounds)
            conn.execute(checks_sql, bounds)
    if dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
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
    buckets = refresh_rollups(store.engine, agent_day_zone="UTC")  # (+ the daily per agent)
    rollup_s = time.perf_counter() - t0
    out: dict[str, Any] = {"rollup_build_seconds": rollup_s, "buckets": buckets}
    for name, breakdown, daily in (
        ("month_by_day_and_queue", "queue", True),
        ("month_by_agent", "agent", True),  # the daily per-agent rollups
        ("month_by_agent_15m", "agent", False),  # the 15-minute ones, for comparison
    ):
        req = ReportRequest(MONTH_START, MONTH_START + 31 * 86400, "day", breakdown, "UTC")
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            report = build_report(store.engine, req, rules, daily=daily)
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
