"""The live checks read a LiveCall of a running call; it must give the deadlines and findings
the full snapshot (a CallRecord) gives, at every step of real simulator traffic."""

from __future__ import annotations

from pathlib import Path

from collectors.ami.parser import parse_all
from monitor.pipeline import Pipeline
from monitor.rules import check_live, live_deadlines, load_rules
from monitor.simulator import ContactCentre, default_config, render
from monitor.tracker import Tracker

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_live_view_gives_the_snapshot_deadlines_and_findings() -> None:
    rules = load_rules(REPO_ROOT / "rules" / "standards.yml")
    tracker = Tracker()
    pipeline = Pipeline(tracker, rules)
    engine = ContactCentre(default_config(), seed=3)
    events = engine.run_until(engine.now + 3 * 3600.0)
    data = b"".join(render(at, msg, True) for at, msg in events)
    compared = due = 0
    for msg in parse_all(data):
        pipeline.feed_message(msg)
        call_id = tracker.last_call_id
        if call_id is None or call_id not in tracker.calls:
            continue
        view, snap = tracker.live_view(call_id), tracker.snapshot(call_id)
        assert view is not None and snap is not None
        deadlines = live_deadlines(view, rules)
        assert deadlines == live_deadlines(snap, rules)
        for d in deadlines:
            for now in (d.at - 0.5, d.at, d.at + 7.0):
                found = check_live(view, d.rule_id, now, rules)
                assert found == check_live(snap, d.rule_id, now, rules)
                due += found is not None
        compared += 1
    assert compared > 1000
    assert due > 10  # the comparison covered breaches, not only quiet calls
