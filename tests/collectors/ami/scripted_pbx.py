"""A scripted AMI peer on 127.0.0.1 for fault tests: it logs anyone in, answers the resync
lists empty and Pings with Pong, and can go down, come back on the same port, black-hole (keep
the socket open, answer nothing) or flood events. Every loop it runs stops by itself."""

from __future__ import annotations

import asyncio
import contextlib
import time

from collectors.ami.parser import AmiMessage, AmiParser

BANNER = b"Asterisk Call Manager/9.0.0\r\n"


def frame(*pairs: tuple[str, str]) -> bytes:
    return AmiMessage.from_pairs(list(pairs)).to_bytes()


class ScriptedPbx:
    def __init__(self) -> None:
        self.port = 0
        self.blackhole = False
        self.logins: list[float] = []  # monotonic time of each successful login
        self.pings = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """The PBX goes away: no listener, every connection closed."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            w.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        parser = AmiParser()
        try:
            writer.write(BANNER)
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                for msg in parser.feed(data):
                    if not self.blackhole:
                        self._answer(writer, msg)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.close()

    def _answer(self, writer: asyncio.StreamWriter, msg: AmiMessage) -> None:
        action = (msg.get("Action") or "").lower()
        aid = msg.get("ActionID") or ""
        if action == "login":
            self.logins.append(time.monotonic())
            writer.write(frame(("Response", "Success"), ("ActionID", aid),
                               ("Message", "Authentication accepted")))  # fmt: skip
        elif action in ("coreshowchannels", "queuestatus"):
            writer.write(frame(("Response", "Success"), ("ActionID", aid),
                               ("EventList", "start")))  # fmt: skip
            done = "CoreShowChannelsComplete" if action == "coreshowchannels" else (
                "QueueStatusComplete")  # fmt: skip
            writer.write(frame(("Event", done), ("ActionID", aid), ("EventList", "Complete"),
                               ("ListItems", "0")))  # fmt: skip
        elif action == "ping":
            self.pings += 1
            writer.write(frame(("Response", "Success"), ("ActionID", aid), ("Ping", "Pong")))
        else:
            writer.write(frame(("Response", "Success"), ("ActionID", aid)))

    async def flood(self, count: int, chunk: int = 500) -> None:
        """Write ``count`` events to every client as fast as the sockets take them."""
        stamp = time.time()
        for start in range(0, count, chunk):
            data = b"".join(
                frame(
                    ("Event", "VarSet" if i % 2 else "Newexten"),
                    ("Privilege", "dialplan,all"),
                    ("Channel", f"PJSIP/{i % 50}-00000001"),
                    ("Uniqueid", f"{stamp:.0f}.{i % 50}"),
                    ("Variable", "X"),
                    ("Value", str(i)),
                )
                for i in range(start, min(count, start + chunk))
            )
            for w in list(self._writers):
                with contextlib.suppress(ConnectionError):
                    w.write(data)
                    await w.drain()
