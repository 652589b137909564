"""A small blocking AMI client for the lab: ringwatch's own parser on a loopback socket.

One reader thread per connection keeps every byte received (the transcript a replay feeds to
ringwatch's pipeline) and every parsed message with its receive time. Tests wait on events
with a deadline (``wait_for``), never with sleeps.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Callable

from collectors.ami.parser import AmiMessage, AmiParser

__all__ = ["AmiClient", "AmiError"]

Match = Callable[[AmiMessage], bool]


class AmiError(RuntimeError):
    """The lab's AMI connection failed or an action was refused."""


class AmiClient:
    def __init__(self, host: str, port: int, username: str, secret: str, *, name: str) -> None:
        self.name = name
        self.raw = bytearray()
        self.messages: list[tuple[float, AmiMessage]] = []
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._send_lock = threading.Lock()
        self._closed = False
        self._sock = socket.create_connection((host, port), timeout=10)
        self._sock.settimeout(None)
        self._parser = AmiParser()
        self._reader = threading.Thread(target=self._read, name=f"ami-{name}", daemon=True)
        self._reader.start()
        reply = self.action("Login", Username=username, Secret=secret, Events="on")
        if reply.get("Response") != "Success":
            raise AmiError(f"AMI login as {username} refused: {reply.get('Message')}")

    # ---- reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                data = b""
            now = time.time()
            with self._cond:
                if not data:
                    self._closed = True
                    self._cond.notify_all()
                    return
                self.raw += data
                for msg in self._parser.feed(data):
                    self.messages.append((now, msg))
                self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def wait_for(self, match: Match, timeout: float, start: int = 0) -> AmiMessage:
        """The first message from index ``start`` on that ``match``es; AmiError after
        ``timeout`` seconds (or when the connection closes first)."""
        return self.wait_for_at(match, timeout, start)[1]

    def wait_for_at(self, match: Match, timeout: float, start: int = 0) -> tuple[float, AmiMessage]:
        """As ``wait_for``, with the time (host clock) the message was received."""
        deadline = time.monotonic() + timeout
        i = start
        with self._cond:
            while True:
                while i < len(self.messages):
                    at, msg = self.messages[i]
                    i += 1
                    if match(msg):
                        return at, msg
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    why = "closed" if self._closed else f"no match within {timeout:.0f} s"
                    raise AmiError(f"AMI {self.name}: {why}")
                self._cond.wait(left)

    def wait_closed(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AmiError(f"AMI {self.name}: still open after {timeout:.0f} s")
                self._cond.wait(left)

    def mark(self) -> int:
        with self._cond:
            return len(self.messages)

    def events(self, name: str | None = None) -> list[AmiMessage]:
        with self._cond:
            msgs = [m for _, m in self.messages]
        return [
            m
            for m in msgs
            if m.get("Event") is not None and (name is None or m.get("Event") == name)
        ]

    # ---- actions ---------------------------------------------------------------------------

    def send(self, action: str, **fields: str | int | float) -> str:
        action_id = f"{self.name}-{next(self._ids)}"
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        for key, value in fields.items():
            if key == "Variable" and isinstance(value, str) and "\n" in value:
                lines.extend(f"Variable: {v}" for v in value.splitlines())
                continue
            lines.append(f"{key}: {value}")
        with self._send_lock:
            self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return action_id

    def action(self, action: str, timeout: float = 10.0, **fields: str | int | float) -> AmiMessage:
        start = self.mark()
        action_id = self.send(action, **fields)
        return self.wait_for(
            lambda m: m.get("Response") is not None and m.get("ActionID") == action_id,
            timeout,
            start,
        )

    def command(self, cli: str, timeout: float = 10.0) -> AmiMessage:
        return self.action("Command", timeout=timeout, Command=cli)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(b"Action: Logoff\r\n\r\n")
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._reader.join(timeout=5)
