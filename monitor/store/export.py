"""CSV export iterators (streamed in batches; one header line first)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, select

from monitor.record import CONTRACT_FIELDS, iso
from monitor.store.schema import calls, findings

__all__ = ["CALL_COLUMNS", "FINDING_COLUMNS", "iter_calls_csv", "iter_findings_csv"]

CALL_COLUMNS: tuple[str, ...] = CONTRACT_FIELDS
FINDING_COLUMNS: tuple[str, ...] = (
    "call_id",
    "rule",
    "severity",
    "value",
    "threshold",
    "at",
    "title",
    "flag",
)
_TIMES = {"started_at", "answered_at", "ended_at", "at"}


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


def iter_calls_csv(
    engine: Engine, since: float | None = None, until: float | None = None, batch: int = 1000
) -> Iterator[str]:
    """The contract fields, one call a line; ``findings`` is ``rule:severity`` joined by ';'."""
    yield _line(CALL_COLUMNS)
    cols = [c for c in CALL_COLUMNS if c != "findings"]
    stmt = _window(select(*[calls.c[c] for c in cols]), calls.c.started_at, since, until)
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
            for r in part:
                values = [iso(r[c]) if c in _TIMES else r[c] for c in cols]
                values.append(";".join(rules.get(r["call_id"], [])))
                yield _line(values)


def iter_findings_csv(
    engine: Engine, since: float | None = None, until: float | None = None, batch: int = 1000
) -> Iterator[str]:
    """Every finding, one a line, with its call id; windowed by the call's start."""
    yield _line(FINDING_COLUMNS)
    stmt = select(*[findings.c[c] for c in FINDING_COLUMNS]).join(
        calls, calls.c.call_id == findings.c.call_id
    )
    stmt = _window(stmt, calls.c.started_at, since, until).order_by(
        calls.c.started_at, findings.c.call_id, findings.c.seq
    )
    with engine.connect() as conn:
        for r in conn.execution_options(yield_per=batch).execute(stmt).mappings():
            yield _line([iso(r[c]) if c in _TIMES else r[c] for c in FINDING_COLUMNS])
