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
specs from loaded rules. Window alerts are per PBX and queue (their PromQL is grouped
``by (pbx, queue)``). Annotations: ``dashboard`` (Grafana), ``qa_queue`` (the web UI's
``/flags?rule=`` or ``/promises?view=`` page; operational alerts have none) and
``runbook_url`` (the alert's section of docs/runbook.md).
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
    """Base URLs of Grafana, of ringwatch's web UI and of the runbook, for annotation links.

    ``runbook_url`` is where docs/runbook.md is published (a wiki page, the file on your git
    forge); each alert links to its own section (``#ringwatchamidown``, GitHub-style anchors).
    """

    grafana_url: str = "http://localhost:3000"
    web_url: str = "http://localhost:8080"
    runbook_url: str = "docs/runbook.md"

    def dashboard(self, uid: str, slug: str, by_pbx: bool = True, by_queue: bool = False) -> str:
        """Link to a dashboard; ``by_pbx`` (``by_queue``) selects the alert's ``pbx``
        (``queue``) label in the dashboard's ``$pbx`` (``$queue``) variable."""
        url = f"{self.grafana_url.rstrip('/')}/d/{uid}/{slug}"
        params = (["var-pbx={{ $labels.pbx }}"] if by_pbx else []) + (
            ["var-queue={{ $labels.queue }}"] if by_queue else []
        )
        return url + ("?" + "&".join(params) if params else "")

    def flags(self, rule: str, by_queue: bool = False) -> str:
        """The QA queue (web UI ``/flags``) filtered to ``rule`` (and the alert's queue)."""
        url = f"{self.web_url.rstrip('/')}/flags?rule={quote(rule)}"
        return url + "&queue={{ $labels.queue }}" if by_queue else url

    def promises(self, view: str) -> str:
        """The callback promises page (web UI ``/promises``) on ``view`` (open, overdue...)."""
        return f"{self.web_url.rstrip('/')}/promises?view={quote(view)}"

    def runbook(self, alert: str) -> str:
        """The runbook section of ``alert`` (its heading is the alert's name)."""
        return f"{self.runbook_url}#{alert.lower()}"


@dataclass(frozen=True, slots=True)
class OperationalLimits:
    """Thresholds and ``for:`` durations of the generated alerts."""

    event_lag_seconds: float = 5.0
    no_events_minutes: int = 15
    no_events_for: str = "5m"
    ami_down_for: str = "1m"
    window_for: str = "5m"
    live_for: str = "30s"
    exporter_down_for: str = "2m"
    #: how far back the ExporterDown alert looks for the PBXs a silent instance served
    exporter_memory: str = "1h"


def alert_name(rule_id: str) -> str:
    """``answer-within-three-rings`` -> ``RingwatchAnswerWithinThreeRings``."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", rule_id) if p]
    return "Ringwatch" + "".join(p[:1].upper() + p[1:] for p in parts)


def _fmt(value: float) -> str:
    return f"{value:g}"


#: "queue sales" or "calls outside a queue", for a window alert's text
_QUEUE = "{{ with $labels.queue }}queue {{ . }}{{ else }}calls outside a queue{{ end }}"


def _window_rule(spec: StandardSpec, links: AlertLinks, lim: OperationalLimits) -> dict[str, Any]:
    if spec.promql is None or spec.target is None or spec.window is None:
        raise ValueError(f"rule {spec.rule_id!r}: a window standard needs promql, target, window")
    op, word = (">", "above") if spec.ceiling else ("<", "below")
    shown = _fmt(spec.target) if spec.unit == "s" else f"{_fmt(spec.target * 100)}%"
    value = (
        '{{ $value | printf "%.1f" }}s' if spec.unit == "s" else "{{ $value | humanizePercentage }}"
    )
    name = alert_name(spec.rule_id)
    return {
        "alert": name,
        "expr": f"(\n  {spec.promql.strip()}\n) {op} {_fmt(spec.target)}\n",
        "for": lim.window_for,
        "labels": {"severity": spec.severity, "rule": spec.rule_id, "kind": "window"},
        "annotations": {
            "summary": f"{spec.title or spec.rule_id}: {value} over {spec.window} on "
            f"{{{{ $labels.pbx }}}} {_QUEUE}, {word} the standard {shown}",
            "description": f"Window standard {spec.rule_id} ({spec.check or 'ratio'}) over the "
            f"last {spec.window} is {value} on {{{{ $labels.pbx }}}} {_QUEUE}, {word} the "
            f"standard of {shown}. Open the QA queue for the calls that missed it.",
            "dashboard": links.dashboard(WALLBOARD_UID, "ringwatch-wallboard", by_queue=True),
            "qa_queue": links.flags(spec.rule_id, by_queue=True),
            "runbook_url": links.runbook(name),
        },
    }


def _live_rule(spec: StandardSpec, links: AlertLinks, lim: OperationalLimits) -> dict[str, Any]:
    unit = f" {spec.limit_unit}" if spec.limit_unit else ""
    limit = "" if spec.limit is None else f" (limit {_fmt(spec.limit)}{unit})"
    name = alert_name(spec.rule_id) + "Live"
    return {
        "alert": name,
        "expr": f'max by (pbx, rule) ({m("live_breaches")}{{rule="{spec.rule_id}"}}) > 0',
        "for": lim.live_for,
        "labels": {"severity": spec.severity, "rule": spec.rule_id, "kind": "live"},
        "annotations": {
            "summary": f"{{{{ $value }}}} call(s) breaching {spec.title or spec.rule_id} now",
            "description": f"Live check {spec.rule_id}{limit}: {{{{ $value }}}} call(s) on "
            "{{ $labels.pbx }} are past the limit right now. A supervisor can still act.",
            "dashboard": links.dashboard(WALLBOARD_UID, "ringwatch-wallboard"),
            "qa_queue": links.flags(spec.rule_id),
            "runbook_url": links.runbook(name),
        },
    }


def _exporter_down_expr(lim: OperationalLimits) -> str:
    """``up == 0`` per PBX the silent instance served (the last ``ami_up`` series it exposed
    within ``exporter_memory``), so the inhibition ``equal: [pbx]`` mutes that PBX's alerts
    only; an instance never seen to serve a PBX fires without a ``pbx`` label."""
    down = 'up{job="ringwatch"} == 0'
    served = f'count by (job, instance, pbx) (last_over_time({m("ami_up")}{{job="ringwatch"}}'
    return (
        f"(\n  {served}[{lim.exporter_memory}]))\n"
        f"  * on (job, instance) group_left ()\n  ({down})\n)\n"
        f"or on (job, instance)\n({down})\n"
    )


def _no_events_expr(lim: OperationalLimits) -> str:
    """Silent for the whole window while connected: the counter must already have been
    scraped a window ago (``offset``), so a fresh start (a new series, ``increase`` 0 over a
    few seconds) does not fire."""
    n = lim.no_events_minutes
    events = m("ami_events_total")
    return (
        f"increase({events}[{n}m]) == 0\n"
        f"and on (pbx) {m('ami_up')} == 1\n"
        f"and on (pbx) ({events} offset {n}m)\n"
    )


def _ops_rules(links: AlertLinks, lim: OperationalLimits) -> list[dict[str, Any]]:
    ops = links.dashboard(OPERATIONS_UID, "ringwatch-operations")
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
            "runbook_url": links.runbook(name),
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
            _no_events_expr(lim),
            lim.no_events_for,
            "warning",
            f"No AMI events from {{{{ $labels.pbx }}}} for {n} minutes",
            "The AMI session is up but silent during business hours: check the manager.conf "
            "read permissions (call, agent) and eventfilter lines.",
            business_hours="only",
        ),
        rule(
            "RingwatchExporterDown",
            _exporter_down_expr(lim),
            lim.exporter_down_for,
            "critical",
            "Prometheus cannot scrape ringwatch ({{ $labels.instance }}"
            "{{ with $labels.pbx }}, PBX {{ . }}{{ end }})",
            "The ringwatch service is down or unreachable; no standard is measured"
            "{{ with $labels.pbx }} on {{ . }}{{ end }}.",
        ),
    ]


def _promises_rule(links: AlertLinks, lim: OperationalLimits) -> dict[str, Any]:
    name = "RingwatchCallbackPromisesOverdue"
    return {
        "alert": name,
        "expr": f'sum by (pbx) ({m("callback_promises_outstanding")}{{state="overdue"}}) > 0',
        "for": lim.live_for,
        "labels": {"severity": "warning", "kind": "live"},
        "annotations": {
            "summary": "{{ $value }} callback promise(s) overdue on {{ $labels.pbx }}",
            "description": "Callers were promised a call back and the due time has passed. "
            "Call them now from the overdue promises page.",
            "dashboard": links.dashboard(WALLBOARD_UID, "ringwatch-wallboard"),
            "qa_queue": links.promises("overdue"),
            "runbook_url": links.runbook(name),
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
