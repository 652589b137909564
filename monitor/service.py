"""The ringwatch service (``ringwatch run``): collectors, pipelines, sinks and the web tier in
one asyncio loop, which owns all mutable state (design.md §1).

This is the service edge: it logs what core code raises and keeps running. SIGTERM/SIGINT stop
it cleanly; SIGHUP reloads the rules (an invalid new set is logged and the old one kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from prometheus_client import CollectorRegistry

from collectors.ami.transport import AmiClient
from monitor import native
from monitor.agents import AgentBoard
from monitor.config import Config
from monitor.errors import RingwatchError
from monitor.live import LiveState
from monitor.metrics import RingwatchMetrics
from monitor.metrics.alert_sources import metric_rules
from monitor.metrics.qa import QaCollector
from monitor.metrics.store_health import StoreWriteCollector
from monitor.pipeline import Pipeline
from monitor.promises import PromiseEngine
from monitor.promises.model import Change
from monitor.record import iso
from monitor.rules import RuleSetHolder, RulesWatcher, Site
from monitor.service_wiring import (
    Health,
    _audio_joiner,
    _listen,
    make_clients,
    stop_pool,
    web_app,
    web_server,
    wire_pbx,
)

# kept importable from here: the history importer and tests use them
from monitor.service_wiring import _audio_worker_ignores_ctrl_c as _audio_worker_ignores_ctrl_c
from monitor.service_wiring import _promise_settings as _promise_settings
from monitor.service_wiring import default_data_dir as default_data_dir
from monitor.sinks import PromiseSink
from monitor.store.retention import RETENTION_EVERY, RetentionResult, run_retention
from monitor.store.store import Store
from monitor.store.writer import StoreWriter

__all__ = ["Health", "Service"]

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# How long one store statement waits for another connection's lock before it is queued and
# retried (monitor/store/writer.py): short, because the event loop waits that long.
STORE_BUSY_TIMEOUT = 0.25


class Service:
    """Everything ``ringwatch run`` runs, built from a Config."""

    def __init__(
        self,
        cfg: Config,
        *,
        clock: Callable[[], float] = time.time,
        registry: CollectorRegistry | None = None,
        busy_timeout: float = STORE_BUSY_TIMEOUT,
    ) -> None:
        self.cfg = cfg
        self.clock = clock
        self.health = Health()
        self.web_address: str | None = None  # host:port once bound (port 0: the one chosen)
        self.registry = registry or CollectorRegistry()
        self.rules = RuleSetHolder(cfg.rules_dir)
        self.rules_watcher = RulesWatcher(self.rules)
        ruleset = self.rules.current
        # bookkeeping times (reviews, audit, sessions, overdue views) read the service's
        # clock: the wall clock for ``ringwatch run``, the simulator's in the demo (one
        # timeline, docs/simulator.md)
        self.store = Store.open(cfg.store_url, clock=clock, busy_timeout=busy_timeout)
        # completed calls and promise changes: written at once, or queued and retried while
        # the database is locked (monitor/store/writer.py)
        self.writer = StoreWriter()
        self.health.set("store", "ok", backend=self.store.backend)
        self.promises = PromiseEngine(
            self.store.engine, _promise_settings(ruleset, cfg), refresh_seconds=1.0
        )
        self.metrics = RingwatchMetrics(
            self.registry,
            [p.name for p in cfg.pbxs],
            cfg.queues,
            metric_rules(ruleset),
            agent_label=cfg.agent_label,
        )
        self.registry.register(QaCollector(self.store))
        self.registry.register(StoreWriteCollector(self.writer))
        self.metrics.set_rules_loaded(len(ruleset.rules))
        self.pipelines: dict[str, Pipeline] = {}
        self.promise_sinks: dict[str, PromiseSink] = {}
        site = Site(cfg.country.lower())
        # call audio: recordings analysed in worker processes after each call (docs/audio.md)
        self.audio = _audio_joiner(cfg, self, site)
        self.agents: dict[str, AgentBoard] = {}
        self.live = LiveState(
            self.pipelines,
            agents=self.agents,
            queues=cfg.queues,
            timezone=cfg.timezone,
            rules=lambda: self.rules.current,
            promise_counts=self._promise_counts,
        )
        for pbx in cfg.pbxs:
            wire_pbx(self, pbx, site)
        self.metrics.set_live_provider(self.live)
        self._promise_cache: tuple[float, dict[str, int]] = (0.0, {})
        self._clients: list[AmiClient] = []
        self._stop: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    # ---- promise plumbing ------------------------------------------------------------------

    def _promise_counts(self) -> dict[str, int]:
        """Outstanding promises: ``open`` (not yet due) and ``overdue`` (broken, the customer
        not yet reached). Cached for a second: the wallboard and a scrape both ask."""
        stamp, counts = self._promise_cache
        now = time.monotonic()
        if now - stamp > 1.0:
            counts = self.promises.outstanding()  # two numbers by one aggregate query
            self._promise_cache = (now, counts)
        return counts

    def _promise_changed(self, change: Change) -> None:
        pbx = self.cfg.pbxs[0].name
        if change.outcome is not None:
            self.metrics.promise_outcome(pbx, change.outcome, change.callback_seconds)
            if change.outcome in ("kept", "broken"):
                # the promise's own rule (implicit or explicit) is checked: met or breached
                self.metrics.promise_check(
                    pbx,
                    change.promise.rule,
                    change.outcome == "kept",
                    change.promise.source_call_id,
                )
        if change.finding is not None and change.promise.source_call_id:
            call_id = change.promise.source_call_id
            self.writer.submit(
                f"finding {change.finding.rule} of call {call_id}",
                partial(self.store.add_finding, call_id, change.finding),
            )

    # ---- loop ------------------------------------------------------------------------------

    def reload_rules(self) -> None:
        problems = self.rules.reload()
        if problems:
            log.error("new rules rejected, the old set keeps running:\n%s", "\n".join(problems))
        else:
            self.metrics.set_rules_loaded(len(self.rules.current.rules))
            log.info("rules reloaded: %d rules", len(self.rules.current.rules))

    def advance_clocks(self) -> None:
        """Event time moves on a quiet line too (live deadlines, promise due times, expiry),
        on each PBX's own clock (design.md §6): its last event time plus the host time since,
        never the host time itself. A PBX whose collector still has events waiting is not
        quiet: its time moves with those events."""
        host = self.clock()
        for name, pipeline in self.pipelines.items():
            if self._events_waiting(name):
                continue
            now = pipeline.clock.now(host)
            if now is not None:
                pipeline.advance(now)
            # before the PBX's first event its time is unknown: the host's, offset 0
            self.promise_sinks[name].advance(host if now is None else now)

    def _events_waiting(self, pbx: str) -> bool:
        return any(c.pbx.name == pbx and c.stats.queue_depth > 0 for c in self._clients)

    async def tick(self, stop: asyncio.Event) -> None:
        """``advance_clocks`` every TICK_SECONDS, and the rules watcher."""
        while not stop.is_set():
            self.advance_clocks()
            changed = self.rules_watcher.poll()
            if changed:
                log.error("rules changed on disk but are invalid:\n%s", "\n".join(changed))
            elif changed is not None:
                self.metrics.set_rules_loaded(len(self.rules.current.rules))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_SECONDS)

    async def retention_loop(self, stop: asyncio.Event) -> None:
        """``store.retention_days``: purge old calls, closed promises and recordings at start
        and every ``RETENTION_EVERY`` seconds, in a worker thread (a long purge must not hold
        the event loop; a failed one, e.g. a locked store, is logged and tried next time)."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.purge_old)
            except RingwatchError as exc:
                log.warning("retention purge failed, next try in an hour: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETENTION_EVERY)

    def purge_old(self) -> RetentionResult:
        cfg = self.cfg
        return run_retention(
            self.store,
            cfg.retention_days,
            time.time(),
            cfg.recordings_dir,
            cfg.audio_pattern,
        )

    async def run(
        self,
        stop: asyncio.Event,
        *,
        collect: bool = True,
        on_ready: Callable[[Service], None] | None = None,
    ) -> None:
        """Run collectors, the clock tick and the web tier until ``stop`` is set."""
        (log.warning if native.degraded() else log.info)("%s", native.summary())
        self._stop = (asyncio.get_running_loop(), stop)
        web_socket = _listen(self.cfg.web_listen) if self.cfg.web_enabled else None
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(self.tick(stop), name="tick"),
            asyncio.create_task(self.retention_loop(stop), name="retention"),
            asyncio.create_task(self.writer.run(stop), name="store-writer"),
        ]
        if self.cfg.qa_sample_per_agent_per_week:  # issue 19: random calls for QA
            from monitor.qa_sample import sample_loop

            tasks.append(asyncio.create_task(sample_loop(self.store, self.cfg, stop), name="qa"))
        if collect:
            for client in self.clients():
                tasks.append(asyncio.create_task(client.run(stop), name=f"ami-{client.pbx.name}"))
        server = None
        if web_socket is not None:
            server = self._web_server()
            tasks.append(asyncio.create_task(server.serve(sockets=[web_socket]), name="web"))
            while not server.started:
                if tasks[-1].done():
                    await tasks[-1]  # raises the bind error (port in use ...)
                await asyncio.sleep(0.01)
            host = self.cfg.web_listen.rsplit(":", 1)[0]
            self.web_address = f"{host}:{web_socket.getsockname()[1]}"
            self.health.set("web", "up", listen=self.web_address)
        if on_ready is not None:
            on_ready(self)
        await stop.wait()
        if self.audio is not None:
            await self.audio.close(timeout=2.0)  # finish what is nearly done, cancel the rest
        if server is not None:
            server.should_exit = True
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def request_stop(self) -> None:
        """Ask a running service to stop; safe to call from any thread."""
        if self._stop is not None:
            loop, stop = self._stop
            loop.call_soon_threadsafe(stop.set)

    def clients(self) -> list[AmiClient]:
        if not self._clients:
            self._clients.extend(make_clients(self))
        return self._clients

    def health_report(self) -> dict[str, Any]:
        """Health per component, from memory only (never the database: a locked store must
        not slow ``/healthz``). ``store`` is ``degraded`` while writes are being retried."""
        self.health.components["store"] = {
            "component": "store",
            "backend": self.store.backend,
            **self.writer.health(),
        }
        for client in self._clients:
            info = client.health()
            clock = self.pipelines[client.pbx.name].clock
            info["pbx_clock_offset_seconds"] = clock.offset_seconds
            info["event_time"] = iso(clock.now(self.clock()))
            self.health.components[info["component"]] = info
        if self.audio is not None:
            st = self.audio.stats
            self.health.set("audio", "ok", analysed=st.analysed, errors=st.errors,
                            pending=self.audio.pending, last_error=st.last_error)  # fmt: skip
        return self.health.to_json()

    def web_app(self) -> Any:
        return web_app(self)

    def _web_server(self) -> Any:
        return web_server(self)

    def install_signals(self, stop: asyncio.Event) -> None:
        """SIGTERM/SIGINT stop, SIGHUP reloads the rules (main thread only: elsewhere, e.g.
        a test running the service in a thread, the caller stops it with ``stop``)."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload_rules)

    def close(self) -> None:
        if self.audio is not None and not stop_pool(self.audio.executor):
            log.warning("audio: the analysis workers did not stop within 10 s")
        unwritten = self.writer.close()
        if unwritten:
            log.error("store: %d writes could not be made before shutdown", unwritten)
        self.store.close()
