"""Compile window standards to PromQL against the shared metric schema.

``compile_promql(rule)`` gives the ratio expression (the same formula as
``monitor.rules.window``); ``compile_alert_expr(rule)`` the condition that is true while the
standard is missed. Business hours cannot be expressed in PromQL: route those alerts with
Alertmanager time intervals.
"""

from __future__ import annotations

import re

from monitor.errors import RulesError
from monitor.rules.evaluate import CHECKS
from monitor.rules.model import Rule

__all__ = ["compile_alert_expr", "compile_promql"]

_WAIT = "ringwatch_queue_wait_seconds"
_CHECKS = "ringwatch_standard_checks_total"


def _le(value: float) -> str:
    """A bucket's ``le`` label as prometheus_client writes it (20 -> "20.0")."""
    return repr(float(value))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(name: str, values: frozenset[str]) -> str | None:
    if not values:
        return None
    if len(values) == 1:
        return f"{name}={_quote(next(iter(values)))}"
    return f"{name}=~{_quote('|'.join(re.escape(v) for v in sorted(values)))}"


def _sel(metric: str, rule: Rule, window: str, *extra: str, queue: bool = True) -> str:
    a = rule.applies_to
    labels = [_label("pbx", a.pbx), _label("queue", a.queues) if queue else None, *extra]
    inner = ",".join(x for x in labels if x)
    return f"sum(increase({metric}{{{inner}}}[{window}]))"


def compile_promql(rule: Rule) -> str:
    """The PromQL ratio expression for a window standard (raises RulesError if it has none)."""
    if rule.target is None:
        raise RulesError([f'rule "{rule.id}": no target, so nothing to compile to PromQL'])
    w = rule.target.window
    if rule.check in CHECKS:
        rid = f"rule={_quote(rule.id)}"
        met = _sel(_CHECKS, rule, w, rid, 'result="met"', queue=False)
        both = _sel(_CHECKS, rule, w, rid, 'result=~"met|breached"', queue=False)
        return f"{met} / {both}"
    p = rule.params
    bucket, count = f"{_WAIT}_bucket", f"{_WAIT}_count"
    ans, ab = 'outcome="answered"', 'outcome="abandoned"'
    if rule.check == "asa":
        return f"{_sel(f'{_WAIT}_sum', rule, w, ans)} / {_sel(count, rule, w, ans)}"
    short = float(p.get("short_abandon") or 0.0)
    excl = bool(short) and not p.get("include_short_abandons")
    short_ab = _sel(bucket, rule, w, ab, f'le="{_le(short)}"') if excl else ""
    minus = f" - {short_ab}" if excl else ""
    if rule.check == "abandon_rate":
        den = f"{_sel(count, rule, w, ans)} + {_sel(count, rule, w, ab)}{minus}"
        return f"({_sel(count, rule, w, ab)}{minus}) / ({den})"
    le = f'le="{_le(float(p["threshold"]))}"'
    if p.get("formula") == "sl2":
        num = f"{_sel(bucket, rule, w, ans, le)} + {_sel(bucket, rule, w, ab, le)}{minus}"
        den = f"{_sel(count, rule, w, ans)} + {_sel(count, rule, w, ab)}{minus}"
        return f"({num}) / ({den})"
    return f"{_sel(bucket, rule, w, ans, le)} / {_sel(count, rule, w, ans)}"


def compile_alert_expr(rule: Rule) -> str:
    """The alert condition: true while the window standard is missed."""
    ratio = compile_promql(rule)
    if rule.check == "asa":
        return f"({ratio}) > {float(rule.params['threshold']):g}"
    assert rule.target is not None and rule.target.ratio is not None
    op = ">" if rule.check == "abandon_rate" else "<"
    return f"({ratio}) {op} {rule.target.ratio:g}"
