"""The AMI server: ``asyncio.start_server`` on the host you give it; every client gets the
banner, speaks to a ``Session``; the engine's events go to every logged-in session whose
event mask accepts them.

Clock: ``speed`` virtual seconds per real second (``SimulatorServer.run_clock``) or manual
(tests call ``await server.advance(seconds)``, which returns once the events are written).
Fault injection for collector tests: ``drop_clients``, ``restart``, ``send_raw``,
``pause_events`` / ``resume_events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from random import Random

from collectors.ami.parser import AmiMessage, AmiParser
from monitor.simulator.engine import ContactCentre
from monitor.simulator.protocol import Credentials, Session, privilege_classes
from monitor.simulator.recordings import RecordingWriter
from monitor.simulator.wire import event, render, version_for

__all__ = ["ServerConfig", "SimulatorServer"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 5038
    asterisk: int = 22
    username: str = "ringwatch"
    secret: str = field(default="ringwatch", repr=False)
    timestamps: bool = True
    failed_login_delay: float = 1.0
    keep_recordings: int | None = None  # newest N recordings kept (engine.recordings_dir)


class _Client:
    def __init__(self, session: Session, writer: asyncio.StreamWriter) -> None:
        self.session = session
        self.writer = writer
        self.delivered = 0


class SimulatorServer:
    """An AMI endpoint in front of a ``ContactCentre``."""

    def __init__(self, engine: ContactCentre, config: ServerConfig | None = None) -> None:
        self.engine = engine
        self.config = config or ServerConfig()
        self.version = version_for(self.config.asterisk)
        self._creds = Credentials(self.config.username, self.config.secret)
        self._rng = Random(engine.rng.random())
        self._server: asyncio.Server | None = None
        self._clients: list[_Client] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._paused = False
        self._backlog: list[tuple[float, AmiMessage]] = []
        self._changed = asyncio.Condition()
        self.events_sent = 0
        # call recordings (engine.recordings_dir set): written in a thread, off the clock
        self.recordings = (
            RecordingWriter(keep=self.config.keep_recordings)
            if engine.recordings_dir is not None
            else None
        )

    # -- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.config.host, self.config.port)

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self.config.port
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.drop_clients()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self.recordings is not None:
            await self.recordings.drain()
            self.recordings.close()

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- connections ---------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        session = Session(
            self.version, self._creds, self.engine, self._rng, self.config.failed_login_delay
        )
        client = _Client(session, writer)
        self._clients.append(client)
        parser = AmiParser()
        try:
            writer.write(self.version.banner)
            await writer.drain()
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for msg in parser.feed(data):
                    reply = session.handle(msg)
                    if reply.delay > 0:
                        await asyncio.sleep(reply.delay)
                    for chunk in reply.data:
                        writer.write(chunk)
                    await writer.drain()
                    if reply.logged_in:
                        await self._notify()
                    if reply.close:
                        return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if client in self._clients:
                self._clients.remove(client)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            await self._notify()
            if task is not None:
                self._tasks.discard(task)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    @property
    def authenticated_clients(self) -> int:
        return sum(1 for c in self._clients if c.session.authenticated)

    async def wait_for_clients(self, count: int, timeout: float = 5.0) -> None:
        """Wait until ``count`` clients are logged in (tests; bounded by ``timeout``)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.authenticated_clients >= count)

    # -- events --------------------------------------------------------------------
    async def deliver(self, events: list[tuple[float, AmiMessage]]) -> int:
        """Write events to every logged-in client that wants them; returns how many
        (event, client) deliveries were written."""
        if self._paused:
            self._backlog.extend(events)
            return 0
        sent = 0
        clients = [c for c in self._clients if c.session.authenticated]
        for at, msg in events:
            classes = privilege_classes(msg.get("Privilege") or "")
            data = render(at, msg, self.config.timestamps)
            for client in clients:
                if client.session.mask & classes and not client.writer.is_closing():
                    client.writer.write(data)
                    client.delivered += 1
                    sent += 1
        for client in clients:
            with contextlib.suppress(ConnectionError):
                await client.writer.drain()
        self.events_sent += sent
        return sent

    async def advance(self, seconds: float) -> list[tuple[float, AmiMessage]]:
        """Manual clock: run the engine ``seconds`` further and deliver what it emitted;
        returns the emitted events once they are written to the clients."""
        events = self.engine.run_until(self.engine.now + seconds)
        self._write_recordings()
        await self.deliver(events)
        return events

    def _write_recordings(self) -> None:
        if self.recordings is not None:
            self.recordings.submit(self.engine.take_recording_jobs())

    async def run_clock(self, speed: float, stop: asyncio.Event, tick: float = 0.2) -> None:
        """Real-time clock: ``speed`` virtual seconds per real second until ``stop`` is set."""
        loop = asyncio.get_running_loop()
        v0, r0 = self.engine.now, loop.time()
        while not stop.is_set():
            target = v0 + (loop.time() - r0) * speed
            events = self.engine.run_until(target)
            self._write_recordings()
            await self.deliver(events)
            nxt = self.engine.next_time()
            wait = tick if nxt is None else min(tick, max(0.005, (nxt - target) / speed))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    # -- fault injection -----------------------------------------------------------
    async def drop_clients(self) -> int:
        """Abort every client socket now (no Goodbye); returns how many were dropped."""
        dropped = 0
        for client in list(self._clients):
            transport = client.writer.transport
            if not transport.is_closing():
                transport.abort()
                dropped += 1
        self._clients.clear()
        await self._notify()
        return dropped

    async def restart(self, drop_connections: bool = True) -> None:
        """As if Asterisk restarted: channels vanish without Hangup events, a new boot time
        (FullyBooted Uptime restarts from 0); clients are disconnected unless told not to."""
        self.engine.restart()
        self._backlog.clear()
        if drop_connections:
            await self.drop_clients()
            return
        # sessions kept: they see the startup broadcast (JSON-built: Status first)
        booted = event("FullyBooted", "system,all", [("Status", "Fully Booted")])
        booted = AmiMessage.from_pairs([*booted.items, ("Uptime", "0"), ("LastReload", "0")])
        await self.deliver([(self.engine.now, booted)])

    async def send_raw(self, data: bytes) -> None:
        """Write raw bytes (garbage, half frames) to every connected client."""
        for client in self._clients:
            if not client.writer.is_closing():
                client.writer.write(data)
        for client in self._clients:
            with contextlib.suppress(ConnectionError):
                await client.writer.drain()

    def pause_events(self) -> None:
        """Hold back events (the engine keeps running); ``resume_events`` sends them."""
        self._paused = True

    async def resume_events(self, deliver_backlog: bool = True) -> int:
        self._paused = False
        backlog, self._backlog = self._backlog, []
        return await self.deliver(backlog) if deliver_backlog else 0
