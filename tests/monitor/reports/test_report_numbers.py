"""The report's numbers equal those computed independently from the call records."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from report_testkit import START, all_records

from monitor.record import CallRecord
from monitor.reports.figures import calls_needed
from monitor.reports.query import ReportRequest, build_report
from monitor.reports.rollup import refresh_rollups
from monitor.rules import Site, evaluate_results
from monitor.rules.model import CheckStatus

LONDON = ZoneInfo("Europe/London")
SL_T, SHORT = 20, 5.0


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).astimezone(LONDON).strftime("%Y-%m-%d")


def _expected(records: list[CallRecord], rules: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Figures per (day, queue) from the records alone, by the documented formulas."""
    groups: dict[tuple[str, str], list[CallRecord]] = defaultdict(list)
    for r in records:
        if str(r.direction) == "inbound":
            groups[(_day(r.started_at), r.queue or "(none)")].append(r)
    out = {}
    for key, rs in groups.items():
        answered = [r for r in rs if str(r.outcome) == "answered"]
        abandoned = [r for r in rs if str(r.outcome) == "abandoned"]

        def gone(r: CallRecord) -> float:
            if r.queue_wait_seconds is not None:
                return r.queue_wait_seconds
            return (r.ended_at or r.started_at) - r.started_at

        short = [r for r in abandoned if gone(r) < SHORT]

        def wait(r: CallRecord) -> float | None:
            return r.queue_wait_seconds if r.queue_wait_seconds is not None else r.ring_seconds

        within = [r for r in answered if (w := wait(r)) is not None and w <= SL_T]
        den = len(answered) + len(abandoned) - len(short)
        waited = [r.queue_wait_seconds for r in rs if r.queue_wait_seconds is not None]
        asa = [r.ring_seconds for r in answered if r.ring_seconds is not None]
        talk = [r.talk_seconds for r in rs if r.talk_seconds is not None]
        checks: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in rs:
            for rr in evaluate_results(r, rules, site=Site("gb")):
                if rr.result.status is CheckStatus.MET:
                    checks[rr.rule.id][0] += 1
                elif rr.result.status is CheckStatus.BREACHED:
                    checks[rr.rule.id][1] += 1
        out[key] = {
            "offered": len(rs),
            "answered": len(answered),
            "abandoned": len(abandoned) - len(short),
            "short_abandoned": len(short),
            "service_level": None if den == 0 else len(within) / den,
            "asa_seconds": sum(asa) / len(asa) if asa else None,
            "average_wait_seconds": sum(waited) / len(waited) if waited else None,
            "longest_wait_seconds": max(waited, default=0.0),
            "average_talk_seconds": sum(talk) / len(talk) if talk else None,
            "hold_seconds": sum(r.hold_seconds for r in rs),
            "held_calls": sum(1 for r in rs if r.hold_count > 0),
            "transfers": sum(r.transfers for r in rs),
            "voicemail": sum(1 for r in rs if str(r.outcome) == "voicemail"),
            "checks": dict(checks),
        }
    return out


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < 1e-3


def test_day_by_queue_equals_the_records(history: Any) -> None:
    store, rules = history
    records = all_records(store)
    want = _expected(records, rules)
    assert len(want) >= 4  # two days x at least two queues
    req = ReportRequest(START - 3 * 3600, START + 9 * 3600, "day", "queue", "Europe/London")
    report = build_report(store.engine, req, rules)
    got = {(r["interval"], r["key"]): r for r in report["rows"]}
    assert set(got) == set(want)
    for key, exp in want.items():
        figs = got[key]["figures"]
        for name in ("offered", "answered", "abandoned", "short_abandoned", "held_calls",
                     "transfers"):  # fmt: skip
            assert figs[name] == exp[name], (key, name)
        for name in ("service_level", "asa_seconds", "average_wait_seconds",
                     "longest_wait_seconds", "average_talk_seconds", "hold_seconds"):  # fmt: skip
            assert _close(figs[name], exp[name]), (key, name, figs[name], exp[name])
        assert figs["unanswered_by_cause"]["voicemail"] == exp["voicemail"]
        standards = {s["rule"]: s for s in got[key]["standards"]}
        for rule, (met, breached) in exp["checks"].items():
            s = standards[rule]
            assert (s["met"], s["breached"]) == (met, breached), (key, rule)
            assert _close(s["actual"], met / (met + breached))
            if s["target"] is not None:
                assert _close(s["variance"], met / (met + breached) - s["target"])
                assert s["calls_needed"] == calls_needed(met, met + breached, s["target"])
    totals = {r["key"]: r["figures"]["offered"] for r in report["totals"]}
    assert sum(totals.values()) == sum(1 for r in records if str(r.direction) == "inbound")


def test_calls_needed_is_the_smallest_count_that_meets_the_target() -> None:
    assert calls_needed(8, 10, 0.9) == 10  # (8 + 10) / (10 + 10) = 0.9
    assert calls_needed(9, 10, 0.9) == 0
    assert calls_needed(0, 0, 0.9) == 0
    assert calls_needed(3, 5, 1.0) == 2
    for met, total, target in ((17, 40, 0.8), (5, 9, 0.95), (70, 100, 0.85)):
        n = calls_needed(met, total, target)
        assert (met + n) / (total + n) >= target > (met + n - 1) / (total + n - 1)


def test_hour_and_weekday_breakdowns_add_up(history: Any) -> None:
    store, rules = history
    lo, hi = START - 3600, START + 8 * 3600
    total = build_report(
        store.engine, ReportRequest(lo, hi, "month", "none", "Europe/London"), rules
    )
    hours = build_report(
        store.engine, ReportRequest(lo, hi, "month", "hour", "Europe/London"), rules
    )
    days = build_report(
        store.engine, ReportRequest(lo, hi, "month", "weekday", "Europe/London"), rules
    )
    offered = total["totals"][0]["figures"]["offered"]
    assert sum(r["figures"]["offered"] for r in hours["totals"]) == offered
    assert {r["key"] for r in days["totals"]} == {"Mon", "Tue"}
    assert {r["key"] for r in hours["totals"]} >= {"21", "22", "23", "00", "01"}


def test_trend_is_against_the_previous_interval(history: Any) -> None:
    store, rules = history
    req = ReportRequest(START, START + 6 * 3600, "hour", "none", "Europe/London")
    rows = build_report(store.engine, req, rules)["rows"]
    assert len(rows) == 6
    for before, after in itertools.pairwise(rows):
        prev = {s["rule"]: s["actual"] for s in before["standards"]}
        for s in after["standards"]:
            if s["actual"] is not None and prev.get(s["rule"]) is not None:
                assert _close(s["trend"], s["actual"] - prev[s["rule"]])
                assert _close(s["previous"], prev[s["rule"]])


def test_rollups_follow_a_call_saved_again(history: Any) -> None:
    """An upsert (audio re-save, a second collector) is never counted twice."""
    store, rules = history
    req = ReportRequest(START - 3 * 3600, START + 9 * 3600, "month", "none", "Europe/London")
    before = build_report(store.engine, req, rules)["totals"][0]["figures"]["offered"]
    one = all_records(store)[0]
    store.save_call(one)
    refresh_rollups(store.engine)
    assert build_report(store.engine, req, rules)["totals"][0]["figures"]["offered"] == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("interval", "fortnight", "interval"), ("breakdown", "colour", "breakdown"),
     ("sl_threshold", 17, "threshold")],
)  # fmt: skip
def test_bad_requests_are_clear_errors(field: str, value: object, message: str) -> None:
    from monitor.errors import InputError

    req = ReportRequest(0.0, 1.0, **{field: value})  # type: ignore[arg-type]
    with pytest.raises(InputError, match=message):
        req.check()
