"""Compile window standards to PromQL against the shared metric schema.

``compile_promql(rule)`` gives the ratio expression (the same formula as
``monitor.rules.window``); ``compile_promql(rule, by=("pbx", "queue"))`` the same ratio per PBX
and queue (what the alert rules use: one alert per PBX and queue); ``compile_alert_expr(rule)``
the condition that is true while the standard is missed. Business hours cannot be expressed
in PromQL: route those alerts with Alertmanager time intervals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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


def _sel(
    metric: str, rule: Rule, window: str, *extra: str, queue: bool = True, by: Sequence[str] = ()
) -> str:
    a = rule.applies_to
    labels = [_label("pbx", a.pbx), _label("queue", a.queues) if queue else None, *extra]
    inner = ",".join(x for x in labels if x)
    group = f" by ({', '.join(by)}) " if by else ""
    return f"sum{group}(increase({metric}{{{inner}}}[{window}]))"


def compile_promql(rule: Rule, by: Sequence[str] = ()) -> str:
    """The PromQL ratio expression for a window standard (raises RulesError if it has none).

    ``by`` groups it (``("pbx", "queue")``: one ratio per PBX and queue, as the alert rules
    use); without it, one ratio over every call the rule applies to.
    """
    if rule.target is None:
        raise RulesError([f'rule "{rule.id}": no target, so nothing to compile to PromQL'])
    w = rule.target.window
    if rule.check in CHECKS:
        rid = f"rule={_quote(rule.id)}"
        met = _sel(_CHECKS, rule, w, rid, 'result="met"', queue=False, by=by)
        both = _sel(_CHECKS, rule, w, rid, 'result=~"met|breached"', queue=False, by=by)
        return f"{met} / {both}"
    p = rule.params
    bucket, count = f"{_WAIT}_bucket", f"{_WAIT}_count"
    ans, ab = 'outcome="answered"', 'outcome="abandoned"'
    # answered and abandoned in one selector: a queue with only one of them still has a sum
    ans_ab = 'outcome=~"abandoned|answered"'
    if rule.check == "asa":
        return f"{_sel(f'{_WAIT}_sum', rule, w, ans, by=by)} / {_sel(count, rule, w, ans, by=by)}"
    short = float(p.get("short_abandon") or 0.0)
    excl = bool(short) and not p.get("include_short_abandons")
    short_ab = _sel(bucket, rule, w, ab, f'le="{_le(short)}"', by=by) if excl else ""
    if rule.check == "abandon_rate":
        # numerator and short abandons come from one histogram series: both exist or neither
        minus = f" - {short_ab}" if excl else ""
        abandoned = f"{_sel(count, rule, w, ab, by=by)}{minus}"
        return f"({abandoned}) / ({_sel(count, rule, w, ans_ab, by=by)}{minus})"
    if excl and by:
        # a group with no abandoned series subtracts 0, not "no value"
        short_ab = f"({short_ab} or 0 * {_sel(count, rule, w, ans_ab, by=by)})"
    minus = f" - {short_ab}" if excl else ""
    le = f'le="{_le(float(p["threshold"]))}"'
    if p.get("formula") == "sl2":
        num = f"{_sel(bucket, rule, w, ans_ab, le, by=by)}{minus}"
        den = f"{_sel(count, rule, w, ans_ab, by=by)}{minus}"
        return f"({num}) / ({den})"
    return f"{_sel(bucket, rule, w, ans, le, by=by)} / {_sel(count, rule, w, ans, by=by)}"


def compile_alert_expr(rule: Rule, by: Sequence[str] = ()) -> str:
    """The alert condition: true while the window standard is missed."""
    ratio = compile_promql(rule, by)
    if rule.check == "asa":
        return f"({ratio}) > {float(rule.params['threshold']):g}"
    assert rule.target is not None and rule.target.ratio is not None
    op = ">" if rule.check == "abandon_rate" else "<"
    return f"({ratio}) {op} {rule.target.ratio:g}"
