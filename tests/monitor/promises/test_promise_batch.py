"""The ledger's batch (a history import's flush): one transaction, the same changes and the
same stored ledger as one transaction per call, and all or nothing on failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from monitor.errors import StoreError
from monitor.promises import PromiseEngine, PromiseSettings
from monitor.promises.db import open_database
from monitor.promises.tables import promise_events, promises

from .conftest import HOUR, build_call


def _calls(t0: float) -> list:
    c = build_call
    return [
        c("in-1", "inbound", "abandoned", t0, caller="07700 900123", end=t0 + 40),
        c("in-2", "inbound", "abandoned", t0 + 60, caller="07700900123", end=t0 + 90),  # merged
        c("in-3", "inbound", "voicemail", t0 + 120, caller="07700 900555", end=t0 + 200),
        c("in-4", "inbound", "abandoned", t0 + 130, caller="anonymous", end=t0 + 150),
        c("out-1", "outbound", "answered", t0 + HOUR, dialed="447700900123", answer=t0 + HOUR + 9),
        c("out-2", "outbound", "answered", t0 + HOUR, dialed="447700900999", answer=t0 + HOUR + 5),
        c("out-3", "outbound", "answered", t0 + 30 * HOUR, dialed="07700900555",
          answer=t0 + 30 * HOUR + 3),  # late: broken at its due time, then reached
    ]  # fmt: skip


def _run(db: Engine, t0: float, batch: bool) -> tuple[list, list, list]:
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=0.0)
    changes = []
    calls = _calls(t0)
    if batch:
        with engine.batch():
            for call in calls:
                changes += engine.on_call(call)
            changes += engine.advance(t0 + 31 * HOUR)
    else:
        for call in calls:
            changes += engine.on_call(call)
        changes += engine.advance(t0 + 31 * HOUR)
    with db.connect() as conn:
        rows = conn.execute(select(promises).order_by(promises.c.id)).all()
        events = conn.execute(select(promise_events).order_by(promise_events.c.id)).all()
    return changes, rows, events


def test_a_batch_gives_the_same_changes_and_ledger(tmp_path: Path, t0: float) -> None:
    one = open_database(f"sqlite:///{tmp_path / 'one.sqlite'}")
    many = open_database(f"sqlite:///{tmp_path / 'many.sqlite'}")
    batched = _run(one, t0, batch=True)
    each = _run(many, t0, batch=False)
    assert batched == each
    actions = [str(c.action) for c in batched[0]]
    assert {"created", "merged", "unreturnable", "kept", "broken", "late_callback"} <= set(
        actions
    ), actions


def test_a_failed_batch_writes_nothing(tmp_path: Path, t0: float) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=0.0)
    with pytest.raises(StoreError), engine.batch():
        engine.on_call(_calls(t0)[0])
        with engine._tx() as conn:  # a statement the database refuses, mid-batch
            conn.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")
    with db.connect() as conn:
        assert conn.execute(select(promises)).all() == []
    assert engine.on_call(_calls(t0)[0])  # the engine works on afterwards
