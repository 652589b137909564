"""The translator's counters are bounded (issue 20 item 8): a PBX or a peer sending made-up
event names cannot grow ``Translator.unknown`` without end."""

from __future__ import annotations

from collectors.ami.parser import AmiMessage
from collectors.ami.translate import UNKNOWN_NAMES_MAX, UNKNOWN_OTHER, Translator


def test_unknown_event_names_are_capped_and_the_rest_counted_together() -> None:
    t = Translator()
    for n in range(10_000):
        t.translate(AmiMessage({"Event": f"Made-Up-{n}"}), 1.0)
    t.translate(AmiMessage({"Event": "Made-Up-0"}), 1.0)
    assert len(t.unknown) == UNKNOWN_NAMES_MAX
    assert sum(t.unknown.values()) == 10_001  # every event still counted
    assert t.unknown["Made-Up-0"] == 2  # a name already counted goes on being counted
    assert t.unknown[UNKNOWN_OTHER] == 10_000 - (UNKNOWN_NAMES_MAX - 1)
