"""Grouping by local day/hour in SQL across a clock change gives the same figures as the
exact 15-minute grouping."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.record import CallRecord, Direction, Outcome, Timing
from monitor.reports.query import ReportRequest, build_report
from monitor.reports.units import offsets
from monitor.store.store import Store

LONDON = ZoneInfo("Europe/London")
SPRING = datetime(2026, 3, 27, tzinfo=LONDON).timestamp()  # clocks go forward on the 29th


def _call(i: int, at: float) -> CallRecord:
    return CallRecord(
        call_id=f"c{i}",
        pbx="main",
        direction=Direction.INBOUND,
        caller="07700900123",
        dialed="100",
        queue="sales" if i % 3 else "support",
        agent=None,
        started_at=at,
        answered_at=at + 10,
        ended_at=at + 100,
        outcome=Outcome.ANSWERED,
        ring_seconds=10.0,
        rings=2,
        queue_wait_seconds=8.0,
        talk_seconds=90.0,
        hold_seconds=0.0,
        hold_count=0,
        longest_hold_seconds=0.0,
        transfers=0,
        hangup_cause=16,
        timing=Timing.EXACT,
    )


def test_offsets_change_at_the_transition() -> None:
    offs = offsets(LONDON, SPRING, SPRING + 4 * 86400)
    assert [o for _, o in offs] == [0, 3600]
    assert datetime.fromtimestamp(offs[1][0], UTC).isoformat() == "2026-03-29T01:00:00+00:00"


def test_day_and_hour_units_equal_the_exact_buckets_across_dst(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "dst.sqlite"))
    for i in range(300):  # every 20 minutes for 4 days, across the change
        store.save_call(_call(i, SPRING + i * 1200 + 7))
    end = SPRING + 4 * 86400 - 3600  # four local days: one of them 23 hours long
    want: Counter[str] = Counter()
    for i in range(300):
        if SPRING + i * 1200 + 7 < end:
            local = datetime.fromtimestamp(SPRING + i * 1200 + 7, UTC).astimezone(LONDON)
            want[local.strftime("%Y-%m-%d")] += 1
    day = build_report(
        store.engine, ReportRequest(SPRING, end, "day", "none", "Europe/London"), None
    )
    assert {r["interval"]: r["figures"]["offered"] for r in day["rows"]} == dict(want)
    hour = build_report(
        store.engine, ReportRequest(SPRING, end, "hour", "queue", "Europe/London"), None
    )
    fine = build_report(
        store.engine, ReportRequest(SPRING, end, "15m", "queue", "Europe/London"), None
    )
    by_hour: Counter[tuple[str, str]] = Counter()
    for r in fine["rows"]:
        by_hour[(r["interval"][:13] + ":00", r["key"])] += r["figures"]["offered"]
    assert {(r["interval"], r["key"]): r["figures"]["offered"] for r in hour["rows"]} == {
        k: v for k, v in by_hour.items() if v
    }
    # a range that starts inside a day is grouped exactly too
    odd = build_report(
        store.engine, ReportRequest(SPRING + 5 * 3600, end, "day", "hour", "Europe/London"), None
    )
    assert sum(r["figures"]["offered"] for r in odd["totals"]) == sum(
        1 for i in range(300) if SPRING + 5 * 3600 <= SPRING + i * 1200 + 7 < end
    )
    store.close()
