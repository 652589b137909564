"""The ledger's statements (``monitor.promises.statements``, on the driver; PostgreSQL joins
a change and its history entry in one statement) keep the same ledger on SQLite and on
PostgreSQL, batched or not, and a replay in a batch makes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from monitor.errors import StoreError
from monitor.promises import PromiseEngine, PromiseSettings
from monitor.promises.db import open_database
from monitor.promises.model import PromiseState
from monitor.promises.tables import promise_events, promises
from monitor.store.engine import normalise_url

from .test_promise_batch import _calls, _run


def _ledger(db: Engine) -> tuple[list, list]:
    with db.connect() as conn:
        rows = conn.execute(select(promises).order_by(promises.c.id)).all()
        events = conn.execute(select(promise_events).order_by(promise_events.c.id)).all()
    return [tuple(r) for r in rows], [tuple(e) for e in events]


@pytest.mark.parametrize("batch", [True, False])
def test_the_ledger_is_the_same_on_each_database(
    db_url: str, tmp_path: Path, t0: float, batch: bool
) -> None:
    reference = _run(open_database(f"sqlite:///{tmp_path / 'ref.sqlite'}"), t0, batch=False)
    db = open_database(normalise_url(db_url))
    batched = _run(db, t0, batch=batch)
    assert batched[0] == reference[0]  # the same changes (promise ids included)
    assert [tuple(r) for r in batched[1]] == [tuple(r) for r in reference[1]]
    assert [tuple(e) for e in batched[2]] == [tuple(e) for e in reference[2]]
    db.dispose()


def test_a_replayed_batch_makes_nothing(db_url: str, t0: float) -> None:
    db = open_database(normalise_url(db_url))
    _run(db, t0, batch=True)
    before = _ledger(db)
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=0.0)
    with engine.batch():  # the same calls again: every key is known (made or joined)
        changes = [c for call in _calls(t0)[:4] for c in engine.on_call(call)]
    assert changes == []
    assert _ledger(db) == before
    db.dispose()


def test_a_change_and_its_history_entry_are_written_together(db_url: str, t0: float) -> None:
    db = open_database(normalise_url(db_url))
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=0.0)
    with engine.batch():
        made = engine.on_call(_calls(t0)[0])
    pid = made[0].promise.id
    cancelled = engine.cancel(pid, "asked not to be called", at=t0 + 100, actor="user:qa")
    assert cancelled.promise.state is PromiseState.CANCELLED
    assert cancelled.promise.closed_at == t0 + 100
    assert [(h["action"], h["to_state"]) for h in engine.history(pid)] == [
        ("created", "open"),
        ("cancelled", "cancelled"),
    ]
    db.dispose()


def test_a_failed_batch_writes_nothing_on_each_database(db_url: str, t0: float) -> None:
    db = open_database(normalise_url(db_url))
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=0.0)
    with pytest.raises(StoreError), engine.batch():
        assert engine.on_call(_calls(t0)[0])  # a new promise (one statement on PostgreSQL)
        with engine._tx() as conn:  # a statement the database refuses, mid-batch
            conn.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")
    assert _ledger(db) == ([], [])
    assert engine.on_call(_calls(t0)[0])  # the engine works on afterwards
    db.dispose()
