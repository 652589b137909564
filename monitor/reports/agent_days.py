"""Daily per-agent rollups: agent scorecards over a month read ~31 rows per agent and queue.

The 15-minute per-agent rollups hold up to buckets x queues x agents rows (460k a month at
40 agents); an agent report by day, week or month reads them summed by the local day of the
report's time zone instead. A local day is a time-zone matter, so the daily rows carry their
``zone`` (``bucket_start`` is that zone's local midnight, so the report's unit arithmetic
reads them as it reads 15-minute buckets).

Kept in step: every refresh of the 15-minute rollups (``refresh_rollups``) rebuilds, for each
zone the table holds, the local days the rebuilt buckets touch, from the 15-minute per-agent
rows, in the same transaction (rebuilt, not added: idempotent). A zone asked for the first
time is built whole. Retention deletes the per-agent rows (15-minute and daily) of the days
it purged calls from (``purge_agent_rollups``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, func, insert, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.reports.units import Units
from monitor.store.history_schema import (
    BUCKET_SECONDS,
    ROLLUP_MEASURES,
    report_rollups,
    rollup_agent_days,
    rollup_checks,
    rollup_checks_agent_days,
)

__all__ = [
    "DAY_TABLES",
    "day_ceil",
    "day_floor",
    "day_ranges",
    "ensure_zone",
    "purge_agent_rollups",
    "rebuild_days",
    "whole_days",
    "zones",
]

DAY_TABLES = (rollup_agent_days, rollup_checks_agent_days)


def day_floor(ts: float, zone: ZoneInfo) -> float:
    """The local midnight at or before ``ts``."""
    local = datetime.fromtimestamp(ts, tz=UTC).astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def day_ceil(ts: float, zone: ZoneInfo) -> float:
    """The local midnight at or after ``ts``."""
    floor = day_floor(ts, zone)
    return floor if floor == ts else day_floor(floor + 26 * 3600.0, zone)


def whole_days(req: Any) -> bool:
    """The report (and its previous period) spans whole local days and groups by day or
    longer: the daily per-agent rollups answer it exactly."""
    if req.interval not in ("day", "week", "month") or req.breakdown == "hour":
        return False
    z = ZoneInfo(req.timezone)
    return all(day_floor(t, z) == t for t in (req.start, req.end, req.previous[0]))


def zones(conn: Connection) -> list[str]:
    """The time zones the daily rollups are kept for."""
    q = select(rollup_agent_days.c.zone).distinct()
    return sorted(str(r[0]) for r in conn.execute(q))


def day_ranges(runs: Iterable[tuple[float, float]], zone: ZoneInfo) -> list[tuple[float, float]]:
    """The local days covering each [lo, hi) run, overlapping ones merged."""
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(runs):
        dlo, dhi = day_floor(lo, zone), day_ceil(hi, zone)
        if out and dlo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], dhi))
        else:
            out.append((dlo, dhi))
    return out


def rebuild_days(conn: Connection, zone: str, lo: float, hi: float) -> int:
    """Rebuild the daily rows of ``zone`` for the local days [lo, hi) (midnights) from the
    15-minute per-agent rollups; returns the rows written."""
    where_days = [rollup_agent_days.c.zone == zone]
    conn.execute(
        delete(rollup_agent_days).where(
            *where_days,
            rollup_agent_days.c.bucket_start >= lo,
            rollup_agent_days.c.bucket_start < hi,
        )
    )
    c = rollup_checks_agent_days
    conn.execute(delete(c).where(c.c.zone == zone, c.c.bucket_start >= lo, c.c.bucket_start < hi))
    units = Units(
        SimpleNamespace(timezone=zone, interval="day", breakdown="none", start=lo, end=hi),
        lo,
        conn.dialect.name,
    )
    r = report_rollups
    unit = units.expr(r.c.bucket_start)
    keys = [r.c.pbx, r.c.queue, r.c.agent, r.c.direction]
    agg = [
        (func.max(r.c[n]) if n.endswith("_max") else func.sum(r.c[n])).label(n)
        for n in ROLLUP_MEASURES
    ]
    in_days = [r.c.bucket_start >= lo, r.c.bucket_start < hi]
    q = select(unit, *keys, *agg).where(*in_days).group_by(unit, *keys)
    rows = [_day_row(units, zone, row) for row in conn.execute(q).mappings()]
    if rows:
        conn.execute(insert(rollup_agent_days), rows)
    k = rollup_checks
    cunit = units.expr(k.c.bucket_start)
    ckeys = [k.c.pbx, k.c.queue, k.c.agent, k.c.direction, k.c.rule]
    cq = (
        select(
            cunit, *ckeys, func.sum(k.c.met).label("met"), func.sum(k.c.breached).label("breached")
        )
        .where(k.c.bucket_start >= lo, k.c.bucket_start < hi)
        .group_by(cunit, *ckeys)
    )
    crows = [_day_row(units, zone, row) for row in conn.execute(cq).mappings()]
    if crows:
        conn.execute(insert(rollup_checks_agent_days), crows)
    return len(rows)


def _day_row(units: Units, zone: str, row: Any) -> dict[str, Any]:
    values = dict(row)
    unit = values.pop(next(iter(row.keys())))  # the unit column comes first
    values["zone"] = zone
    values["bucket_start"] = units.start_of(unit)
    return values


def ensure_zone(conn: Connection, zone: str) -> bool:
    """Build the daily rows of ``zone`` whole if the table has none yet; True if it did."""
    have = conn.execute(
        select(rollup_agent_days.c.zone).where(rollup_agent_days.c.zone == zone).limit(1)
    ).first()
    if have is not None:
        return False
    span = conn.execute(
        select(func.min(report_rollups.c.bucket_start), func.max(report_rollups.c.bucket_start))
    ).first()
    if span is None or span[0] is None:
        return False
    z = ZoneInfo(zone)
    rebuild_days(conn, zone, day_floor(float(span[0]), z), day_ceil(float(span[1]) + 1.0, z))
    return True


def purge_agent_rollups(engine: Engine, cutoff: float) -> int:
    """Retention: delete the per-agent rollups (15-minute rows wholly before ``cutoff``, and
    the daily rows of days starting before it), then rebuild the day holding ``cutoff`` from
    the 15-minute rows left. Returns the rows deleted. The per-queue rollups are kept."""
    try:
        with engine.begin() as conn:
            if not inspect(conn).has_table(rollup_agent_days.name):
                return 0
            kept = zones(conn)
            total = 0
            for t in (report_rollups, rollup_checks):
                q = delete(t).where(t.c.bucket_start + BUCKET_SECONDS <= cutoff)
                total += int(conn.execute(q).rowcount or 0)
            for t in DAY_TABLES:
                total += int(conn.execute(delete(t).where(t.c.bucket_start < cutoff)).rowcount or 0)
            for zone in kept:
                z = ZoneInfo(zone)
                lo = day_floor(cutoff, z)
                rebuild_days(conn, zone, lo, day_ceil(cutoff + 1.0, z))
            return total
    except SQLAlchemyError as exc:
        raise StoreError(f"retention: deleting old per-agent rollups failed: {exc}") from exc
