"""Issue 16 items 1 and 2 on a real Prometheus: ``ringwatch_live_breaches`` as scraped.

A queued caller (the queue answered the channel at arrival) waits past three rings: the live
rings breach shows in Prometheus (item 1: it never armed for queued calls). A person answers:
it leaves the gauge while the call is still up (item 2: it stayed until hang-up). The same for
a hold past 60 s, taken off hold.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from monitor import events as ev
from monitor.config import Config, PbxConfig, Secret
from monitor.events import ChannelRef, ChannelState
from monitor.service import Service

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = "/usr/bin/prometheus"
T0 = 1_790_000_000.0
LINK = "1790000000.1"
RINGS = 'ringwatch_live_breaches{rule="answer-within-three-rings"}'
HOLD = 'ringwatch_live_breaches{rule="hold-check-back-60s"}'
TALKING = 'ringwatch_active_calls{state="talking"}'


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ref(name: str, uid: str, state: ChannelState, num: str, context: str) -> ChannelRef:
    return ChannelRef(name, uid, LINK, state, num, "Caller", None, None, context, "8005550100")


CALLER = _ref("PJSIP/trunk-00000001", LINK, ChannelState.RING, "4155550100", "from-pstn")
CALLER_UP = _ref("PJSIP/trunk-00000001", LINK, ChannelState.UP, "4155550100", "from-pstn")
AGENT = _ref("PJSIP/300-00000002", "1790000000.2", ChannelState.DOWN, "300", "from-queue")
AGENT_RING = _ref("PJSIP/300-00000002", "1790000000.2", ChannelState.RINGING, "300", "from-queue")
AGENT_UP = _ref("PJSIP/300-00000002", "1790000000.2", ChannelState.UP, "300", "from-queue")


class Prom:
    def __init__(self, base: str) -> None:
        self.base = base

    def value(self, expr: str) -> float | None:
        url = f"{self.base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(url, timeout=5) as resp:
            data: dict[str, Any] = json.load(resp)
        result = data["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def until(self, expr: str, want: float, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        seen: float | None = None
        while time.monotonic() < deadline:
            try:
                seen = self.value(expr)
            except OSError:
                seen = None
            if seen == want:
                return
            time.sleep(0.25)  # polling Prometheus: it has no event to await
        raise AssertionError(f"{expr} stayed {seen}, expected {want}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Service, Callable[[Callable[[], None]], None], Prom]]:
    web = _port()
    cfg = Config(
        pbxs=(PbxConfig(name="p", secret=Secret("x")),),
        rules_dir=ROOT / "rules",
        store_url=f"sqlite:///{tmp_path / 'live.sqlite'}",
        web_listen=f"127.0.0.1:{web}",
    )
    service = Service(cfg, clock=lambda: T0, registry=CollectorRegistry())
    stop_ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        holder["loop"], holder["stop"] = asyncio.get_running_loop(), stop
        asyncio.get_running_loop().call_later(120, stop.set)  # stops by itself
        await service.run(stop, collect=False, on_ready=lambda _s: stop_ready.set())

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert stop_ready.wait(30), "the service did not start"
    loop: asyncio.AbstractEventLoop = holder["loop"]

    def on_loop(fn: Callable[[], None]) -> None:
        async def run() -> None:
            fn()

        asyncio.run_coroutine_threadsafe(run(), loop).result(10)

    port = _port()
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {"job_name": "ringwatch", "scrape_timeout": "900ms",
             "static_configs": [{"targets": [f"127.0.0.1:{web}"]}]}
        ],
    }  # fmt: skip
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
         "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        prom = Prom(f"http://127.0.0.1:{port}")
        prom.until(RINGS, 0.0, timeout=60)
        yield service, on_loop, prom
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(30)
        service.close()


def test_live_breaches_arm_for_a_queued_call_and_end_with_their_condition(
    served: tuple[Service, Callable[[Callable[[], None]], None], Prom],
) -> None:
    service, on_loop, prom = served
    p = service.pipelines["p"]

    def arrive_and_wait() -> None:
        p.feed_event(ev.ChannelCreated(T0, CALLER))
        p.feed_event(ev.ChannelStateChanged(T0 + 0.5, CALLER_UP))  # the queue answers
        p.feed_event(ev.QueueJoined(T0 + 1, CALLER_UP, "support", 1, 1))
        p.advance(T0 + 25)  # 25 s queued: past three US rings (18 s)

    on_loop(arrive_and_wait)
    prom.until(RINGS, 1.0)  # item 1: a queued call breaches live

    def answer() -> None:
        p.feed_event(ev.ChannelCreated(T0 + 26, AGENT))
        p.feed_event(ev.DialStarted(T0 + 26, CALLER_UP, AGENT, "PJSIP/300"))
        p.feed_event(ev.ChannelStateChanged(T0 + 26, AGENT_RING))
        p.feed_event(ev.ChannelStateChanged(T0 + 30, AGENT_UP))
        p.feed_event(ev.DialEnded(T0 + 30, CALLER_UP, AGENT_UP, "ANSWER"))

    on_loop(answer)
    prom.until(RINGS, 0.0)  # item 2: answered, no longer breaching
    assert prom.value(TALKING) == 1.0  # while the call is still up

    def long_hold() -> None:
        p.feed_event(ev.HoldStarted(T0 + 40, AGENT_UP))
        p.advance(T0 + 110)

    on_loop(long_hold)
    prom.until(HOLD, 1.0)
    on_loop(lambda: p.feed_event(ev.HoldEnded(T0 + 115, AGENT_UP)))
    prom.until(HOLD, 0.0)  # taken off hold: gone from the gauge, not 20-258 s later
    assert prom.value(TALKING) == 1.0
