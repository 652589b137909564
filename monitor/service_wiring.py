"""The service's wiring (``ringwatch run``, monitor/service.py): what ``Service`` builds per PBX
(its tracker, pipeline and sinks; its AMI client), the web tier, the audio workers, the health
record and the promise policy. Moved out of service.py as they were; ``Service`` calls them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collectors.ami.resync import TrackerFeeder
from collectors.ami.transport import AmiClient
from monitor.agents import AgentBoard
from monitor.audio_join import AudioJoiner, AudioJoinSettings
from monitor.config import Config, PbxConfig
from monitor.errors import ConfigError
from monitor.pipeline import CallSink, Pipeline
from monitor.promises.settings import PromiseSettings, site_settings
from monitor.record import CallRecord
from monitor.reports.checks import ChecksSink
from monitor.rules import RuleSet, Site
from monitor.sinks import MetricsSink, PromiseSink, StoreSink
from monitor.tracker import Tracker, TrackerSettings

if TYPE_CHECKING:
    from monitor.service import Service

__all__ = [
    "Health",
    "make_clients",
    "web_app",
    "web_server",
    "wire_pbx",
]


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


def wire_pbx(service: Service, pbx: PbxConfig, site: Site) -> None:
    """One PBX's tracker, sinks, agent board and pipeline, added to the service's maps."""
    cfg = service.cfg
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
        service.promises, pbx.name, service._promise_changed, writer=service.writer
    )
    sinks: list[CallSink] = [
        MetricsSink(service.metrics),
        # per-rule results for the standards reports, before the call itself: a
        # report's rollup refresh then never sees a stored call without its results
        ChecksSink(service.store, service.writer),
        StoreSink(service.store, service.writer),
        promise_sink,
        service.live,
    ]
    if service.audio is not None:
        sinks.append(service.audio)
    service.agents[pbx.name] = AgentBoard()
    service.pipelines[pbx.name] = Pipeline(
        Tracker(settings),
        lambda: service.rules.current,
        site=site,
        sinks=sinks,
        on_promise=promise_sink.promised,
        observers=[service.agents[pbx.name]],
    )
    service.promise_sinks[pbx.name] = promise_sink


def make_clients(service: Service) -> list[AmiClient]:
    """One AMI client per PBX, each feeding its pipeline."""
    clients: list[AmiClient] = []
    for pbx in service.cfg.pbxs:
        pipeline = service.pipelines[pbx.name]
        feeder = TrackerFeeder[CallRecord](
            pipeline,
            pipeline.translator,
            lambda _records: None,
            clock=pipeline.clock,
            host_clock=service.clock,
        )
        clients.append(
            AmiClient(
                pbx,
                feeder,
                listener=service.metrics,
                clock=service.clock,
                # under overload, event types the translator does not use go first
                needed_events=pipeline.translator.event_names,
            )
        )
    return clients


def web_app(service: Service) -> Any:
    """The web tier's app over the service's store, live state, registry and promises."""
    from monitor.web.app import create_app
    from monitor.web.settings import WebSettings

    settings = WebSettings(
        recordings_dir=service.cfg.recordings_dir,
        pbx_recordings_dir=service.cfg.pbx_recordings_dir,
        secure_cookies=True if service.cfg.secure_cookies else None,
        allowed_origins=service.cfg.allowed_origins,
        trust_forwarded_proto=service.cfg.trust_forwarded_proto,
        timezone=service.cfg.timezone,
        recording_start=service.cfg.recording_start,
    )
    app = create_app(
        service.store,
        settings,
        live=service.live,
        registry=service.registry,
        promises=service.promises,
        clock=service.clock,
    )
    app.state.health = service.health_report
    app.state.report_rules = lambda: service.rules.current
    app.state.report_timezone = service.cfg.timezone
    app.state.rules_site = Site(service.cfg.country.lower())  # the review prefill's cadence
    return app


def web_server(service: Service) -> Any:
    import uvicorn

    host, port = service.cfg.web_listen.rsplit(":", 1)
    config = uvicorn.Config(
        service.web_app(), host=host, port=int(port), log_level="warning", lifespan="off"
    )
    return _Server(config)


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
    return site_settings(ruleset.rules, country=cfg.country, pbx=cfg.pbxs[0].name)


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


def stop_pool(executor: Any, timeout: float = 10.0) -> bool:
    """Shut the audio pool down, cancelling what has not started, and wait (bounded) for its
    manager thread to finish. Without the wait, interpreter exit can race that thread:
    ``concurrent.futures`` then writes to the wake-up pipe the thread just closed and prints
    ``OSError: [Errno 9] Bad file descriptor`` after a clean Ctrl-C (CPython 3.11). True when
    the pool has stopped."""
    manager = getattr(executor, "_executor_manager_thread", None)  # shutdown() forgets it
    executor.shutdown(wait=False, cancel_futures=True)
    if manager is None:  # never started a worker, or not a process pool
        return True
    manager.join(timeout)
    return not manager.is_alive()
