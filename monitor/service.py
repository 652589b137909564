"""The ringwatch service (``ringwatch run``): collectors, pipelines, sinks and the web tier in
one asyncio loop, which owns all mutable state (design.md §1).

This is the service edge: it logs what core code raises and keeps running. SIGTERM/SIGINT stop
it cleanly; SIGHUP reloads the rules (an invalid new set is logged and the old one kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from collectors.ami.resync import TrackerFeeder
from collectors.ami.transport import AmiClient
from monitor.agents import AgentBoard
from monitor.audio_join import AudioJoiner, AudioJoinSettings
from monitor.config import Config
from monitor.errors import ConfigError, RingwatchError
from monitor.live import LiveState
from monitor.metrics import RingwatchMetrics
from monitor.metrics.alert_sources import metric_rules
from monitor.metrics.qa import QaCollector
from monitor.metrics.store_health import StoreWriteCollector
from monitor.pipeline import CallSink, Pipeline
from monitor.promises import PromiseEngine
from monitor.promises.model import Change
from monitor.promises.settings import PromiseSettings, settings_from_rules
from monitor.record import CallRecord, iso
from monitor.reports.checks import ChecksSink
from monitor.rules import RuleSet, RuleSetHolder, RulesWatcher, Site
from monitor.sinks import MetricsSink, PromiseSink, StoreSink
from monitor.store.retention import RETENTION_EVERY, RetentionResult, run_retention
from monitor.store.store import Store
from monitor.store.writer import StoreWriter
from monitor.tracker import Tracker, TrackerSettings

__all__ = ["Health", "Service"]

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# How long one store statement waits for another connection's lock before it is queued and
# retried (monitor/store/writer.py): short, because the event loop waits that long.
STORE_BUSY_TIMEOUT = 0.25


@dataclass
class Health:
    """Health per component, served at /healthz."""

    components: dict[str, dict[str, Any]] = field(default_factory=dict)

    def set(self, name: str, state: str, **detail: Any) -> None:
        self.components[name] = {"state": state, "since": time.time(), **detail}

    @property
    def ok(self) -> bool:
        return all(c["state"] in ("up", "ok") for c in self.components.values())

    def to_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "degraded", "components": self.components}


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
            settings = TrackerSettings(
                pbx=pbx.name,
                cadence_seconds=cfg.cadence_seconds,
                inbound_contexts=pbx.inbound_contexts,
                internal_contexts=pbx.internal_contexts,
                outside_min_digits=cfg.outside_min_digits,
                stale_after_seconds=cfg.stale_after_seconds,
                agent_devices=cfg.agent_devices,
            )
            promise_sink = PromiseSink(
                self.promises, pbx.name, self._promise_changed, writer=self.writer
            )
            sinks: list[CallSink] = [
                MetricsSink(self.metrics),
                # per-rule results for the standards reports, before the call itself: a
                # report's rollup refresh then never sees a stored call without its results
                ChecksSink(self.store, self.writer),
                StoreSink(self.store, self.writer),
                promise_sink,
                self.live,
            ]
            if self.audio is not None:
                sinks.append(self.audio)
            self.agents[pbx.name] = AgentBoard()
            self.pipelines[pbx.name] = Pipeline(
                Tracker(settings),
                lambda: self.rules.current,
                site=site,
                sinks=sinks,
                on_promise=promise_sink.promised,
                observers=[self.agents[pbx.name]],
            )
            self.promise_sinks[pbx.name] = promise_sink
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
            for pbx in self.cfg.pbxs:
                pipeline = self.pipelines[pbx.name]
                feeder = TrackerFeeder[CallRecord](
                    pipeline,
                    pipeline.translator,
                    lambda _records: None,
                    clock=pipeline.clock,
                    host_clock=self.clock,
                )
                self._clients.append(
                    AmiClient(
                        pbx,
                        feeder,
                        listener=self.metrics,
                        clock=self.clock,
                        # under overload, event types the translator does not use go first
                        needed_events=pipeline.translator.event_names,
                    )
                )
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
        from monitor.web.app import create_app
        from monitor.web.settings import WebSettings

        settings = WebSettings(
            recordings_dir=self.cfg.recordings_dir,
            pbx_recordings_dir=self.cfg.pbx_recordings_dir,
            secure_cookies=True if self.cfg.secure_cookies else None,
            allowed_origins=self.cfg.allowed_origins,
            trust_forwarded_proto=self.cfg.trust_forwarded_proto,
            timezone=self.cfg.timezone,
            recording_start=self.cfg.recording_start,
        )
        app = create_app(
            self.store,
            settings,
            live=self.live,
            registry=self.registry,
            promises=self.promises,
            clock=self.clock,
        )
        app.state.health = self.health_report
        app.state.report_rules = lambda: self.rules.current
        app.state.report_timezone = self.cfg.timezone
        app.state.rules_site = Site(self.cfg.country.lower())  # the review prefill's cadence
        return app

    def _web_server(self) -> Any:
        import uvicorn

        host, port = self.cfg.web_listen.rsplit(":", 1)
        config = uvicorn.Config(
            self.web_app(), host=host, port=int(port), log_level="warning", lifespan="off"
        )
        return _Server(config)

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
        if self.audio is not None:
            self.audio.executor.shutdown(wait=False, cancel_futures=True)
        unwritten = self.writer.close()
        if unwritten:
            log.error("store: %d writes could not be made before shutdown", unwritten)
        self.store.close()


def _listen(listen: str) -> socket.socket:
    """The web tier's listening socket, bound before anything starts: a port in use is a
    one-line ConfigError (exit 2), not a traceback from inside the web server."""
    host, port = listen.rsplit(":", 1)
    try:
        return socket.create_server((host, int(port)), backlog=2048)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"web.listen: cannot listen on {listen}: {reason}; stop what uses that port "
            "or set web.listen to a free one"
        ) from None


def _server_class() -> type[Any]:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn without its own signal handlers: the service owns SIGINT/SIGTERM/SIGHUP."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer


def _Server(config: Any) -> Any:
    return _server_class()(config)


def _promise_settings(ruleset: RuleSet, cfg: Config) -> PromiseSettings:
    """The promise policy of the loaded rules, for the site's country and first PBX."""
    country = "GB" if cfg.country == "UK" else cfg.country
    return settings_from_rules(ruleset.rules, country=country, pbx=cfg.pbxs[0].name)


def _audio_worker_ignores_ctrl_c() -> None:
    """Ctrl-C reaches the whole process group: the service stops the pool itself, so a worker
    that died of it would only print a traceback and drop the analysis in flight."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _audio_joiner(cfg: Config, service: Service, site: Site) -> AudioJoiner | None:
    """The recording analyser when ``audio.enabled`` and ``audio.recordings_dir`` are set."""
    if not cfg.audio_enabled or cfg.recordings_dir is None:
        return None
    workers = max(1, min(2, (os.cpu_count() or 2) - 1))

    def pool() -> ProcessPoolExecutor:  # processes: webrtcvad holds the GIL (docs/audio.md)
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_audio_worker_ignores_ctrl_c,
        )

    return AudioJoiner(
        AudioJoinSettings(
            cfg.recordings_dir,
            pattern=cfg.audio_pattern,
            pbx_recordings_dir=cfg.pbx_recordings_dir,
            recording_start="start" if cfg.recording_start == "start" else "answer",
            parties=cfg.audio_parties,
        ),
        lambda: service.rules.current,
        site,
        [MetricsSink(service.metrics), StoreSink(service.store, service.writer)],
        pool(),
        executor_factory=pool,
    )


def default_data_dir() -> Path:
    """The one default data directory (monitor/paths.py), never one under the current folder."""
    from monitor.paths import data_dir

    return data_dir()
