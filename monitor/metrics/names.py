"""Metric names, label values and buckets of the shared metric schema (one place).

The exporter, the alert generator, the dashboards and the docs all read these, so a rename
happens once. Units are base units (seconds, ratios); histograms use the buckets of
``monitor.buckets`` so window standards can be computed exactly from bucket counters.
"""

from __future__ import annotations

from monitor.record import Outcome

__all__ = [
    "ACTIVE_STATES",
    "AMI_SHED_REASONS",
    "CALLBACK_BUCKETS",
    "CHECK_RESULTS",
    "OUTCOMES",
    "PREFIX",
    "PROMISE_OUTCOMES",
    "PROMISE_STATES",
    "m",
]

PREFIX = "ringwatch_"

#: States of ``ringwatch_active_calls{state}`` (scrape-time).
ACTIVE_STATES: tuple[str, ...] = ("ringing", "queued", "talking", "on_hold")
#: States of ``ringwatch_callback_promises{state}``: disjoint, ``open`` is not yet due.
PROMISE_STATES: tuple[str, ...] = ("open", "overdue")
#: Outcomes of ``ringwatch_callback_promises_total{outcome}``.
PROMISE_OUTCOMES: tuple[str, ...] = ("kept", "broken", "cancelled", "unreturnable")
#: ``reason`` of ``ringwatch_ami_events_shed_total`` (collectors/ami/intake.py, the same
#: values, in shedding order).
AMI_SHED_REASONS: tuple[str, ...] = ("unused", "overflow")
#: ``result`` of ``ringwatch_standard_checks_total``.
CHECK_RESULTS: tuple[str, ...] = ("met", "breached")
#: ``ringwatch_callback_seconds`` (time from the missed call to the callback): 5 min .. 2 days.
CALLBACK_BUCKETS: tuple[float, ...] = (
    300,
    900,
    1800,
    3600,
    7200,
    14400,
    28800,
    86400,
    172800,
)
#: Every call outcome, in schema order.
OUTCOMES: tuple[str, ...] = tuple(str(o) for o in Outcome)


def m(name: str) -> str:
    """The full metric name: ``m("calls_total") == "ringwatch_calls_total"``."""
    return PREFIX + name
