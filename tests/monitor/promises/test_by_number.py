"""The promises a batch's numbers hold, read once and kept in step with the ledger's writes
(monitor/promises/by_number.py): the same answers as the database, with no statement."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine

from monitor.promises import PromiseEngine, PromiseSettings, lookups
from monitor.promises.by_number import PromisesByNumber
from monitor.promises.db import open_database
from monitor.promises.model import Promise, PromiseKind, PromiseState
from monitor.store.engine import normalise_url

from .test_deferred import _calls, _ledger


def _promise(pid: int, number: str, due: float, state: PromiseState, **kw: Any) -> Promise:
    return Promise(
        id=pid, key=f"k{pid}", kind=PromiseKind.MISSED, pbx="pbx1", number=number,
        raw_number=None, source_call_id=None, reason=None, agent=None, rule="r", made_at=0.0,
        due_at=due, state=state, closed_at=None, kept_by_call_id=None, kept_at=None,
        late_call_id=None, late_at=kw.get("late_at"), misses=1,
    )  # fmt: skip


def test_the_table_answers_as_the_queries_order_and_filter() -> None:
    a, b = "+447700900123", "+447700900124"
    rows = [
        _promise(3, a, 50.0, PromiseState.OPEN),
        _promise(1, a, 50.0, PromiseState.OPEN),
        _promise(2, a, 10.0, PromiseState.BROKEN),
        _promise(4, a, 5.0, PromiseState.BROKEN, late_at=7.0),  # reached: not unreached
        _promise(5, b, 1.0, PromiseState.KEPT),
    ]
    table = PromisesByNumber([a, b, "+15550100"], [a, "+15550199"], rows)
    assert table.covers("+15550100") and not table.covers("+15550199")
    assert table.covers(a, unreached=True) and not table.covers(b, unreached=True)
    assert not table.covers("+15550199", unreached=True)  # (not one of its numbers)
    assert [p.id for p in table.open_to(a)] == [1, 3]  # due, then id
    assert [p.id for p in table.unreached_to(a)] == [2]
    assert table.open_to(b) == [] and table.open_to("+15550100") == []
    table.saw(replace(rows[1], state=PromiseState.KEPT))  # a change replaces the copy
    table.saw(_promise(6, "+15550100", 3.0, PromiseState.OPEN))  # a new one joins
    table.saw(_promise(7, "+15550199", 3.0, PromiseState.OPEN))  # not covered: left out
    assert [p.id for p in table.open_to(a)] == [3]
    assert [p.id for p in table.open_to("+15550100")] == [6]


@pytest.fixture
def pg(pg_cluster: Any) -> Any:
    name = pg_cluster.create_db()
    db = open_database(normalise_url(pg_cluster.url(name)))
    yield db
    db.dispose()
    pg_cluster.drop_db(name)


def test_a_batch_with_its_numbers_reads_no_promise_by_number(
    pg: Engine, t0: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _calls(t0)
    ran: list[str] = []
    run = lookups.run

    def spy(conn: Any, key: Any, build: Any, values: dict[str, Any]) -> Any:
        ran.append(str(key))
        return run(conn, key, build, values)

    monkeypatch.setattr(lookups, "run", spy)
    engine = PromiseEngine(pg, PromiseSettings(country="GB"), refresh_seconds=0.0)
    numbers, callbacks = engine.batch_numbers(calls)
    assert "+447700900555" in numbers and "+447700900124" in numbers
    assert callbacks == {"+447700900124", "+447700900555"}  # out-1, out-2 dial them
    with engine.batch(keys=engine.batch_keys(calls), numbers=numbers, callbacks=callbacks):
        changes = [c for call in calls[:6] for c in engine.on_call(call)]
    assert {"created", "merged", "kept"} <= {str(c.action) for c in changes}
    assert "open_to" not in ran and "unreached_to" not in ran
    assert ran.count("returnable_to") <= 1
    ran.clear()
    with engine.batch():  # without its numbers: read by number, as before
        engine.on_call(calls[7])
    assert "open_to" in ran
    assert len(_ledger(pg)[0]) == 4
