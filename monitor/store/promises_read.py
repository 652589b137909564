"""A small read (and cancel) API over the callback-promise ledger for the web pages.

The ledger is ``monitor.promises`` (its tables live on the shared ``metadata``). This module
reads it through ``monitor.promises.views.PromiseQueries`` and cancels through
``PromiseEngine.cancel`` (so the ledger's own history rows are written). When the package
is not installed every read returns an empty list and cancelling is refused.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from sqlalchemy import Engine

from monitor.errors import NotFoundError, StoreError
from monitor.store.models import PromiseRow

__all__ = ["MAX_PROMISE_ID", "PROMISE_VIEWS", "cancel_promise", "ledger_available", "read_promises"]

PROMISE_VIEWS: tuple[str, ...] = (
    "open",
    "overdue",
    "kept",
    "broken",
    "cancelled",
    "unreturnable",
    "all",
)
MAX_PROMISE_ID = 2**31 - 1  # 32-bit ids on every backend


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name in (name, "monitor.promises"):
            return None
        raise


def ledger_available() -> bool:
    return _module("monitor.promises.views") is not None


def _row(p: Any) -> PromiseRow:
    return PromiseRow(
        id=str(p.id),
        number=p.number or p.raw_number,
        state=str(p.state),
        due_at=p.due_at,
        created_at=p.made_at,
        call_id=p.source_call_id,
        detail={
            "kind": str(p.kind),
            "reason": p.reason,
            "agent": p.agent,
            "rule": p.rule,
            "kept_by_call_id": p.kept_by_call_id,
            "closed_at": p.closed_at,
            "misses": p.misses,
        },
    )


def read_promises(engine: Engine, view: str, now: float, limit: int = 500) -> list[PromiseRow]:
    """Promises in ``view`` (open, overdue, kept, broken, cancelled, unreturnable, all);
    [] with no ledger."""
    if view not in PROMISE_VIEWS:
        raise StoreError(f"promise view {view!r} is not one of {', '.join(PROMISE_VIEWS)}")
    views = _module("monitor.promises.views")
    if views is None:
        return []
    queries = views.PromiseQueries(engine)
    return [_row(p) for p in queries.view(view, now=now, limit=limit)]


def cancel_promise(engine: Engine, promise_id: str, reason: str, now: float, actor: str) -> None:
    """Cancel an open promise with ``reason`` (the ledger records who and why)."""
    if not reason.strip():
        raise StoreError("give a reason to cancel a callback promise")
    mod = _module("monitor.promises.engine")
    if mod is None:
        raise StoreError("callback promises are not enabled in this installation")
    number = int(promise_id) if promise_id.isascii() and promise_id.isdigit() else 0
    if not 1 <= number <= MAX_PROMISE_ID or len(promise_id) > 10:
        raise NotFoundError("no such promise: ids are whole numbers from 1")
    ledger = mod.PromiseEngine(engine)
    if ledger.get(number) is None:
        raise NotFoundError(f"no promise with id {number}")
    ledger.cancel(number, reason, at=now, actor=actor)
