"""Evaluate a rule set on one finished call: results per rule, findings, and the QA flag."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor.frozen import fast_init
from monitor.record import CallClocks, CallRecord, Finding
from monitor.rules import checks_audio as audio
from monitor.rules import checks_call as call
from monitor.rules.checks_call import Context
from monitor.rules.model import CheckResult, CheckStatus, PromiseResult, Rule, RuleSet, Site

__all__ = [
    "CHECKS",
    "RuleResult",
    "applies",
    "evaluate",
    "evaluate_results",
    "finding_for",
    "flag_for",
    "run_check",
]

CheckFn = Callable[[CallRecord, Mapping[str, Any], Context], CheckResult]

CHECKS: dict[str, CheckFn] = {
    "rings_to_answer": call.rings_to_answer,
    "queue_wait": call.queue_wait,
    "abandoned": call.abandoned,
    "longest_hold": call.longest_hold,
    "total_hold": call.total_hold,
    "hold_count": call.hold_count,
    "transfers": call.transfers,
    "agent_ring_no_answer": call.agent_ring_no_answer,
    "talk_time": call.talk_time,
    "callback_kept": audio.callback_kept,
    "greeting_latency": audio.greeting_latency,
    "dead_air": audio.dead_air,
    "overtalk": audio.overtalk,
}


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: Rule
    result: CheckResult


fast_init(RuleResult)


def applies(rule: Rule, record: CallClocks) -> bool:
    """Whether ``rule``'s applies_to selects ``record`` (business hours at its started_at)."""
    a = rule.applies_to
    if a.directions and record.direction not in a.directions:
        return False
    if a.queues and record.queue not in a.queues:
        return False
    if a.pbx and record.pbx not in a.pbx:
        return False
    if a.business_hours is not None and not a.business_hours.contains(record.started_at):
        return False
    return not (
        a.outside_business_hours is not None
        and a.outside_business_hours.contains(record.started_at)
    )


def run_check(rule: Rule, record: CallRecord, ctx: Context) -> CheckResult:
    """One per-call rule on one call (not_applicable when applies_to leaves it out)."""
    fn = CHECKS.get(rule.check)
    if fn is None:  # a window standard: nothing to say about one call
        return CheckResult.not_applicable(f"{rule.check} is a window standard")
    if not applies(rule, record):
        return CheckResult.not_applicable("outside applies_to")
    return fn(record, rule.params, ctx)


def evaluate_results(
    record: CallRecord,
    rules: RuleSet | Iterable[Rule],
    *,
    site: Site | None = None,
    promises: Iterable[PromiseResult] = (),
) -> list[RuleResult]:
    """Every per-call rule's result on ``record`` (for metrics: met/breached counts)."""
    ctx = Context(site or Site(), tuple(promises))
    items = rules.rules if isinstance(rules, RuleSet) else tuple(rules)
    return [RuleResult(r, run_check(r, record, ctx)) for r in items if r.check in CHECKS]


def finding_for(rule: Rule, result: CheckResult, *, live: bool = False) -> Finding:
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        value=result.value,
        threshold=result.threshold,
        at=result.at,
        title=rule.title or rule.id,
        flag=rule.flag,
        live=live,
        evidence=result.evidence,
    )


def evaluate(
    record: CallRecord,
    rules: RuleSet | Iterable[Rule],
    *,
    site: Site | None = None,
    promises: Iterable[PromiseResult] = (),
) -> list[Finding]:
    """The findings (breaches) of every per-call rule on ``record``, in rule order."""
    return [
        finding_for(rr.rule, rr.result)
        for rr in evaluate_results(record, rules, site=site, promises=promises)
        if rr.result.status is CheckStatus.BREACHED
    ]


def flag_for(findings: Iterable[Finding]) -> bool:
    """Whether the call goes to the QA queue: any finding of a ``flag: true`` rule."""
    return any(f.flag for f in findings)
