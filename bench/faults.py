"""Fault harness (issue 20): the real service (``ringwatch run``, a child process) against the
built-in PBX simulator through a loopback TCP proxy, with faults injected in turn:

1. PBX restart: the simulator goes away for ``down`` s and comes back on the same port
   (reconnect time: PBX back -> the service logged in again);
2. black hole: the proxy stops forwarding both ways but keeps the sockets open (detection
   time: silence -> the service drops the link);
3. ``kill -9`` of the service, restarted at once (WAL: nothing stored is lost);
4. store locked: another connection holds the SQLite write lock for ``lock`` s while
   ``/healthz`` is timed; the calls that ended meanwhile must all be stored;
5. overload: a burst of ``flood`` events the tracker does not use, at socket speed (no
   reconnect; ``ringwatch_ami_events_shed_total`` exposed);
6. scrape: 10,000 overdue promises in the store, ``/metrics`` timed.

Calls lost and doubled are counted against the simulator's truth: a call that began and ended
while the service was connected (outside every blind window) must be stored exactly once;
stored call ids the simulator never made are "doubled". RSS is sampled every 2 s from /proc
during a steady phase with no fault (long form only); its slope is reported per 10 minutes.

    python -m bench.faults              # long form (~3 min, what `make bench` runs)
    python -m bench.faults --minutes 10 # longer steady phase for the RSS slope
tests/bench/test_faults.py runs the short form and asserts the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from monitor.simulator import ContactCentre, ServerConfig, SimulatorServer, default_config
from monitor.simulator.wire import event

ROOT = Path(__file__).resolve().parent.parent
SECRET = "fault-harness-secret"


@dataclass(frozen=True)
class Profile:
    speed: float = 60.0  # virtual seconds per real second
    warm: float = 4.0  # real seconds between faults
    down: float = 1.5  # PBX restart: seconds away
    lock: float = 3.0  # seconds the store is locked
    flood: int = 100_000  # overload burst (events)
    steady: float = 0.0  # extra steady phase at the end (RSS slope), seconds
    overdue: int = 10_000  # promises made overdue before the scrape is timed


SHORT = Profile()
LONG = Profile(speed=600.0, warm=10.0, down=3.0, lock=15.0, flood=200_000, steady=180.0)


@dataclass
class Report:
    reconnect_seconds: float | None = None
    blackhole_detect_seconds: float | None = None
    kill9_back_seconds: float | None = None
    healthz_max_ms: float | None = None  # store healthy, for comparison
    healthz_max_ms_locked: float | None = None
    lock_window_calls: int = 0
    lock_window_lost: int = 0
    truth_calls: int = 0
    checkable_calls: int = 0
    stored_calls: int = 0
    lost: int = 0
    doubled: int = 0
    blind_window_calls_missing: int = 0
    overload_reconnects: int = 0
    shed: dict[str, float] = field(default_factory=dict)
    shed_exposed: bool = False
    rss_slope_mib_per_10min: float | None = None
    rss_mib_start_end: tuple[float, float] | None = None
    scrape_ms_median: float | None = None
    overdue_query_ms: float | None = None
    overdue_gauge: float | None = None
    lost_ids: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    """Loopback TCP relay service <-> simulator that can black-hole the link."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.blackhole = False
        self.closed_by_client: list[float] = []  # monotonic times the service hung up
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            cw.close()
            return
        up = asyncio.create_task(self._pipe(cr, sw, client=True))
        down = asyncio.create_task(self._pipe(sr, cw, client=False))
        self._tasks |= {up, down}
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        for t in (up, down):
            t.cancel()
        await asyncio.gather(up, down, return_exceptions=True)
        self._tasks -= {up, down}
        for w in (cw, sw):
            w.close()

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, client: bool) -> None:
        while True:
            data = await r.read(65536)
            if not data:
                if client:
                    self.closed_by_client.append(time.monotonic())
                return
            if self.blackhole:
                continue  # swallowed: the socket stays open, nothing gets through
            w.write(data)
            await w.drain()


class Harness:
    def __init__(self, profile: Profile, workdir: Path) -> None:
        self.p = profile
        self.dir = workdir
        self.engine = ContactCentre(default_config(), seed=11, start=time.time())
        self.sim_port = _free_port()
        self.sim = SimulatorServer(
            self.engine, ServerConfig(port=self.sim_port, secret=SECRET, failed_login_delay=0)
        )
        self.proxy = Proxy(self.sim_port)
        self.web_port = _free_port()
        self.db = workdir / "rw.sqlite"
        self.proc: subprocess.Popen[bytes] | None = None
        self.blind: list[tuple[float, float]] = []  # virtual-time windows the service missed
        self.rss: list[tuple[float, float]] = []
        self.report = Report()
        self._burst: list[tuple[float, Any]] = []
        self.base = f"http://127.0.0.1:{self.web_port}"

    # ---- the service ------------------------------------------------------------------
    def _config(self) -> Path:
        cfg = self.dir / "ringwatch.yml"
        cfg.write_text(
            f"""
site: {{country: GB, timezone: Europe/London}}
pbx:
  - {{name: lab, host: 127.0.0.1, port: {self.proxy.port}, username: ringwatch,
      secret_env: RW_FAULT_SECRET}}
queues: [sales, support]
rules: {{dir: {ROOT / "rules"}}}
store: {{url: "sqlite:///{self.db}"}}
web: {{listen: "127.0.0.1:{self.web_port}"}}
""",
            encoding="utf-8",
        )
        return cfg

    def start_service(self) -> None:
        env = dict(os.environ, RW_FAULT_SECRET=SECRET)
        log = (self.dir / "service.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli.main", "-v", "run", "--config",
             str(self._config())],
            cwd=self.dir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def logged_in(self, timeout: float) -> float:
        """Seconds until a client is logged in to the simulator."""
        t0 = time.monotonic()
        while self.sim.authenticated_clients < 1:
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"no AMI login within {timeout} s; see {self.dir}")
            await asyncio.sleep(0.02)
        return time.monotonic() - t0

    async def metric(self, client: httpx.AsyncClient, name: str) -> dict[str, float]:
        text = (await client.get(f"{self.base}/metrics", timeout=10)).text
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith(name):
                key, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    out[key] = float(value)
        return out

    def sample_rss(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.rss.append((time.monotonic(), int(line.split()[1]) / 1024))

    async def wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.sample_rss()
            await asyncio.sleep(min(2.0, max(0.0, end - time.monotonic())))

    # ---- the faults ---------------------------------------------------------------------
    async def pbx_restart(self) -> None:
        v0 = self.engine.now
        await self.sim.stop()
        await asyncio.sleep(self.p.down)
        await self.sim.start()
        self.report.reconnect_seconds = round(await self.logged_in(20), 3)
        self.blind.append((v0, self.engine.now))

    async def black_hole(self) -> None:
        v0 = self.engine.now
        seen = len(self.proxy.closed_by_client)
        self.proxy.blackhole = True
        t0 = time.monotonic()
        while len(self.proxy.closed_by_client) == seen and time.monotonic() - t0 < 30:
            await asyncio.sleep(0.05)
        self.report.blackhole_detect_seconds = round(time.monotonic() - t0, 3)
        self.proxy.blackhole = False
        await self.logged_in(20)
        self.blind.append((v0, self.engine.now))

    async def kill9(self) -> None:
        assert self.proc is not None
        v0 = self.engine.now
        self.proc.kill()
        self.proc.wait(10)
        t0 = time.monotonic()
        self.start_service()
        while self.sim.authenticated_clients > 0 and time.monotonic() - t0 < 5:
            await asyncio.sleep(0.02)
        await self.logged_in(60)
        self.report.kill9_back_seconds = round(time.monotonic() - t0, 3)
        self.blind.append((v0, self.engine.now))

    async def lock_store(self, client: httpx.AsyncClient) -> tuple[float, float]:
        locker = sqlite3.connect(self.db, isolation_level=None, timeout=10)
        locker.execute("BEGIN EXCLUSIVE")
        v0 = self.engine.now
        try:
            self.report.healthz_max_ms_locked = await self.healthz_worst(client, self.p.lock)
        finally:
            locker.execute("COMMIT")
            locker.close()
        return v0, self.engine.now

    async def healthz_worst(self, client: httpx.AsyncClient, seconds: float) -> float:
        worst = 0.0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t = time.perf_counter()
            await client.get(f"{self.base}/healthz", timeout=10)
            worst = max(worst, time.perf_counter() - t)
            self.sample_rss()
            await asyncio.sleep(0.2)
        return round(worst * 1000, 1)

    def build_burst(self) -> None:
        """The overload burst, built before it is timed (building 300k messages takes the
        harness's own event loop, which also relays the link, for seconds)."""
        self._burst = [
            (self.engine.now, event("RTCPSent", "reporting,all",
                                    [("Channel", f"PJSIP/x-{i % 97}"), ("SSRC", str(i))]))
            for i in range(self.p.flood)
        ]  # fmt: skip

    async def overload(self, client: httpx.AsyncClient) -> None:
        before = await self.metric(client, "ringwatch_ami_reconnects_total")
        burst, self._burst = self._burst, []
        for start in range(0, len(burst), 2000):
            await self.sim.deliver(burst[start : start + 2000])
            await asyncio.sleep(0)  # the proxy keeps relaying (Pings) between chunks
        await asyncio.sleep(3.0)
        after = await self.metric(client, "ringwatch_ami_reconnects_total")
        self.report.overload_reconnects = int(sum(after.values()) - sum(before.values()))
        shed = await self.metric(client, "ringwatch_ami_events_shed_total")
        self.report.shed_exposed = bool(shed)
        self.report.shed = shed

    async def scrape(self, client: httpx.AsyncClient) -> None:
        now = time.time()
        rows = [
            (f"fault-{i}", "api", "lab", f"+4420794601{i % 100:02d}", "callback",
             now - 90_000, now - 3600, "broken", 1)
            for i in range(self.p.overdue)
        ]  # fmt: skip

        def insert() -> None:  # in a thread: the harness's loop relays the AMI link
            with sqlite3.connect(self.db, timeout=30) as db:
                db.executemany(
                    "INSERT INTO promises (key, kind, pbx, number, rule, made_at, due_at, "
                    "state, misses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )

        await asyncio.to_thread(insert)
        await asyncio.sleep(1.2)  # past the one-second promise cache
        times = []
        for _ in range(5):
            t = time.perf_counter()
            await client.get(f"{self.base}/metrics", timeout=10)
            times.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(1.1)
        self.report.scrape_ms_median = round(statistics.median(times), 1)

        # the part of a scrape that grows with overdue promises, timed alone (the HTTP figure
        # above includes rendering every metric and the machine's load)
        def query() -> float:
            with sqlite3.connect(self.db, timeout=30) as db:
                t = time.perf_counter()
                db.execute(
                    "SELECT sum(CASE WHEN state = 'open' AND due_at >= ? THEN 1 ELSE 0 END), "
                    "sum(CASE WHEN (state = 'open' AND due_at < ?) OR (state = 'broken' AND "
                    "late_at IS NULL) THEN 1 ELSE 0 END) FROM promises "
                    "WHERE state IN ('open', 'broken')",
                    (now, now),
                ).fetchone()
                return time.perf_counter() - t

        t = await asyncio.to_thread(query)
        self.report.overdue_query_ms = round(t * 1000, 2)
        gauge = await self.metric(client, "ringwatch_callback_promises_outstanding{")
        self.report.overdue_gauge = sum(v for k, v in gauge.items() if 'state="overdue"' in k)

    # ---- the run ------------------------------------------------------------------------
    async def run(self) -> Report:
        stop = asyncio.Event()
        await self.sim.start()
        await self.proxy.start()
        clock = asyncio.create_task(self.sim.run_clock(self.p.speed, stop))
        self.start_service()
        try:
            async with httpx.AsyncClient() as client:
                v0 = self.engine.now
                await self.logged_in(60)
                self.blind.append((v0, self.engine.now))  # before the first login
                self.build_burst()
                await self.wait(self.p.warm)
                self.report.healthz_max_ms = await self.healthz_worst(client, self.p.warm)
                if self.p.steady:  # RSS slope: a steady phase, no fault, after warm-up
                    self.rss.clear()
                    await self.wait(self.p.steady)
                    self.rss_slope()
                await self.pbx_restart()
                await self.wait(self.p.warm)
                await self.black_hole()
                await self.wait(self.p.warm)
                await self.kill9()
                await self.wait(self.p.warm)
                lock_window = await self.lock_store(client)
                await self.wait(self.p.warm)
                await self.overload(client)
                await self.wait(self.p.warm)
                await self.scrape(client)
                stop.set()
                await clock
                await self.settled()  # the service has worked through its backlog
                self.count(lock_window)
        finally:
            stop.set()
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(20)
                if self.proc.poll() is None:
                    self.proc.kill()
            await self.proxy.stop()
            await self.sim.stop()
        return self.report

    async def settled(self, limit: float = 90.0) -> None:
        """Wait until the stored call count stops moving (checked every 2 s)."""

        def stored() -> int:
            with sqlite3.connect(self.db, timeout=30) as db:
                return int(db.execute("SELECT count(*) FROM calls").fetchone()[0])

        last, end = -1, time.monotonic() + limit
        while time.monotonic() < end:
            now = await asyncio.to_thread(stored)
            if now == last:
                return
            last = now
            await asyncio.sleep(2.0)

    def count(self, lock_window: tuple[float, float]) -> None:
        with sqlite3.connect(self.db, timeout=30) as db:
            stored = [r[0] for r in db.execute("SELECT call_id FROM calls")]
        ids = set(stored)
        truth = {t.linkedid: t for t in self.engine.truth}
        r = self.report
        r.truth_calls, r.stored_calls = len(truth), len(stored)
        r.doubled = len(stored) - len(ids) + len(ids - set(truth))
        end_ok = self.engine.now - 1.0 * self.p.speed  # ended at least ~1 s before the end

        def blind(t: Any) -> bool:
            return any(t.start <= b1 and t.end >= b0 for b0, b1 in self.blind)

        checkable = [t for t in truth.values() if t.end < end_ok and not blind(t)]
        r.checkable_calls = len(checkable)
        missing = [t.linkedid for t in checkable if t.linkedid not in ids]
        r.lost, r.lost_ids = len(missing), missing[:20]
        r.blind_window_calls_missing = sum(
            1 for t in truth.values() if blind(t) and t.linkedid not in ids
        )
        in_lock = [t for t in checkable if lock_window[0] <= t.end <= lock_window[1]]
        r.lock_window_calls = len(in_lock)
        r.lock_window_lost = sum(1 for t in in_lock if t.linkedid not in ids)

    def rss_slope(self) -> None:
        pts = self.rss[len(self.rss) // 4 :]  # the first quarter is still warming up
        if len(pts) < 3:
            return
        t0 = pts[0][0]
        xs = [t - t0 for t, _ in pts]
        ys = [m for _, m in pts]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        den = sum((x - mx) ** 2 for x in xs) or 1.0
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den
        self.report.rss_slope_mib_per_10min = round(slope * 600, 2)
        self.report.rss_mib_start_end = (round(ys[0], 1), round(ys[-1], 1))


def run(profile: Profile, workdir: Path) -> Report:
    workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(Harness(profile, workdir).run())


def as_dict(profile: Profile) -> dict[str, Any]:
    """The report as JSON data (``bench.run``), in a fresh work directory."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ringwatch-faults-") as tmp:
        report = run(profile, Path(tmp))
    return {**asdict(report), "lock_seconds": profile.lock}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=None, help="steady phase (RSS slope)")
    ap.add_argument("--dir", type=Path, default=ROOT / "bench" / "results" / "faults")
    args = ap.parse_args()
    profile = LONG
    if args.minutes is not None:
        profile = Profile(**{**asdict(LONG), "steady": args.minutes * 60})
    report = run(profile, args.dir)
    print(json.dumps(asdict(report), indent=2))
    print(summary(report, profile))


def summary(r: Report, profile: Profile) -> str:
    """The four figures issue 20 asks the long form for, one line each."""
    slope = "n/a (no steady phase)" if r.rss_slope_mib_per_10min is None else (
        f"{r.rss_slope_mib_per_10min} MiB / 10 min over {profile.steady / 60:g} min "
        f"(RSS {r.rss_mib_start_end} MiB)"
    )  # fmt: skip
    return "\n".join(
        [
            f"reconnect after a PBX restart: {r.reconnect_seconds} s "
            f"(black hole noticed in {r.blackhole_detect_seconds} s, back after kill -9 in "
            f"{r.kill9_back_seconds} s)",
            f"calls lost / doubled vs the simulator's truth: {r.lost} / {r.doubled} of "
            f"{r.checkable_calls} checkable ({r.lock_window_lost} lost of "
            f"{r.lock_window_calls} while the store was locked {profile.lock:g} s)",
            f"RSS slope: {slope}",
            f"scrape with {profile.overdue:,} overdue promises: {r.scrape_ms_median} ms median "
            f"(gauge {r.overdue_gauge}; the aggregate query alone {r.overdue_query_ms} ms)",
        ]
    )


if __name__ == "__main__":
    main()
