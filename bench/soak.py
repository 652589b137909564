"""Steady-state soak (issue 20): the real service (``ringwatch run``, a child process) fed by the
built-in PBX simulator at a fixed event rate, ``/metrics`` scraped every 15 s as Prometheus
would, RSS sampled from /proc every 5 s. After the warm-up it prints the RSS slope per 10
minutes (least squares over the samples after the warm-up) and the rate the service held.

    python -m bench.soak --minutes 30 --rate 2000        # what docs/benchmarks.md quotes
    python -m bench.soak --minutes 3 --rate 500 --warmup 1

The volume comes from the simulator's busy centre (``bench.common.busy_config``: ``--scale``
copies of the demo agents and traffic); the simulator's clock is driven by the event count, not
by a fixed speed: each tick it runs the engine on until the events due by then (rate x elapsed)
are out, so the rate holds whatever the hour of the simulated day. Virtual time runs faster than
real time (a few hundred times at ``--scale 10``): time-bounded memory is measured at the event
count the rate gives, not at a day's length of wall-clock time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import busy_config
from bench.faults import LONG, SECRET, Harness
from monitor.simulator import ContactCentre, ServerConfig, SimulatorServer

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SoakReport:
    minutes: float
    warmup_minutes: float
    rate_target: float
    rate_sent: float = 0.0  # events the simulator wrote per second, over the whole run
    rate_counted: float = 0.0  # ringwatch_ami_events_total per second (what the service read)
    virtual_hours: float = 0.0
    calls_stored: int = 0
    rss_slope_mib_per_10min: float | None = None
    rss_mib_after_warmup: tuple[float, float] | None = None  # first, last sample
    rss_mib_per_10min_windows: list[float] = field(default_factory=list)  # mean RSS per window
    scrape_ms_median: float | None = None
    scrape_ms_last: float | None = None
    service_exit: int | None = None  # None: still running at the end (good)


def slope_per_10min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, MiB)`` points, in MiB per 10 minutes."""
    if len(points) < 3:
        return None
    xs = [t for t, _ in points]
    ys = [m for _, m in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs) or 1.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den * 600


class Soak:
    def __init__(
        self, minutes: float, rate: float, warmup: float, scale: int, workdir: Path,
        traced: bool = False,
    ) -> None:  # fmt: skip
        self.minutes, self.rate, self.warmup = minutes, rate, warmup
        self.traced = traced
        self.dir = workdir
        self.h = Harness(LONG, workdir)
        self.engine = ContactCentre(busy_config(scale), seed=17, start=time.time())
        self.h.engine = self.engine
        self.h.sim = SimulatorServer(
            self.engine,
            ServerConfig(port=self.h.sim_port, secret=self.h.sim.config.secret,
                         failed_login_delay=0),
        )  # fmt: skip
        self.h.proxy.port = self.h.sim_port  # straight to the simulator: no proxy in the way
        self.sent = 0
        self.report = SoakReport(minutes, warmup, rate)

    async def pump(self, stop: asyncio.Event) -> None:
        """Run the engine on, one virtual second at a time, until ``rate x elapsed`` events
        are out, in batches of a quarter second's events (the loop also answers the service's
        Pings). A debt over two seconds' worth (the machine could not keep up) is written
        off, so ``rate_sent`` says what was really sent. The finished calls' truth is
        dropped (the soak checks memory, not calls)."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        most = max(50, int(self.rate / 4))
        written_off = 0.0
        while not stop.is_set():
            due = self.rate * (loop.time() - t0) - written_off
            if due - self.sent > 2 * self.rate:
                written_off += due - self.sent - 2 * self.rate
                due = self.sent + 2 * self.rate
            batch: list[Any] = []
            while self.sent + len(batch) < due and len(batch) < most:
                batch.extend(self.engine.run_until(self.engine.now + 1.0))
            if batch:
                await self.h.sim.deliver(batch)
                self.sent += len(batch)
                self.engine.truth.clear()
                self.engine.recording_jobs.clear()
            if self.sent >= due:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.05)
            else:
                await asyncio.sleep(0)

    def start_service(self) -> None:
        """``ringwatch run``, under tracemalloc with ``--tracemalloc`` (bench/traced_service.py:
        SIGUSR1 writes a snapshot)."""
        h = self.h
        if not self.traced:
            h.start_service()
            return
        for old in self.dir.glob("snap-*.pickle"):
            old.unlink()
        env = dict(os.environ, RW_FAULT_SECRET=SECRET, RINGWATCH_SNAPSHOT_DIR=str(self.dir))
        log = (self.dir / "service.log").open("ab")
        h.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.traced_service", "-v", "run", "--config",
             str(h._config())],
            cwd=self.dir, env={**env, "PYTHONPATH": str(ROOT)}, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def snapshot(self) -> None:
        """Ask the traced service for a snapshot and wait until it is written."""
        if not self.traced or self.h.proc is None:
            return
        n = len(list(self.dir.glob("snap-*.pickle")))
        self.h.proc.send_signal(signal.SIGUSR1)
        for _ in range(600):
            if len(list(self.dir.glob("snap-*.pickle"))) > n:
                return
            await asyncio.sleep(0.5)

    async def run(self) -> SoakReport:
        h, r = self.h, self.report
        stop = asyncio.Event()
        await h.sim.start()
        self.start_service()
        v0 = self.engine.now
        pump: asyncio.Task[None] | None = None
        scrapes: list[float] = []
        try:
            async with httpx.AsyncClient() as client:
                await h.logged_in(60)
                pump = asyncio.create_task(self.pump(stop))
                t0 = time.monotonic()
                end = t0 + self.minutes * 60
                next_scrape = t0
                snapped = False
                while time.monotonic() < end:
                    if h.proc is not None and h.proc.poll() is not None:
                        r.service_exit = h.proc.returncode
                        break
                    if time.monotonic() >= next_scrape:
                        t = time.perf_counter()
                        await client.get(f"{h.base}/metrics", timeout=30)
                        scrapes.append((time.perf_counter() - t) * 1000)
                        next_scrape += 15.0
                    h.sample_rss()
                    if not snapped and time.monotonic() - t0 >= self.warmup * 60:
                        await self.snapshot()
                        snapped = True
                    await asyncio.sleep(5.0)
                await self.snapshot()
                elapsed = time.monotonic() - t0
                counted = await h.metric(client, "ringwatch_ami_events_total")
                r.rate_counted = round(sum(counted.values()) / elapsed, 1)
                r.rate_sent = round(self.sent / elapsed, 1)
                r.virtual_hours = round((self.engine.now - v0) / 3600, 1)
                self.summarise(t0)
                if scrapes:
                    r.scrape_ms_median = round(statistics.median(scrapes), 1)
                    r.scrape_ms_last = round(scrapes[-1], 1)
        finally:
            stop.set()
            if pump is not None:
                await pump
            if h.proc is not None and h.proc.poll() is None:
                h.proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    h.proc.wait(30)
                if h.proc.poll() is None:
                    h.proc.kill()
            await h.sim.stop()
        with contextlib.suppress(Exception):
            import sqlite3

            with sqlite3.connect(h.db, timeout=30) as db:
                r.calls_stored = int(db.execute("SELECT count(*) FROM calls").fetchone()[0])
        return r

    def summarise(self, t0: float) -> None:
        r = self.report
        pts = [(t - t0, m) for t, m in self.h.rss if t - t0 >= self.warmup * 60]
        slope = slope_per_10min(pts)
        r.rss_slope_mib_per_10min = None if slope is None else round(slope, 2)
        if pts:
            r.rss_mib_after_warmup = (round(pts[0][1], 1), round(pts[-1][1], 1))
        windows: dict[int, list[float]] = {}
        for t, m in self.h.rss:
            windows.setdefault(int((t - t0) // 600), []).append(m)
        r.rss_mib_per_10min_windows = [
            round(statistics.fmean(v), 1) for _, v in sorted(windows.items())
        ]


def print_growth(workdir: Path, top: int = 30) -> None:
    """What grew between the first and the last snapshot, by line (biggest first)."""
    import tracemalloc

    snaps = sorted(workdir.glob("snap-*.pickle"), key=lambda p: int(p.stem.split("-")[1]))
    if len(snaps) < 2:
        print("soak: fewer than two tracemalloc snapshots", file=sys.stderr)
        return
    first = tracemalloc.Snapshot.load(str(snaps[0]))
    last = tracemalloc.Snapshot.load(str(snaps[-1]))
    total = [sum(t.size for t in s.traces) / 2**20 for s in (first, last)]
    print(
        f"tracemalloc: {total[0]:.1f} -> {total[1]:.1f} MiB traced ({snaps[0].name} -> "
        f"{snaps[-1].name}); top {top} lines by growth:"
    )
    for stat in last.compare_to(first, "lineno")[:top]:
        print(f"  {stat}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="the whole run (default 30)")
    ap.add_argument("--rate", type=float, default=2000.0, help="events per second (2000)")
    ap.add_argument("--warmup", type=float, default=5.0, help="minutes left out of the slope")
    ap.add_argument("--scale", type=int, default=10, help="busy centre: copies of the demo's")
    ap.add_argument(
        "--tracemalloc",
        action="store_true",
        help="run the service under tracemalloc; print what grew after the warm-up",
    )
    ap.add_argument("--dir", type=Path, default=ROOT / "bench" / "results" / "soak")
    args = ap.parse_args(argv)
    if args.warmup >= args.minutes:
        ap.error("--warmup must be shorter than --minutes")
    args.dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill: the service stops too
    report = asyncio.run(
        Soak(args.minutes, args.rate, args.warmup, args.scale, args.dir, args.tracemalloc).run()
    )
    if args.tracemalloc:
        print_growth(args.dir)
    print(json.dumps(asdict(report), indent=2))
    slope = report.rss_slope_mib_per_10min
    print(
        f"soak: {report.rate_counted:,.0f} events/s held ({report.rate_target:,.0f} asked) for "
        f"{args.minutes:g} min; RSS slope after {args.warmup:g} min warm-up: "
        f"{'n/a' if slope is None else f'{slope} MiB / 10 min'} "
        f"(RSS {report.rss_mib_after_warmup} MiB)",
        file=sys.stderr,
    )
    return 0 if report.service_exit is None else 1


if __name__ == "__main__":
    raise SystemExit(main())
