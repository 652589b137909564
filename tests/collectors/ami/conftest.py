"""Shared harness for the live AMI collector tests: the simulator's AMI server on 127.0.0.1,
an ``AmiClient`` feeding a real tracker, the simulator's virtual clock as the client's clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

import pytest

from collectors.ami.resync import TrackerFeeder
from collectors.ami.translate import Translator
from collectors.ami.transport import AmiClient, Backoff
from monitor.config import PbxConfig, Secret
from monitor.record import CallRecord
from monitor.simulator import ContactCentre, ServerConfig, SimulatorServer
from monitor.tracker import Tracker

SECRET = "s3cret-Do-Not-Log-9f2"


async def wait_until(pred: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Await a condition (polled every 5 ms), failing after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or pred}")
        await asyncio.sleep(0.005)


@dataclass
class Harness:
    engine: ContactCentre
    server: SimulatorServer
    tracker: Tracker
    client: AmiClient
    stop: asyncio.Event
    records: list[CallRecord] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.client.run(self.stop))

    async def up(self, reconnects: int = 0, timeout: float = 5.0) -> None:
        await wait_until(
            lambda: self.client.state == "up" and self.client.stats.reconnects >= reconnects,
            timeout,
            f"client up with {reconnects} reconnect(s), state {self.client.state}",
        )

    async def drained(self, timeout: float = 10.0) -> None:
        """Every event the server wrote has been read and handed to the tracker."""
        await wait_until(
            lambda: (
                self.client.stats.events >= self.server.events_sent + self.client.stats.connects
                and self.client.stats.queue_depth == 0
            ),
            timeout,
            "the client to read and consume every event",
        )
        await asyncio.sleep(0)

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            async with asyncio.timeout(5):
                await self.task
        await self.server.stop()


@pytest.fixture
def ami_secret() -> str:
    return SECRET


@pytest.fixture
def until() -> Callable[..., Any]:
    """``await until(pred, timeout, what)``: the bounded condition wait."""
    return wait_until


@pytest.fixture
async def make_harness() -> AsyncIterator[Callable[..., Any]]:
    made: list[Harness] = []

    async def make(
        engine: ContactCentre,
        *,
        secret: str = SECRET,
        server_secret: str = SECRET,
        auth: str = "plain",
        ping_interval: float = 20.0,
        ping_timeout: float = 3.0,
        sleep: Callable[[float], Any] | None = None,
        start: bool = True,
        proxy: Callable[[int], Any] | None = None,
        **client_kw: Any,
    ) -> Harness:
        server = SimulatorServer(
            engine, ServerConfig(port=0, secret=server_secret, failed_login_delay=0)
        )
        await server.start()
        port = server.port if proxy is None else await proxy(server.port)
        pbx = PbxConfig(
            name="sim",
            host="127.0.0.1",
            port=port,
            username="ringwatch",
            secret=Secret(secret),
            auth=auth,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            **client_kw.pop("pbx_kw", {}),
        )
        tracker = Tracker()
        records: list[CallRecord] = []
        delays: list[float] = []

        async def fast_sleep(seconds: float) -> None:
            delays.append(seconds)
            await asyncio.sleep(min(seconds, 0.02))

        client = AmiClient(
            pbx,
            TrackerFeeder(tracker, Translator(), records.extend),
            clock=lambda: engine.now,
            sleep=sleep or fast_sleep,
            rng=Random(7),
            backoff=client_kw.pop("backoff", Backoff(steps=(0.05, 0.1, 0.2), cap=0.4)),
            **client_kw,
        )
        h = Harness(engine, server, tracker, client, asyncio.Event(), records, delays)
        made.append(h)
        if start:
            h.start()
        return h

    yield make
    for h in made:
        with contextlib.suppress(Exception):
            await h.close()


def traced_growth(work: Callable[[int], None], warm: int = 200, rounds: int = 5000) -> int:
    """Bytes still allocated after ``work(rounds)`` (traced by tracemalloc) once ``work(warm)``
    has filled the caches: a C step that leaks a dict or a str per call shows here."""
    import gc
    import tracemalloc

    work(warm)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work(rounds)
        gc.collect()
        return int(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()
