"""Per-call checks on audio facts (greeting, dead air, overtalk) and on callback promises.

Audio checks read ``CallRecord.audio`` and say not_evaluated("no audio") when it is None: a
call without a recording is never a pass.
"""

from __future__ import annotations

from monitor.record import CallRecord, Span
from monitor.rules.checks_call import Context, Params, over
from monitor.rules.model import CheckResult

__all__ = ["callback_kept", "dead_air", "greeting_latency", "overtalk"]

NO_AUDIO = "no audio"


def _off(rec: CallRecord, ts: float) -> float:
    return round(ts - rec.started_at, 3)


def _base(rec: CallRecord) -> float:
    """Epoch time of the recording's second 0."""
    if rec.audio is not None and rec.audio.recording_started_at is not None:
        return rec.audio.recording_started_at
    return rec.answered_at if rec.answered_at is not None else rec.started_at


def greeting_latency(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    limit = float(params["max"])
    if rec.answered_at is None:
        return CheckResult.not_applicable("never answered by a person")
    if rec.audio is None:
        return CheckResult.not_evaluated(NO_AUDIO)
    latency = rec.audio.greeting_latency_seconds
    at = rec.answered_at + limit
    evidence: tuple[tuple[str, float], ...] = (("answered", _off(rec, rec.answered_at)),)
    if latency is None:  # the agent never spoke
        return CheckResult.breached(None, limit, at, (*evidence, ("limit", _off(rec, at))))
    if over(latency, limit):
        greeted = rec.answered_at + latency
        return CheckResult.breached(
            latency, limit, at, (*evidence, ("greeting", _off(rec, greeted)))
        )
    return CheckResult.met(latency, limit)


def _outside(span: Span, holds: tuple[Span, ...], end: float | None) -> list[Span]:
    """``span`` minus every hold span (running holds run to ``end``)."""
    pieces = [span]
    for h in holds:
        h_end = h.end if h.end is not None else (end if end is not None else float("inf"))
        nxt: list[Span] = []
        for p in pieces:
            assert p.end is not None
            if h_end <= p.start or h.start >= p.end:
                nxt.append(p)
                continue
            if h.start > p.start:
                nxt.append(Span(p.start, h.start))
            if h_end < p.end:
                nxt.append(Span(h_end, p.end))
        pieces = nxt
    return pieces


def dead_air(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    limit = float(params["max"])
    if rec.audio is None:
        return CheckResult.not_evaluated(NO_AUDIO)
    base = _base(rec)
    pieces: list[Span] = []
    for s in rec.audio.dead_air:
        if s.end is None:
            continue
        pieces += _outside(Span(base + s.start, base + s.end), rec.holds, rec.ended_at)
    longest = max((p.seconds() for p in pieces), default=0.0)
    for p in sorted(pieces, key=lambda x: x.start):
        if over(p.seconds(), limit):
            assert p.end is not None
            evidence = (("silence", _off(rec, p.start)), ("limit", _off(rec, p.start + limit)),
                        ("speech", _off(rec, p.end)))  # fmt: skip
            return CheckResult.breached(longest, limit, p.start + limit, evidence)
    return CheckResult.met(longest, limit)


def overtalk(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    if rec.audio is None:
        return CheckResult.not_evaluated(NO_AUDIO)
    base = _base(rec)
    max_s, max_ratio = params.get("max_seconds"), params.get("max_ratio")
    spans = [s for s in rec.audio.overtalk if s.end is not None]
    longest = max((s.seconds() for s in spans), default=0.0)
    if max_s is not None:
        for s in spans:
            if over(s.seconds(), float(max_s)):
                at = base + s.start + float(max_s)
                evidence = (("overtalk", _off(rec, base + s.start)), ("limit", _off(rec, at)))
                return CheckResult.breached(longest, float(max_s), at, evidence)
    if max_ratio is not None and rec.audio.overtalk_ratio > float(max_ratio):
        at = base + rec.audio.duration_seconds
        return CheckResult.breached(rec.audio.overtalk_ratio, float(max_ratio), at)
    if max_s is not None:
        return CheckResult.met(longest, float(max_s))
    return CheckResult.met(rec.audio.overtalk_ratio, float(max_ratio or 0.0))


def callback_kept(rec: CallRecord, params: Params, ctx: Context) -> CheckResult:
    policy = params["policy"]
    promise = next((p for p in ctx.promises if p.policy == policy), None)
    if promise is None:
        return CheckResult.not_evaluated("no promise outcome")
    due = params.get("due")
    threshold = float(due) if due is not None else promise.due_at - promise.promised_at
    if promise.outcome == "kept":
        settled = promise.settled_at if promise.settled_at is not None else promise.due_at
        return CheckResult.met(settled - promise.promised_at, threshold)
    if promise.outcome == "broken":
        evidence = (
            ("promised", _off(rec, promise.promised_at)),
            ("due", _off(rec, promise.due_at)),
        )
        value = (promise.settled_at or promise.due_at) - promise.promised_at
        return CheckResult.breached(value, threshold, promise.due_at, evidence)
    if promise.outcome == "open":
        return CheckResult.not_evaluated("the promise is still open")
    return CheckResult.not_applicable(f"promise {promise.outcome}")
