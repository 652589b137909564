"""When scheduled reports go out, and which period each covers. Pure functions of event time
(the caller gives "now"), plus the loop that ``ringwatch report-schedule`` runs."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.errors import InputError
from monitor.reports.periods import WEEKDAYS

__all__ = ["Job", "due_jobs", "next_run", "parse_at", "period_before", "run_schedule"]

_AT = re.compile(r"^(?:(mon|tue|wed|thu|fri|sat|sun)\s+)?([01]?\d|2[0-3]):([0-5]\d)$", re.I)


@dataclass(frozen=True)
class Job:
    kind: str  # daily | weekly
    at: str  # "07:00" | "mon 07:30"


def parse_at(text: str, weekly: bool) -> tuple[int | None, int, int]:
    """``"07:00"`` -> (None, 7, 0); ``"mon 07:30"`` -> (0, 7, 30). Raises InputError."""
    m = _AT.match(text.strip())
    if m is None or (weekly and m.group(1) is None) or (not weekly and m.group(1)):
        want = '"mon 07:30"' if weekly else '"07:00"'
        raise InputError(f"{text!r} is not a time to send; write it like {want}")
    day = None if m.group(1) is None else WEEKDAYS.index(m.group(1).title())
    return day, int(m.group(2)), int(m.group(3))


def next_run(job: Job, after: float, zone: ZoneInfo) -> float:
    """The first send time of ``job`` strictly after ``after`` (local wall time in ``zone``)."""
    day, hour, minute = parse_at(job.at, job.kind == "weekly")
    local = datetime.fromtimestamp(after, tz=UTC).astimezone(zone)
    for add in range(0, 9):
        d = (local + timedelta(days=add)).date()
        if day is not None and d.weekday() != day:
            continue
        at = datetime(d.year, d.month, d.day, hour, minute, tzinfo=zone).timestamp()
        if at > after:
            return at
    raise AssertionError("unreachable: a weekly job runs within 8 days")


def period_before(job: Job, run_at: float, zone: ZoneInfo) -> tuple[float, float, str]:
    """What a run at ``run_at`` reports: the day before, or the week (Mon-Sun) before."""
    local = datetime.fromtimestamp(run_at, tz=UTC).astimezone(zone)
    today = datetime(local.year, local.month, local.day, tzinfo=zone)
    if job.kind == "daily":
        start = datetime.combine(today.date() - timedelta(days=1), datetime.min.time(), zone)
        return start.timestamp(), today.timestamp(), f"daily report {start:%Y-%m-%d}"
    monday = today.date() - timedelta(days=today.weekday())
    start = datetime.combine(monday - timedelta(days=7), datetime.min.time(), zone)
    end = datetime.combine(monday, datetime.min.time(), zone)
    return start.timestamp(), end.timestamp(), f"weekly report {start:%Y-%m-%d}"


def due_jobs(jobs: list[Job], last: float, now: float, zone: ZoneInfo) -> list[tuple[Job, float]]:
    """Jobs whose send time fell in (last, now]; each once, at its latest such time."""
    out = []
    for job in jobs:
        at = next_run(job, last, zone)
        if at <= now:
            while (following := next_run(job, at, zone)) <= now:
                at = following
            out.append((job, at))
    return out


def run_schedule(
    jobs: list[Job],
    zone: ZoneInfo,
    send: Callable[[Job, float], None],
    clock: Callable[[], float],
    stop: threading.Event,
    *,
    poll_seconds: float = 30.0,
) -> None:
    """Send each job when due until ``stop`` is set; a failed send is raised to the caller."""
    last = clock()
    while not stop.is_set():
        now = clock()
        for job, at in due_jobs(jobs, last, now, zone):
            send(job, at)
        last = now
        stop.wait(poll_seconds)
