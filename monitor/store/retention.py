"""``store.retention_days``: what ringwatch deletes once it is older than N days.

Run by the service once at start and then every hour (``RETENTION_EVERY``), through the store
writer (so it never races a call's write, and waits out a locked database):

- calls that *started* more than N days ago, with their findings and closed flags (a call
  with an open or claimed flag, or any review, is kept: ``Store.purge``);
- callback promises closed (kept, broken, cancelled, unreturnable) more than N days ago, with
  their history; open promises are never deleted;
- recording files under ``audio.recordings_dir`` that match ``audio.pattern`` and were last
  modified more than N days ago (a file that cannot be deleted, e.g. a read-only mount, is
  counted in ``recording_errors`` and logged once per run);
- the per-call standard results (``call_checks``, for the reports) of the calls deleted;
- the per-agent rollups (15-minute and daily, ``monitor/reports/agent_days.py``) of the time
  before the cutoff: an agent's scorecard goes with the agent's calls. The per-queue rollups
  are aggregates without names, numbers or call ids and are kept, so reports of older
  periods by queue, site or hour still answer.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from sqlalchemy import Engine, and_, delete, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.store.engine import PROMISE_TABLES_MODULE
from monitor.store.store import Store

__all__ = [
    "RETENTION_EVERY",
    "RetentionResult",
    "purge_checks",
    "purge_promises",
    "purge_recordings",
    "run_retention",
]

log = logging.getLogger(__name__)

RETENTION_EVERY = 3600.0  # seconds between two retention runs of the service
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class RetentionResult:
    calls: int = 0
    promises: int = 0
    recordings: int = 0
    recording_errors: int = 0


def purge_promises(engine: Engine, cutoff: float) -> int:
    """Delete promises closed before ``cutoff`` (epoch s) and their history; never open ones.
    The ledger's tables are looked up as ``monitor.store.promises_read`` does (0 without it)."""
    try:
        tables = importlib.import_module(PROMISE_TABLES_MODULE)
    except ModuleNotFoundError:
        return 0
    promises, promise_events = tables.promises, tables.promise_events
    closed_at = func.coalesce(promises.c.closed_at, promises.c.due_at)
    doomed = select(promises.c.id).where(and_(promises.c.state != "open", closed_at < cutoff))
    total = 0
    try:
        while True:
            with engine.begin() as conn:
                ids = [int(r[0]) for r in conn.execute(doomed.limit(_BATCH))]
                if not ids:
                    return total
                conn.execute(delete(promise_events).where(promise_events.c.promise_id.in_(ids)))
                conn.execute(delete(promises).where(promises.c.id.in_(ids)))
                total += len(ids)
    except SQLAlchemyError as exc:
        raise StoreError(f"store: purging old promises failed: {exc}") from exc


def purge_checks(engine: Engine) -> int:
    """Delete the per-call standard results whose call is gone (retention deleted it)."""
    from monitor.store.history_schema import call_checks
    from monitor.store.schema import calls

    try:
        with engine.begin() as conn:
            if not inspect(conn).has_table(call_checks.name):
                return 0
            gone = call_checks.c.call_id.not_in(select(calls.c.call_id))
            return int(conn.execute(delete(call_checks).where(gone)).rowcount or 0)
    except SQLAlchemyError as exc:
        raise StoreError(f"retention: deleting old standard results failed: {exc}") from exc


def purge_recordings(directory: Path, pattern: str, cutoff: float) -> tuple[int, int]:
    """Delete files matching ``pattern`` (``{call_id}`` matches anything) last modified
    before ``cutoff``; returns (deleted, could not delete)."""
    deleted = errors = 0
    if not directory.is_dir():
        return 0, 0
    first_error: OSError | None = None
    glob = pattern.replace("*{call_id}*", "*").replace("{call_id}", "*")
    found = directory.glob(glob)  # lazily: a recordings tree may be large
    try:
        head = next(found, None)
    except ValueError as exc:  # a pattern pathlib cannot glob
        log.warning("retention: recordings not purged: pattern %r: %s", pattern, exc)
        return 0, 0
    for path in chain(() if head is None else (head,), found):
        try:
            if not path.is_file() or path.stat().st_mtime >= cutoff:
                continue
            path.unlink()
            deleted += 1
        except OSError as exc:
            errors += 1
            first_error = first_error or exc
    if first_error is not None:
        log.warning("retention: %d recordings could not be deleted: %s", errors, first_error)
    return deleted, errors


def run_retention(
    store: Store,
    days: float,
    now: float,
    recordings_dir: Path | None = None,
    pattern: str = "**/*{call_id}*.wav",
) -> RetentionResult:
    """One retention pass (see the module doc); ``now`` is the wall clock (epoch s)."""
    cutoff = now - days * 86400.0
    from monitor.reports.agent_days import purge_agent_rollups  # (reports own the rollups)

    calls = store.purge(days)
    if calls:
        purge_checks(store.engine)
        purge_agent_rollups(store.engine, cutoff)
    closed = purge_promises(store.engine, cutoff)
    files = errors = 0
    if recordings_dir is not None:
        files, errors = purge_recordings(recordings_dir, pattern, cutoff)
    result = RetentionResult(calls, closed, files, errors)
    if calls or closed or files:
        log.info("retention (%g days): deleted %s", days, result)
    return result
