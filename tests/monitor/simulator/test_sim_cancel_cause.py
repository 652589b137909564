"""A caller's CANCEL while the callee rings, as the lab's Asterisk 22.10.1 reports it
(tests/lab, caller_cancel_sip): HangupRequest and both Hangups carry Cause 127."""

from __future__ import annotations

from collectors.ami.translate import Translator
from monitor.record import Outcome
from monitor.simulator import scripted
from monitor.tracker import Tracker, TrackerSettings


def test_cancelled_call_hangs_up_with_cause_127_and_is_unanswered() -> None:
    msgs = [(t, m) for t, m in scripted.direct_unanswered(ring=4).run_all()]
    causes = [
        (m.get("Event"), m.get("Cause"))
        for _, m in msgs
        if m.get("Event") in ("HangupRequest", "Hangup")
    ]
    assert causes == [("HangupRequest", "127"), ("Hangup", "127"), ("Hangup", "127")]
    assert [m.get("Cause-txt") for _, m in msgs if m.get("Event") == "Hangup"] == [
        "Interworking, unspecified"
    ] * 2
    tracker, translator = Tracker(TrackerSettings()), Translator()
    records = []
    for t, m in msgs:
        event = translator.translate(m, t)
        if event is not None:
            records.extend(tracker.feed(event))
    (record,) = records
    assert record.hangup_cause == 127
    assert record.outcome is Outcome.UNANSWERED
