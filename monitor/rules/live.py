"""Live checks on a running call: when would a rule be breached, and is it now?

The tracker hands a snapshot (a LiveCall, or any CallRecord-like CallClocks: ``ended_at`` None, a
last hold Span whose ``end`` may be None, ``answered_at`` None while ringing). The pipeline keeps
a deadline heap: it asks ``live_deadlines(snapshot, rules)`` after each change and calls
``check_live(snapshot, rule_id, now, rules)`` when a deadline comes due. Event time only.

``LivePlan`` is the same two questions with the live rules of one rule set and site read once
(their parameters, the ringback cadence): the pipeline asks it after every change of a running
call. ``live_deadlines`` and ``check_live`` are one plan's answers.
"""

from __future__ import annotations

from typing import Final

from monitor.record import CallClocks, Finding, LiveCall, rings_for
from monitor.rules.cadence import cadence_for
from monitor.rules.checks_call import offered_to_person, over
from monitor.rules.evaluate import applies, finding_for
from monitor.rules.model import CheckResult, Deadline, Rule, RuleSet, Site

__all__ = ["LIVE_CHECKS", "LivePlan", "can_come_due", "check_live", "live_deadlines"]

LIVE_CHECKS = frozenset({"rings_to_answer", "longest_hold", "queue_wait"})

_RINGS: Final = 0
_QUEUE_WAIT: Final = 1
_HOLD: Final = 2


def can_come_due(*, answered: bool, holding: bool) -> bool:
    """Whether any live check can still come due: rings and queue wait only before the answer,
    the hold limit only while a hold runs. Lets the pipeline skip a snapshot (keep in step with
    ``_LiveRule.deadline``)."""
    return holding or not answered


class _LiveRule:
    """One live rule with its parameters read (the catalogue requires ``max``)."""

    def __init__(self, rule: Rule, site: Site) -> None:
        p = rule.params
        self.rule = rule
        self.id = rule.id
        self.site = site
        self.kind = (
            _RINGS
            if rule.check == "rings_to_answer"
            else _QUEUE_WAIT
            if rule.check == "queue_wait"
            else _HOLD
        )
        self.max_rings = 0
        self.max_seconds = 0.0
        self.clock = "arrival"
        self.person = True
        self.country: str | None = None
        self._cadence = 0.0  # read at first use (an unknown country raises there, as it did)
        if self.kind == _RINGS:
            self.max_rings = int(p["max"])
            self.clock = str(p.get("clock", "arrival"))
            self.person = p.get("answer", "person") == "person"
            self.country = p.get("country") or site.country
        else:
            self.max_seconds = float(p["max"])

    def cadence(self) -> float:
        if self._cadence == 0.0:
            self._cadence = cadence_for(self.country)
        return self._cadence

    def start(self, snap: LiveCall) -> float | None:
        """The rings clock's start (``checks_call.clock_start``)."""
        clock = self.clock
        if clock == "arrival":
            return snap.started_at
        if clock == "queue_join":
            return snap.queue_joined_at
        if clock == "first_ring":
            return snap.first_ring_at
        raise KeyError(clock)

    def deadline(self, snap: LiveCall) -> float | None:
        """When the rule passes its limit on ``snap`` if nothing changes; None if it cannot."""
        if snap.ended_at is not None or not applies(self.rule, snap):
            return None
        kind = self.kind
        if kind == _RINGS:
            start = self.start(snap)
            if start is None:
                return None
            if self.person:
                # armed until a person answers, while the caller waits for one: a queued
                # call's channel is answered by the queue at arrival, its caller still waits
                if (
                    snap.answered_at is not None
                    or snap.voicemail_at is not None
                    or not offered_to_person(snap)
                ):
                    return None
            elif snap.answered_any_at is not None or snap.answered_at is not None:
                return None
            return start + self.max_rings * self.cadence()
        if kind == _QUEUE_WAIT:
            joined = snap.queue_joined_at
            if (
                joined is None
                or snap.answered_at is not None
                or snap.queue_wait_seconds is not None
            ):
                return None
            return joined + self.max_seconds
        running = [h for h in snap.holds if h.end is None]
        return running[-1].start + self.max_seconds if running else None

    def breached(self, snap: LiveCall, now: float) -> bool:
        """Whether ``check`` gives a finding (without building it)."""
        at = self.deadline(snap)
        return at is not None and round(now * 1000) >= round(at * 1000)

    def check(self, snap: LiveCall, now: float) -> Finding | None:
        """The live finding if the rule is breached at ``now``; its ``at`` is the moment the
        limit passed, not ``now``."""
        at = self.deadline(snap)
        if at is None or round(now * 1000) < round(at * 1000):
            return None
        start_off = snap.started_at
        result: CheckResult
        if self.kind == _RINGS:
            cadence = self.cadence()
            start = self.start(snap) or snap.started_at
            limit = self.max_rings
            elapsed = now - start
            rings = rings_for(elapsed, cadence) or 1
            value = rings if over(elapsed, limit * cadence) else limit + 1
            result = CheckResult.breached(value, limit, at, (("limit", round(at - start_off, 3)),))
        else:
            limit_s = self.max_seconds
            began = at - limit_s
            evidence = (
                ("hold" if self.kind == _HOLD else "queue_join", round(began - start_off, 3)),
                ("limit", round(at - start_off, 3)),
            )
            result = CheckResult.breached(now - began, limit_s, at, evidence)
        return finding_for(self.rule, result, live=True)


class LivePlan:
    """The live rules of ``rules`` for ``site``, read once. Holds no call state: a new rule
    set (a reload) or site needs a new plan (``LivePlan.rules``/``site`` tell which it is for)."""

    def __init__(self, rules: RuleSet, site: Site) -> None:
        self.rules = rules
        self.site = site
        self._live = [_LiveRule(r, site) for r in rules.rules if r.check in LIVE_CHECKS]
        # rule id -> its live rule, None when that id's (first) rule is not a live check
        self._by_id: dict[str, _LiveRule | None] = {}
        live = iter(self._live)
        for rule in rules.rules:
            lr = next(live) if rule.check in LIVE_CHECKS else None
            self._by_id.setdefault(rule.id, lr)

    def deadlines(self, snap: LiveCall) -> list[tuple[float, str]]:
        """(at, rule id) of every live rule that would be breached on ``snap``, sorted."""
        out: list[tuple[float, str]] = []
        for lr in self._live:
            at = lr.deadline(snap)
            if at is not None:
                out.append((at, lr.id))
        if len(out) > 1:
            out.sort()
        return out

    def check(self, snap: LiveCall, rule_id: str, now: float) -> Finding | None:
        """The live finding for ``rule_id`` at ``now`` on ``snap``, else None (also for a rule
        that is not live or not in the set)."""
        lr = self._by_id.get(rule_id)
        return None if lr is None else lr.check(snap, now)

    def breached(self, snap: LiveCall, rule_id: str, now: float) -> bool:
        """``check(snap, rule_id, now) is not None``, without building the finding."""
        lr = self._by_id.get(rule_id)
        return lr is not None and lr.breached(snap, now)


def _as_live(snap: CallClocks) -> LiveCall:
    if isinstance(snap, LiveCall):
        return snap
    return LiveCall(
        "",
        snap.pbx,
        snap.direction,
        snap.queue,
        snap.started_at,
        snap.first_ring_at,
        snap.queue_joined_at,
        snap.answered_at,
        snap.answered_any_at,
        snap.queue_wait_seconds,
        tuple(snap.holds),
        snap.ended_at,
        snap.voicemail_at,
    )


def live_deadlines(
    snapshot: CallClocks, rules: RuleSet, *, site: Site | None = None
) -> list[Deadline]:
    """Deadlines (sorted) at which a live rule would be breached on this running call."""
    plan = LivePlan(rules, site or Site())
    return [Deadline(at, rule_id) for at, rule_id in plan.deadlines(_as_live(snapshot))]


def check_live(
    snapshot: CallClocks, rule_id: str, now: float, rules: RuleSet, *, site: Site | None = None
) -> Finding | None:
    """The live finding for ``rule_id`` if it is breached at ``now`` on ``snapshot``, else None.

    The finding's ``at`` is the moment the limit passed, not ``now``.
    """
    return LivePlan(rules, site or Site()).check(_as_live(snapshot), rule_id, now)
