"""DEADLINE_NEUTRAL: the event types after which the pipeline does not compare a call's deadline
inputs must never change them. Checked on every AMI capture and a simulated day."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from collectors.ami.translate import Translator
from monitor import events as ev
from monitor.history.ami_stream import AmiFileEvents
from monitor.history.source import InputFile
from monitor.simulator import ContactCentre, default_config
from monitor.tracker import Tracker, TrackerSettings
from monitor.tracker.tracker import DEADLINE_NEUTRAL

AMI = Path(__file__).parents[2] / "fixtures" / "ami"


def _captures() -> Iterator[ev.Event]:
    for path in sorted(AMI.glob("*.txt")):
        yield from AmiFileEvents(InputFile(path))


def _simulated(hours: float) -> Iterator[ev.Event]:
    engine = ContactCentre(default_config(), seed=11)
    translator = Translator()
    for at, msg in engine.run_until(engine.now + hours * 3600):
        event = translator.translate(msg, received_at=at)
        if event is not None:
            yield event


def _check(events: Iterable[ev.Event]) -> dict[type, int]:
    tracker = Tracker(TrackerSettings(pbx="t"))
    seen: dict[type, int] = {}
    for event in events:
        if type(event) not in DEADLINE_NEUTRAL:
            tracker.feed(event)
            continue
        before = {cid: call.deadline_inputs() for cid, call in tracker.calls.items()}
        tracker.feed(event)
        for cid, inputs in before.items():
            call = tracker.calls.get(cid)
            if call is not None:  # still open (a moved leg may close another call)
                assert call.deadline_inputs() == inputs, (event, cid)
        seen[type(event)] = seen.get(type(event), 0) + 1
    return seen


def test_neutral_events_change_no_deadline_input_in_the_captures() -> None:
    seen = _check(_captures())
    assert {ev.CallerIdChanged, ev.HangupRequested, ev.BridgeEntered} <= set(seen)


@pytest.mark.slow
def test_neutral_events_change_no_deadline_input_in_a_simulated_day() -> None:
    seen = _check(_simulated(6))
    assert {ev.AgentCalled, ev.AgentCompleted, ev.RecordingFile} <= set(seen)
    # every neutral type was seen changing nothing, here or in the captures
    assert set(DEADLINE_NEUTRAL) <= set(seen) | set(_check(_captures()))
