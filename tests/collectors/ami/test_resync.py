"""Issue 20 item 4 (tracker part): calls picked up by the resync after a reconnect.

They are dated on the PBX's clock (the host receive time minus the measured offset, or an
item's own Timestamp, minus Duration/Wait), not the host's; a caller picked up while queued
whose hang-up is then seen abandoned the queue (a missed-call promise opens), it is not
``incomplete``.
"""

from __future__ import annotations

import pytest

from collectors.ami.parser import AmiMessage
from collectors.ami.resync import TrackerFeeder
from collectors.ami.session import ListResult
from collectors.ami.translate import Translator
from monitor.clock import PbxClock
from monitor.promises.matching import is_miss
from monitor.promises.settings import PromiseSettings
from monitor.record import CallRecord, Outcome
from monitor.tracker import Tracker

PBX_NOW = 1_750_000_300.0  # the PBX's clock when the lists are answered
OFFSET = 120.0  # the host is 120 s ahead of the PBX
CALLER = [
    ("Channel", "PJSIP/trunk-0000000a"),
    ("ChannelState", "6"),
    ("ChannelStateDesc", "Up"),
    ("CallerIDNum", "+442079460000"),
    ("CallerIDName", "Caller"),
    ("Context", "from-pstn"),
    ("Exten", "8005550100"),
    ("Uniqueid", "1750000270.10"),
    ("Linkedid", "1750000270.10"),
]


def _list(action: str, items: list[list[tuple[str, str]]]) -> ListResult:
    return ListResult(
        action,
        PBX_NOW + OFFSET,
        True,
        AmiMessage.from_pairs([("Response", "Success")]),
        tuple(AmiMessage.from_pairs(i) for i in items),
    )


def _hangup(at: float) -> AmiMessage:
    return AmiMessage.from_pairs(
        [
            ("Event", "Hangup"),
            ("Timestamp", f"{at:.6f}"),
            *CALLER,
            ("Cause", "16"),
            ("Cause-txt", "Normal Clearing"),
        ]
    )


def _feeder() -> tuple[TrackerFeeder[CallRecord], list[CallRecord], PbxClock]:
    clock = PbxClock()
    # an event before the reconnect measured the offset: received 120 s after its Timestamp
    clock.observe(PBX_NOW - 100.0, PBX_NOW - 100.0 + OFFSET, PBX_NOW - 100.0 + OFFSET)
    records: list[CallRecord] = []
    feeder = TrackerFeeder(Tracker(), Translator(), records.extend, clock=clock)
    return feeder, records, clock


def test_a_queued_caller_picked_up_by_the_resync_who_hangs_up_abandoned() -> None:
    feeder, records, _ = _feeder()
    channel = [("Event", "CoreShowChannel"), *CALLER, ("Duration", "00:00:30")]
    entry = [("Event", "QueueEntry"), ("Queue", "support"), ("Position", "1"), ("Wait", "25"),
             *CALLER]  # fmt: skip
    feeder.on_snapshot(_list("CoreShowChannels", [channel]))
    feeder.on_snapshot(_list("QueueStatus", [entry]))
    feeder.on_event(PBX_NOW + 10 + OFFSET, _hangup(PBX_NOW + 10))
    (rec,) = records
    assert rec.outcome is Outcome.ABANDONED  # was incomplete: no missed-call promise opened
    assert rec.caller == "+442079460000" and rec.queue == "support"
    # the PBX's clock, not the host's (which is 120 s ahead)
    assert rec.started_at == pytest.approx(PBX_NOW - 30)
    assert rec.queue_joined_at == pytest.approx(PBX_NOW - 25)
    assert rec.ended_at == pytest.approx(PBX_NOW + 10)
    assert rec.queue_wait_seconds == pytest.approx(35)
    assert is_miss(rec, PromiseSettings(country="GB"))  # the missed-call promise opens


def test_a_list_item_with_its_own_timestamp_is_dated_by_it() -> None:
    feeder, records, _ = _feeder()
    channel = [("Event", "CoreShowChannel"), ("Timestamp", f"{PBX_NOW - 1:.6f}"), *CALLER,
               ("Duration", "00:01:00")]  # fmt: skip
    feeder.on_snapshot(_list("CoreShowChannels", [channel]))
    feeder.on_event(PBX_NOW + 5 + OFFSET, _hangup(PBX_NOW + 5))
    (rec,) = records
    assert rec.started_at == pytest.approx(PBX_NOW - 61)
    assert rec.outcome is Outcome.INCOMPLETE  # never seen queued or answered: unknown
