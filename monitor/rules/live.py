"""Live checks on a running call: when would a rule be breached, and is it now?

The tracker hands a snapshot (a LiveCall, or any CallRecord-like CallClocks: ``ended_at`` None, a
last hold Span whose ``end`` may be None, ``answered_at`` None while ringing). The pipeline keeps
a deadline heap: it asks ``live_deadlines(snapshot, rules)`` after each change and calls
``check_live(snapshot, rule_id, now, rules)`` when a deadline comes due. Event time only.
"""

from __future__ import annotations

from monitor.record import CallClocks, Finding, rings_for
from monitor.rules.cadence import cadence_for
from monitor.rules.checks_call import clock_start, offered_to_person, over
from monitor.rules.evaluate import applies, finding_for
from monitor.rules.model import CheckResult, Deadline, Rule, RuleSet, Site

__all__ = ["LIVE_CHECKS", "can_come_due", "check_live", "live_deadlines"]

LIVE_CHECKS = frozenset({"rings_to_answer", "longest_hold", "queue_wait"})


def can_come_due(*, answered: bool, holding: bool) -> bool:
    """Whether any live check can still come due: rings and queue wait only before the answer,
    the hold limit only while a hold runs. Lets the pipeline skip a snapshot (keep in step with
    ``_deadline``)."""
    return holding or not answered


def _deadline(rule: Rule, snap: CallClocks, site: Site) -> float | None:
    """When ``rule`` passes its limit on ``snap`` if nothing changes; None if it cannot."""
    if snap.ended_at is not None or not applies(rule, snap):
        return None
    p = rule.params
    if rule.check == "rings_to_answer":
        start = clock_start(snap, str(p.get("clock", "arrival")))
        if start is None:
            return None
        if p.get("answer", "person") == "person":
            # armed until a person answers, while the caller waits for one: a queued call's
            # channel is answered by the queue at arrival, its caller still waits
            if (
                snap.answered_at is not None
                or snap.voicemail_at is not None
                or not offered_to_person(snap)
            ):
                return None
        elif snap.answered_any_at is not None or snap.answered_at is not None:
            return None
        return start + int(p["max"]) * cadence_for(p.get("country") or site.country)
    if rule.check == "queue_wait":
        joined = snap.queue_joined_at
        if joined is None or snap.answered_at is not None or snap.queue_wait_seconds is not None:
            return None
        return joined + float(p["max"])
    if rule.check == "longest_hold":
        running = [h for h in snap.holds if h.end is None]
        return running[-1].start + float(p["max"]) if running else None
    return None


def live_deadlines(
    snapshot: CallClocks, rules: RuleSet, *, site: Site | None = None
) -> list[Deadline]:
    """Deadlines (sorted) at which a live rule would be breached on this running call."""
    site = site or Site()
    out = []
    for rule in rules.rules:
        if rule.check in LIVE_CHECKS:
            at = _deadline(rule, snapshot, site)
            if at is not None:
                out.append(Deadline(at, rule.id))
    return sorted(out)


def check_live(
    snapshot: CallClocks, rule_id: str, now: float, rules: RuleSet, *, site: Site | None = None
) -> Finding | None:
    """The live finding for ``rule_id`` if it is breached at ``now`` on ``snapshot``, else None.

    The finding's ``at`` is the moment the limit passed, not ``now``.
    """
    site = site or Site()
    try:
        rule = rules.get(rule_id)
    except KeyError:
        return None
    if rule.check not in LIVE_CHECKS:
        return None
    at = _deadline(rule, snapshot, site)
    if at is None or round(now * 1000) < round(at * 1000):
        return None
    start_off = snapshot.started_at
    p = rule.params
    result: CheckResult
    if rule.check == "rings_to_answer":
        cadence = cadence_for(p.get("country") or site.country)
        start = clock_start(snapshot, str(p.get("clock", "arrival"))) or snapshot.started_at
        limit = int(p["max"])
        elapsed = now - start
        rings = rings_for(elapsed, cadence) or 1
        value = rings if over(elapsed, limit * cadence) else limit + 1
        result = CheckResult.breached(value, limit, at, (("limit", round(at - start_off, 3)),))
    else:
        limit_s = float(p["max"])
        began = at - limit_s
        evidence = (
            ("hold" if rule.check == "longest_hold" else "queue_join", round(began - start_off, 3)),
            ("limit", round(at - start_off, 3)),
        )
        result = CheckResult.breached(now - began, limit_s, at, evidence)
    return finding_for(rule, result, live=True)
