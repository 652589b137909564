"""Build a standards report from the rollups (and the promise ledger and QA reviews).

``build_report(engine, request, rules)`` returns a JSON-ready dict: one row per interval and
breakdown key, with the figures, every standard's target/actual/variance/calls needed/trend,
and a link to the calls behind each number; totals per key against the previous period of the
same length; callback promises kept/broken/open; QA review scores for agents.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from monitor.errors import InputError
from monitor.promises.tables import promises
from monitor.record import iso
from monitor.reports.agent_days import whole_days
from monitor.reports.figures import COUNTERS, MAXIMA, Figures, StandardFigure
from monitor.reports.periods import BREAKDOWNS, INTERVALS, WEEKDAYS, interval_start
from monitor.reports.rollup import DEFAULT_SHORT_ABANDON, refresh_rollups
from monitor.reports.units import Units
from monitor.rules import RuleSet
from monitor.store.history_schema import (
    WAIT_EDGES,
    report_rollups,
    report_rollups_queue,
    rollup_agent_days,
    rollup_checks,
    rollup_checks_agent_days,
    rollup_checks_queue,
)
from monitor.store.schema import calls, reviews

__all__ = ["ReportRequest", "build_report", "standard_targets"]

_NO_RATIO_CHECKS = frozenset({"abandon_rate", "asa", "service_level"})
_STATES = ("kept", "broken", "open", "other")


def _pairs() -> defaultdict[str, list[int]]:
    return defaultdict(lambda: [0, 0])


@dataclass(frozen=True)
class ReportRequest:
    start: float
    end: float
    interval: str = "day"
    breakdown: str = "none"
    timezone: str = "UTC"
    directions: tuple[str, ...] = ("inbound",)
    queue: str | None = None
    agent: str | None = None
    pbx: str | None = None
    sl_threshold: int = 20
    short_abandon_seconds: float = DEFAULT_SHORT_ABANDON
    sites: Mapping[str, str] = field(default_factory=dict)

    def check(self) -> None:
        if self.interval not in INTERVALS:
            raise InputError(f"interval {self.interval!r}: use one of {', '.join(INTERVALS)}")
        if self.breakdown not in BREAKDOWNS:
            raise InputError(f"breakdown {self.breakdown!r}: use one of {', '.join(BREAKDOWNS)}")
        if self.sl_threshold not in WAIT_EDGES:
            raise InputError(
                f"service level threshold {self.sl_threshold} s: use one of "
                f"{', '.join(map(str, WAIT_EDGES))}"
            )
        if not self.end > self.start:
            raise InputError("the report range is empty: 'to' must be after 'from'")
        if (self.end - self.start) / 900 > 200_000:
            raise InputError("the report range is over five years: give a shorter range")

    @property
    def previous(self) -> tuple[float, float]:
        return self.start - (self.end - self.start), self.start


def standard_targets(rules: RuleSet | None) -> dict[str, tuple[str, float | None]]:
    """rule id -> (title, target ratio) for the per-call standards: the window target's
    ratio, or 1.0 (every call) for a standard without one; None for window-only checks."""
    out: dict[str, tuple[str, float | None]] = {}
    for rule in rules.rules if rules is not None else ():
        ratio = rule.target.ratio if rule.target is not None else None
        if rule.check in _NO_RATIO_CHECKS:
            ratio = None
        elif ratio is None:
            ratio = 1.0  # a per-call standard without a window target: every call
        out[rule.id] = (rule.title or rule.id, ratio)
    return out


class _Keyer:
    def __init__(self, req: ReportRequest) -> None:
        self.req = req
        self.zone = ZoneInfo(req.timezone)
        self._cache: dict[float, tuple[float, str, str, str]] = {}

    def tables(self, daily: bool = True) -> tuple[Any, Any]:
        """The rollups to read: per agent only when the report needs agents, and then by
        local day when the report's units are whole local days (agent_days.py)."""
        if self.req.breakdown == "agent" or self.req.agent is not None:
            if daily and whole_days(self.req):
                return rollup_agent_days, rollup_checks_agent_days
            return report_rollups, rollup_checks
        return report_rollups_queue, rollup_checks_queue

    def column(self, table: Any) -> Any:
        name = {"site": "pbx", "pbx": "pbx", "queue": "queue", "agent": "agent"}
        return None if self.req.breakdown not in name else table.c[name[self.req.breakdown]]

    def bucket(self, b: float) -> tuple[float, str, str, str]:
        hit = self._cache.get(b)
        if hit is None:
            start, label = interval_start(b, self.req.interval, self.zone)
            local = interval_start(b, "hour", self.zone)[1]
            from datetime import UTC, datetime

            wd = WEEKDAYS[datetime.fromtimestamp(b, tz=UTC).astimezone(self.zone).weekday()]
            hit = (start, label, local[-5:-3], wd)
            self._cache[b] = hit
        return hit

    def key(self, bucket: float, dim: str | None) -> str:
        b = self.req.breakdown
        if b == "none":
            return "all"
        if b == "hour":
            return self.bucket(bucket)[2]
        if b == "weekday":
            return self.bucket(bucket)[3]
        if b == "site":
            return self.req.sites.get(dim or "", "main")
        return dim or "(none)"


def _where(table: Any, req: ReportRequest, lo: float, hi: float) -> list[Any]:
    conds = [table.c.bucket_start >= lo, table.c.bucket_start < hi]
    if "zone" in table.c:
        conds.append(table.c.zone == req.timezone)
    conds.append(table.c.direction.in_(req.directions))
    for name in ("queue", "agent", "pbx"):
        value = getattr(req, name)
        if value is not None:  # (an agent filter reads the per-agent rollups)
            conds.append(table.c[name] == value)
    return conds


def build_report(
    engine: Engine, req: ReportRequest, rules: RuleSet | None, *, daily: bool = True
) -> dict[str, Any]:
    """The report (module doc). ``daily=False`` reads the 15-minute per-agent rollups even
    where the daily ones would answer (the same numbers; for tests and benchmarks)."""
    req.check()
    keyer = _Keyer(req)
    rt, ct = keyer.tables(daily)
    zone = req.timezone if rt is rollup_agent_days else None
    refresh_rollups(engine, req.short_abandon_seconds, agent_day_zone=zone)
    prev_lo, _ = req.previous
    dim = keyer.column(rt)
    with engine.connect() as conn:
        units = Units(req, prev_lo, conn.dialect.name)
        unit = units.expr(rt.c.bucket_start)
        dims = [unit] + ([dim] if dim is not None else [])
        sums = [func.sum(rt.c[n]).label(n) for n in COUNTERS]
        maxes = [func.max(rt.c[n]).label(n) for n in MAXIMA]
        q = select(*dims, *sums, *maxes).where(*_where(rt, req, prev_lo, req.end))
        cdim = keyer.column(ct)
        cunit = units.expr(ct.c.bucket_start)
        cq = select(
            cunit.label("bucket_start"),
            *([cdim] if cdim is not None else []),
            ct.c.rule,
            func.sum(ct.c.met).label("met"),
            func.sum(ct.c.breached).label("breached"),
        ).where(*_where(ct, req, prev_lo, req.end))
        rows = [(units.start_of(r[0]), *r[1:]) for r in conn.execute(q.group_by(*dims)).all()]
        group_c = [cunit, ct.c.rule] + ([cdim] if cdim is not None else [])
        crows = [
            {**r, "bucket_start": units.start_of(r["bucket_start"])}
            for r in conn.execute(cq.group_by(*group_c)).mappings().all()
        ]
        promise_rows = _promises(conn, req, prev_lo)
        qa = _qa(conn, req) if req.breakdown == "agent" else {}
    return _assemble(req, keyer, rows, crows, promise_rows, qa, rules, dim)


def _assemble(
    req: ReportRequest,
    keyer: _Keyer,
    rows: Sequence[Sequence[Any]],
    crows: Iterable[Mapping[Any, Any]],
    promise_rows: list[tuple[float, str, str]],
    qa: dict[str, dict[str, Any]],
    rules: RuleSet | None,
    dim: Any,
) -> dict[str, Any]:
    name = None if dim is None else dim.name
    skip = 2 if name else 1  # bucket_start [, breakdown column], then the measures
    cell_rows: dict[tuple[float, str], list[Sequence[Any]]] = defaultdict(list)
    total_rows: dict[str, list[Sequence[Any]]] = defaultdict(list)
    before_rows: dict[str, list[Sequence[Any]]] = defaultdict(list)
    labels: dict[float, str] = {}
    first = keyer.bucket(req.start)[0]
    for row in rows:
        b = float(row[0])
        key = keyer.key(b, row[1] if name else None)
        start, label = keyer.bucket(b)[:2]
        measures = row[skip:]
        if b < req.start:
            before_rows[key].append(measures)
            if start < first:  # the intervals before the first, for its trend
                cell_rows[(start, key)].append(measures)
                labels.setdefault(start, label)
            continue
        labels[start] = label
        cell_rows[(start, key)].append(measures)
        total_rows[key].append(measures)
    cells = {k: _figures(v) for k, v in cell_rows.items()}
    totals = {k: _figures(v) for k, v in total_rows.items()}
    before = {k: _figures(v) for k, v in before_rows.items()}
    checks: dict[tuple[float, str], dict[str, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    check_totals: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    check_before: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for crow in crows:
        b = float(crow["bucket_start"])
        key = keyer.key(b, crow[name] if name else None)
        start = keyer.bucket(b)[0]
        places = [check_before[key] if b < req.start else check_totals[key]]
        if b >= req.start or start < first:
            places.append(checks[(start, key)])
        for target in places:
            pair = target[crow["rule"]]
            pair[0] += int(crow["met"] or 0)
            pair[1] += int(crow["breached"] or 0)
    targets = standard_targets(rules)
    for by_rule in (*check_totals.values(), *check_before.values()):
        for rule in by_rule:
            targets.setdefault(rule, (rule, None))
    starts = sorted(s for s in labels if s >= first)
    previous_of = {s: p for p, s in zip(sorted(labels), sorted(labels)[1:], strict=False)}
    base = _url_base(req)
    keys_at: dict[float, list[str]] = defaultdict(list)
    for s_start, s_key in cells:
        keys_at[s_start].append(s_key)
    out_rows = []
    for start in starts:
        if start >= req.end:
            continue
        for key in sorted(keys_at[start]):
            prev_start = previous_of.get(start)
            prev_checks = checks.get((prev_start, key), {}) if prev_start is not None else {}
            out_rows.append(
                _row(
                    req,
                    labels[start],
                    start,
                    key,
                    cells[(start, key)],
                    checks.get((start, key), {}),
                    prev_checks,
                    targets,
                    base=base,
                )
            )
    total_out = [
        _row(
            req,
            "total",
            req.start,
            key,
            totals[key],
            check_totals.get(key, {}),
            check_before.get(key, {}),
            targets,
            span=(req.start, req.end),
            base=base,
        )
        for key in sorted(totals)
    ]
    for out in total_out:
        prev = before.get(out["key"])
        out["previous_figures"] = None if prev is None else prev.to_json(req.sl_threshold)
        if out["key"] in qa:
            out["qa"] = qa[out["key"]]
    return {
        "from": iso(req.start),
        "to": iso(req.end),
        "timezone": req.timezone,
        "interval": req.interval,
        "breakdown": req.breakdown,
        "directions": list(req.directions),
        "service_level_threshold": req.sl_threshold,
        "short_abandon_seconds": req.short_abandon_seconds,
        "formulas": FORMULAS,
        "rows": out_rows,
        "totals": total_out,
        "promises": _promise_counts(req, promise_rows),
    }


FORMULAS = {
    "service_level": "answered within T s of waiting / (answered + abandoned - short abandons)",
    "asa": "mean seconds from arrival to answer by a person, answered calls",
    "short_abandon": "abandoned within S s of joining the queue (or of arriving)",
    "actual": "met / (met + breached) of the calls the standard applied to",
    "variance": "actual - target",
    "calls_needed": "more met calls needed for actual to reach the target",
    "trend": "actual - actual of the previous interval (totals: previous period)",
}


def _row(
    req: ReportRequest,
    label: str,
    start: float,
    key: str,
    figs: Figures,
    checks: Mapping[str, list[int]],
    prev_checks: Mapping[str, list[int]],
    targets: Mapping[str, tuple[str, float | None]],
    span: tuple[float, float] | None = None,
    base: str = "",
) -> dict[str, Any]:
    lo, hi = span if span is not None else (max(start, req.start), _end_of(req, start))
    standards = []
    for rule, (title, target) in sorted(targets.items()):
        met, breached = checks.get(rule, [0, 0])
        pm, pb = prev_checks.get(rule, [0, 0])
        previous = None if pm + pb == 0 else pm / (pm + pb)
        fig = StandardFigure(rule, title, target, met, breached, previous).to_json()
        fig["calls_url"] = _calls_url(base, lo, hi, key, rule)
        standards.append(fig)
    return {
        "interval": label,
        "start": iso(start),
        "key": key,
        "figures": figs.to_json(req.sl_threshold),
        "standards": standards,
        "calls_url": _calls_url(base, lo, hi, key),
    }


def _figures(rows: Sequence[Sequence[Any]]) -> Figures:
    figs = Figures()
    figs.add_rows(rows)
    return figs


def _end_of(req: ReportRequest, start: float) -> float:
    """The start of the interval after the one starting at ``start`` (capped at the range)."""
    step = {"15m": 900.0, "hour": 3600.0}.get(req.interval)
    if step is not None:
        return min(start + step, req.end)
    ahead = {"day": 86400.0, "week": 7 * 86400.0}.get(req.interval, 32 * 86400.0) + 7200.0
    return min(interval_start(start + ahead, req.interval, ZoneInfo(req.timezone))[0], req.end)


def _url_base(req: ReportRequest) -> str:
    """The query string every calls link of ``req`` shares (built once per report)."""
    params: dict[str, str] = {"breakdown": req.breakdown, "direction": ",".join(req.directions)}
    for name in ("queue", "agent", "pbx"):
        value = getattr(req, name)
        if value is not None:
            params[name] = value
    if req.sites:
        params["sites"] = ",".join(f"{k}={v}" for k, v in req.sites.items())
    return "/reports/calls?" + urlencode(params)


def _calls_url(base: str, lo: float, hi: float, key: str, rule: str = "") -> str:
    url = f"{base}&from={lo!r}&to={hi!r}&key={quote_plus(key)}"
    return url + (f"&rule={quote_plus(rule)}&status=breached" if rule else "")


def _promises(conn: Any, req: ReportRequest, lo: float) -> list[tuple[float, str, str]]:
    from monitor.store.history_schema import ensure_history_schema  # noqa: F401

    q = (
        select(promises.c.made_at, promises.c.state, promises.c.pbx, calls.c.queue, calls.c.agent)
        .select_from(promises.outerjoin(calls, calls.c.call_id == promises.c.source_call_id))
        .where(promises.c.made_at >= lo, promises.c.made_at < req.end)
    )
    out = []
    for made_at, state, pbx, queue, agent in conn.execute(q):
        if req.queue is not None and queue != req.queue:
            continue
        if req.agent is not None and agent != req.agent:
            continue
        key = {
            "pbx": pbx,
            "site": req.sites.get(pbx, "main"),
            "queue": queue or "(none)",
            "agent": agent or "(none)",
        }.get(req.breakdown, "all")
        out.append((float(made_at), str(state), key))
    return out


def _promise_counts(req: ReportRequest, rows: list[tuple[float, str, str]]) -> dict[str, Any]:
    now: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("kept", "broken", "open", "other"), 0)
    )
    prev: dict[str, int] = dict.fromkeys(_STATES, 0)
    for made_at, state, key in rows:
        slot = state if state in ("kept", "broken", "open") else "other"
        if made_at < req.start:
            prev[slot] += 1
        else:
            now[key][slot] += 1
    return {"by_key": dict(now), "previous_period": prev}


def _qa(conn: Any, req: ReportRequest) -> dict[str, dict[str, Any]]:
    q = (
        select(
            calls.c.agent, func.count(), func.sum(reviews.c.score), func.sum(reviews.c.score_max)
        )
        .select_from(reviews.join(calls, calls.c.call_id == reviews.c.call_id))
        .where(
            reviews.c.state == "closed",
            reviews.c.kind == "review",  # calibration scores are not reviews
            calls.c.started_at >= req.start,
            calls.c.started_at < req.end,
        )
        .group_by(calls.c.agent)
    )
    out = {}
    for agent, count, score, score_max in conn.execute(q):
        pct = None if not score_max else round(float(score) / float(score_max), 4)
        out[agent or "(none)"] = {"reviews": int(count), "score": pct}
    return out
