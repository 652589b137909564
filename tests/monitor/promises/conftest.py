"""Fixtures for the promise tests: a fresh SQLite (WAL) ledger, a CallRecord builder, and
the PostgreSQL cluster plugin (``db_url``: a fresh SQLite file, then a PostgreSQL database)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine

from monitor.promises.db import open_database
from monitor.record import CallRecord, Direction, Outcome, Timing


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[2] / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_pg = _load("pg_fixture")
pg_cluster = _pg.pg_cluster
db_url = _pg.db_url

# Monday 6 May 2024, 09:00:00 UTC: a real timestamp for every scenario.
T0 = datetime(2024, 5, 6, 9, 0, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0

CallFactory = Callable[..., CallRecord]


@pytest.fixture
def t0() -> float:
    return T0


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    return open_database(f"sqlite:///{tmp_path / 'ledger.sqlite'}")


def build_call(
    call_id: str,
    direction: str,
    outcome: str,
    start: float,
    *,
    caller: str | None = None,
    dialed: str | None = None,
    answer: float | None = None,
    end: float | None = None,
    queue: str | None = "support",
    withheld: bool = False,
    first_ring: float | None = None,
) -> CallRecord:
    ended = end if end is not None else (answer or start) + 60.0
    return CallRecord(
        call_id=call_id,
        pbx="default",
        direction=Direction(direction),
        caller=caller,
        dialed=dialed,
        queue=queue,
        agent="alice" if answer is not None else None,
        started_at=start,
        answered_at=answer,
        ended_at=ended,
        outcome=Outcome(outcome),
        ring_seconds=None if answer is None else answer - start,
        rings=None,
        queue_wait_seconds=None,
        talk_seconds=None if answer is None else ended - answer,
        hold_seconds=0.0,
        hold_count=0,
        longest_hold_seconds=0.0,
        transfers=0,
        hangup_cause=16,
        timing=Timing.EXACT,
        caller_withheld=withheld,
        first_ring_at=first_ring,
        answered_any_at=answer,
    )


@pytest.fixture
def make_call() -> CallFactory:
    return build_call
