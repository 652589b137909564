"""Turn loaded rules (``monitor.rules``) into the alert generator's :class:`StandardSpec`.

Window standards get their PromQL from ``monitor.rules``' ``compile_promql(rule, by)`` (passed
in, so tests can inject one and the generator has no import-time dependency on the compiler),
grouped ``by (pbx, queue)``: one alert per PBX and queue. Live checks come from the check
catalogue's ``live`` flag.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol, cast

from monitor.errors import RulesError
from monitor.metrics.alerts import StandardSpec
from monitor.metrics.exporter import MetricRule
from monitor.rules.catalogue import CATALOGUE
from monitor.rules.model import Rule, RuleSet

__all__ = ["ALERT_BY", "CEILING_CHECKS", "find_compile_promql", "metric_rules", "specs_from_rules"]

#: The labels a window alert keeps: one alert per PBX and queue.
ALERT_BY = ("pbx", "queue")


class CompilePromql(Protocol):
    """``monitor.rules.compile_promql``: a window standard's ratio, grouped ``by`` labels."""

    def __call__(self, rule: Rule, by: Sequence[str] = ...) -> str: ...


#: Window checks whose target is a maximum.
CEILING_CHECKS = frozenset({"abandon_rate", "asa"})
#: Where ``compile_promql`` may live in monitor.rules (first match wins).
_COMPILER_MODULES = ("monitor.rules", "monitor.rules.promql", "monitor.rules.window")


def find_compile_promql() -> CompilePromql:
    """``monitor.rules``' ``compile_promql``; RulesError when it is not there."""
    for name in _COMPILER_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        func = getattr(module, "compile_promql", None)
        if callable(func):
            return cast(CompilePromql, func)
    raise RulesError(
        [
            "monitor.rules has no compile_promql(rule): window standards cannot be turned "
            "into alert rules; upgrade ringwatch or generate without window standards"
        ]
    )


def _is_window(rule: Rule) -> bool:
    return rule.target is not None


def specs_from_rules(
    ruleset: RuleSet, compile_promql: CompilePromql | None = None
) -> list[StandardSpec]:
    """One spec per rule that is a window standard or a live check (others need no alert)."""
    specs: list[StandardSpec] = []
    for rule in ruleset.rules:
        spec = CATALOGUE.get(rule.check)
        live = bool(spec and spec.live)
        window = _is_window(rule)
        if not (live or window):
            continue
        promql: str | None = None
        target: float | None = None
        unit = ""
        if window and rule.target is not None:
            if compile_promql is None:
                compile_promql = find_compile_promql()
            promql = compile_promql(rule, ALERT_BY)
            if rule.check == "asa":
                target = float(rule.params["threshold"])
                unit = "s"
            else:
                target = rule.target.ratio if rule.target.ratio is not None else None
                unit = "ratio"
        limit = rule.params.get("max")
        specs.append(
            StandardSpec(
                rule_id=rule.id,
                title=rule.title or rule.id,
                severity=str(rule.severity),
                window=rule.target.window if rule.target is not None else None,
                target=target,
                promql=promql if target is not None else None,
                ceiling=rule.check in CEILING_CHECKS,
                live=live,
                limit=float(limit) if isinstance(limit, int | float) else None,
                unit=unit,
                limit_unit=_unit(rule),
                check=rule.check,
            )
        )
    return specs


def _unit(rule: Rule) -> str:
    spec = CATALOGUE.get(rule.check)
    param = spec.param("max") if spec else None
    return param.unit if param else ""


def metric_rules(ruleset: RuleSet | Sequence[Rule]) -> list[MetricRule]:
    """The exporter's view of loaded rules (per-call checks: window-only checks excluded)."""
    rules = ruleset.rules if isinstance(ruleset, RuleSet) else tuple(ruleset)
    out = []
    for rule in rules:
        spec = CATALOGUE.get(rule.check)
        if spec is not None and spec.window:
            continue  # service_level, abandon_rate, asa: computed from histograms, not checks
        out.append(MetricRule(rule.id, str(rule.severity), live=bool(spec and spec.live)))
    return out
