"""The calls behind a report number (one click from each figure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from monitor.errors import InputError
from monitor.reports.periods import WEEKDAYS
from monitor.store.history_schema import call_checks
from monitor.store.schema import calls

__all__ = ["calls_behind"]

_COLS = (
    "call_id",
    "pbx",
    "direction",
    "caller",
    "queue",
    "agent",
    "started_at",
    "outcome",
    "ring_seconds",
    "queue_wait_seconds",
    "talk_seconds",
    "hold_seconds",
    "transfers",
)


def _float(params: Mapping[str, str], name: str) -> float:
    try:
        return float(params[name])
    except (KeyError, ValueError):
        raise InputError(f"{name} must be an epoch time in seconds") from None


def calls_behind(
    engine: Engine, params: Mapping[str, str], timezone: str, limit: int = 500
) -> list[dict[str, Any]]:
    """Calls in [from, to) of the report row given by ``params`` (as in a row's
    ``calls_url``): breakdown + key, filters, and optionally ``rule`` + ``status``."""
    lo, hi = _float(params, "from"), _float(params, "to")
    directions = params.get("direction", "inbound").split(",")
    q = select(*[calls.c[c] for c in _COLS]).where(
        calls.c.started_at >= lo, calls.c.started_at < hi, calls.c.direction.in_(directions)
    )
    for name in ("queue", "agent", "pbx"):
        if params.get(name):
            q = q.where(calls.c[name] == params[name])
    breakdown, key = params.get("breakdown", "none"), params.get("key", "all")
    if breakdown in ("queue", "agent", "pbx"):
        col = calls.c[breakdown]
        q = q.where(col.is_(None) if key == "(none)" else col == key)
    rule = params.get("rule")
    if rule:
        met = params.get("status", "breached") == "met"
        q = q.join(call_checks, call_checks.c.call_id == calls.c.call_id).where(
            call_checks.c.rule == rule, call_checks.c.met.is_(met)
        )
    zone = ZoneInfo(timezone)
    sites = dict(p.split("=", 1) for p in params.get("sites", "").split(",") if "=" in p)
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for row in conn.execute(q.order_by(calls.c.started_at).limit(20_000)).mappings():
            local = datetime.fromtimestamp(row["started_at"], tz=UTC).astimezone(zone)
            if breakdown == "hour" and f"{local.hour:02d}" != key:
                continue
            if breakdown == "weekday" and WEEKDAYS[local.weekday()] != key:
                continue
            if breakdown == "site" and sites.get(row["pbx"], "main") != key:
                continue
            out.append(dict(row))
            if len(out) >= limit:
                break
    return out
