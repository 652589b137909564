"""Run every benchmark, print the table, write bench/results/*.json and docs/benchmarks.md.

python -m bench.run [--quick] [--size 2.6G]   # --quick: tiny inputs, for a smoke run;
                                              # --size: the import memory transcript
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    audio_bench,
    faults,
    history_bench,
    ingest_bench,
    live_bench,
    parse_bench,
    scrape_bench,
)
from bench.common import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"

Row = tuple[str, str, str, str]


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.2f}"


def _mm(s: dict[str, Any], unit: str = "") -> str:
    return f"{_fmt(s['median'])}{unit} ({_fmt(s['min'])}–{_fmt(s['max'])})"


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"


def rows(r: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    if p := r.get("parse"):
        eps = p["events_per_s"]
        for name, s in eps.items():
            ratio = "" if name == "ringwatch" else f"ringwatch ×{p['ratio_vs'][name]:.2f}"
            goal = {"asterisk-ami": "≥ 2×", "panoramisk": "≥ 4×"}.get(name, "")
            out.append((f"AMI parse: {name}", _mm(s, "/s"), ratio, goal))
    if i := r.get("ingest"):
        out.append(
            (
                f"End-to-end ingest ({i['events']:,} events)",
                _mm(i["events_per_s"], "/s"),
                f"CPU time {i['cpu_events_per_s']['median']:,.0f}/s; "
                f"peak RSS {i['peak_rss_mib']['median']:,.0f} MiB; "
                f"{'compiled' if i.get('compiled') else 'NOT compiled'}, pure Python "
                f"{i.get('pure_python_events_per_s', 0):,.0f}/s",
                "≥ 100k/s",
            )
        )
    if m := r.get("memory"):
        out.append(
            (
                f"Memory per active call ({m['held']:,} calls), tracker",
                _mm(m["bytes_per_call_tracker"], " B"),
                f"whole pipeline {_fmt(m['bytes_per_call_pipeline']['median'])} B",
                "≤ 2 KiB",
            )
        )
    if lv := r.get("live"):
        out.append(
            (
                f"Live lag at {lv['rate_target']:,.0f} ev/s, p99",
                _mm(lv["p99_ms"], " ms"),
                f"p50 {lv['p50_ms']['median']:.2f} ms, max {lv['max_ms']['median']:.2f} ms",
                "< 20 ms",
            )
        )
    if h := r.get("history_import"):
        for backend in ("sqlite", "postgresql"):
            if b := h.get(backend):
                out.append(
                    (
                        f"History import into {backend} ({b['events']:,} events, {h['hours']:g} h)",
                        _mm(b["events_per_s"], "/s"),
                        f"{b['calls']:,} calls, {b['findings']:,} findings, promises "
                        f"{sum(b['promises'].values()):,} changes; memory "
                        f"{b['total_mib']:.0f} MiB (main peak {b['peak_rss_mib']:.0f}); "
                        f"rules read and importer built before it in "
                        f"{b.get('setup_seconds', 0):.2f} s; "
                        f"{'writer process' if b.get('writer_process') else 'one process'}; "
                        f"{'compiled' if b.get('compiled') else 'NOT compiled'}",
                        "≥ 100k/s",
                    )
                )
    if hm := r.get("history_memory"):
        small, large = hm["small"], hm["large"]
        out.append(
            (
                f"Import memory, {small['mib']:,.0f} vs {large['mib']:,.0f} MiB transcript (gzip)",
                f"{small['total_mib']:.0f} / {large['total_mib']:.0f} MiB",
                f"importer's peak RSS + the writer process's own pages (its peak RSS "
                f"{large['writer_peak_rss_mib']:.0f} MiB, mostly shared); {large['events']:,} "
                f"events at {large['events_per_s']:,.0f}/s with rules",
                "< 150 MiB, flat",
            )
        )
        if pgl := hm.get("large_postgresql"):
            out.append(
                (
                    f"Import of the {pgl['mib']:,.0f} MiB transcript into postgresql",
                    f"{pgl['events_per_s']:,.0f}/s",
                    f"{pgl['events']:,} events, {pgl['calls']:,} calls in {pgl['seconds']:.1f} s; "
                    f"memory {pgl['total_mib']:.0f} MiB (main peak {pgl['peak_rss_mib']:.0f})",
                    "≥ 100k/s; < 150 MiB",
                )
            )
    if hr := r.get("history_report"):
        for backend, calls_key, goal in (
            ("sqlite", "calls", "< 1 s"),
            ("postgresql", "pg_calls", "< 2 s"),
        ):
            if b := hr.get(backend):
                out.append(
                    (
                        f"Month standards report, {hr[calls_key]:,} calls, {backend}",
                        _mm(b["month_by_day_and_queue"], " s"),
                        f"by agent {_fmt(b['month_by_agent']['median'])} s (daily rollups; "
                        f"15-minute {_fmt(b.get('month_by_agent_15m', {}).get('median', 0))} s);"
                        f" rollups built in {_fmt(b['rollup_build_seconds'])} s",
                        goal,
                    )
                )
    if a := r.get("audio"):
        out.append(
            (
                f"Audio: {_duration(a['audio_seconds'])} stereo call, full analysis",
                _mm(a["realtime_x"], "× RT"),
                f"{100 * a['relative_to_bare']['median']:.0f} % of bare webrtcvad",
                "≥ 4,000×, ≥ 85 %",
            )
        )
    if s := r.get("scrape"):
        out.append(
            (
                f"Scrape: {s['queues']}×{s['agents_per_queue']} agents, {s['samples']:,} samples",
                _mm(s["render_ms"], " ms"),
                f"{s['body_bytes'] / 1e6:.1f} MB body",
                "< 100 ms",
            )
        )
    if f := r.get("faults"):
        out.extend(fault_rows(f))
    return out


def fault_rows(f: dict[str, Any]) -> list[Row]:
    """The fault harness (bench/faults.py): one row per figure issue 20 asks for."""
    slope = f.get("rss_slope_mib_per_10min")
    return [
        ("Faults: reconnect after a PBX restart", f"{f['reconnect_seconds']} s",
         f"black hole found in {f['blackhole_detect_seconds']} s", "< 2 s; < 10 s"),
        ("Faults: calls lost / doubled vs truth",
         f"{f['lost']} / {f['doubled']} of {f['checkable_calls']}",
         f"{f['blind_window_calls_missing']} missed in blind windows (restart, black hole, "
         f"kill -9); store locked {f.get('lock_seconds', '?')} s: {f['lock_window_lost']} lost, "
         f"/healthz max {f['healthz_max_ms_locked']} ms", "0 / 0"),
        ("Faults: RSS slope", "n/a" if slope is None else f"{slope} MiB / 10 min",
         f"RSS {f['rss_mib_start_end']} MiB over the run", "< 1 MiB / 10 min"),
        ("Faults: scrape with 10k overdue promises", f"{f['scrape_ms_median']} ms",
         f"overload: {f['overload_reconnects']} reconnects, shed {sum(f['shed'].values()):,.0f}",
         "< 100 ms"),
    ]  # fmt: skip


def table(r: dict[str, Any]) -> str:
    head = ("benchmark", "median (min–max)", "ratio / detail", "goal")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(r)]
    return "\n".join(lines)


def machine_line(m: dict[str, Any]) -> str:
    line = f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}"
    if "python_loop_s" in m:  # the machine's speed then (bench/common.py python_loop_seconds)
        line += f"; a 10M-addition Python loop took {m['python_loop_s']:.2f} s"
    return line


def write_doc(r: dict[str, Any]) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    start, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    block = f"{start}\nLast `make bench`: {machine_line(r['machine'])}.\n\n{table(r)}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def steps(q: bool, size: str = "2.6G") -> dict[str, Callable[[], dict[str, Any]]]:
    return dict(_steps(q, history_bench.parse_size(size)))


def _steps(q: bool, size: int) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("parse", lambda: parse_bench.run(5_000 if q else 200_000, 2 if q else 5)),
        ("ingest", lambda: ingest_bench.run_ingest(0.05 if q else 4.3, 1 if q else 3)),
        ("memory", lambda: ingest_bench.run_memory(500 if q else 10_000, 1 if q else 3)),
        ("live", lambda: live_bench.run(2000.0, 0.5 if q else 4.0, 1 if q else 5)),
        ("audio", lambda: audio_bench.run(60.0 if q else 3600.0, 8000, 1 if q else 5)),
        ("scrape", lambda: scrape_bench.run(2 if q else 20, 20 if q else 500, 2 if q else 7)),
        ("history_import", lambda: history_bench.run_import(0.2 if q else 24.0, 1 if q else 5)),
        ("history_memory", lambda: history_bench.run_import_memory(1 << 20 if q else size)),
        (
            "history_report",
            lambda: history_bench.run_report(
                2_000 if q else 1_000_000, 2 if q else 5, 2_000 if q else 10_000_000
            ),
        ),
        ("faults", lambda: faults.as_dict(faults.SHORT if q else faults.LONG)),
    ]
    return steps


def isolated(name: str, quick: bool, size: str) -> dict[str, Any]:
    """One benchmark in a fresh interpreter, so none inherits another's heap or GC load."""
    cmd = [sys.executable, "-m", "bench.run", "--only", name, "--size", size]
    cmd += ["--quick"] if quick else []
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny inputs (a smoke run)")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    ap.add_argument("--only", help="run one benchmark here and print its JSON (internal)")
    ap.add_argument(
        "--size",
        default="2.6G",
        help="the import memory benchmark's transcript size (uncompressed), e.g. 2.6G, 500M",
    )
    args = ap.parse_args(argv)
    q = args.quick
    table_of = steps(q, args.size)
    if args.only:
        print(json.dumps(table_of[args.only]()))
        return 0
    results: dict[str, Any] = {"machine": machine(), "quick": q}
    for name in table_of:
        t0 = time.perf_counter()
        results[name] = isolated(name, q, args.size)
        results[name]["wall_seconds"] = time.perf_counter() - t0
        print(f"[bench] {name}: {results[name]['wall_seconds']:.1f} s", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    out = RESULTS / f"bench-{stamp}{'-quick' if q else ''}.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print()
    print(machine_line(results["machine"]))
    print(table(results))
    print(f"\nresults: {out.relative_to(ROOT)}")
    if not q and not args.no_doc:
        write_doc(results)
        print(f"summary: {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
