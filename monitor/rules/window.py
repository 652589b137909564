"""Window standards evaluated in-process over a sliding event-time window.

The same formulas as ``monitor.rules.promql`` compiles (metrics schema): a call counts at its
``ended_at`` (when the exporter observes it). ``ratio(now)`` looks at calls ending in
``(now - window, now]``; it is None when the window holds no calls (PromQL gives NaN).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from monitor.errors import RulesError
from monitor.record import CallRecord, Outcome
from monitor.rules.checks_call import Context
from monitor.rules.evaluate import CHECKS, applies, run_check
from monitor.rules.model import CheckStatus, Rule, Site

__all__ = ["QueueCounts", "WindowEvaluator", "queue_ratio"]


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """The histogram figures a queue formula needs, as Prometheus would count them."""

    answered: int = 0
    answered_within: int = 0  # answered with wait <= threshold
    abandoned: int = 0
    abandoned_within: int = 0  # abandoned with wait <= threshold
    abandoned_short: int = 0  # abandoned with wait <= short_abandon
    answered_wait_sum: float = 0.0


def queue_ratio(rule: Rule, c: QueueCounts) -> float | None:
    """service_level / abandon_rate / asa from counts; None when the denominator is 0."""
    p = rule.params
    short = float(p.get("short_abandon") or 0.0)
    excl = c.abandoned_short if short and not p.get("include_short_abandons") else 0
    if rule.check == "asa":
        num, den = c.answered_wait_sum, float(c.answered)
    elif rule.check == "abandon_rate":
        num, den = float(c.abandoned - excl), float(c.answered + c.abandoned - excl)
    elif p.get("formula") == "sl2":
        num = float(c.answered_within + c.abandoned_within - excl)
        den = float(c.answered + c.abandoned - excl)
    else:
        num, den = float(c.answered_within), float(c.answered)
    return None if den == 0 else num / den


class WindowEvaluator:
    """Feed CallRecords with ``add``; ask ``ratio(now)`` and ``breached(now)``.

    Works for a per-call rule with ``target`` (share of calls that met it; not_applicable and
    not_evaluated calls are left out) and for ``service_level``, ``abandon_rate`` and ``asa``.
    """

    def __init__(self, rule: Rule, *, site: Site | None = None) -> None:
        if rule.target is None:
            raise RulesError([f'rule "{rule.id}": has no target; a window needs target.window'])
        self.rule = rule
        self.window = rule.target.window_seconds
        self._ctx = Context(site or Site())
        self._times: list[float] = []
        self._samples: list[tuple[str, float]] = []  # (kind, wait-or-met)

    def add(self, record: CallRecord) -> None:
        if record.ended_at is None:
            return
        sample = self._sample(record)
        if sample is None:
            return
        i = bisect.bisect_right(self._times, record.ended_at)
        self._times.insert(i, record.ended_at)
        self._samples.insert(i, sample)

    def _sample(self, record: CallRecord) -> tuple[str, float] | None:
        if self.rule.check in CHECKS:
            status = run_check(self.rule, record, self._ctx).status
            if status is CheckStatus.MET:
                return ("met", 1.0)
            return ("breached", 0.0) if status is CheckStatus.BREACHED else None
        if record.queue_joined_at is None or not applies(self.rule, record):
            return None
        wait = record.queue_wait_seconds
        if wait is None:
            end = record.answered_at or record.ended_at
            assert end is not None
            wait = max(0.0, end - record.queue_joined_at)
        if record.outcome in (Outcome.ANSWERED, Outcome.ABANDONED):
            return (str(record.outcome), wait)
        return None

    def prune(self, before: float) -> None:
        """Forget calls that ended at or before ``before`` (keeps memory bounded)."""
        i = bisect.bisect_right(self._times, before)
        del self._times[:i], self._samples[:i]

    def counts(self, now: float) -> list[tuple[str, float]]:
        lo = bisect.bisect_right(self._times, now - self.window)
        hi = bisect.bisect_right(self._times, now)
        return self._samples[lo:hi]

    def ratio(self, now: float) -> float | None:
        samples = self.counts(now)
        if self.rule.check in CHECKS:
            return sum(v for _, v in samples) / len(samples) if samples else None
        p = self.rule.params
        threshold = float(p.get("threshold") or 0.0)
        short = float(p.get("short_abandon") or 0.0)
        answered = [w for k, w in samples if k == "answered"]
        abandoned = [w for k, w in samples if k == "abandoned"]
        counts = QueueCounts(
            answered=len(answered),
            answered_within=sum(1 for w in answered if w <= threshold),
            abandoned=len(abandoned),
            abandoned_within=sum(1 for w in abandoned if w <= threshold),
            abandoned_short=sum(1 for w in abandoned if w <= short),
            answered_wait_sum=sum(answered),
        )
        return queue_ratio(self.rule, counts)

    def breached(self, now: float) -> bool | None:
        """True when the standard is missed at ``now``; None when there is nothing to judge."""
        value = self.ratio(now)
        if value is None:
            return None
        if self.rule.check == "asa":
            return value > float(self.rule.params["threshold"])
        assert self.rule.target is not None and self.rule.target.ratio is not None
        if self.rule.check == "abandon_rate":
            return value > self.rule.target.ratio
        return value < self.rule.target.ratio
