"""ringwatch's Grafana dashboards as code: supervisor wallboard, QA overview, operations.

``build_dashboards(standards)`` returns ``{file name: dashboard JSON model}`` with fixed uids;
``ringwatch dashboards build`` writes them to dashboards/grafana/. Thresholds (green, amber,
red) sit at the standards read from the rules, so the wallboard turns red where the alert fires.
"""

from __future__ import annotations

from typing import Any

from monitor.metrics.alerts import OPERATIONS_UID, QA_UID, WALLBOARD_UID
from monitor.metrics.grafana_model import (
    Grid,
    Thresholds,
    dashboard,
    panel,
    query_var,
    target,
)
from monitor.metrics.names import m
from monitor.metrics.thresholds import Standards, le, standards_from_rules

__all__ = ["Standards", "build_dashboards", "le", "standards_from_rules"]

SEL = 'pbx=~"$pbx",queue=~"$queue"'
TODAY = "now/d"


def _ratio(num: str, den: str) -> str:
    return f"{num}\n/\n{den}"


def _variables() -> list[dict[str, Any]]:
    return [
        query_var("pbx", "pbx", m("calls_total")),
        query_var("queue", "queue", m("calls_total"), '{pbx=~"$pbx"}'),
    ]


def _directions(s: Standards) -> str:
    """``,direction="inbound"`` (or a regex of several) for the rings standard's directions."""
    d = s.rings_directions
    if not d:
        return ""
    return f',direction="{d[0]}"' if len(d) == 1 else f',direction=~"{"|".join(d)}"'


def abandon_rate_expr(s: Standards, sel: str = SEL, window: str = "$__range") -> str:
    """Abandoned / (answered + abandoned), short abandons (within ``s.short_abandon`` s of
    joining the queue) left out of both sides as the abandon-rate standard says."""
    w = m("queue_wait_seconds")
    abandoned = f'sum(increase({w}_count{{{sel},outcome="abandoned"}}[{window}]))'
    offered = f'sum(increase({w}_count{{{sel},outcome=~"answered|abandoned"}}[{window}]))'
    if s.short_abandon:
        short = (
            f'sum(increase({w}_bucket{{{sel},outcome="abandoned",le="{le(s.short_abandon)}"}}'
            f"[{window}]))"
        )
        abandoned, offered = f"({abandoned} - {short})", f"({offered} - {short})"
    return _ratio(abandoned, offered)


def wallboard(s: Standards) -> dict[str, Any]:
    g = Grid()
    w = m("queue_wait_seconds")
    rsel = SEL + _directions(s)
    rings_in = _ratio(
        f'sum(increase({m("rings_to_answer_bucket")}{{{rsel},le="{le(s.rings_max)}"}}[$__range]))',
        f"sum(increase({m('rings_to_answer_count')}{{{rsel}}}[$__range]))",
    )
    sl = _ratio(
        f'sum(increase({w}_bucket{{{SEL},outcome="answered",le="{le(s.sl_threshold)}"}}'
        "[$__range]))",
        f'sum(increase({w}_count{{{SEL},outcome="answered"}}[$__range]))',
    )
    abandon = abandon_rate_expr(s)
    sl_15m = _ratio(
        f'sum by (queue) (increase({w}_bucket{{{SEL},outcome="answered",'
        f'le="{le(s.sl_threshold)}"}}[15m]))',
        f'sum by (queue) (increase({w}_count{{{SEL},outcome="answered"}}[15m]))',
    )
    slt = Thresholds(s.sl_target, 0.05)
    panels = [
        panel(
            g,
            "stat",
            "Waiting now",
            [target(f'sum({m("active_calls")}{{pbx=~"$pbx",state="queued"}})', instant=True)],
            w=4,
            thresholds=Thresholds(5, 2, floor=False),
        ),
        panel(
            g,
            "stat",
            "Longest wait",
            [target(f"max({m('longest_wait_seconds')}{{{SEL}}})", instant=True)],
            w=4,
            unit="s",
            thresholds=Thresholds(s.sl_threshold, s.sl_threshold / 2, False),
        ),
        panel(
            g,
            "gauge",
            f"Answered within {s.rings_max} rings today",
            [target(rings_in)],
            w=4,
            thresholds=Thresholds(s.rings_target, 0.05),
            time_from=TODAY,
            unit="percentunit",
            decimals=1,
            minmax=(0.0, 1.0),
        ),
        panel(
            g,
            "gauge",
            f"Service level today ({s.sl_threshold:g}s)",
            [target(sl)],
            w=4,
            thresholds=slt,
            time_from=TODAY,
            unit="percentunit",
            decimals=1,
            minmax=(0.0, 1.0),
        ),
        panel(
            g,
            "gauge",
            "Abandon rate today",
            [target(abandon)],
            w=4,
            thresholds=Thresholds(s.abandon_ceiling, s.abandon_ceiling / 2, floor=False),
            time_from=TODAY,
            unit="percentunit",
            decimals=1,
            minmax=(0.0, 1.0),
        ),
        panel(
            g,
            "stat",
            "On hold now",
            [target(f'sum({m("active_calls")}{{pbx=~"$pbx",state="on_hold"}})', instant=True)],
            w=2,
        ),
        panel(
            g,
            "stat",
            "Longest hold",
            [target(f'max({m("longest_hold_seconds")}{{pbx=~"$pbx"}})', instant=True)],
            w=2,
            unit="s",
            thresholds=Thresholds(s.hold_max, s.hold_max / 2, floor=False),
        ),
        panel(
            g,
            "stat",
            "Callback promises open",
            [
                target(
                    f'sum({m("callback_promises_outstanding")}{{pbx=~"$pbx",state="open"}})',
                    instant=True,
                )
            ],
            w=4,
        ),
        panel(
            g,
            "stat",
            "Callback promises overdue",
            [
                target(
                    f'sum({m("callback_promises_outstanding")}{{pbx=~"$pbx",state="overdue"}})',
                    instant=True,
                )
            ],
            w=4,
            thresholds=Thresholds(1, 0, floor=False),  # green at 0
        ),
        panel(
            g,
            "stat",
            "Calls breaching a live check now",
            [
                target(
                    f'sum by (rule) ({m("live_breaches")}{{pbx=~"$pbx"}})', "{{rule}}", instant=True
                )
            ],
            w=8,
            thresholds=Thresholds(1, 0, floor=False),  # green at 0
        ),
        panel(
            g,
            "stat",
            "Calls today by outcome",
            [
                target(
                    f"sum by (outcome) (increase({m('calls_total')}{{{SEL}}}[$__range]))",
                    "{{outcome}}",
                    instant=True,
                )
            ],
            w=8,
            time_from=TODAY,
        ),
        panel(
            g,
            "timeseries",
            "Service level by queue (15 min window)",
            [target(sl_15m, "{{queue}}")],
            w=12,
            h=8,
            thresholds=slt,
            unit="percentunit",
            decimals=1,
            minmax=(0.0, 1.0),
        ),
        panel(
            g,
            "bargauge",
            "Breaches today by rule and queue",
            [
                target(
                    f"sum by (rule, queue) (increase({m('standard_checks_total')}{{{SEL},"
                    'result="breached"}[$__range]))',
                    "{{rule}} / {{queue}}",
                    instant=True,
                )
            ],
            w=12,
            h=8,
            time_from=TODAY,
        ),
    ]
    return dashboard(
        WALLBOARD_UID,
        "ringwatch: supervisor wallboard",
        panels,
        tags=["wallboard"],
        variables=_variables(),
        time_from="now-3h",
        refresh="10s",
        description="Live queue state and today's standards, for the floor.",
    )


def qa_overview() -> dict[str, Any]:
    g = Grid()
    c = m("standard_checks_total")
    br = f'{c}{{{SEL},result="breached"}}'
    pass_rate = _ratio(
        f'sum by (rule) (increase({c}{{{SEL},result="met"}}[$__range]))',
        f"sum by (rule) (increase({c}{{{SEL}}}[$__range]))",
    )
    panels = [
        panel(
            g,
            "timeseries",
            "Breaches by rule",
            [
                target(
                    f"sum by (rule) (increase({br}[$__rate_interval]))",
                    "{{rule}}",
                    exemplar=True,
                )
            ],
            w=12,
            h=8,
        ),
        panel(
            g,
            "timeseries",
            "Breaches by queue",
            [
                target(
                    f"sum by (queue) (increase({br}[$__rate_interval]))",
                    "{{queue}}",
                    exemplar=True,
                )
            ],
            w=12,
            h=8,
        ),
        panel(
            g,
            "timeseries",
            "Breaches by agent (agent label enabled)",
            [
                target(
                    f"sum by (agent) (increase({br}[$__rate_interval]))",
                    "{{agent}}",
                    exemplar=True,
                )
            ],
            w=12,
            h=8,
            description="Needs metrics.agent_label: true; otherwise one unlabelled series.",
        ),
        panel(
            g,
            "bargauge",
            "Pass rate by rule",
            [target(pass_rate, "{{rule}}", instant=True)],
            w=12,
            h=8,
            unit="percentunit",
            decimals=1,
            minmax=(0.0, 1.0),
        ),
        panel(
            g,
            "stat",
            "Flagged calls waiting for review",
            [target(f"sum({m('qa_flags_open')})", instant=True)],
            w=6,
            thresholds=Thresholds(50, 25, floor=False),
        ),
        panel(
            g,
            "timeseries",
            "Reviews per hour by disposition",
            [
                target(
                    f"sum by (disposition) (increase({m('qa_reviews_total')}[1h]))",
                    "{{disposition}}",
                )
            ],
            w=18,
            h=8,
        ),
    ]
    return dashboard(
        QA_UID,
        "ringwatch: QA overview",
        panels,
        tags=["qa"],
        variables=_variables(),
        time_from="now-7d",
        refresh="1m",
        description="Where standards are missed, and the review queue.",
    )


def operations() -> dict[str, Any]:
    g = Grid()
    pbx = '{pbx=~"$pbx"}'
    panels = [
        panel(
            g,
            "stat",
            "AMI up",
            [target(f"{m('ami_up')}{pbx}", "{{pbx}}", instant=True)],
            w=6,
            thresholds=Thresholds(1, 0.5),
        ),
        panel(
            g,
            "stat",
            "Exporter scraped",
            [target('up{job="ringwatch"}', "{{instance}}", instant=True)],
            w=6,
            thresholds=Thresholds(1, 0.5),
        ),
        panel(g, "stat", "Rules loaded", [target(m("rules_loaded"), instant=True)], w=6),
        panel(
            g,
            "stat",
            "Version",
            [target(f"max by (version) ({m('build_info')})", "{{version}}", instant=True)],
            w=6,
            options={"textMode": "name", "colorMode": "none"},
            description="The ringwatch version (the build_info label) of each scraped instance.",
        ),
        panel(
            g,
            "timeseries",
            "AMI events per second",
            [
                target(
                    f"sum by (pbx) (rate({m('ami_events_total')}{pbx}[$__rate_interval]))",
                    "{{pbx}}",
                )
            ],
            w=12,
            h=8,
            unit="ops",
        ),
        panel(
            g,
            "timeseries",
            "Event lag",
            [target(f"{m('event_lag_seconds')}{pbx}", "{{pbx}}")],
            w=12,
            h=8,
            unit="s",
            thresholds=Thresholds(5, 2.5, floor=False),
        ),
        panel(
            g,
            "timeseries",
            "AMI reconnects",
            [
                target(
                    f"sum by (pbx) (increase({m('ami_reconnects_total')}{pbx}[$__rate_interval]))",
                    "{{pbx}}",
                )
            ],
            w=12,
            h=8,
        ),
        panel(
            g,
            "timeseries",
            "AMI parse errors",
            [
                target(
                    f"sum by (pbx) (increase({m('ami_parse_errors_total')}{pbx}"
                    "[$__rate_interval]))",
                    "{{pbx}}",
                )
            ],
            w=12,
            h=8,
        ),
    ]
    variables = [query_var("pbx", "pbx", m("ami_up"))]
    return dashboard(
        OPERATIONS_UID,
        "ringwatch: operations",
        panels,
        tags=["operations"],
        variables=variables,
        time_from="now-24h",
        refresh="30s",
        description="Is ringwatch itself healthy: AMI link, lag, parsing, rules.",
    )


def build_dashboards(standards: Standards | None = None) -> dict[str, dict[str, Any]]:
    """``{file name: dashboard model}`` for dashboards/grafana/."""
    s = standards or Standards()
    return {
        "ringwatch-wallboard.json": wallboard(s),
        "ringwatch-qa.json": qa_overview(),
        "ringwatch-operations.json": operations(),
    }
