"""The simulator's AMI wire behaviour over real loopback TCP."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from collectors.ami.parser import AmiMessage
from monitor.simulator import QueuePlan, SimulatorServer, TalkPlan
from monitor.simulator.flows_queue import queue_call

Connect = Callable[[], Awaitable[Any]]
MakeServer = Callable[..., SimulatorServer]


def keys(msg: AmiMessage) -> list[str]:
    return [k for k, _ in msg.items]


async def test_banner_is_asterisk_22_by_default(connect: Connect) -> None:
    client = await connect()
    assert await client.read_banner() == "Asterisk Call Manager/11.0.0"


@pytest.mark.parametrize(
    ("major", "ami"), [(16, "5.0.5"), (18, "7.0.3"), (20, "9.0.0"), (21, "10.0.0")]
)
async def test_banner_per_imitated_version(
    major: int, ami: str, server_factory: MakeServer
) -> None:
    async with server_factory(asterisk=major) as srv:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        line = await asyncio.wait_for(reader.readline(), 2)
        assert line == f"Asterisk Call Manager/{ami}\r\n".encode()
        writer.close()


async def test_plain_login_then_fullybooted_16_form(
    connect: Connect, server: SimulatorServer
) -> None:
    client = await connect()
    got = await client.login()
    resp, booted = got[0], got[-1]
    assert keys(resp) == ["Response", "ActionID", "Message"]
    assert resp.get("Response") == "Success" and resp.get("Message") == "Authentication accepted"
    assert resp.get("ActionID") == "login-1"
    assert keys(booted) == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
    assert booted.get("Privilege") == "system,all" and booted.get("Status") == "Fully Booted"
    await server.wait_for_clients(1)


async def test_failed_login_answers_error_and_closes(connect: Connect) -> None:
    client = await connect()
    await client.read_banner()
    await client.send(
        ("Action", "Login"), ("ActionID", "x1"), ("Username", "ringwatch"), ("Secret", "wrong")
    )
    resp = await client.next()
    assert keys(resp) == ["Response", "ActionID", "Message"]
    assert resp.get("Response") == "Error" and resp.get("Message") == "Authentication failed"
    assert await client.closed()


async def test_md5_challenge_login(connect: Connect, sim_secret: str) -> None:
    client = await connect()
    await client.read_banner()
    await client.send(("Action", "Challenge"), ("AuthType", "MD5"), ("ActionID", "c1"))
    chal = await client.next()
    assert keys(chal) == ["Response", "ActionID", "Challenge"]
    challenge = chal.get("Challenge") or ""
    assert challenge.isdigit()
    key = hashlib.md5((challenge + sim_secret).encode()).hexdigest()
    await client.send(
        ("Action", "Login"),
        ("AuthType", "MD5"),
        ("Username", "ringwatch"),
        ("Key", key),
        ("ActionID", "l1"),
    )
    resp = await client.next()
    assert resp.get("Message") == "Authentication accepted"
    assert (await client.next()).event == "FullyBooted"


async def test_md5_login_with_wrong_key_fails(connect: Connect) -> None:
    client = await connect()
    await client.read_banner()
    await client.send(("Action", "Challenge"), ("AuthType", "MD5"))
    await client.next()
    await client.send(
        ("Action", "Login"), ("AuthType", "MD5"), ("Username", "ringwatch"), ("Key", "0" * 32)
    )
    assert (await client.next()).get("Message") == "Authentication failed"
    assert await client.closed()


async def test_actions_before_login_are_refused(connect: Connect) -> None:
    client = await connect()
    await client.read_banner()
    await client.send(("Action", "Ping"), ("ActionID", "p0"))
    resp = await client.next()
    assert resp.get("Response") == "Error" and resp.get("Message") == "Permission denied"
    assert resp.get("ActionID") == "p0"


async def test_unknown_action_and_ping_echo_action_id(connect: Connect) -> None:
    client = await connect()
    await client.login()
    await client.send(("Action", "Frobnicate"), ("ActionID", "u1"))
    resp = await client.next()
    assert resp.get("Response") == "Error" and resp.get("ActionID") == "u1"
    assert (resp.get("Message") or "").startswith("Invalid/unknown command: Frobnicate.")
    await client.send(("Action", "Ping"), ("ActionID", "p1"))
    pong = await client.next()
    assert keys(pong) == ["Response", "ActionID", "Ping", "Timestamp"]
    assert pong.get("Ping") == "Pong" and (pong.get("Timestamp") or "").count(".") == 1


async def test_logoff_says_goodbye_and_closes(connect: Connect) -> None:
    client = await connect()
    await client.login()
    await client.send(("Action", "Logoff"), ("ActionID", "bye"))
    resp = await client.next()
    assert resp.get("Response") == "Goodbye"
    assert resp.get("Message") == "Thanks for all the fish."
    assert resp.get("ActionID") == "bye"
    assert await client.closed()


async def test_command_output_14_plus_form(connect: Connect, server: SimulatorServer) -> None:
    client = await connect()
    await client.login()
    await client.send(("Action", "Command"), ("Command", "core show version"), ("ActionID", "v"))
    resp = await client.next()
    assert keys(resp)[:3] == ["Response", "ActionID", "Message"]
    assert resp.get("Message") == "Command output follows"
    assert resp.output[0].startswith("Asterisk 22.1.1 built by")
    server.engine.spawn(queue_call(server.engine, "support", "0207946", "X", QueuePlan()))
    await server.advance(3)
    await client.send(("Action", "Command"), ("Command", "core show channels"), ("ActionID", "c"))
    out = (await client.until(lambda m: m.get("ActionID") == "c", 2))[-1].output
    assert out[0].split() == ["Channel", "Location", "State", "Application(Data)"]
    assert "1 active call" in out and any(line.startswith("PJSIP/trunk-") for line in out)


async def _call_in_progress(server: SimulatorServer, seconds: float) -> None:
    plan = QueuePlan(patience=600, ivr=1, rings=(5.0,), talk=TalkPlan(talk=60))
    server.engine.spawn(queue_call(server.engine, "support", "02079460123", "Jane", plan))
    await server.advance(seconds)


async def test_coreshowchannels_eventlist(connect: Connect, server: SimulatorServer) -> None:
    client = await connect()
    await client.login(events="off")
    await _call_in_progress(server, 20)
    await client.send(("Action", "CoreShowChannels"), ("ActionID", "csc"))
    got = await client.until(lambda m: m.event == "CoreShowChannelsComplete")
    start, items, done = got[0], got[1:-1], got[-1]
    assert keys(start) == ["Response", "ActionID", "EventList", "Message"]
    assert start.get("EventList") == "start" and start.get("Message") == "Channels will follow"
    assert len(items) == 2 == len(server.engine.active_channels())
    for item in items:
        assert keys(item)[:3] == ["Event", "ActionID", "Channel"]
        assert keys(item)[-4:] == ["Application", "ApplicationData", "Duration", "BridgeId"]
        assert item.get("BridgeId")  # both legs are bridged 20 s in
    assert keys(done) == ["Event", "ActionID", "EventList", "ListItems"]
    assert done.get("EventList") == "Complete" and done.get("ListItems") == "2"


async def test_queuestatus_eventlist(connect: Connect, server: SimulatorServer) -> None:
    for agent in server.engine.agents.values():
        agent.busy = True  # nobody free: the caller waits as a QueueEntry
    client = await connect()
    await client.login(events="off")
    await _call_in_progress(server, 10)
    await client.send(("Action", "QueueStatus"), ("ActionID", "qs"))
    got = await client.until(lambda m: m.event == "QueueStatusComplete")
    items, done = got[1:-1], got[-1]
    assert got[0].get("Message") == "Queue status will follow"
    names = [m.event for m in items]
    assert names == ["QueueParams", "QueueMember", "QueueMember", "QueueEntry", "QueueParams"]
    assert all(keys(m)[-1] == "ActionID" and m.get("ActionID") == "qs" for m in items)
    entry = items[3]
    assert entry.get("Position") == "1" and entry.get("Wait") == "9"
    assert items[0].get("Calls") == "1"
    assert done.get("ListItems") == str(len(items)) == "5"


async def test_events_off_and_on(connect: Connect, server: SimulatorServer) -> None:
    client = await connect()
    await client.login(events="off")
    await _call_in_progress(server, 5)
    await client.send(("Action", "Ping"), ("ActionID", "after-off"))
    first = await client.next()
    assert first.get("ActionID") == "after-off"  # no event reached us before the pong
    await client.send(("Action", "Events"), ("EventMask", "on"), ("ActionID", "ev"))
    resp = await client.next()
    assert keys(resp) == ["Response", "ActionID", "Events"] and resp.get("Events") == "On"
    await server.advance(10)
    msg = await client.next()
    assert msg.event is not None and msg.get("Timestamp")


async def test_event_mask_filters_by_class(connect: Connect, server: SimulatorServer) -> None:
    client = await connect()
    await client.login(events="agent")
    await _call_in_progress(server, 20)
    await client.send(("Action", "Ping"), ("ActionID", "end"))
    got = await client.until(lambda m: m.get("ActionID") == "end")
    events = [m.event for m in got if m.event]
    assert events == [  # QueueMemberStatus is class agent too (the member rings, then in use)
        "QueueCallerJoin",
        "QueueMemberStatus",
        "AgentCalled",
        "QueueCallerLeave",
        "QueueMemberStatus",
        "AgentConnect",
    ]


async def test_two_clients_receive_the_same_events(
    connect: Connect, server: SimulatorServer
) -> None:
    a, b = await connect(), await connect()
    await a.login()
    await b.login()
    sent = await server.advance(0)
    assert sent == []
    await _call_in_progress(server, 12)
    await a.send(("Action", "Ping"), ("ActionID", "z"))
    await b.send(("Action", "Ping"), ("ActionID", "z"))
    ea = [m.items for m in await a.until(lambda m: m.get("ActionID") == "z") if m.event]
    eb = [m.items for m in await b.until(lambda m: m.get("ActionID") == "z") if m.event]
    assert ea == eb and len(ea) > 10


async def test_no_timestamps_option(
    server_factory: MakeServer, open_client: Callable[[int], Awaitable[Any]]
) -> None:
    async with server_factory(timestamps=False) as srv:
        client = await open_client(srv.port)
        await client.login()
        await _call_in_progress(srv, 2)
        msg = await client.next()
        assert msg.event == "Newchannel" and msg.get("Timestamp") is None
        assert [k for k, _ in msg.items][:3] == ["Event", "Privilege", "Channel"]
