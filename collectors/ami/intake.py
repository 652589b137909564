"""The queue between the AMI socket reader and the consumer, and what it sheds under overload.

The reader never waits on this queue: it must keep reading so that action responses (the
keepalive Ping's answer above all) are seen at once, whatever the consumer's backlog. Action
responses never enter the queue (``AmiLink`` routes them to their action); resync lists
(``ListResult``) always do. Unsolicited events are shed, in this order (docs/operations.md):

1. ``unused``: with the queue at least half full, events of a type the consumer does not use
   (not in ``needed``: the translator's event names) are dropped.
2. ``overflow``: with the queue full, any event is dropped, and ``resync_wanted`` is set: once
   the backlog has drained below half, the collector asks the PBX for its channels and queue
   entries again (as after a reconnect), so calls whose events were shed are repaired or
   closed as ``incomplete``, never double counted.

Each shed event is counted by reason (``ringwatch_ami_events_shed_total{pbx,reason}``).
Overload never closes the link.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection

from collectors.ami.session import Item, Received

__all__ = ["SHED_REASONS", "EventIntake"]

SHED_REASONS = ("unused", "overflow")


class EventIntake:
    """A bounded FIFO of ``Item`` with the shedding policy above. One event loop only."""

    def __init__(
        self,
        size: int,
        needed: Collection[str] | None = None,
        on_shed: Callable[[str, int], None] | None = None,
    ) -> None:
        self.size = size
        self.soft = max(1, size // 2)
        self.needed = None if needed is None else frozenset(needed)
        self.on_shed = on_shed
        self.shed: dict[str, int] = dict.fromkeys(SHED_REASONS, 0)
        self.peak = 0
        self.resync_wanted = False
        self._items: deque[Item | None] = deque()  # None: the end marker
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: Item) -> bool:
        """Queue ``item`` unless the policy sheds it; never waits. True when queued."""
        depth = len(self._items)
        if isinstance(item, Received) and depth >= self.soft:
            needed = self.needed
            if needed is not None and (item.msg.get("Event") or "") not in needed:
                self._shed("unused")
                return False
            if depth >= self.size:
                self.resync_wanted = True
                self._shed("overflow")
                return False
        self._push(item)
        return True

    def drained(self) -> bool:
        """The backlog is below half: a resync wanted after an overflow may run."""
        return len(self._items) < self.soft

    def stop(self) -> None:
        """Queue the end marker (after everything already queued)."""
        self._push(None)

    async def get(self) -> Item | None:
        """The next item, waiting for one; None at the end marker."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def _push(self, item: Item | None) -> None:
        self._items.append(item)
        depth = len(self._items)
        if depth > self.peak:
            self.peak = depth
        self._ready.set()

    def _shed(self, reason: str) -> None:
        self.shed[reason] += 1
        if self.on_shed is not None:
            self.on_shed(reason, 1)
