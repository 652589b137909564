"""Link faults with real timers (issue 20 items 3 and 4): a black-holed link is found within
10 s with the default settings, the collector is back within 2 s of the PBX, and an event
flood faster than the consumer never causes a reconnect (the Pong is read at once)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from collectors.ami.parser import AmiMessage
from collectors.ami.session import ListResult
from collectors.ami.transport import AmiClient
from monitor.config import PbxConfig, Secret
from tests.collectors.ami.conftest import wait_until
from tests.collectors.ami.scripted_pbx import ScriptedPbx


class Sink:
    def __init__(self, delay: float = 0.0) -> None:
        self.events = 0
        self.delay = delay

    def on_event(self, received_at: float, msg: AmiMessage) -> None:
        self.events += 1
        if self.delay:
            time.sleep(self.delay)  # a consumer that lags (CPU-bound work)

    def on_snapshot(self, snapshot: ListResult) -> None:
        return None


async def _client(pbx: ScriptedPbx, sink: Sink, **kw: Any) -> tuple[AmiClient, asyncio.Event]:
    cfg = PbxConfig(name="faults", port=pbx.port, secret=Secret("x"), **kw)
    client = AmiClient(cfg, sink)
    stop = asyncio.Event()
    return client, stop


async def test_black_holed_link_is_found_within_10_s_by_default() -> None:
    pbx = ScriptedPbx()
    await pbx.start()
    client, stop = await _client(pbx, Sink())
    assert (PbxConfig().ping_interval, PbxConfig().ping_timeout) == (5.0, 3.0)
    task = asyncio.create_task(client.run(stop))
    try:
        await wait_until(lambda: client.state == "up", 5, "login")
        pbx.blackhole = True  # the socket stays open; nothing comes back any more
        silent_at = time.monotonic()
        await wait_until(lambda: client.state != "up", 12, "the dead link to be noticed")
        found = time.monotonic() - silent_at
        assert found < 10.0, f"a silent link was noticed after {found:.1f} s"
        assert "Ping" in (client.last_error or "")
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await pbx.stop()


async def test_reconnect_within_2_s_of_the_pbx_being_back() -> None:
    """Attempts at 0.5, 1.5, 3.5 s failed; the next is due at 8.5 s, but a bare TCP probe
    every second sees the PBX listening again and the client logs in at once."""
    pbx = ScriptedPbx()
    await pbx.start()
    client, stop = await _client(pbx, Sink())
    task = asyncio.create_task(client.run(stop))
    try:
        await wait_until(lambda: client.state == "up", 5, "login")
        await pbx.stop()  # the PBX restarts: down for 4.2 s, into the 5 s backoff step
        await wait_until(lambda: client.state == "backoff", 5, "the drop to be seen")
        await asyncio.sleep(4.2)
        await pbx.start()
        back_at = time.monotonic()
        await wait_until(lambda: client.stats.reconnects == 1, 10, "the reconnect")
        blind = pbx.logins[-1] - back_at
        assert blind < 2.0, f"logged in {blind:.1f} s after the PBX was back"
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await pbx.stop()


async def test_flood_faster_than_the_consumer_sheds_and_never_reconnects() -> None:
    """50,000 events at socket speed into a consumer that needs 0.2 ms each, Pings every
    0.2 s with a 0.5 s timeout: events are shed and counted, the Pings are answered, the
    link is never declared dead."""
    pbx = ScriptedPbx()
    await pbx.start()
    sink = Sink(delay=0.0002)
    client, stop = await _client(pbx, sink, ping_interval=0.2, ping_timeout=0.5)
    client._intake.needed = frozenset({"Newexten"})  # VarSet is "unused" for this test
    task = asyncio.create_task(client.run(stop))
    try:
        await wait_until(lambda: client.state == "up", 5, "login")
        pings = pbx.pings
        await pbx.flood(50_000)
        await wait_until(lambda: len(client._intake) == 0, 60, "the backlog to drain")
        await wait_until(lambda: pbx.pings > pings + 2, 5, "pings during and after")
        shed = client.stats.shed
        assert shed["unused"] > 0, shed
        assert client.stats.events == 50_000
        assert sink.events + shed["unused"] + shed["overflow"] == 50_000
        assert client.stats.reconnects == 0 and client.state == "up"
        assert client.health()["shed"] == shed
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await pbx.stop()
