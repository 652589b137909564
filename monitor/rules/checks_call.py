"""Per-call checks from call events: pure functions of a CallRecord, params and context.

Each returns a CheckResult: met, breached(value, threshold, at, evidence), not_applicable or
not_evaluated(reason). ``at`` is the event time the limit passed; evidence offsets are seconds
from the call's start. Units are in rules/README.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.frozen import fast_init
from monitor.record import CallClocks, CallRecord, Outcome, Span, Timing, rings_for
from monitor.rules.cadence import cadence_for
from monitor.rules.model import CheckResult, PromiseResult, Site

__all__ = [
    "Context",
    "abandoned",
    "agent_ring_no_answer",
    "clock_start",
    "hold_count",
    "longest_hold",
    "offered_to_person",
    "over",
    "queue_wait",
    "rings_to_answer",
    "talk_time",
    "total_hold",
    "transfers",
]

Params = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Context:
    """What checks need beyond the call: site settings and promise outcomes."""

    site: Site = field(default_factory=Site)
    promises: tuple[PromiseResult, ...] = ()


fast_init(Context)


def over(value: float, limit: float) -> bool:
    """``value > limit`` ignoring float noise below a millisecond."""
    return round(value * 1000) > round(limit * 1000)


def _off(rec: CallRecord, ts: float) -> float:
    return round(ts - rec.started_at, 3)


def clock_start(rec: CallClocks, clock: str) -> float | None:
    return {
        "arrival": rec.started_at,
        "queue_join": rec.queue_joined_at,
        "first_ring": rec.first_ring_at,
    }[clock]


def offered_to_person(rec: CallClocks) -> bool:
    """Whether the caller waits (or waited) for a person: queued, a phone rang, or nothing
    answered the channel yet. A call the PBX answered (an IVR menu) and never offered to a
    person is not waiting; a queued call is, although the queue answered its channel."""
    return (
        rec.queue_joined_at is not None
        or rec.first_ring_at is not None
        or rec.answered_any_at is None
    )


def rings_to_answer(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    limit_rings = int(params["max"])
    cadence = cadence_for(params.get("country") or ctx.site.country)
    clock = str(params.get("clock", "arrival"))
    start = clock_start(rec, clock)
    if start is None:
        return CheckResult.not_applicable(f"the call has no {clock} time")
    person = params.get("answer", "person") == "person"
    answered = rec.answered_at if person else (rec.answered_any_at or rec.answered_at)
    if rec.timing is Timing.APPROXIMATE and rec.ring_seconds is None and rec.answered_at:
        return CheckResult.not_evaluated("the answer time is not known (no Timestamp headers)")
    deadline = start + limit_rings * cadence
    evidence: list[tuple[str, float]] = [(clock, _off(rec, start))]
    if answered is not None:
        rings = rings_for(max(0.0, answered - start), cadence) or 1
        if rings > limit_rings:
            evidence += [("limit", _off(rec, deadline)), ("answered", _off(rec, answered))]
            return CheckResult.breached(rings, limit_rings, deadline, tuple(evidence))
        return CheckResult.met(rings, limit_rings)
    # ringing (waiting for a person) ended: at voicemail, at hang-up while still offered to a
    # person (queued or ringing), or when the PBX answered a call never offered to a person
    ring_end = rec.ended_at
    if person:
        if rec.voicemail_at is not None:
            ring_end = rec.voicemail_at
        elif rec.outcome is Outcome.VOICEMAIL or not offered_to_person(rec):
            ring_end = rec.answered_any_at or rec.ended_at
    if ring_end is None:
        return CheckResult.not_evaluated("the call is still ringing")
    rings = rings_for(max(0.0, ring_end - start), cadence) or 1
    if rings > limit_rings:
        evidence += [("limit", _off(rec, deadline)), ("ringing ended", _off(rec, ring_end))]
        return CheckResult.breached(rings, limit_rings, deadline, tuple(evidence))
    return CheckResult.not_applicable(f"not answered; ringing ended within {limit_rings} rings")


def queue_wait(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    limit = float(params["max"])
    joined = rec.queue_joined_at
    if joined is None:
        return CheckResult.not_applicable("the call never joined a queue")
    wait = rec.queue_wait_seconds
    if wait is None and rec.timing is Timing.APPROXIMATE:
        return CheckResult.not_evaluated("the queue wait is not known (no Timestamp headers)")
    if wait is None:
        end = rec.answered_at or rec.ended_at
        if end is None:
            return CheckResult.not_evaluated("the caller is still queued")
        wait = max(0.0, end - joined)
    if over(wait, limit):
        evidence = (("queue_join", _off(rec, joined)), ("limit", _off(rec, joined + limit)))
        return CheckResult.breached(wait, limit, joined + limit, evidence)
    return CheckResult.met(wait, limit)


def abandon_wait(rec: CallRecord) -> float | None:
    """Seconds the caller waited before abandoning (queue wait when queued, else since arrival)."""
    if rec.queue_joined_at is not None and rec.queue_wait_seconds is not None:
        return rec.queue_wait_seconds
    start = rec.queue_joined_at if rec.queue_joined_at is not None else rec.started_at
    return None if rec.ended_at is None else max(0.0, rec.ended_at - start)


def abandoned(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    short = float(params.get("short_abandon") or 0.0)
    if rec.outcome is not Outcome.ABANDONED:
        if rec.answered_at is not None or rec.outcome is Outcome.ANSWERED:
            return CheckResult.met()
        return CheckResult.not_applicable(f"outcome {rec.outcome} is not an answer or abandon")
    wait = abandon_wait(rec)
    if wait is None:
        return CheckResult.not_evaluated("the abandon time is unknown")
    if short and not over(wait, short):
        return CheckResult.not_applicable(f"short abandon ({wait:g}s <= {short:g}s)")
    evidence: tuple[tuple[str, float], ...] = ()
    if rec.ended_at is not None:
        evidence = (("hung up", _off(rec, rec.ended_at)),)
    return CheckResult.breached(wait, short, rec.ended_at, evidence)


def _closed(rec: CallRecord, now: float | None = None) -> list[Span]:
    """Hold spans with running ones closed at ``now`` or the call's end."""
    end = now if now is not None else rec.ended_at
    out = []
    for h in rec.holds:
        if h.end is not None:
            out.append(h)
        elif end is not None:
            out.append(Span(h.start, max(h.start, end)))
    return out


def _hold_applies(rec: CallRecord) -> bool:
    return rec.answered_at is not None or bool(rec.holds)


def longest_hold(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    limit = float(params["max"])
    if not _hold_applies(rec):
        return CheckResult.not_applicable("never answered")
    spans = _closed(rec)
    longest = max((s.seconds() for s in spans), default=rec.longest_hold_seconds)
    for s in spans:
        if over(s.seconds(), limit):
            assert s.end is not None
            evidence = (("hold", _off(rec, s.start)), ("limit", _off(rec, s.start + limit)),
                        ("unhold", _off(rec, s.end)))  # fmt: skip
            return CheckResult.breached(longest, limit, s.start + limit, evidence)
    return CheckResult.met(longest, limit)


def total_hold(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    limit = float(params["max"])
    if not _hold_applies(rec):
        return CheckResult.not_applicable("never answered")
    spans = _closed(rec)
    total = sum(s.seconds() for s in spans) if spans else rec.hold_seconds
    used = 0.0
    for s in spans:
        if over(used + s.seconds(), limit):
            at = s.start + (limit - used)
            evidence = (("hold", _off(rec, s.start)), ("limit", _off(rec, at)))
            return CheckResult.breached(total, limit, at, evidence)
        used += s.seconds()
    if over(total, limit):  # spans unknown, only the total
        return CheckResult.breached(total, limit, rec.ended_at)
    return CheckResult.met(total, limit)


def hold_count(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    limit = int(params["max"])
    if not _hold_applies(rec):
        return CheckResult.not_applicable("never answered")
    count = max(rec.hold_count, len(rec.holds))
    if count > limit:
        extra = rec.holds[limit].start if len(rec.holds) > limit else rec.ended_at
        evidence = (("hold", _off(rec, extra)),) if extra is not None else ()
        return CheckResult.breached(count, limit, extra, evidence)
    return CheckResult.met(count, limit)


def transfers(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    limit = int(params["max"])
    if rec.transfers > limit:
        return CheckResult.breached(rec.transfers, limit, rec.ended_at)
    return CheckResult.met(rec.transfers, limit)


def agent_ring_no_answer(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    limit = int(params.get("max") or 0)
    if rec.agent_ring_no_answer > limit:
        at = rec.answered_at or rec.ended_at
        return CheckResult.breached(rec.agent_ring_no_answer, limit, at)
    return CheckResult.met(rec.agent_ring_no_answer, limit)


def talk_time(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    if rec.answered_at is None:
        return CheckResult.not_applicable("never answered")
    talk = rec.talk_seconds
    if talk is None:
        if rec.ended_at is None:
            return CheckResult.not_evaluated("the call is still up")
        talk = max(0.0, rec.ended_at - rec.answered_at)
    low, high = params.get("min"), params.get("max")
    answered = (("answered", _off(rec, rec.answered_at)),)
    if high is not None and over(talk, float(high)):
        at = rec.answered_at + float(high)
        return CheckResult.breached(talk, float(high), at, (*answered, ("limit", _off(rec, at))))
    if low is not None and over(float(low), talk):
        return CheckResult.breached(talk, float(low), rec.ended_at, answered)
    bound = high if high is not None else low
    return CheckResult.met(talk, None if bound is None else float(bound))
