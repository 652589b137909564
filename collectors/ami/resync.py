"""Feed a live AMI stream into the call tracker, resync snapshots included.

``TrackerFeeder`` is the ``AmiConsumer`` the service wires between ``AmiClient`` and the
tracker: each event is translated (with its receive time) and fed; each resync snapshot is
applied so that calls that were up continue, calls that ended during the gap close as
``incomplete`` (never lost, never counted twice), and calls the tracker never saw (they began
while the link was down, or before ringwatch started) are created from the snapshot.

The tracker is typed by a small protocol, so ``collectors`` need not import ``monitor.tracker``.

Clock (design.md §6): a resync list carries no event time, so its "now" is the PBX's clock at
the list's receive time (the host time minus the measured PBX offset, ``PbxClockLike``), or
the list item's own ``Timestamp:`` when it has one; each channel is dated from its
``Duration`` (queue entries from their ``Wait``) back from that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

from collectors.ami.parser import AmiMessage
from collectors.ami.session import ListResult
from collectors.ami.translate import Translator, resync_channel, resync_queue_entry
from monitor import events as ev

__all__ = ["PbxClockLike", "ResyncTarget", "TrackerFeeder", "snapshot_events"]

R = TypeVar("R")


class ResyncTarget(Protocol[R]):
    """What the feeder needs of ``monitor.tracker.Tracker``."""

    def feed(self, event: ev.Event) -> list[R]: ...
    def resync(self, live_uniqueids: Iterable[str], at: float) -> list[R]: ...


class PbxClockLike(Protocol):
    """What the feeder needs of ``monitor.clock.PbxClock``."""

    def observe(self, event_at: float, received_at: float, handled_at: float) -> None: ...
    def pbx_time(self, host_at: float) -> float: ...


def _item_now(msg: AmiMessage, now: float) -> float:
    stamp = msg.get("Timestamp")
    if stamp:
        try:
            return float(stamp)
        except ValueError:
            return now
    return now


def snapshot_events(snapshot: ListResult, now: float | None = None) -> list[ev.Event]:
    """The events a resync list implies, callers' channels first: ChannelCreated for each
    ``CoreShowChannel`` (dated at its creation), QueueJoined for each ``QueueEntry``.
    ``now`` is the PBX's time when the list was answered (default: its receive time); an item
    with a ``Timestamp:`` header uses that instead."""
    at = snapshot.received_at if now is None else now
    out: list[ev.Event] = []
    if snapshot.action == "CoreShowChannels":
        created = [c for c in (resync_channel(m, _item_now(m, at)) for m in snapshot.items) if c]
        # The channel whose Uniqueid is its Linkedid started the call: it becomes the
        # caller leg, so it goes first; then by creation time.
        created.sort(key=lambda e: (e.chan.uniqueid != e.chan.linkedid, e.at))
        out.extend(created)
    elif snapshot.action == "QueueStatus":
        joined = [q for q in (resync_queue_entry(m, _item_now(m, at)) for m in snapshot.items) if q]
        joined.sort(key=lambda e: e.at)
        out.extend(joined)
    return out


class TrackerFeeder(Generic[R]):
    """``on_event``/``on_snapshot`` for ``AmiClient``; completed records go to ``on_records``."""

    def __init__(
        self,
        tracker: ResyncTarget[R],
        translator: Translator,
        on_records: Callable[[list[R]], None],
        *,
        clock: PbxClockLike | None = None,
        host_clock: Callable[[], float] = time.time,
    ) -> None:
        self.tracker = tracker
        self.translator = translator
        self.on_records = on_records
        self.clock = clock
        self.host_clock = host_clock
        self.resyncs = 0
        self.resync_skipped = 0  # lists the PBX refused (no resync was possible)

    def on_event(self, received_at: float, msg: AmiMessage) -> None:
        event = self.translator.translate(msg, received_at)
        if event is None:
            return
        if self.clock is not None:
            self.clock.observe(event.at, received_at, self.host_clock())
        records = self.tracker.feed(event)
        if records:
            self.on_records(records)

    def on_snapshot(self, snapshot: ListResult) -> None:
        if not snapshot.ok:
            # e.g. QueueStatus without app_queue: nothing to learn; for CoreShowChannels we
            # cannot tell which channels are gone, so the tracker's TTL will close them.
            self.resync_skipped += 1
            return
        records: list[R] = []
        now = snapshot.received_at
        if self.clock is not None:
            now = self.clock.pbx_time(now)
        for event in snapshot_events(snapshot, now):
            records.extend(self.tracker.feed(event))
        if snapshot.action == "CoreShowChannels":
            self.resyncs += 1
            live = [u for m in snapshot.items if (u := m.get("Uniqueid") or m.get("UniqueID"))]
            records.extend(self.tracker.resync(live, now))
        if records:
            self.on_records(records)
