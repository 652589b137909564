"""A batch's new promises written together (monitor/promises/deferred.py, PostgreSQL): the
same changes and ledger as one statement each, written before any statement that could see
them, ids from the table's sequence in the order made, a key made meanwhile refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from monitor.errors import StoreError
from monitor.promises import PromiseEngine, PromiseSettings
from monitor.promises.db import open_database
from monitor.promises.deferred import DeferredPromises
from monitor.promises.tables import promise_events, promises
from monitor.record import CallRecord
from monitor.store.engine import normalise_url

from .conftest import HOUR, build_call


def _calls(t0: float) -> list[CallRecord]:
    c = build_call
    return [
        c("in-1", "inbound", "abandoned", t0, caller="07700 900123", end=t0 + 40),
        c("in-2", "inbound", "abandoned", t0 + 60, caller="07700 900124", end=t0 + 90),
        c("in-3", "inbound", "abandoned", t0 + 70, caller="07700900123", end=t0 + 95),  # joins
        c("in-4", "inbound", "abandoned", t0 + 80, caller="anonymous", end=t0 + 99),  # no number
        c("in-5", "inbound", "voicemail", t0 + 120, caller="07700 900555", end=t0 + 200),
        c("out-1", "outbound", "answered", t0 + HOUR, dialed="447700900124", answer=t0 + HOUR + 9),
        c("in-6", "inbound", "abandoned", t0 + 7200, caller="07700 900777", end=t0 + 7205),
        c("out-2", "outbound", "answered", t0 + 30 * HOUR, dialed="07700900555",
          answer=t0 + 30 * HOUR + 3),  # late: broken at its due time, then reached
        c("in-7", "inbound", "abandoned", t0 + 32 * HOUR, caller="07700 900555",
          end=t0 + 32 * HOUR + 9),  # a number with a promise before: a new one, made later
    ]  # fmt: skip


def _ledger(db: Engine) -> tuple[list[Any], list[Any]]:
    """Promise rows (ids included), and each promise's history in order (entry ids left out:
    entries of promises written together take their ids when written)."""
    with db.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(promises).order_by(promises.c.id))]
        events = conn.execute(
            select(promise_events).order_by(promise_events.c.promise_id, promise_events.c.id)
        ).mappings()
        history = [tuple(v for k, v in e.items() if k != "id") for e in events]
    return rows, history


def _run(db: Engine, t0: float, keys: bool) -> tuple[list[Any], Any]:
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=0.0)
    calls = _calls(t0)
    changes = []
    numbers, callbacks = engine.batch_numbers(calls) if keys else (set(), set())
    with engine.batch(
        keys=engine.batch_keys(calls) if keys else (), numbers=numbers, callbacks=callbacks
    ):
        for call in calls:
            changes += engine.on_call(call)
        changes += engine.advance(t0 + 33 * HOUR)
    return changes, _ledger(db)


@pytest.fixture
def pg(pg_cluster: Any) -> Iterator[Engine]:
    """A new PostgreSQL ledger (deferring needs its sequence: SQLite never defers)."""
    name = pg_cluster.create_db()
    db = open_database(normalise_url(pg_cluster.url(name)))
    try:
        yield db
    finally:
        db.dispose()
        pg_cluster.drop_db(name)


def test_promises_written_together_give_the_same_changes_and_ledger(
    db_url: str, tmp_path: Path, t0: float
) -> None:
    reference = _run(open_database(f"sqlite:///{tmp_path / 'ref.sqlite'}"), t0, keys=False)
    db = open_database(normalise_url(db_url))
    got = _run(db, t0, keys=True)
    assert got[0] == reference[0]  # the same changes, promise ids included
    assert got[1] == reference[1]  # the same rows and histories
    assert [c.promise.key for c in got[0] if str(c.action) == "created"][-1] == "call:in-7:missed"
    actions = {str(c.action) for c in got[0]}
    assert {"created", "merged", "unreturnable", "kept", "broken", "late_callback"} <= actions
    db.dispose()


def test_a_promise_is_written_before_any_statement_that_could_see_it(pg: Engine, t0: float) -> None:
    db = pg
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=3600.0)
    calls = _calls(t0)
    with engine.batch(keys=engine.batch_keys(calls)):
        batch = engine._batch
        assert batch is not None and engine._deferred is not None

        def stored() -> int:
            return int(batch.execute(select(func.count()).select_from(promises)).scalar_one())

        made = engine.on_call(calls[0])  # a new number: made, not written yet
        assert [str(c.action) for c in made] == ["created"] and stored() == 0
        engine.on_call(calls[1])
        assert stored() == 0
        joined = engine.on_call(calls[2])  # to in-1's number: in-1 (and in-2) written first
        assert [str(c.action) for c in joined] == ["merged"] and stored() == 2
        assert joined[0].promise.id == made[0].promise.id and joined[0].promise.misses == 2
        engine.on_call(calls[3])
        assert stored() == 3  # in-4 (no number): written the usual way
        engine.on_call(calls[4])
        assert stored() == 3  # in-5 waits
        assert engine.by_key("call:in-5:missed") is not None  # a read: everything written
        assert stored() == 4
    ids = [r[0] for r in _ledger(db)[0]]
    assert ids == sorted(ids) and len(ids) == 4


def test_ids_come_from_the_sequence_in_the_order_promises_are_made(pg: Engine, t0: float) -> None:
    db = pg
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=0.0)
    calls = _calls(t0)
    with engine.batch(keys=engine.batch_keys(calls)):
        made = [c for call in calls[:5] for c in engine.on_call(call)]
    with engine.batch():  # a later batch, made one at a time: the sequence went on
        later = engine.on_call(calls[6])
    created = [c.promise.id for c in made if str(c.action) == "created"]
    assert created == sorted(created) == list(range(created[0], created[0] + len(created)))
    assert later[0].promise.id > created[-1]


def test_a_key_made_meanwhile_fails_the_batch_whole(pg: Engine, t0: float) -> None:
    db = pg
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=3600.0)
    other = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=3600.0)
    calls = _calls(t0)
    with pytest.raises(StoreError, match="IntegrityError"):
        with engine.batch(keys=engine.batch_keys(calls)):
            assert engine.on_call(calls[0])  # checked unknown when the batch began
            assert other.on_call(calls[0])  # another writer makes it first (committed)
    assert [r[1] for r in _ledger(db)[0]] == ["call:in-1:missed"]  # the other writer's only


def test_nothing_is_deferred_without_keys_or_on_sqlite(db_url: str, t0: float) -> None:
    db = open_database(normalise_url(db_url))
    with db.begin() as conn:
        assert DeferredPromises.start(conn, ()) is None
        deferred = DeferredPromises.start(conn, ["call:x:missed"])
        assert (deferred is None) == (db.dialect.name == "sqlite")
    db.dispose()
