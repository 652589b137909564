"""A simulated contact-centre day through translate + tracker, call by call against the
simulator's ground truth (what it really did), with live receive times as event time."""

from __future__ import annotations

import pytest

from collectors.ami.translate import Translator
from monitor.record import CallRecord, Outcome
from monitor.simulator import ContactCentre, default_config
from monitor.tracker import Tracker, TrackerSettings


@pytest.fixture(scope="module")
def day() -> tuple[ContactCentre, dict[str, CallRecord], Tracker]:
    engine = ContactCentre(default_config(), seed=7)
    events = engine.run_until(engine.now + 8 * 3600)
    translator = Translator()
    tracker = Tracker(TrackerSettings(pbx="sim"))
    records: dict[str, CallRecord] = {}
    for at, msg in events:
        event = translator.translate(msg, received_at=at)
        if event is None:
            continue
        for record in tracker.feed(event):
            assert record.call_id not in records, f"call {record.call_id} reported twice"
            records[record.call_id] = record
    for record in tracker.flush():
        records[record.call_id] = record
    assert not translator.unknown and not tracker.stats.illegal
    return engine, records, tracker


def test_every_call_the_simulator_made_is_reported_once(day) -> None:  # type: ignore[no-untyped-def]
    engine, records, _ = day
    truth_ids = {t.linkedid for t in engine.truth}
    assert len(truth_ids) > 500
    assert truth_ids <= set(records)
    # the only extra records are calls still running when the day was cut: incomplete
    extra = set(records) - truth_ids
    assert all(records[x].outcome is Outcome.INCOMPLETE for x in extra)


def test_each_call_matches_the_truth(day) -> None:  # type: ignore[no-untyped-def]
    engine, records, _ = day
    mismatches: list[str] = []
    kinds: set[str] = set()
    outcomes: set[str] = set()
    for truth in engine.truth:
        r = records[truth.linkedid]
        kinds.add(truth.kind)
        outcomes.add(truth.outcome)

        def check(name: str, ok: bool, r: CallRecord = r, truth: object = truth) -> None:
            if not ok:
                mismatches.append(f"{name}: {truth} vs {r.to_dict()}")

        check("outcome", str(r.outcome) == truth.outcome)
        check("start", r.started_at == pytest.approx(truth.start, abs=1e-3))
        check("end", r.ended_at is not None and r.ended_at == pytest.approx(truth.end, abs=1e-3))
        if truth.answer is None:
            check("answer", r.answered_at is None)
        else:
            check("answer", r.answered_at == pytest.approx(truth.answer, abs=1e-3))
        check("queue", r.queue == truth.queue)
        if truth.queue_join is not None:
            check("join", r.queue_joined_at == pytest.approx(truth.queue_join, abs=1e-3))
        check("hold_count", r.hold_count == len(truth.holds))
        check("hold_seconds", r.hold_seconds == pytest.approx(truth.hold_seconds, abs=1e-3))
        check("transfers", r.transfers == truth.transfers)
        check("rona", r.agent_ring_no_answer == truth.rona)
        check("recording", r.recording == truth.recording)
    assert mismatches == []
    # the day exercised the variety the tracker must get right
    assert {"queue", "direct", "internal", "outbound"} <= kinds
    assert {"answered", "abandoned", "voicemail", "busy"} <= outcomes
