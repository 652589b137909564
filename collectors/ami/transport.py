"""The live AMI collector: connect (TCP or TLS), log in, keep alive with Ping, reconnect fast
then capped (``collectors.ami.backoff``; during a long wait a bare TCP connect every
``probe_interval`` ends it as soon as the PBX listens again), resynchronise after every
(re)connect.

    client = AmiClient(pbx, TrackerFeeder(tracker, Translator(), on_records))
    await client.run(stop)            # returns soon after ``stop`` is set

The socket reader offers events to a bounded queue (``collectors.ami.intake``) and never
waits on it, so a Ping's answer is read at once however far the consumer lags; under overload
the queue sheds events in a documented order and counts them. One consumer task takes the
events out in order and calls the consumer (``on_event`` / ``on_snapshot``); the time they
spent queued shows as ``event lag`` (dequeue time minus receive time).

A silent (black-holed) link is found within ``ping_interval + ping_timeout`` (5 + 3 s by
default): a Ping with no answer and no other byte read meanwhile ends the session. A Ping
answered late while events keep arriving is a busy PBX, not a dead link: no reconnect.

Counters live in ``AmiStats``; a ``listener`` with the metrics exporter's AMI hooks
(``ami_up``, ``ami_reconnected``, ``ami_event``, ``ami_parse_error``, ``ami_events_shed``,
``event_lag_seconds``) is told as they change. No metrics objects live here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Collection
from functools import partial
from random import Random
from typing import Any

from collectors.ami.backoff import Backoff
from collectors.ami.connect import describe, tls_context
from collectors.ami.contracts import AmiConsumer, AmiEndpoint, AmiListener, AmiStats
from collectors.ami.intake import EventIntake
from collectors.ami.session import AmiLink, Item, ListResult, Received
from monitor.errors import AmiAuthError, AmiConnectionError, AmiError, ConfigError

__all__ = [
    "AmiClient",
    "AmiConsumer",
    "AmiEndpoint",
    "AmiListener",
    "AmiStats",
    "Backoff",
    "tls_context",
]

log = logging.getLogger(__name__)

RESYNC_ACTIONS = ("CoreShowChannels", "QueueStatus")


class AmiClient:
    """One PBX's AMI collector. ``run(stop)`` connects, and reconnects until ``stop`` is set."""

    def __init__(
        self,
        pbx: AmiEndpoint,
        consumer: AmiConsumer,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Random | None = None,
        backoff: Backoff | None = None,
        listener: AmiListener | None = None,
        queue_size: int = 10_000,
        needed_events: Collection[str] | None = None,
        ping_timeout: float | None = None,
        action_timeout: float = 10.0,
        probe_interval: float = 1.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if pbx.secret is None:
            raise ConfigError(
                f"pbx {pbx.name!r}: no AMI secret; set secret_env or secret_file for it"
            )
        if pbx.auth not in ("plain", "md5"):
            raise ConfigError(f"pbx {pbx.name!r}: auth must be plain or md5, got {pbx.auth!r}")
        if queue_size < 1:
            raise ConfigError(f"queue_size must be at least 1, got {queue_size}")
        self.pbx = pbx
        self.consumer = consumer
        self.stats = AmiStats()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or Random()
        self._backoff = backoff or Backoff(tuple(pbx.reconnect_delays), pbx.reconnect_max)
        self._listener = listener
        self._intake = EventIntake(queue_size, needed_events, self._shed)
        self._ping_timeout = ping_timeout or pbx.ping_timeout
        self._action_timeout = action_timeout
        self._probe_interval = probe_interval
        self._ssl = ssl_context if ssl_context is not None else None
        self.where = f"{pbx.host}:{pbx.port}"
        self.state = "stopped"
        self.since = clock()
        self.last_error: str | None = None
        self.attempts = 0  # failed attempts since the last good session
        self.pings = 0

    def __repr__(self) -> str:
        return f"AmiClient(pbx={self.pbx.name!r}, {self.where}, state={self.state})"

    # ---- health ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``state``: connecting | up | backoff | auth_failed | stopped; ``since`` (epoch s)."""
        return {
            "component": f"ami:{self.pbx.name}",
            "state": self.state,
            "since": self.since,
            "last_error": self.last_error,
            "endpoint": self.where,
            "reconnects": self.stats.reconnects,
            "events": self.stats.events,
            "parse_errors": self.stats.parse_errors,
            "lag_seconds": self.stats.last_lag,
            "queue_depth": len(self._intake),
            "shed": dict(self.stats.shed),
        }

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.since = self._clock()

    def _set_up(self, up: bool) -> None:
        if self.stats.up != up:
            self.stats.up = up
            if self._listener is not None:
                self._listener.ami_up(self.pbx.name, up)

    # ---- the loop --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Collect until ``stop`` is set; events already read are handed on before it returns."""
        consumer = asyncio.create_task(self._consume(), name=f"ami-consume-{self.pbx.name}")
        try:
            while not stop.is_set():
                self._set_state("connecting")
                try:
                    await self._session(stop)
                except AmiAuthError as exc:
                    self._failed("auth_failed", str(exc))
                except (AmiError, OSError, TimeoutError, ssl.SSLError) as exc:
                    self._failed("backoff", describe(exc, self.where))
                if stop.is_set():
                    break
                delay = self._backoff.delay(self.attempts, self._rng)
                self.attempts += 1
                log.info("AMI %s: reconnecting in %.1f s", self.where, delay)
                if self.state == "backoff" and delay > self._probe_interval:
                    await self._pause_until_back(delay, stop)
                else:
                    await self._pause(delay, stop)
        finally:
            self._set_up(False)
            self._set_state("stopped")
            self._intake.stop()
            await consumer

    def _failed(self, state: str, message: str) -> None:
        self._set_state(state)
        self.last_error = message
        self._set_up(False)
        log.warning("AMI %s (pbx %s): %s", self.where, self.pbx.name, message)

    async def _pause(self, seconds: float, stop: asyncio.Event) -> None:
        """Sleep ``seconds`` (the injected sleep) unless ``stop`` is set first."""
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)

    async def _pause_until_back(self, seconds: float, stop: asyncio.Event) -> None:
        """A long wait after a link failure: every ``probe_interval`` a bare TCP connect
        checks whether the PBX listens again, and the wait ends as soon as it does, so the
        collector is back within about ``probe_interval`` of the PBX (not up to 15 s later)."""
        left = seconds
        while left > 0 and not stop.is_set():
            step = min(self._probe_interval, left)
            await self._pause(step, stop)
            left -= step
            if left > 0 and not stop.is_set() and await self._listening():
                log.info("AMI %s: the PBX listens again; reconnecting now", self.where)
                return

    async def _listening(self) -> bool:
        try:
            async with asyncio.timeout(min(1.0, self._probe_interval)):
                _, writer = await asyncio.open_connection(self.pbx.host, self.pbx.port)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        return True

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        ctx: ssl.SSLContext | None = None
        if self.pbx.tls:
            ctx = self._ssl or tls_context(self.pbx.tls_verify)
        async with asyncio.timeout(self._action_timeout):
            return await asyncio.open_connection(self.pbx.host, self.pbx.port, ssl=ctx)

    async def _session(self, stop: asyncio.Event) -> None:
        reader, writer = await self._open()
        link = AmiLink(reader, writer, where=self.where, sink=self._offer, clock=self._clock)
        reading = asyncio.create_task(link.read_forever(self._batch), name="ami-read")
        stopper = asyncio.create_task(stop.wait())
        try:
            steps: list[tuple[Callable[[], Awaitable[Any]], str]] = [
                (link.banner_seen.wait, "AMI banner"),
                (lambda: self._login(link), "login answer"),
            ]
            for name in RESYNC_ACTIONS:
                steps.append((partial(self._resync, link, name), f"{name} list"))
            for work, what in steps:
                if not await self._until(work(), reading, stopper, what):
                    return
            self._logged_in()
            await self._keepalive(link, reading, stopper)
            if stop.is_set():
                await link.logoff()
        finally:
            for task in (reading, stopper):
                task.cancel()
            await asyncio.gather(reading, stopper, return_exceptions=True)
            await link.close()
            self._set_up(False)

    async def _until(
        self,
        work: Awaitable[Any],
        reading: asyncio.Task[None],
        stopper: asyncio.Task[bool],
        what: str,
    ) -> bool:
        """Await ``work`` unless the link dies or stop is set first; False when stopped."""
        task = asyncio.ensure_future(work)
        try:
            async with asyncio.timeout(self._action_timeout):
                await asyncio.wait({task, reading, stopper}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            pass
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if task.done() and not task.cancelled():
            exc = task.exception()
            if exc is None:
                return True
            if not isinstance(exc, TimeoutError):
                raise exc
        elif stopper.done():
            return False
        elif reading.done():
            reading.result()  # raises AmiConnectionError
            raise AmiConnectionError(f"AMI link to {self.where} closed waiting for {what}")
        raise AmiConnectionError(f"no {what} from {self.where} within {self._action_timeout:g} s")

    async def _login(self, link: AmiLink) -> None:
        secret = self.pbx.secret.reveal() if self.pbx.secret is not None else ""
        await link.login(self.pbx.username, secret, self.pbx.auth, timeout=self._action_timeout)

    async def _resync(self, link: AmiLink, name: str) -> None:
        await link.list_action(name, timeout=self._action_timeout, deliver=True)

    def _logged_in(self) -> None:
        self.stats.connects += 1
        if self.stats.connects > 1:
            self.stats.reconnects += 1
            if self._listener is not None:
                self._listener.ami_reconnected(self.pbx.name)
        self.attempts = 0
        self.last_error = None
        self._set_state("up")
        self._set_up(True)
        log.info("AMI %s: logged in as %s", self.where, self.pbx.username)

    async def _keepalive(
        self, link: AmiLink, reading: asyncio.Task[None], stopper: asyncio.Task[bool]
    ) -> None:
        """Ping every ``ping_interval``; a Ping with no answer in time, and no byte read while
        waiting for it, means a dead link. Resync after an overflow once the backlog drained."""
        while True:
            sleeper = asyncio.ensure_future(self._sleep(self.pbx.ping_interval))
            try:
                await asyncio.wait({sleeper, reading, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                await asyncio.gather(sleeper, return_exceptions=True)
            if stopper.done():
                return
            if reading.done():
                reading.result()
                raise AmiConnectionError(f"AMI link to {self.where} closed")
            if self._intake.resync_wanted and self._intake.drained():
                self._intake.resync_wanted = False
                self.stats.resyncs += 1
                log.warning("AMI %s: events were shed (overload); resynchronising", self.where)
                for name in RESYNC_ACTIONS:
                    await self._resync(link, name)
            reads = link.reads
            try:
                await link.action("Ping", timeout=self._ping_timeout)
            except TimeoutError:
                if link.reads == reads:
                    raise AmiConnectionError(
                        f"no answer to Ping from {self.where} within {self._ping_timeout:g} s "
                        "and nothing else read; the link is dead"
                    ) from None
                self.stats.slow_pings += 1  # the PBX is busy, the link is alive
                continue
            self.pings += 1

    # ---- the queue -------------------------------------------------------------------------

    def _offer(self, item: Item) -> None:
        self._intake.offer(item)
        self.stats.queue_depth = depth = len(self._intake)
        if depth > self.stats.queue_peak:
            self.stats.queue_peak = depth

    def _shed(self, reason: str, count: int) -> None:
        self.stats.shed[reason] += count
        if self._listener is not None:
            self._listener.ami_events_shed(self.pbx.name, reason, count)

    def _batch(self, events: int, skipped: int) -> None:
        if events:
            self.stats.events += events
            if self._listener is not None:
                self._listener.ami_event(self.pbx.name, events)
        if skipped:
            self.stats.parse_errors += skipped
            if self._listener is not None:
                self._listener.ami_parse_error(self.pbx.name, skipped)

    async def _consume(self) -> None:
        handled = 0
        while True:
            item = await self._intake.get()
            self.stats.queue_depth = len(self._intake)
            if item is None:
                return
            try:
                if isinstance(item, Received):
                    lag = max(0.0, self._clock() - item.received_at)
                    self.stats.last_lag = lag
                    if lag > self.stats.max_lag:
                        self.stats.max_lag = lag
                    if self._listener is not None:
                        self._listener.event_lag_seconds(self.pbx.name, lag)
                    self.consumer.on_event(item.received_at, item.msg)
                elif isinstance(item, ListResult):
                    self.consumer.on_snapshot(item)
            except Exception:  # a bug in a consumer must not stop the collector
                log.exception("AMI %s: consumer failed on %r", self.where, item)
            finally:
                # let the reader run between items even when the queue never empties
                handled += 1
                if handled % 256 == 0:
                    await asyncio.sleep(0)
