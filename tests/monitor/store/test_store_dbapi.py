"""The import's writes on the driver (``monitor.store.dbapi``) store exactly what SQLAlchemy
Core stores (the same column values and types, JSON text and booleans included), raise
SQLAlchemy's errors, and read back as before: on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Table, delete
from sqlalchemy.exc import DBAPIError, IntegrityError

from monitor.history.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from monitor.record import Severity
from monitor.reports.checks import write_checks, write_checks_many
from monitor.store import Store, dbapi
from monitor.store.calls_write import existing_call_ids, insert_new_calls, upsert_call
from monitor.store.history_schema import call_checks, ensure_history_schema, import_checkpoints
from monitor.store.schema import calls, findings, flags

from .conftest import _factory

T0 = _factory.T0


def _records() -> list[Any]:
    f, r = _factory.finding, _factory.record
    return [
        r("1790000000.1"),  # one flagged finding, evidence, extras
        r(
            "1790000000.2",
            findings=(
                f(flag=False, value=None, threshold=None, at=None, evidence=()),
                f("dead-air", Severity.CRITICAL, value=12.5, evidence=(("quiet", 20.0),)),
            ),
            audio=_factory.audio(),
            caller_name='O\'Brien "quoted" \\ back\tslash',
            extra={"unicode": "café ☎", "nested": {"a": [1, 2.5, None, True]}},
        ),
        r("1790000000.3", findings=(), agent=None, answered_at=None, rings=None, recording="x.wav"),
    ]


def _raw(conn: Connection, table: Table, skip: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Every row as the database holds it: PostgreSQL's text of each value, SQLite's value
    and its storage class (so 1 and 1.0, or JSON text and a blob, would differ)."""
    cols = [c.name for c in table.c if c.name not in skip]
    if conn.dialect.name == "postgresql":
        picked = ", ".join(f'"{c}"::text' for c in cols)
    else:
        picked = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
    return sorted(
        tuple(map(repr, r)) for r in conn.exec_driver_sql(f"SELECT {picked} FROM {table.name}")
    )


def _tables(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "calls": _raw(conn, calls),
        "findings": _raw(conn, findings, skip=("id",)),
        "flags": _raw(conn, flags),
        "call_checks": _raw(conn, call_checks),
    }


def _clear(conn: Connection) -> None:
    for table in (call_checks, flags, findings, calls):
        conn.execute(delete(table))


CHECKS = [("answer-within-three-rings", False), ("dead-air", True), ("greeting", True)]


def test_the_driver_inserts_write_what_core_writes(store: Store) -> None:
    ensure_history_schema(store.engine)
    records = _records()
    with store.engine.begin() as conn:  # Core: the live service's upsert, one call at a time
        for rec in records:
            upsert_call(conn, rec, T0 + 100)
            write_checks(conn, rec.call_id, CHECKS)
        core = _tables(conn)
        _clear(conn)
    with store.engine.begin() as conn:  # the import's driver-level inserts
        insert_new_calls(conn, records, T0 + 100)
        write_checks_many(conn, [(rec.call_id, CHECKS) for rec in records])
        driver = _tables(conn)
    assert driver == core
    assert len(core["findings"]) == 3 and len(core["flags"]) == 2 and len(core["call_checks"]) == 9
    # and it reads back as the same records
    assert [store.call(rec.call_id).record for rec in records] == records  # type: ignore[union-attr]


def test_a_driver_insert_raises_sqlalchemys_error_and_rolls_back(store: Store) -> None:
    rec = _records()[0]
    store.save_call(rec)
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        insert_new_calls(conn, [_records()[1], rec], T0)  # rec is stored already
    with store.engine.connect() as conn:
        assert existing_call_ids(conn, [r.call_id for r in _records()]) == {rec.call_id}
    store.save_call(_records()[1])  # the store works on afterwards
    assert store.call("1790000000.2") is not None


def test_existing_call_ids_in_slices(store: Store) -> None:
    records = [_factory.record(f"1790000000.{i}", findings=()) for i in range(1, 1202)]
    with store.engine.begin() as conn:
        insert_new_calls(conn, records, T0)
    wanted = [f"1790000000.{i}" for i in range(0, 1300, 3)]
    with store.engine.connect() as conn:
        found = existing_call_ids(conn, wanted + wanted[:10])
    assert found == {c for c in wanted if 1 <= int(c.split(".")[1]) <= 1201}


def test_write_checks_many_replaces_results_left_by_a_live_write(store: Store) -> None:
    ensure_history_schema(store.engine)
    with store.engine.begin() as conn:
        write_checks(conn, "1790000000.1", [("old-rule", True)])
        write_checks_many(conn, [("1790000000.1", CHECKS), ("1790000000.2", [])])
        got = conn.execute(call_checks.select().order_by(call_checks.c.rule)).all()
    assert [(r.call_id, r.rule, r.met) for r in got] == [("1790000000.1", *c) for c in CHECKS]


def test_a_checkpoint_is_saved_then_replaced(store: Store) -> None:
    ensure_history_schema(store.engine)
    first = Checkpoint("k1", "/a.ami", 10, "ami", "partial", 5, 3, None, 7, 1)
    done = Checkpoint("k1", "/a.ami", 10, "ami", "done", 10, 0, T0 + 0.25, 9, 2)
    with store.engine.begin() as conn:
        save_checkpoint(conn, first, T0)
        assert load_checkpoint(conn, "k1") == first
        save_checkpoint(conn, done, T0 + 1)
        save_checkpoint(conn, Checkpoint("k2", "/b", 1, "queue_log", "done", 1, 0, None, 0, 0), T0)
    with store.engine.connect() as conn:
        assert load_checkpoint(conn, "k1") == done
        rows = conn.execute(import_checkpoints.select().order_by(import_checkpoints.c.key)).all()
    assert [(r.key, r.updated_at) for r in rows] == [("k1", T0 + 1), ("k2", T0)]


def test_a_driver_error_is_the_error_core_raises(store: Store) -> None:
    """The same SQLAlchemy class (so ``StoreWriter`` retries what it retried: a locked
    database is an OperationalError) and the statement in its message."""
    sql = "SELECT nothing FROM no_such_table"
    with pytest.raises(DBAPIError) as core, store.engine.connect() as conn:
        conn.exec_driver_sql(sql)
    with pytest.raises(DBAPIError) as driver, store.engine.connect() as conn:
        dbapi.execute(conn, sql)
    assert type(driver.value) is type(core.value)
    assert type(driver.value.orig) is type(core.value.orig)
    assert sql in str(driver.value)
