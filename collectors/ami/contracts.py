"""What the AMI client needs of its PBX entry and its consumer, whom it tells (the metrics
exporter's AMI hooks), and the counters it keeps. ``collectors.ami.transport`` re-exports them.
"""

from __future__ import annotations

from typing import Protocol

from collectors.ami.intake import SHED_REASONS
from collectors.ami.parser import AmiMessage
from collectors.ami.session import ListResult

__all__ = ["AmiConsumer", "AmiEndpoint", "AmiListener", "AmiStats"]


class _SecretLike(Protocol):
    def reveal(self) -> str: ...


class AmiEndpoint(Protocol):
    """What the client needs of a PBX entry (``monitor.config.PbxConfig`` fits)."""

    @property
    def name(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def secret(self) -> _SecretLike | None: ...
    @property
    def tls(self) -> bool: ...
    @property
    def tls_verify(self) -> bool: ...
    @property
    def auth(self) -> str: ...
    @property
    def ping_interval(self) -> float: ...
    @property
    def ping_timeout(self) -> float: ...
    @property
    def reconnect_delays(self) -> tuple[float, ...]: ...
    @property
    def reconnect_max(self) -> float: ...


class AmiConsumer(Protocol):
    """Called from the consumer task, in stream order. ``on_snapshot`` gets each resync list
    (``CoreShowChannels``, ``QueueStatus``) at its place in the stream."""

    def on_event(self, received_at: float, msg: AmiMessage) -> None: ...
    def on_snapshot(self, snapshot: ListResult) -> None: ...


class AmiListener(Protocol):
    """The metrics exporter's AMI hooks (``monitor.metrics.exporter`` has these methods)."""

    def ami_up(self, pbx: str, up: bool) -> None: ...
    def ami_reconnected(self, pbx: str) -> None: ...
    def ami_event(self, pbx: str, count: int) -> None: ...
    def ami_parse_error(self, pbx: str, count: int) -> None: ...
    def ami_events_shed(self, pbx: str, reason: str, count: int) -> None: ...
    def event_lag_seconds(self, pbx: str, seconds: float) -> None: ...


class AmiStats:
    """Counters and gauges of one client (read by the metrics exporter at scrape time)."""

    __slots__ = (
        "connects",
        "events",
        "last_lag",
        "max_lag",
        "parse_errors",
        "queue_depth",
        "queue_peak",
        "reconnects",
        "resyncs",
        "shed",
        "slow_pings",
        "up",
    )

    def __init__(self) -> None:
        self.up = False
        self.connects = 0  # successful logins
        self.reconnects = 0  # successful logins after the first
        self.events = 0  # unsolicited events received
        self.parse_errors = 0  # frames the parser skipped (bad lines, oversize)
        self.last_lag = 0.0  # seconds between receive and dequeue, last event
        self.max_lag = 0.0
        self.queue_depth = 0
        self.queue_peak = 0  # deepest the queue has been
        self.shed: dict[str, int] = dict.fromkeys(SHED_REASONS, 0)  # events shed, by reason
        self.resyncs = 0  # resyncs run after an overflow (not counting those at login)
        self.slow_pings = 0  # Pings answered late while the link kept delivering
