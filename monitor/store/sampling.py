"""Random samples of unflagged calls for QA (issue 19, item 7): ``qa.sample_per_agent_per_week``
answered calls of each agent each week enter the QA queue marked "sample", so QA scores are
not only about failures.

- The week is the ISO week (Monday 00:00 to Monday 00:00) of the call's *start* in the site's
  time zone: event time, never the wall clock.
- A week is sampled once it is over by event time: the newest stored call started at least
  ``grace`` seconds (the tracker's ``stale_after``, by when every call of the week has ended)
  after the week ended. Until then its calls may still be arriving.
- The pick is reproducible: each candidate's key is SHA-256 of ``week|agent|call_id``, and the
  calls with the smallest keys win. The same calls give the same sample after a restart, a
  replay or an import of the same history.
- The quota is counted in ``qa_samples``: running again (a restart, an import that adds older
  calls to a week) only tops an agent's week up to the quota, never over it.
- Candidates: answered calls with an agent and no flag (a breach is already in the queue).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from monitor.config import MAX_SAMPLES_PER_WEEK as MAX_PER_WEEK
from monitor.errors import StoreError
from monitor.store.calls_write import insert_for
from monitor.store.qa_tables import SAMPLE_SEVERITY, qa_sample_weeks, qa_samples
from monitor.store.reviews import write_audit
from monitor.store.schema import calls, flags

__all__ = [
    "MAX_PER_WEEK",
    "SERVICE_WEEKS_BACK",
    "SampleResult",
    "run_sampling",
    "sample_key",
    "sample_weeks",
    "week_of",
    "weeks_between",
    "weeks_to_sample",
]

SERVICE_WEEKS_BACK = 8  # the service samples closed weeks this far back, each once


@dataclass(frozen=True, slots=True)
class SampleResult:
    weeks: tuple[str, ...]  # the weeks looked at
    picked: int  # calls added to the QA queue


def _monday(ts: float, tz: ZoneInfo) -> date:
    d = datetime.fromtimestamp(ts, tz).date()
    return d - timedelta(days=d.weekday())


def _start(monday: date, tz: ZoneInfo) -> float:
    return datetime.combine(monday, time(0), tz).timestamp()


def week_of(ts: float, tz: ZoneInfo) -> tuple[str, float, float]:
    """(``2026-W49``, start, end) of the ISO week holding ``ts`` in ``tz``."""
    monday = _monday(ts, tz)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}", _start(monday, tz), _start(monday + timedelta(days=7), tz)


def sample_key(week: str, agent: str, call_id: str) -> str:
    """The reproducible rank of a candidate in its agent's week (smallest wins)."""
    return hashlib.sha256(f"{week}|{agent}|{call_id}".encode()).hexdigest()


def _event_now(conn: Connection) -> float | None:
    value = conn.execute(select(func.max(calls.c.started_at))).scalar()
    return None if value is None else float(value)


def weeks_to_sample(
    conn: Connection, tz: ZoneInfo, grace: float, back: int = SERVICE_WEEKS_BACK
) -> list[tuple[str, float, float]]:
    """Closed weeks (by event time) of the last ``back`` weeks not yet sampled, oldest first."""
    now = _event_now(conn)
    if now is None:
        return []
    done = {r[0] for r in conn.execute(select(qa_sample_weeks.c.week))}
    out: list[tuple[str, float, float]] = []
    monday = _monday(now, tz)
    for i in range(back, 0, -1):
        week, start, end = week_of(_start(monday - timedelta(days=7 * i), tz), tz)
        if end + grace <= now and week not in done:
            out.append((week, start, end))
    return out


def _candidates(conn: Connection, start: float, end: float) -> Iterator[tuple[str, str]]:
    flagged = select(flags.c.call_id).where(flags.c.call_id == calls.c.call_id).exists()
    stmt = (
        select(calls.c.call_id, calls.c.agent)
        .where(calls.c.started_at >= start, calls.c.started_at < end)
        .where(calls.c.outcome == "answered", calls.c.agent.is_not(None), calls.c.agent != "")
        .where(~flagged)
    )
    for cid, agent in conn.execute(stmt):
        yield str(cid), str(agent)


def _sample_week(
    conn: Connection, week: str, start: float, end: float, per_agent: int, now: float
) -> int:
    have: dict[str, int] = {
        str(a): int(n)
        for a, n in conn.execute(
            select(qa_samples.c.agent, func.count())
            .where(qa_samples.c.week == week)
            .group_by(qa_samples.c.agent)
        )
    }
    ranked: dict[str, list[tuple[str, str]]] = {}
    for cid, agent in _candidates(conn, start, end):
        ranked.setdefault(agent, []).append((sample_key(week, agent, cid), cid))
    picks: list[tuple[str, str]] = []
    for agent in sorted(ranked):
        room = per_agent - have.get(agent, 0)
        if room > 0:
            picks.extend((agent, cid) for _, cid in sorted(ranked[agent])[:room])
    if not picks:
        return 0
    rows = {
        r["call_id"]: r
        for r in conn.execute(
            select(calls.c.call_id, calls.c.queue, calls.c.started_at).where(
                calls.c.call_id.in_([cid for _, cid in picks])
            )
        ).mappings()
    }
    ins: Any = insert_for(conn)
    flag_rows = [
        {
            "call_id": cid,
            "status": "open",
            "severity": SAMPLE_SEVERITY,
            "severity_rank": 0,
            "rules": "",
            "queue": rows[cid]["queue"],
            "agent": agent,
            "started_at": rows[cid]["started_at"],
            "created_at": now,
            "updated_at": now,
        }
        for agent, cid in picks
    ]
    conn.execute(ins(flags).on_conflict_do_nothing(index_elements=[flags.c.call_id]), flag_rows)
    conn.execute(
        qa_samples.insert(),
        [{"call_id": cid, "agent": agent, "week": week, "created_at": now} for agent, cid in picks],
    )
    return len(picks)


def sample_weeks(
    conn: Connection,
    per_agent: int,
    weeks: list[tuple[str, float, float]],
    now: float,
) -> SampleResult:
    """Top every agent's sample in ``weeks`` up to ``per_agent`` calls; mark the weeks done
    and audit what was picked. ``now`` is bookkeeping time only (created_at)."""
    if not 0 <= per_agent <= MAX_PER_WEEK:
        raise StoreError(f"qa.sample_per_agent_per_week must be 0..{MAX_PER_WEEK}, got {per_agent}")
    picked = 0
    for week, start, end in weeks:
        n = _sample_week(conn, week, start, end, per_agent, now) if per_agent else 0
        picked += n
        ins: Any = insert_for(conn)
        stmt = ins(qa_sample_weeks).values(week=week, quota=per_agent, sampled_at=now)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[qa_sample_weeks.c.week],
                set_={"quota": per_agent, "sampled_at": now},
            )
        )
        if n:
            write_audit(conn, now, "system", "qa_sample", None, {"week": week, "calls": n})
    return SampleResult(weeks=tuple(w for w, _, _ in weeks), picked=picked)


def weeks_between(since: float, until: float, tz: ZoneInfo) -> list[tuple[str, float, float]]:
    """Every ISO week touching [since, until], oldest first (for an import's range)."""
    out: list[tuple[str, float, float]] = []
    week = week_of(since, tz)
    while week[1] <= until:
        out.append(week)
        week = week_of(week[2], tz)
    return out


def run_sampling(
    conn: Connection,
    per_agent: int,
    tz: ZoneInfo,
    grace: float,
    now: float,
    *,
    history: bool = False,
) -> SampleResult:
    """The service's run (``history=False``): closed weeks of the last 8 not yet sampled.
    After an import (``history=True``): every closed week in the store, topped up."""
    if history:
        event_now = _event_now(conn)
        first = conn.execute(select(func.min(calls.c.started_at))).scalar()
        if event_now is None or first is None:
            return SampleResult(weeks=(), picked=0)
        weeks = [w for w in weeks_between(float(first), event_now, tz) if w[2] + grace <= event_now]
    else:
        weeks = weeks_to_sample(conn, tz, grace)
    return sample_weeks(conn, per_agent, weeks, now)
