"""One clock per PBX (design.md §6): event time, and the PBX's offset to the host.

Everything after the translator runs on the PBX's event time (the ``Timestamp:`` of each event,
or its receive time when the PBX sends none). The host clock has two jobs only:

* measure the offset ``host - PBX``: the smallest ``received - event time`` over the last
  ``window_seconds`` of host time (delivery only ever adds delay, so the smallest sample is the
  clock difference plus the quickest delivery). Shown in ``/healthz`` and as
  ``ringwatch_pbx_clock_offset_seconds{pbx}``.
* advance event time on a quiet line: the last event's time plus the host time elapsed since it
  was handled, never the host time itself. A PBX 120 s behind the host, or a burst of events
  that are 40 minutes old, therefore runs the live checks on the PBX's own time line, as a
  ``ringwatch replay`` of the same bytes does.
"""

from __future__ import annotations

from collections import deque

__all__ = ["PbxClock"]


class PbxClock:
    """Event time of one PBX and its offset to the host clock. Fed by the collector (one
    event loop); read by the service's tick, ``/healthz`` and the metrics."""

    __slots__ = ("_handled_at", "_samples", "last_event_at", "window_seconds")

    def __init__(self, window_seconds: float = 300.0) -> None:
        self.window_seconds = window_seconds
        self.last_event_at: float | None = None  # the newest event time seen
        self._handled_at = 0.0  # host time when the last event was handled
        # (received_at, offset): a monotonic deque, offsets increasing front to back, so the
        # front is the smallest offset of the window
        self._samples: deque[tuple[float, float]] = deque()

    def observe(self, event_at: float, received_at: float, handled_at: float) -> None:
        """An event with time ``event_at`` was received (host time ``received_at``) and handled
        (host time ``handled_at``; later than ``received_at`` when the collector lags)."""
        if self.last_event_at is None or event_at > self.last_event_at:
            self.last_event_at = event_at
        self._handled_at = handled_at
        offset = received_at - event_at
        samples = self._samples
        while samples and samples[-1][1] >= offset:
            samples.pop()
        samples.append((received_at, offset))
        horizon = received_at - self.window_seconds
        while len(samples) > 1 and samples[0][0] < horizon:
            samples.popleft()

    @property
    def offset_seconds(self) -> float | None:
        """Host minus PBX clock (seconds; positive when the PBX is behind), None before the
        first event."""
        return self._samples[0][1] if self._samples else None

    def now(self, host_now: float) -> float | None:
        """Event time on a quiet line: the last event's time plus the host time since it was
        handled. None before the first event (the PBX's time is not known yet)."""
        if self.last_event_at is None:
            return None
        return self.last_event_at + max(0.0, host_now - self._handled_at)

    def pbx_time(self, host_at: float) -> float:
        """The PBX's time at host time ``host_at`` (for a resync list, which carries no event
        time): ``host_at`` minus the measured offset; the host time before any event."""
        offset = self.offset_seconds
        return host_at if offset is None else host_at - offset
