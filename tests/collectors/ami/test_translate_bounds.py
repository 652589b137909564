"""The translator's counters are bounded (issue 20 item 8): a PBX or a peer sending made-up
event names cannot grow ``Translator.unknown`` without end."""

from __future__ import annotations

from collectors.ami.parser import AmiMessage
from collectors.ami.translate import UNKNOWN_NAMES_MAX, UNKNOWN_OTHER, Translator
from monitor.events import ChannelRef, ChannelStateChanged


def test_unknown_event_names_are_capped_and_the_rest_counted_together() -> None:
    t = Translator()
    for n in range(10_000):
        t.translate(AmiMessage({"Event": f"Made-Up-{n}"}), 1.0)
    t.translate(AmiMessage({"Event": "Made-Up-0"}), 1.0)
    assert len(t.unknown) == UNKNOWN_NAMES_MAX
    assert sum(t.unknown.values()) == 10_001  # every event still counted
    assert t.unknown["Made-Up-0"] == 2  # a name already counted goes on being counted
    assert t.unknown[UNKNOWN_OTHER] == 10_000 - (UNKNOWN_NAMES_MAX - 1)


def _snapshot(uid: str, state: str = "6", connected: str = "<unknown>") -> dict[str, str]:
    return {
        "Channel": f"PJSIP/{uid}",
        "Uniqueid": uid,
        "ChannelState": state,
        "Linkedid": uid,
        "CallerIDNum": "07700900123",
        "CallerIDName": "<unknown>",
        "ConnectedLineNum": connected,
        "ConnectedLineName": "<unknown>",
        "Context": "from-pstn",
        "Exten": "100",
    }


def test_channel_snapshots_are_shared_while_equal_and_dropped_at_hangup() -> None:
    """Equal snapshots of a channel share one ChannelRef; a changed one makes a new ref; the
    cache keeps live channels only: ten thousand channels that came and went leave nothing."""
    t = Translator()

    def chan(snapshot: dict[str, str]) -> ChannelRef:
        event = t.translate(AmiMessage({"Event": "Newstate", **snapshot}), 1.0)
        assert isinstance(event, ChannelStateChanged)
        return event.chan

    first, again, changed = (
        chan(_snapshot("1.1")),
        chan(_snapshot("1.1")),
        chan(_snapshot("1.1", "4")),
    )
    assert again is first
    assert changed is not first and changed.state != first.state
    assert chan(_snapshot("1.1", "4", connected="100")).connected_num == "100"
    for n in range(10_000):
        snap = _snapshot(f"2.{n}")
        t.translate(AmiMessage({"Event": "Newchannel", **snap}), 4.0)
        t.translate(AmiMessage({"Event": "Hangup", "Cause": "16", **snap}), 5.0)
    assert len(t._refs) == 1  # only channel 1.1, which never hung up
