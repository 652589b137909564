"""CSV export iterators (streamed in batches; one header line first).

Column order is stable for scripts: new columns are only ever added at the end
(docs/web.md, "CSV exports"). Seconds are rounded to 0.1 s; a finding's value and threshold
to its unit (seconds and rings 0.1, ratios 0.001, counts whole; ``unit`` says which, empty
when the rule is not loaded). The review columns come from the call's flag and its latest
closed review.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from monitor.record import CONTRACT_FIELDS, iso
from monitor.store.queue import latest_closed_reviews
from monitor.store.schema import calls, findings, flags

__all__ = [
    "CALL_COLUMNS",
    "FINDING_COLUMNS",
    "REVIEW_COLUMNS",
    "iter_calls_csv",
    "iter_findings_csv",
    "round_for_csv",
]

# added at the end (issue 19): who reviewed the call and how it came out
REVIEW_COLUMNS: tuple[str, ...] = (
    "flag_status",
    "disposition",
    "reviewer",
    "score",
    "score_max",
)
CALL_COLUMNS: tuple[str, ...] = (*CONTRACT_FIELDS, "caller_name", *REVIEW_COLUMNS)
_FINDING_STORED: tuple[str, ...] = (
    "call_id",
    "rule",
    "severity",
    "value",
    "threshold",
    "at",
    "title",
    "flag",
)
FINDING_COLUMNS: tuple[str, ...] = (*_FINDING_STORED, "unit", "caller_name", *REVIEW_COLUMNS)
_TIMES = {"started_at", "answered_at", "ended_at", "at"}
_SECONDS = {
    "ring_seconds",
    "queue_wait_seconds",
    "talk_seconds",
    "hold_seconds",
    "longest_hold_seconds",
}


def round_for_csv(value: float | None, unit: str = "s") -> float | int | None:
    """A number for a CSV cell: seconds and rings to one decimal, ratios (and numbers of an
    unknown unit) to three, counts whole. Whole numbers lose their ".0"."""
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return None
    places = 1 if unit in ("s", "rings") else 3 if unit in ("ratio", "") else 0
    rounded = round(value, places)
    return int(rounded) if float(rounded).is_integer() else rounded


def _line(values: Sequence[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(["" if v is None else _safe(v) for v in values])
    return buf.getvalue()


def _safe(value: Any) -> Any:
    """Defuse spreadsheet formulas in text cells (caller-ID names are hostile input)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _window(stmt: Any, col: Any, since: float | None, until: float | None) -> Any:
    if since is not None:
        stmt = stmt.where(col >= since)
    if until is not None:
        stmt = stmt.where(col < until)
    return stmt


def _reviews(conn: Connection, ids: list[str]) -> dict[str, list[Any]]:
    """Call id -> the REVIEW_COLUMNS values (flag status; the latest closed review's
    disposition, reviewer and score, else the reviewer who has it claimed)."""
    status = {
        r.call_id: (r.status, r.claimed_by)
        for r in conn.execute(
            select(flags.c.call_id, flags.c.status, flags.c.claimed_by).where(
                flags.c.call_id.in_(ids)
            )
        )
    }
    closed = latest_closed_reviews(conn, ids)
    out: dict[str, list[Any]] = {}
    for cid in ids:
        st, claimed_by = status.get(cid, (None, None))
        rv = closed.get(cid)
        if rv is not None and st != "claimed":
            out[cid] = [st, rv["disposition"], rv["reviewer"], rv["score"], rv["score_max"]]
        else:
            out[cid] = [st, None, claimed_by, None, None]
    return out


def iter_calls_csv(
    engine: Engine, since: float | None = None, until: float | None = None, batch: int = 1000
) -> Iterator[str]:
    """The contract fields, one call a line (``findings`` is ``rule:severity`` joined by
    ';'), then the caller's name and the review columns."""
    yield _line(CALL_COLUMNS)
    cols = [c for c in CONTRACT_FIELDS if c != "findings"]
    stmt = _window(
        select(*[calls.c[c] for c in cols], calls.c.caller_name), calls.c.started_at, since, until
    )
    stmt = stmt.order_by(calls.c.started_at, calls.c.call_id)
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(stmt).mappings()
        for part in result.partitions():
            ids = [r["call_id"] for r in part]
            rules: dict[str, list[str]] = {}
            for f in conn.execute(
                select(findings.c.call_id, findings.c.rule, findings.c.severity)
                .where(findings.c.call_id.in_(ids))
                .order_by(findings.c.call_id, findings.c.seq)
            ):
                rules.setdefault(f.call_id, []).append(f"{f.rule}:{f.severity}")
            reviewed = _reviews(conn, ids)
            for r in part:
                values = [_cell(c, r[c]) for c in cols]
                values.append(";".join(rules.get(r["call_id"], [])))
                values.append(r["caller_name"])
                values += reviewed[r["call_id"]]
                yield _line(values)


def _cell(col: str, value: Any) -> Any:
    if col in _TIMES:
        return iso(value)
    if col in _SECONDS:
        return round_for_csv(value, "s")
    return value


def iter_findings_csv(
    engine: Engine,
    since: float | None = None,
    until: float | None = None,
    batch: int = 1000,
    units: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Every finding, one a line, with its call id; windowed by the call's start. ``units``
    (rule id -> unit, from the loaded rules) rounds value and threshold and fills ``unit``."""
    units = units or {}
    yield _line(FINDING_COLUMNS)
    stmt = select(*[findings.c[c] for c in _FINDING_STORED], calls.c.caller_name).join(
        calls, calls.c.call_id == findings.c.call_id
    )
    stmt = _window(stmt, calls.c.started_at, since, until).order_by(
        calls.c.started_at, findings.c.call_id, findings.c.seq
    )
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(stmt).mappings()
        for part in result.partitions():
            reviewed = _reviews(conn, sorted({r["call_id"] for r in part}))
            for r in part:
                unit = units.get(r["rule"], "")
                values: list[Any] = []
                for c in _FINDING_STORED:
                    v = r[c]
                    if c in _TIMES:
                        v = iso(v)
                    elif c in ("value", "threshold"):
                        v = round_for_csv(v, unit)
                    values.append(v)
                values += [unit, r["caller_name"], *reviewed[r["call_id"]]]
                yield _line(values)
