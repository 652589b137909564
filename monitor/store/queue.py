"""The flagged-calls queue query: filters, sort, pagination and per-status counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, func, select, true

from monitor.errors import StoreError
from monitor.store.models import SORTS, FlagFilter, FlagRow, Page
from monitor.store.schema import FLAG_STATUSES, SEVERITY_RANK, calls, findings, flags, reviews

__all__ = ["MAX_PER_PAGE", "flagged_page", "latest_closed_reviews"]

MAX_PER_PAGE = 500


def _conditions(flt: FlagFilter, with_status: bool) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if with_status and flt.status:
        if flt.status not in FLAG_STATUSES:
            raise StoreError(f"status {flt.status!r} is not one of {', '.join(FLAG_STATUSES)}")
        conds.append(flags.c.status == flt.status)
    if flt.severity:
        if flt.severity not in SEVERITY_RANK:
            raise StoreError(f"severity {flt.severity!r} is not one of {', '.join(SEVERITY_RANK)}")
        conds.append(flags.c.severity == flt.severity)
    if flt.queue:
        conds.append(flags.c.queue == flt.queue)
    if flt.agent:
        conds.append(flags.c.agent == flt.agent)
    if flt.since is not None:
        conds.append(flags.c.started_at >= flt.since)
    if flt.until is not None:
        conds.append(flags.c.started_at < flt.until)
    if flt.rule:
        conds.append(
            exists()
            .where(findings.c.rule == flt.rule)
            .where(findings.c.call_id == flags.c.call_id)
            .where(findings.c.flag == true())
        )
    return conds


def _order(sort: str) -> list[Any]:
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTS:
        raise StoreError(
            f"sort {sort!r} is not one of {', '.join(SORTS)} (prefix '-' for descending)"
        )
    col = flags.c.severity_rank if key == "severity" else flags.c[key]
    first = col.desc() if desc else col.asc()
    tie = flags.c.started_at.desc() if key != "started_at" else None
    out: list[Any] = [first]
    if tie is not None:
        out.append(tie)
    out.append(flags.c.call_id.desc() if desc else flags.c.call_id.asc())
    return out


def latest_closed_reviews(conn: Connection, ids: list[str]) -> dict[str, Any]:
    """Call id -> its latest closed review's row (disposition, score, reviewer), for ``ids``."""
    if not ids:
        return {}
    newest = (
        select(func.max(reviews.c.id))
        .where(
            reviews.c.call_id.in_(ids),
            reviews.c.state == "closed",
            reviews.c.kind == "review",  # a calibration score is not the call's review
        )
        .group_by(reviews.c.call_id)
    )
    rows = conn.execute(
        select(
            reviews.c.call_id,
            reviews.c.disposition,
            reviews.c.score,
            reviews.c.score_max,
            reviews.c.reviewer,
        ).where(reviews.c.id.in_(newest))
    ).mappings()
    return {r["call_id"]: r for r in rows}


def flagged_page(conn: Connection, flt: FlagFilter, sort: str, page: int, per_page: int) -> Page:
    """One page of flagged calls matching ``flt`` plus the total and per-status counts."""
    if page < 1:
        raise StoreError(f"page must be 1 or more, got {page}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise StoreError(f"per_page must be 1..{MAX_PER_PAGE}, got {per_page}")
    order = _order(sort)
    conds = _conditions(flt, with_status=True)
    base = _conditions(flt, with_status=False)
    counts = {s: 0 for s in FLAG_STATUSES}
    for status, n in conn.execute(
        select(flags.c.status, func.count()).where(*base).group_by(flags.c.status)
    ):
        counts[str(status)] = int(n)
    total = counts.get(flt.status, 0) if flt.status else sum(counts.values())
    page_ids = (
        select(flags.c.call_id)
        .where(*conds)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    ids = [r[0] for r in conn.execute(page_ids)]
    items: list[FlagRow] = []
    if ids:
        rows = conn.execute(
            select(
                flags,
                calls.c.caller,
                calls.c.caller_name,
                calls.c.outcome,
            )
            .join(calls, calls.c.call_id == flags.c.call_id)
            .where(flags.c.call_id.in_(ids))
        ).mappings()
        by_id = {r["call_id"]: r for r in rows}
        closed = latest_closed_reviews(conn, ids)
        for cid in ids:
            r = by_id.get(cid)
            if r is None:
                continue
            rv = closed.get(cid)
            items.append(
                FlagRow(
                    call_id=r["call_id"],
                    status=r["status"],
                    severity=r["severity"],
                    rules=tuple(x for x in r["rules"].split(",") if x),
                    queue=r["queue"],
                    agent=r["agent"],
                    started_at=r["started_at"],
                    claimed_by=r["claimed_by"],
                    caller=r["caller"],
                    caller_name=r["caller_name"],
                    outcome=r["outcome"],
                    disposition=rv["disposition"] if rv else None,
                    score=rv["score"] if rv else None,
                    score_max=rv["score_max"] if rv else None,
                    reviewer=rv["reviewer"] if rv else None,
                    claimed_at=r["claimed_at"],
                )
            )
    return Page(items=tuple(items), total=total, page=page, per_page=per_page, counts=counts)
