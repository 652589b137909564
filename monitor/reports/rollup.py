"""15-minute rollups of the calls, kept in step with the ``calls`` table.

Every call written (live, import, audio re-save) gets a new ``stored_at``. A refresh finds
the 15-minute buckets touched by calls stored since the watermark (less a margin, for writers
whose transactions commit out of order), and rebuilds exactly those buckets from the calls
with one ``INSERT ... SELECT ... GROUP BY`` per run of buckets. Rebuilding rather than adding
makes it idempotent: an upserted call is never counted twice. Reports call it before they read,
and ``ringwatch import`` after it writes; the rollups hold every figure a standards report
needs (docs/reports.md), so a month of reports reads a few thousand rows, not a million calls.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Double,
    Engine,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)

from monitor.reports.agent_days import DAY_TABLES, day_ranges, ensure_zone, rebuild_days, zones
from monitor.store.history_schema import (
    BUCKET_SECONDS,
    ROLLUP_MEASURES,
    WAIT_EDGES,
    call_checks,
    ensure_history_schema,
    report_rollups,
    report_rollups_queue,
    rollup_checks,
    rollup_checks_queue,
    rollup_state,
)
from monitor.store.schema import calls

__all__ = ["DEFAULT_SHORT_ABANDON", "bucket_expr", "refresh_rollups", "wait_expr"]

DEFAULT_SHORT_ABANDON = 5.0
_MARGIN = 120.0  # seconds of stored_at re-read on each refresh
_STATE = "calls"
_TABLES = (report_rollups, rollup_checks, report_rollups_queue, rollup_checks_queue)


def bucket_expr(conn: Connection, column: Any) -> Any:
    """``floor(column / 900) * 900`` in the connection's SQL dialect."""
    if conn.dialect.name == "postgresql":
        return func.floor(column / BUCKET_SECONDS) * BUCKET_SECONDS
    return cast(column / BUCKET_SECONDS, Integer) * BUCKET_SECONDS


def wait_expr() -> Any:
    """Wait to answer: the queue wait when the call queued, else the ring time."""
    return func.coalesce(calls.c.queue_wait_seconds, calls.c.ring_seconds)


def _count(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _sum(value: Any, cond: Any = None) -> Any:
    expr = value if cond is None else case((cond, value), else_=0.0)
    return func.coalesce(func.sum(expr), 0.0)


def _max(value: Any, cond: Any) -> Any:
    return func.coalesce(func.max(case((cond, value), else_=None)), 0.0)


def refresh_rollups(
    engine: Engine,
    short_abandon_seconds: float = DEFAULT_SHORT_ABANDON,
    agent_day_zone: str | None = None,
) -> int:
    """Bring the rollups up to date; returns how many 15-minute buckets were rebuilt. A new
    short-abandon threshold rebuilds everything; nothing stored since the last refresh costs
    two small queries. The daily per-agent rollups (``agent_days``) follow, for every zone
    kept, and ``agent_day_zone`` is added to those zones (built whole) if it is new."""
    ensure_history_schema(engine)
    with engine.begin() as conn:
        n = _refresh(conn, short_abandon_seconds)
        if agent_day_zone is not None:
            ensure_zone(conn, agent_day_zone)
    return n


def _refresh(conn: Connection, short_abandon_seconds: float) -> int:
    state = conn.execute(select(rollup_state).where(rollup_state.c.name == _STATE)).first()
    full = state is None or float(state.short_abandon_seconds) != short_abandon_seconds
    top = conn.execute(select(func.max(calls.c.stored_at))).scalar()
    if top is None:
        return 0
    if not full and state is not None and float(top) <= float(state.watermark):
        return 0
    since = None if full or state is None else float(state.watermark) - _MARGIN
    bucket = bucket_expr(conn, calls.c.started_at)
    q = select(bucket.label("b")).distinct()
    if since is not None:
        q = q.where(calls.c.stored_at > since)
    buckets = sorted(float(r[0]) for r in conn.execute(q))
    statements = _statements(conn, short_abandon_seconds)
    kept = zones(conn)
    if full:
        for table in (*_TABLES, *DAY_TABLES):
            conn.execute(delete(table))
        runs = [(buckets[0], buckets[-1] + BUCKET_SECONDS)] if buckets else []
    else:
        runs = _runs(buckets)
    for lo, hi in runs:
        for stmt in _order(statements, full):
            conn.execute(stmt, {"lo": lo, "hi": hi})
    for zone in kept:  # the daily per-agent rows of the days the runs touch
        for lo, hi in day_ranges(runs, ZoneInfo(zone)):
            rebuild_days(conn, zone, lo, hi)
    values = {"watermark": float(top), "short_abandon_seconds": short_abandon_seconds}
    if state is None:
        conn.execute(insert(rollup_state).values(name=_STATE, **values))
    else:
        conn.execute(rollup_state.update().where(rollup_state.c.name == _STATE).values(**values))
    return len(buckets)


def _order(statements: tuple[Any, ...], full: bool) -> tuple[Any, ...]:
    """(the deletes..., the inserts...); a full rebuild has already emptied the tables."""
    return statements[len(statements) // 2 :] if full else statements


def _runs(buckets: list[float]) -> list[tuple[float, float]]:
    """Contiguous runs of buckets as [lo, hi) ranges (one statement per run)."""
    runs: list[tuple[float, float]] = []
    for b in buckets:
        if runs and abs(runs[-1][1] - b) < 1e-6:
            runs[-1] = (runs[-1][0], b + BUCKET_SECONDS)
        else:
            runs.append((b, b + BUCKET_SECONDS))
    return runs


def _statements(conn: Connection, short: float) -> tuple[Any, ...]:
    """The four statements of a rebuild of [:lo, :hi), built once per refresh (building the
    aggregate SELECT costs more than running it on a few buckets)."""
    lo, hi = bindparam("lo", type_=Double), bindparam("hi", type_=Double)
    in_range = and_(calls.c.started_at >= lo, calls.c.started_at < hi)
    clear_rollups = delete(report_rollups).where(
        report_rollups.c.bucket_start >= lo, report_rollups.c.bucket_start < hi
    )
    clear_checks = delete(rollup_checks).where(
        rollup_checks.c.bucket_start >= lo, rollup_checks.c.bucket_start < hi
    )
    clear_q = delete(report_rollups_queue).where(
        report_rollups_queue.c.bucket_start >= lo, report_rollups_queue.c.bucket_start < hi
    )
    clear_qc = delete(rollup_checks_queue).where(
        rollup_checks_queue.c.bucket_start >= lo, rollup_checks_queue.c.bucket_start < hi
    )
    bucket = bucket_expr(conn, calls.c.started_at)
    dims = [
        bucket.label("bucket_start"),
        calls.c.pbx,
        func.coalesce(calls.c.queue, literal("")).label("queue"),
        func.coalesce(calls.c.agent, literal("")).label("agent"),
        calls.c.direction,
    ]
    group = [bucket, calls.c.pbx, calls.c.queue, calls.c.agent, calls.c.direction]
    o = calls.c.outcome
    answered = o == "answered"
    abandoned = o == "abandoned"
    gone_after = func.coalesce(
        calls.c.queue_wait_seconds, calls.c.ended_at - calls.c.started_at, literal(0.0)
    )
    short_ab = and_(abandoned, gone_after < short)
    wait = wait_expr()
    answer = calls.c.ring_seconds
    hold_known = or_(
        calls.c.extra["source"].as_string().is_(None),
        calls.c.extra["source"].as_string() != "queue_log",
    )
    waited = calls.c.queue_wait_seconds.is_not(None)
    measures = [
        func.count().label("calls"),
        _count(answered).label("answered"),
        _count(abandoned).label("abandoned"),
        _count(short_ab).label("short_abandoned"),
        _count(o == "unanswered").label("unanswered"),
        _count(o == "busy").label("busy"),
        _count(o == "failed").label("failed"),
        _count(o == "voicemail").label("voicemail"),
        _count(o == "incomplete").label("incomplete"),
        _count(and_(answered, answer.is_not(None))).label("answer_known"),
        _sum(answer, and_(answered, answer.is_not(None))).label("answer_sum"),
        _max(answer, answered).label("answer_max"),
        _count(waited).label("waited"),
        _sum(calls.c.queue_wait_seconds, waited).label("wait_sum"),
        _max(calls.c.queue_wait_seconds, waited).label("wait_max"),
        _sum(calls.c.talk_seconds, calls.c.talk_seconds.is_not(None)).label("talk_sum"),
        _count(calls.c.talk_seconds.is_not(None)).label("talked"),
        _sum(calls.c.hold_seconds, hold_known).label("hold_sum"),
        _count(and_(hold_known, calls.c.hold_count > 0)).label("held"),
        _sum(calls.c.transfers).label("transfers"),
        *[_count(and_(answered, wait <= edge)).label(f"ans_le_{edge}") for edge in WAIT_EDGES],
    ]
    stmt = select(*dims, *measures).where(in_range).group_by(*group)
    names = [c.name for c in report_rollups.columns]
    fill_rollups = insert(report_rollups).from_select(names, stmt)
    checks = (
        select(
            *dims,
            call_checks.c.rule,
            _count(call_checks.c.met.is_(True)).label("met"),
            _count(call_checks.c.met.is_(False)).label("breached"),
        )
        .select_from(calls.join(call_checks, call_checks.c.call_id == calls.c.call_id))
        .where(in_range)
        .group_by(*group, call_checks.c.rule)
    )
    fill_checks = insert(rollup_checks).from_select([c.name for c in rollup_checks.columns], checks)
    return (
        clear_rollups,
        clear_checks,
        clear_q,
        clear_qc,
        fill_rollups,
        fill_checks,
        *_queue_fills(lo, hi),
    )


def _queue_fills(lo: Any, hi: Any) -> tuple[Any, Any]:
    """The agent-less rollups, summed from the agent rollups just written."""
    r, c = report_rollups, rollup_checks
    keys = [r.c.bucket_start, r.c.pbx, r.c.queue, r.c.direction]
    agg = [
        (func.max(r.c[n]) if n.endswith("_max") else func.sum(r.c[n])).label(n)
        for n in ROLLUP_MEASURES
    ]
    rows = select(*keys, *agg).where(r.c.bucket_start >= lo, r.c.bucket_start < hi)
    fill_q = insert(report_rollups_queue).from_select(
        [col.name for col in report_rollups_queue.columns], rows.group_by(*keys)
    )
    ckeys = [c.c.bucket_start, c.c.pbx, c.c.queue, c.c.direction, c.c.rule]
    crows = select(*ckeys, func.sum(c.c.met), func.sum(c.c.breached)).where(
        c.c.bucket_start >= lo, c.c.bucket_start < hi
    )
    fill_qc = insert(rollup_checks_queue).from_select(
        [col.name for col in rollup_checks_queue.columns], crows.group_by(*ckeys)
    )
    return fill_q, fill_qc
