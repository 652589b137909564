"""Prometheus alert rules generated from the standards (``ringwatch alerts generate``).

Three groups:

* ``ringwatch-window-standards`` — one alert per window standard: the ratio PromQL compiled by
  ``monitor.rules`` (so Prometheus and the in-process evaluator count the same calls) compared
  with the rule's target (a floor, or a ceiling for ``abandon_rate`` / ``asa``).
* ``ringwatch-live`` — calls breaching a live check right now (held too long, ringing too long,
  waiting too long), from the scrape-time ``ringwatch_live_breaches`` gauge, and callback
  promises overdue.
* ``ringwatch-operations`` — AMI down, event lag, parse errors, no events during business hours
  (the ``business_hours: only`` label routes it through Alertmanager's business-hours interval),
  the exporter not scraped.

Input is a small protocol, :class:`StandardSpec`; :mod:`monitor.metrics.alert_sources` builds
specs from loaded rules. Annotation URLs point at the Grafana dashboards and the QA queue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import yaml

from monitor.metrics.names import m

__all__ = [
    "AlertLinks",
    "OperationalLimits",
    "StandardSpec",
    "alert_name",
    "build_alert_rules",
    "dump_alert_rules",
]

WALLBOARD_UID = "ringwatch-wallboard"
QA_UID = "ringwatch-qa"
OPERATIONS_UID = "ringwatch-operations"


@dataclass(frozen=True, slots=True)
class StandardSpec:
    """What the alert generator needs of one rule.

    A window standard has ``window``, ``target`` and ``promql`` (the compiled ratio or value);
    ``ceiling`` is True when the target is a maximum (abandon rate, ASA). A live check has
    ``live=True`` (alerts read ``ringwatch_live_breaches{rule=...}``) and its ``limit`` in
    ``limit_unit`` for the description. ``unit`` is the target's: ``ratio`` or ``s`` (ASA).
    """

    rule_id: str
    title: str
    severity: str
    window: str | None = None
    target: float | None = None
    promql: str | None = None
    ceiling: bool = False
    live: bool = False
    limit: float | None = None
    unit: str = ""
    limit_unit: str = ""
    check: str = ""


@dataclass(frozen=True, slots=True)
class AlertLinks:
    """Base URLs of Grafana and of ringwatch's web UI, for annotation links."""

    grafana_url: str = "http://localhost:3000"
    web_url: str = "http://localhost:8080"

    def dashboard(self, uid: str, slug: str, by_pbx: bool = True) -> str:
        """Link to a dashboard; ``by_pbx`` selects the alert's ``pbx`` label in ``$pbx``."""
        url = f"{self.grafana_url.rstrip('/')}/d/{uid}/{slug}"
        return url + "?var-pbx={{ $labels.pbx }}" if by_pbx else url

    def qa_queue(self, rule: str | None = None, view: str | None = None) -> str:
        """Link to ringwatch's QA queue, filtered to ``rule`` (or a ``view``)."""
        url = f"{self.web_url.rstrip('/')}/qa"
        if rule is not None:
            return f"{url}?rule={quote(rule)}"
        return f"{url}?view={quote(view)}" if view else url


@dataclass(frozen=True, slots=True)
class OperationalLimits:
    """Thresholds of the operational alerts."""

    event_lag_seconds: float = 5.0
    no_events_minutes: int = 15
    ami_down_for: str = "1m"
    window_for: str = "5m"
    live_for: str = "30s"


def alert_name(rule_id: str) -> str:
    """``answer-within-three-rings`` -> ``RingwatchAnswerWithinThreeRings``."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", rule_id) if p]
    return "Ringwatch" + "".join(p[:1].upper() + p[1:] for p in parts)


def _fmt(value: float) -> str:
    return f"{value:g}"


def _window_rule(spec: StandardSpec, links: AlertLinks, lim: OperationalLimits) -> dict[str, Any]:
    if spec.promql is None or spec.target is None or spec.window is None:
        raise ValueError(f"rule {spec.rule_id!r}: a window standard needs promql, target, window")
    op, word = (">", "above") if spec.ceiling else ("<", "below")
    shown = _fmt(spec.target) if spec.unit == "s" else f"{_fmt(spec.target * 100)}%"
    value = (
        '{{ $value | printf "%.1f" }}s' if spec.unit == "s" else "{{ $value | humanizePercentage }}"
    )
    return {
        "alert": alert_name(spec.rule_id),
        "expr": f"(\n  {spec.promql.strip()}\n) {op} {_fmt(spec.target)}\n",
        "for": lim.window_for,
        "labels": {"severity": spec.severity, "rule": spec.rule_id, "kind": "window"},
        "annotations": {
            "summary": f"{spec.title or spec.rule_id}: {value} over {spec.window}, "
            f"{word} the standard {shown}",
            "description": f"Window standard {spec.rule_id} ({spec.check or 'ratio'}) over the "
            f"last {spec.window} is {value}, {word} the standard of {shown}. "
            "Open the QA queue for the calls that missed it.",
            "dashboard": links.dashboard(WALLBOARD_UID, "ringwatch-wallboard", by_pbx=False),
            "qa_queue": links.qa_queue(spec.rule_id),
        },
    }


def _live_rule(spec: StandardSpec, links: AlertLinks, lim: OperationalLimits) -> dict[str, Any]:
    unit = f" {spec.limit_unit}" if spec.limit_unit else ""
    limit = "" if spec.limit is None else f" (limit {_fmt(spec.limit)}{unit})"
    return {
        "alert": alert_name(spec.rule_id) + "Live",
        "expr": f'max by (pbx, rule) ({m("live_breaches")}{{rule="{spec.rule_id}"}}) > 0',
        "for": lim.live_for,
        "labels": {"severity": spec.severity, "rule": spec.rule_id, "kind": "live"},
        "annotations": {
            "summary": f"{{{{ $value }}}} call(s) breaching {spec.title or spec.rule_id} now",
            "description": f"Live check {spec.rule_id}{limit}: {{{{ $value }}}} call(s) on "
            "{{ $labels.pbx }} are past the limit right now. A supervisor can still act.",
            "dashboard": links.dashboard(WALLBOARD_UID, "ringwatch-wallboard"),
            "qa_queue": links.qa_queue(spec.rule_id),
        },
    }


def _ops_rules(links: AlertLinks, lim: OperationalLimits) -> list[dict[str, Any]]:
    ops = links.dashboard(OPERATIONS_UID, "ringwatch-operations")
    qa = links.qa_queue()
    n = lim.no_events_minutes

    def rule(
        name: str, expr: str, for_: str, severity: str, summary: str, desc: str, **extra: str
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"alert": name, "expr": expr}
        if for_ != "0s":
            out["for"] = for_
        out["labels"] = {"severity": severity, "kind": "operations", **extra}
        out["annotations"] = {
            "summary": summary,
            "description": desc,
            "dashboard": ops,
            "qa_queue": qa,
        }
        return out

    return [
        rule(
            "RingwatchAmiDown",
            f"{m('ami_up')} == 0",
            lim.ami_down_for,
            "critical",
            "ringwatch is not connected to the AMI of {{ $labels.pbx }}",
            "No call is being measured on {{ $labels.pbx }}: check the PBX, the network and "
            "the AMI user in manager.conf.",
        ),
        rule(
            "RingwatchEventLag",
            f"{m('event_lag_seconds')} > {_fmt(lim.event_lag_seconds)}",
            "5m",
            "warning",
            'AMI events from {{ $labels.pbx }} arrive {{ $value | printf "%.1f" }}s late',
            f"Events arrive more than {_fmt(lim.event_lag_seconds)}s after their Timestamp: "
            "the PBX or ringwatch is overloaded, or their clocks differ (check NTP).",
        ),
        rule(
            "RingwatchAmiParseErrors",
            f"increase({m('ami_parse_errors_total')}[5m]) > 0",
            "0s",
            "warning",
            "AMI frames from {{ $labels.pbx }} could not be parsed",
            "Some AMI frames were skipped in the last 5 minutes; calls may be measured "
            "incompletely. Check the Asterisk version and the collector log.",
        ),
        rule(
            "RingwatchNoAmiEvents",
            f"increase({m('ami_events_total')}[{n}m]) == 0 and on (pbx) {m('ami_up')} == 1",
            "0s",
            "warning",
            f"No AMI events from {{{{ $labels.pbx }}}} for {n} minutes",
            "The AMI session is up but silent during business hours: check the manager.conf "
            "read permissions (call, agent) and eventfilter lines.",
            business_hours="only",
        ),
        rule(
            "RingwatchExporterDown",
            'up{job="ringwatch"} == 0',
            "2m",
            "critical",
            "Prometheus cannot scrape ringwatch ({{ $labels.instance }})",
            "The ringwatch service is down or unreachable; no standard is measured.",
        ),
    ]


def _promises_rule(links: AlertLinks, lim: OperationalLimits) -> dict[str, Any]:
    return {
        "alert": "RingwatchCallbackPromisesOverdue",
        "expr": f'sum by (pbx) ({m("callback_promises_outstanding")}{{state="overdue"}}) > 0',
        "for": lim.live_for,
        "labels": {"severity": "warning", "kind": "live"},
        "annotations": {
            "summary": "{{ $value }} callback promise(s) overdue on {{ $labels.pbx }}",
            "description": "Callers were promised a call back and the due time has passed. "
            "Call them now from the QA queue's promises view.",
            "dashboard": links.dashboard(WALLBOARD_UID, "ringwatch-wallboard"),
            "qa_queue": links.qa_queue(view="promises"),
        },
    }


def build_alert_rules(
    specs: Sequence[StandardSpec],
    links: AlertLinks | None = None,
    limits: OperationalLimits | None = None,
) -> dict[str, Any]:
    """The Prometheus rule file (as a dict) for ``specs``."""
    links = links or AlertLinks()
    lim = limits or OperationalLimits()
    window = [_window_rule(s, links, lim) for s in specs if s.promql is not None]
    live = [_live_rule(s, links, lim) for s in specs if s.live] + [_promises_rule(links, lim)]
    groups: list[dict[str, Any]] = []
    if window:
        groups.append({"name": "ringwatch-window-standards", "interval": "1m", "rules": window})
    groups.append({"name": "ringwatch-live", "interval": "15s", "rules": live})
    groups.append({"name": "ringwatch-operations", "rules": _ops_rules(links, lim)})
    return {"groups": groups}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (long expressions) as ``|`` blocks; never fold a line."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump_alert_rules(rules: dict[str, Any], header: str = "") -> str:
    text = yaml.dump(rules, Dumper=_Dumper, sort_keys=False, width=10_000, allow_unicode=True)
    return (header + "\n" if header else "") + text
