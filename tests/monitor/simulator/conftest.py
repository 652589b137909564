"""Fixtures for the simulator tests: a started server on 127.0.0.1 (manual clock) and a
tiny AMI client speaking over real loopback TCP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from collectors.ami.parser import AmiMessage, AmiParser
from monitor.simulator import ContactCentre, ServerConfig, SimulatorServer
from monitor.simulator.scripted import script_config

SECRET = "s3cret-sim"


class AmiTestClient:
    """Reads with a timeout so no test can hang."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = AmiParser()
        self.pending: list[AmiMessage] = []
        self.banner: str | None = None

    async def send(self, *pairs: tuple[str, str]) -> None:
        text = "".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n"
        self.writer.write(text.encode())
        await self.writer.drain()

    async def _fill(self, timeout: float) -> bool:
        data = await asyncio.wait_for(self.reader.read(65536), timeout)
        if not data:
            return False
        self.pending.extend(self.parser.feed(data))
        self.banner = self.banner or self.parser.banner
        return True

    async def read_banner(self, timeout: float = 2.0) -> str:
        while self.parser.banner is None:
            if not await self._fill(timeout):
                raise AssertionError("closed before banner")
        return self.parser.banner

    async def next(self, timeout: float = 2.0) -> AmiMessage:
        while not self.pending:
            if not await self._fill(timeout):
                raise EOFError("connection closed")
        return self.pending.pop(0)

    async def until(
        self, pred: Callable[[AmiMessage], bool], timeout: float = 2.0
    ) -> list[AmiMessage]:
        """Messages up to and including the first one matching ``pred``."""
        got: list[AmiMessage] = []
        while True:
            msg = await self.next(timeout)
            got.append(msg)
            if pred(msg):
                return got

    async def closed(self, timeout: float = 3.0) -> bool:
        """True when the server closes the socket (after any pending data)."""
        try:
            while await self._fill(timeout):
                pass
        except (ConnectionError, TimeoutError):
            return False
        return True

    async def login(self, events: str = "on") -> list[AmiMessage]:
        await self.read_banner()
        await self.send(
            ("Action", "Login"),
            ("ActionID", "login-1"),
            ("Username", "ringwatch"),
            ("Secret", SECRET),
            ("Events", events),
        )
        return await self.until(lambda m: m.event == "FullyBooted")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


Connect = Callable[[], Awaitable[AmiTestClient]]


def make_server(engine: ContactCentre | None = None, **kw: object) -> SimulatorServer:
    engine = engine or ContactCentre(script_config(), seed=1, traffic=False)
    params: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 0,
        "secret": SECRET,
        "failed_login_delay": 0.0,
    }
    params.update(kw)
    return SimulatorServer(engine, ServerConfig(**params))  # type: ignore[arg-type]


@pytest.fixture
async def server() -> AsyncIterator[SimulatorServer]:
    srv = make_server()
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
def sim_secret() -> str:
    return SECRET


@pytest.fixture
def server_factory() -> Callable[..., SimulatorServer]:
    """``server_factory(engine=None, **ServerConfig fields)`` → an unstarted server."""
    return make_server


@pytest.fixture
async def open_client() -> AsyncIterator[Callable[[int], Awaitable[AmiTestClient]]]:
    """``await open_client(port)`` → a connected test client (closed at teardown)."""
    clients: list[AmiTestClient] = []

    async def _open(port: int) -> AmiTestClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = AmiTestClient(reader, writer)
        clients.append(client)
        return client

    yield _open
    for client in clients:
        await client.close()


@pytest.fixture
def connect(
    server: SimulatorServer, open_client: Callable[[int], Awaitable[AmiTestClient]]
) -> Connect:
    async def _connect() -> AmiTestClient:
        return await open_client(server.port)

    return _connect
