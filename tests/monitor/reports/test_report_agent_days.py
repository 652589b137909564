"""The daily per-agent rollup: kept in step with the calls, purged with retention, and read by
agent reports with the same numbers as the 15-minute rollups give."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from report_testkit import START, all_records
from sqlalchemy import func, select

from monitor.record import CallRecord
from monitor.reports.agent_days import purge_agent_rollups
from monitor.reports.query import ReportRequest, _Keyer, build_report
from monitor.reports.rollup import refresh_rollups
from monitor.store.history_schema import report_rollups, rollup_agent_days
from monitor.store.retention import run_retention
from monitor.store.store import Store

DAY = 86400.0
MIDNIGHT = START - 21 * 3600  # 2026-01-05T00:00Z: midnight in London (UTC in winter)


def _by_day_and_agent(records: list[CallRecord], zone: str) -> Counter[tuple[str, str]]:
    z = ZoneInfo(zone)
    return Counter(
        (datetime.fromtimestamp(r.started_at, tz=UTC).astimezone(z).strftime("%F"), r.agent or "")
        for r in records
    )


def _daily(store: Store, zone: str) -> Counter[tuple[str, str]]:
    t, z = rollup_agent_days, ZoneInfo(zone)
    q = select(t.c.bucket_start, t.c.agent, func.sum(t.c.calls)).where(t.c.zone == zone)
    with store.engine.connect() as conn:
        rows = conn.execute(q.group_by(t.c.bucket_start, t.c.agent)).all()
    out: Counter[tuple[str, str]] = Counter()
    for start, agent, n in rows:
        local = datetime.fromtimestamp(float(start), tz=UTC).astimezone(z)
        assert (local.hour, local.minute) == (0, 0), "bucket_start is the local midnight"
        out[(local.strftime("%F"), agent)] += int(n)
    return +out


@pytest.mark.parametrize(
    ("interval", "zone", "start"),
    [("day", "Europe/London", MIDNIGHT), ("week", "Europe/London", MIDNIGHT),
     ("day", "America/New_York", MIDNIGHT + 5 * 3600)],
)  # fmt: skip
def test_agent_report_reads_the_daily_rollup_with_the_same_numbers(
    history: Any, interval: str, zone: str, start: float
) -> None:
    store, rules = history
    req = ReportRequest(start, start + 2 * DAY, interval, "agent", zone)
    assert _Keyer(req).tables()[0] is rollup_agent_days
    daily = build_report(store.engine, req, rules)
    fine = build_report(store.engine, req, rules, daily=False)
    assert daily == fine
    assert sum(r["figures"]["offered"] for r in daily["totals"]) > 50
    assert _daily(store, zone) == _by_day_and_agent(all_records(store), zone)


def test_a_range_not_on_local_midnights_reads_the_15_minute_rollup(history: Any) -> None:
    req = ReportRequest(MIDNIGHT + 3600, MIDNIGHT + DAY, "day", "agent", "Europe/London")
    assert _Keyer(req).tables()[0] is report_rollups
    store, rules = history
    assert build_report(store.engine, req, rules)["totals"]


def test_daily_rollup_follows_the_calls_and_retention(history: Any, tmp_path: Path) -> None:
    source, _ = history
    records = sorted(all_records(source), key=lambda r: r.started_at)
    half = len(records) // 2
    now = [START + 30 * DAY]
    store = Store.open(str(tmp_path / "days.sqlite"), clock=lambda: now[0])
    zone = "Europe/London"
    for r in records[:half]:
        store.save_call(r)
    refresh_rollups(store.engine, agent_day_zone=zone)
    assert _daily(store, zone) == _by_day_and_agent(records[:half], zone)
    now[0] += 1.0  # (stored_at: the refresh takes what was stored after its watermark)
    for r in records[half:]:  # later calls, and one saved again (an upsert counts once)
        store.save_call(r)
    store.save_call(records[0])
    refresh_rollups(store.engine)  # no zone given: the kept zones follow
    assert _daily(store, zone) == _by_day_and_agent(records, zone)
    # retention: calls started before the cutoff go, and with them their agents' rollups
    cutoff = records[half].started_at
    now[0] = cutoff + 10 * DAY
    assert run_retention(store, 10.0, now[0]).calls > 0
    kept = [r for r in records if r.started_at >= cutoff]
    daily = _daily(store, zone)
    lost = _by_day_and_agent([r for r in records if r.started_at < cutoff], zone)
    cut_day = datetime.fromtimestamp(cutoff, tz=UTC).astimezone(ZoneInfo(zone)).strftime("%F")
    assert all(day >= cut_day for day, _ in daily)  # the days before the cutoff are gone
    want = _by_day_and_agent(kept, zone)
    for key in set(want) | set(daily):  # the cutoff's own day keeps at least its later calls
        assert daily[key] >= want[key] if key[0] == cut_day else daily[key] == want[key], key
    with store.engine.connect() as conn:
        old = conn.execute(
            select(func.count()).where(report_rollups.c.bucket_start + 900 <= cutoff)
        ).scalar()
    assert old == 0 and set(lost) - set(want)
    purge_agent_rollups(store.engine, cutoff)  # again: the same rows
    assert _daily(store, zone) == daily
    store.close()
