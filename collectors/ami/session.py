"""One AMI connection: banner, login (plain or MD5 challenge), actions correlated by ActionID,
EventList collection, and the reader that turns bytes into events for the consumer queue.

``AmiLink`` owns no reconnect logic and no timers but the per-action timeouts; the reconnect
loop, keepalive and health live in ``collectors.ami.transport``. The socket itself has no read
timeout: an AMI link may be silent for hours at night, and a dead link is found by a Ping that
gets no answer (``reads`` counts the reads, so the keepalive can tell a slow answer on a busy
link from a dead one).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from collectors.ami.parser import AmiMessage, AmiParser
from monitor.errors import AmiAuthError, AmiConnectionError, AmiError

__all__ = ["AmiLink", "ListResult", "Received", "md5_key"]

_READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Received:
    """An unsolicited event as read from the socket; ``received_at`` is the client clock."""

    received_at: float
    msg: AmiMessage


@dataclass(frozen=True, slots=True)
class ListResult:
    """A whole EventList answer (``CoreShowChannels``, ``QueueStatus``): the response, every
    item event, and the client time its response arrived. ``ok`` is False when the PBX
    answered ``Response: Error`` (e.g. app_queue not loaded)."""

    action: str
    received_at: float
    ok: bool
    response: AmiMessage
    items: tuple[AmiMessage, ...] = ()

    @property
    def message(self) -> str:
        return self.response.get("Message") or ""


Item = Received | ListResult
Sink = Callable[[Item], object]


def md5_key(challenge: str, secret: str) -> str:
    """The MD5 login key Asterisk expects: ``md5hex(challenge + secret)``."""
    return hashlib.md5((challenge + secret).encode("utf-8")).hexdigest()


@dataclass
class _Pending:
    action: str
    future: asyncio.Future[AmiMessage | ListResult]
    is_list: bool
    deliver: bool
    response: AmiMessage | None = None
    received_at: float = 0.0
    items: list[AmiMessage] = field(default_factory=list)


class AmiLink:
    """A connected AMI socket. ``read_forever`` must run (as a task) for actions to complete.

    ``sink`` receives every unsolicited event and every completed list marked ``deliver``, in
    the order they were read. It must not wait: the reader keeps reading whatever the
    consumer's backlog, so that action responses (a Ping's answer) are never held behind
    events (``collectors.ami.intake`` sheds events instead).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        where: str,
        sink: Sink,
        clock: Callable[[], float],
        parser: AmiParser | None = None,
    ) -> None:
        self.where = where
        self._reader = reader
        self._writer = writer
        self._sink = sink
        self._clock = clock
        self.parser = parser or AmiParser()
        self.banner_seen = asyncio.Event()
        self.events_read = 0
        self.reads = 0  # socket reads that returned data
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"AmiLink({self.where}, banner={self.parser.banner!r})"

    # ---- reading ---------------------------------------------------------------------------

    async def read_forever(self, on_batch: Callable[[int, int], None] | None = None) -> None:
        """Read until the peer closes; then raise AmiConnectionError. ``on_batch(events,
        skipped)`` is told after each read how many events and bad frames it held."""
        try:
            while True:
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    raise AmiConnectionError(f"AMI link to {self.where} closed by the PBX")
                self.reads += 1
                received_at = self._clock()
                skipped = self.parser.stats.skipped
                messages = self.parser.feed(data)
                if self.parser.banner is not None:
                    self.banner_seen.set()
                events = 0
                for msg in messages:
                    if self._dispatch(msg, received_at):
                        events += 1
                self.events_read += events
                if on_batch is not None:
                    on_batch(events, self.parser.stats.skipped - skipped)
        except (ConnectionError, OSError) as exc:
            raise AmiConnectionError(f"AMI link to {self.where} failed: {exc}") from exc
        finally:
            self._fail_pending(AmiConnectionError(f"AMI link to {self.where} closed"))

    def _dispatch(self, msg: AmiMessage, received_at: float) -> bool:
        """Route one message; True when it was an unsolicited event handed to the sink."""
        action_id = msg.get("ActionID")
        pending = self._pending.get(action_id) if action_id is not None else None
        if msg.get("Response") is not None:
            if pending is not None and pending.response is None:
                self._responded(action_id or "", pending, msg, received_at)
            return False
        if pending is not None and pending.is_list and pending.response is not None:
            if (msg.get("EventList") or "").lower() == "complete":
                del self._pending[action_id or ""]
                result = ListResult(
                    pending.action,
                    pending.received_at,
                    True,
                    pending.response,
                    tuple(pending.items),
                )
                if pending.deliver:
                    self._sink(result)
                if not pending.future.done():
                    pending.future.set_result(result)
            else:
                pending.items.append(msg)
            return False
        if msg.get("Event") is None:
            return False
        self._sink(Received(received_at, msg))
        return True

    def _responded(
        self, action_id: str, pending: _Pending, msg: AmiMessage, received_at: float
    ) -> None:
        if not pending.is_list:
            del self._pending[action_id]
            if not pending.future.done():
                pending.future.set_result(msg)
            return
        if (msg.get("Response") or "").lower() != "success":
            del self._pending[action_id]
            result = ListResult(pending.action, received_at, False, msg)
            if not pending.future.done():
                pending.future.set_result(result)
            return
        pending.response = msg
        pending.received_at = received_at

    def _fail_pending(self, exc: AmiError) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(exc)
                pending.future.exception()  # mark retrieved: the caller may be gone
        self._pending.clear()

    # ---- actions ---------------------------------------------------------------------------

    def _send(self, name: str, fields: Sequence[tuple[str, str]], action_id: str) -> None:
        pairs = [("Action", name), ("ActionID", action_id), *fields]
        self._writer.write(AmiMessage.from_pairs(pairs).to_bytes())

    async def action(
        self, name: str, fields: Sequence[tuple[str, str]] = (), *, timeout: float
    ) -> AmiMessage:
        """Send an action; return its response. TimeoutError when none comes in time."""
        action_id = f"rw-{next(self._ids)}"
        future: asyncio.Future[AmiMessage | ListResult] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(name, future, is_list=False, deliver=False)
        try:
            self._send(name, fields, action_id)
            await self._writer.drain()
            async with asyncio.timeout(timeout):
                result = await future
        finally:
            self._pending.pop(action_id, None)
        assert isinstance(result, AmiMessage)
        return result

    async def list_action(
        self,
        name: str,
        fields: Sequence[tuple[str, str]] = (),
        *,
        timeout: float,
        deliver: bool = False,
    ) -> ListResult:
        """Send an action answered by an EventList; return the whole list. With ``deliver``,
        the reader also hands the result to the sink at its place in the event stream."""
        action_id = f"rw-{next(self._ids)}"
        future: asyncio.Future[AmiMessage | ListResult] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(name, future, is_list=True, deliver=deliver)
        try:
            self._send(name, fields, action_id)
            await self._writer.drain()
            async with asyncio.timeout(timeout):
                result = await future
        finally:
            self._pending.pop(action_id, None)
        assert isinstance(result, ListResult)
        return result

    async def login(self, username: str, secret: str, auth: str, *, timeout: float) -> None:
        """Log in (``auth`` = plain or md5). AmiAuthError names the user and the PBX, never
        the secret."""
        if auth == "md5":
            challenge = await self.action("Challenge", [("AuthType", "MD5")], timeout=timeout)
            text = challenge.get("Challenge")
            if (challenge.get("Response") or "").lower() != "success" or not text:
                reason = challenge.get("Message") or "no challenge in the answer"
                raise AmiAuthError(
                    f"AMI MD5 challenge refused by {self.where} for user {username!r}: "
                    f"{reason}; set auth: plain if this PBX does not offer MD5"
                )
            fields = [("AuthType", "MD5"), ("Username", username), ("Key", md5_key(text, secret))]
        else:
            fields = [("Username", username), ("Secret", secret)]
        reply = await self.action("Login", fields, timeout=timeout)
        if (reply.get("Response") or "").lower() != "success":
            reason = reply.get("Message") or "no reason given"
            raise AmiAuthError(
                f"AMI login refused by {self.where} for user {username!r}: {reason}; check the "
                "username, the secret (secret_env / secret_file) and the permit/deny lines of "
                "that user in manager.conf"
            )

    async def logoff(self, timeout: float = 1.0) -> None:
        """Say goodbye politely; errors are ignored (the link is going away anyway)."""
        with contextlib.suppress(AmiError, TimeoutError, ConnectionError, OSError):
            await self.action("Logoff", timeout=timeout)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
