"""Fault injection API used by the collector's tests: drop, restart, raw bytes, pause."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from monitor.simulator import QueuePlan, SimulatorServer
from monitor.simulator.flows_queue import queue_call

Connect = Callable[[], Awaitable[Any]]


def _spawn_call(server: SimulatorServer) -> None:
    engine = server.engine
    engine.spawn(queue_call(engine, "support", "02079460123", "Jane", QueuePlan(patience=600)))


async def test_drop_clients_closes_every_socket(connect: Connect, server: SimulatorServer) -> None:
    a, b = await connect(), await connect()
    await a.login()
    await b.login()
    await server.wait_for_clients(2)
    assert await server.drop_clients() == 2
    assert await a.closed() and await b.closed()
    c = await connect()  # the server still accepts new connections
    assert (await c.login())[-1].event == "FullyBooted"


async def test_restart_resets_uptime_and_channels(
    connect: Connect, server: SimulatorServer
) -> None:
    client = await connect()
    await client.login()
    await server.advance(500)
    _spawn_call(server)
    await server.advance(20)
    assert server.engine.active_channels()
    await server.restart()
    assert await client.closed()
    again = await connect()
    booted = (await again.login(events="off"))[-1]
    assert booted.get("Uptime") == "0" and booted.get("LastReload") == "0"
    await again.send(("Action", "CoreShowChannels"), ("ActionID", "r"))
    done = (await again.until(lambda m: m.event == "CoreShowChannelsComplete"))[-1]
    assert done.get("ListItems") == "0"


async def test_send_raw_garbage_and_half_frames(connect: Connect, server: SimulatorServer) -> None:
    client = await connect()
    await client.login()
    await server.send_raw(b"this is not AMI\r\n\r\nEvent: Half")
    await server.send_raw(b"Frame\r\nPrivilege: call,all\r\n\r\n")
    msg = await client.next()
    assert msg.event == "HalfFrame"
    assert client.parser.stats.bad_lines == 1


async def test_pause_and_resume_events(connect: Connect, server: SimulatorServer) -> None:
    client = await connect()
    await client.login()
    server.pause_events()
    _spawn_call(server)
    emitted = await server.advance(5)
    assert emitted
    await client.send(("Action", "Ping"), ("ActionID", "while-paused"))
    assert (await client.next()).get("ActionID") == "while-paused"
    delivered = await server.resume_events()
    assert delivered == len(emitted)
    first = await client.next()
    assert first.event == "Newchannel"


async def test_realtime_clock_runs_at_speed(connect: Connect, server: SimulatorServer) -> None:
    client = await connect()
    await client.login()
    _spawn_call(server)
    start = server.engine.now
    stop = asyncio.Event()
    task = asyncio.create_task(server.run_clock(speed=100.0, stop=stop, tick=0.02))
    msgs = await client.until(lambda m: m.event == "QueueCallerJoin", timeout=3)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert msgs[0].event == "Newchannel"
    assert server.engine.now - start >= 1.0  # the IVR second passed in virtual time


async def test_restart_keeping_connections_broadcasts_fullybooted(
    connect: Connect, server: SimulatorServer
) -> None:
    client = await connect()
    await client.login()
    await server.advance(100)
    await server.restart(drop_connections=False)
    msg = await client.next()
    assert msg.event == "FullyBooted"
    assert [k for k, _ in msg.items] == [
        "Event",
        "Privilege",
        "Timestamp",
        "Status",
        "Uptime",
        "LastReload",
    ]
