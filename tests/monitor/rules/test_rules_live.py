"""Live checks on running-call snapshots: deadlines and confirmation at the deadline."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.errors import ConfigError
from monitor.record import CallRecord, Direction, LiveCall, Outcome, Span, Timing
from monitor.rules import (
    Deadline,
    RuleSet,
    Site,
    check_live,
    live_deadlines,
    load_rules_text,
)
from monitor.rules.live import LivePlan

RULES = load_rules_text(
    """
groups:
- name: live
  applies_to: {direction: inbound}
  rules:
  - {id: rings, check: rings_to_answer, params: {max: 3}, flag: true}
  - {id: rings-q, check: rings_to_answer, params: {max: 2, clock: queue_join}}
  - {id: wait, check: queue_wait, params: {max: 20}}
  - {id: hold, check: longest_hold, params: {max: 60}, severity: critical}
  - {id: transfers, check: transfers, params: {max: 1}}
"""
)
T0 = 1_772_445_600.0


def snapshot(**changes: object) -> CallRecord:
    base = CallRecord(
        call_id="live-1", pbx="pbx1", direction=Direction.INBOUND, caller=None, dialed=None,
        queue=None, agent=None, started_at=T0, answered_at=None, ended_at=None,
        outcome=Outcome.INCOMPLETE, ring_seconds=None, rings=None, queue_wait_seconds=None,
        talk_seconds=None, hold_seconds=0.0, hold_count=0, longest_hold_seconds=0.0,
        transfers=0, hangup_cause=None, timing=Timing.EXACT,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_ringing_call_deadline_and_finding_at_the_limit() -> None:
    snap = snapshot()
    assert live_deadlines(snap, RULES) == [Deadline(T0 + 18, "rings")]
    assert live_deadlines(snap, RULES, site=Site("uk")) == [Deadline(T0 + 9, "rings")]
    assert check_live(snap, "rings", T0 + 17.999, RULES) is None
    f = check_live(snap, "rings", T0 + 18, RULES)
    assert f is not None and f.at == T0 + 18 and f.live and f.flag
    assert (f.value, f.threshold) == (4, 3)
    late = check_live(snap, "rings", T0 + 25, RULES)
    assert late is not None and late.at == T0 + 18 and late.value == 5


def test_queued_call_has_wait_and_queue_ring_deadlines() -> None:
    snap = snapshot(queue="sales", queue_joined_at=T0 + 10)
    assert live_deadlines(snap, RULES) == [
        Deadline(T0 + 18, "rings"), Deadline(T0 + 22, "rings-q"), Deadline(T0 + 30, "wait"),
    ]  # fmt: skip
    f = check_live(snap, "wait", T0 + 31, RULES)
    assert f is not None and f.at == T0 + 30 and f.value == 21 and f.threshold == 20
    assert dict(f.evidence) == {"queue_join": 10, "limit": 30}
    answered = replace(snap, answered_at=T0 + 25, answered_any_at=T0 + 25, queue_wait_seconds=15.0)
    assert live_deadlines(answered, RULES) == []
    assert check_live(answered, "wait", T0 + 31, RULES) is None


def test_running_hold_deadline_and_finding_time() -> None:
    snap = snapshot(answered_at=T0 + 5, holds=(Span(T0 + 30, T0 + 40), Span(T0 + 100, None)))
    assert live_deadlines(snap, RULES) == [Deadline(T0 + 160, "hold")]
    assert check_live(snap, "hold", T0 + 159, RULES) is None
    f = check_live(snap, "hold", T0 + 160, RULES)
    assert f is not None and f.at == T0 + 160 and f.value == 60 and f.live
    assert dict(f.evidence) == {"hold": 100, "limit": 160}
    unheld = replace(snap, holds=(Span(T0 + 30, T0 + 40), Span(T0 + 100, T0 + 150)))
    assert live_deadlines(unheld, RULES) == []
    assert check_live(unheld, "hold", T0 + 170, RULES) is None


def test_no_live_deadlines_for_ended_filtered_or_unknown() -> None:
    assert live_deadlines(snapshot(ended_at=T0 + 5), RULES) == []
    assert live_deadlines(snapshot(direction=Direction.OUTBOUND), RULES) == []
    assert check_live(snapshot(), "transfers", T0 + 100, RULES) is None
    assert check_live(snapshot(), "no-such-rule", T0 + 100, RULES) is None


def test_queued_call_answered_by_the_queue_still_arms_the_rings_check() -> None:
    # issue 16 item 1: the queue answers the caller's channel at arrival (answered_any_at)
    snap = snapshot(queue="sales", queue_joined_at=T0 + 1, answered_any_at=T0 + 0.5)
    assert Deadline(T0 + 18, "rings") in live_deadlines(snap, RULES)
    f = check_live(snap, "rings", T0 + 30, RULES)
    assert f is not None and f.value == 5 and f.at == T0 + 18
    # a person answered, or the caller reached voicemail: the caller no longer waits
    assert check_live(replace(snap, voicemail_at=T0 + 12), "rings", T0 + 30, RULES) is None
    answered = replace(snap, answered_at=T0 + 25, queue_wait_seconds=24.0)
    assert check_live(answered, "rings", T0 + 30, RULES) is None
    # an IVR menu answered the call and has not offered it to anyone: nobody is late yet
    ivr = snapshot(answered_any_at=T0 + 0.5)
    assert live_deadlines(ivr, RULES) == []


def _live(snap: CallRecord) -> LiveCall:
    return LiveCall(
        snap.call_id, snap.pbx, snap.direction, snap.queue, snap.started_at, snap.first_ring_at,
        snap.queue_joined_at, snap.answered_at, snap.answered_any_at, snap.queue_wait_seconds,
        snap.holds, snap.ended_at, snap.voicemail_at,
    )  # fmt: skip


def test_a_live_plan_answers_as_the_functions_do() -> None:
    snaps = [
        snapshot(),
        snapshot(queue="sales", queue_joined_at=T0 + 10),
        snapshot(queue="sales", queue_joined_at=T0 + 1, answered_any_at=T0 + 0.5),
        snapshot(answered_at=T0 + 5, holds=(Span(T0 + 100, None),)),
        snapshot(direction=Direction.OUTBOUND),
    ]
    for site in (Site(), Site("uk")):
        plan = LivePlan(RULES, site)
        for snap in snaps:
            view = _live(snap)
            deadlines = live_deadlines(snap, RULES, site=site)
            assert [Deadline(at, rule) for at, rule in plan.deadlines(view)] == deadlines
            for rule_id in ("rings", "rings-q", "wait", "hold", "transfers", "no-such-rule"):
                for now in (T0 + 17.999, T0 + 18, T0 + 31, T0 + 200):
                    found = check_live(snap, rule_id, now, RULES, site=site)
                    assert plan.check(view, rule_id, now) == found
                    assert plan.breached(view, rule_id, now) is (found is not None)


def test_a_live_plan_reads_the_first_rule_of_an_id_and_the_cadence_when_needed() -> None:
    rings = RULES.get("rings")
    transfers = RULES.get("transfers")
    first_not_live = RuleSet((replace(transfers, id="rings"), rings))
    assert LivePlan(first_not_live, Site()).check(_live(snapshot()), "rings", T0 + 30) is None
    assert check_live(snapshot(), "rings", T0 + 30, first_not_live) is None
    # a country without a cadence raises where a rings deadline needs it, not before
    plan = LivePlan(RuleSet((rings,)), Site("xx"))
    assert plan.deadlines(_live(snapshot(direction=Direction.OUTBOUND))) == []
    with pytest.raises(ConfigError, match="xx"):
        plan.deadlines(_live(snapshot()))
