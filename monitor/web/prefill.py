"""The review checklist prefilled from the measurements (issue 19).

Each ``ChecklistItem.measured_by`` names checks; every loaded per-call rule of those checks is
looked at on the stored call. A finding the call carries (the breach as recorded when the
call ended) answers the item *no*, with that finding as the evidence (``finding_seq``: its
place among the call's findings, stable across re-saves); otherwise the rule is run on the
stored record now: breached -> *no*, met -> *yes* (the measured value and the limit are the
evidence); not applicable or not measurable (no recording) leaves the item unanswered, with
the reason. Any breach wins over a met rule. Items no check measures are left out: the
reviewer answers them. The reviewer confirms or overrides each answer (an override needs a
reason: monitor/store/answers.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from fastapi import Request

from monitor.record import CallRecord, Finding
from monitor.rules import CATALOGUE, CHECKS, CheckStatus, Context, Rule, RuleSet, Site, run_check
from monitor.web.settings import ChecklistItem

__all__ = ["evidence_text", "prefill", "request_rules", "request_site"]

_HOLD_CHECKS = frozenset({"longest_hold", "total_hold", "hold_count"})


@lru_cache(maxsize=1)
def _seed_rules() -> RuleSet:
    from monitor.rules import load_rules
    from monitor.rules.seed import SEED_RULES

    return load_rules(SEED_RULES)


def request_rules(request: Request) -> RuleSet:
    """The service's current rule set (``app.state.report_rules``), else the seed standards."""
    provider = getattr(request.app.state, "report_rules", None)
    if provider is not None:
        rules: RuleSet = provider()
        return rules
    return _seed_rules()


def request_site(request: Request) -> Site:
    site = getattr(request.app.state, "rules_site", None)
    return site if isinstance(site, Site) else Site()


def _unit(rule: Rule) -> str:
    spec = CATALOGUE.get(rule.check)
    if spec is None:
        return ""
    return next((p.unit for p in spec.params if p.unit and p.name in rule.params), "")


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"


def evidence_text(ev: dict[str, Any]) -> str:
    """One line for the page: ``No dead air over 10 seconds: 19.7 s, limit 10 s (finding
    #2)``."""
    title = ev.get("title") or ev.get("rule") or "?"
    if ev.get("status") in ("breached", "met"):
        unit = f" {ev['unit']}" if ev.get("unit") else ""
        text = f"{title}: {_num(ev.get('value'))}{unit}, limit {_num(ev.get('threshold'))}{unit}"
        text += " — breached" if ev["status"] == "breached" else " — met"
        if ev.get("finding_seq") is not None:
            text += f" (finding #{int(ev['finding_seq']) + 1})"
        return text
    return f"{title}: not measured ({ev.get('note') or ev.get('status')})"


def _evidence(rule: Rule, record: CallRecord, ctx: Context) -> dict[str, Any]:
    base: dict[str, Any] = {"rule": rule.id, "title": rule.title or rule.id, "unit": _unit(rule)}
    seq, found = next(
        ((i, f) for i, f in enumerate(record.findings) if f.rule == rule.id), (None, None)
    )
    if isinstance(found, Finding):
        base.update(
            status="breached",
            value=found.value,
            threshold=found.threshold,
            at=found.at,
            finding_seq=seq,
            source="finding",
        )
    elif rule.check in _HOLD_CHECKS and not record.holds and not record.hold_count:
        base.update(status="not_applicable", note="no hold on this call", source="measured")
    else:
        result = run_check(rule, record, ctx)
        base.update(
            status=result.status.value,
            value=result.value,
            threshold=result.threshold,
            at=result.at,
            finding_seq=None,
            source="measured",
        )
        if result.status not in (CheckStatus.MET, CheckStatus.BREACHED):
            base["note"] = result.reason or result.status.value.replace("_", " ")
    base["text"] = evidence_text(base)
    return base


def prefill(
    record: CallRecord, checklist: Sequence[ChecklistItem], rules: RuleSet, site: Site
) -> dict[str, dict[str, Any]]:
    """``{item key: {"prefill": True | False | None, "evidence": [...]}}`` for every item a
    loaded rule measures (other items are left out)."""
    ctx = Context(site)
    out: dict[str, dict[str, Any]] = {}
    for item in checklist:
        measuring = [r for r in rules.rules if r.check in item.measured_by and r.check in CHECKS]
        if not measuring:
            continue
        evidence = [_evidence(rule, record, ctx) for rule in measuring]
        statuses = {e["status"] for e in evidence}
        value = False if "breached" in statuses else True if "met" in statuses else None
        out[item.key] = {"prefill": value, "evidence": evidence}
    return out
