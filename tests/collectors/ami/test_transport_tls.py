"""AMI over TLS (port 5039 style): a TLS proxy on 127.0.0.1 with a self-signed certificate
made at test time (openssl) in front of the simulator's plain AMI server."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from monitor.record import Outcome
from monitor.simulator import scripted


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    crt, key = d / "pbx.crt", d / "pbx.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return crt, key


@pytest.fixture
async def tls_proxy(cert: tuple[Path, Path]) -> AsyncIterator[Callable[[int], Any]]:
    servers: list[asyncio.Server] = []
    tasks: set[asyncio.Task[None]] = set()

    async def start(upstream_port: int) -> int:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                ur, uw = await asyncio.open_connection("127.0.0.1", upstream_port)
            except OSError:
                w.close()
                return
            for t in (asyncio.create_task(_pipe(r, uw)), asyncio.create_task(_pipe(ur, w))):
                tasks.add(t)
                t.add_done_callback(tasks.discard)

        srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
        servers.append(srv)
        return int(srv.sockets[0].getsockname()[1])

    yield start
    for srv in servers:
        srv.close()
    for t in list(tasks):
        t.cancel()
    with contextlib.suppress(Exception):
        await asyncio.gather(*tasks, return_exceptions=True)


async def _tls_harness(make_harness: Any, tls_proxy: Any, **kw: Any) -> Any:
    """The simulator behind the TLS proxy; ``kw``: tls_verify, ssl_context."""
    pbx_kw = {"tls": True, "tls_verify": kw.pop("tls_verify")}
    return await make_harness(
        scripted.queue_answered_with_hold(), proxy=tls_proxy, pbx_kw=pbx_kw, **kw
    )


async def test_tls_without_verification_carries_a_whole_call(
    make_harness: Any, tls_proxy: Any, until: Any
) -> None:
    h = await _tls_harness(make_harness, tls_proxy, tls_verify=False)
    await h.up()
    await h.server.advance(600)
    await h.drained()
    assert len(h.records) == 1 and h.records[0].outcome is Outcome.ANSWERED


async def test_tls_untrusted_certificate_is_a_clear_retried_error(
    make_harness: Any, tls_proxy: Any, until: Any
) -> None:
    h = await _tls_harness(make_harness, tls_proxy, tls_verify=True)
    await until(lambda: h.client.attempts >= 2, what="two refused handshakes")
    assert h.client.state == "backoff"
    err = h.client.last_error or ""
    assert "not trusted" in err and "tls_verify: false" in err


async def test_tls_verified_with_the_pbx_ca(
    make_harness: Any, tls_proxy: Any, cert: tuple[Path, Path]
) -> None:
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    h = await _tls_harness(make_harness, tls_proxy, tls_verify=True, ssl_context=ctx)
    await h.up()
    assert h.client.health()["state"] == "up"
    assert h.client.health()["endpoint"] != f"127.0.0.1:{h.server.port}"  # via the proxy
