"""The scrape's promise gauge (issue 20 item 8): with 10,000 overdue promises a scrape runs one
aggregate query and reads one row, never the promises themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from monitor.promises import PromiseEngine
from monitor.promises.tables import promises
from monitor.store.store import Store

NOW = 1_790_000_000.0


def _rows(n: int, state: str, due: float, late_at: float | None = None) -> list[dict[str, Any]]:
    return [
        dict(
            key=f"{state}-{due}-{late_at}-{i}",
            kind="implicit",
            pbx="main",
            rule="callback",
            made_at=due - 3600,
            due_at=due,
            state=state,
            late_at=late_at,
            misses=1,
        )
        for i in range(n)
    ]


def test_outstanding_counts_are_one_aggregate_query(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'p.sqlite'}")
    with store.engine.begin() as conn:
        conn.execute(insert(promises), _rows(10_000, "broken", NOW - 86400))  # overdue
        conn.execute(insert(promises), _rows(7, "open", NOW - 60))  # open, past due: overdue
        conn.execute(insert(promises), _rows(5, "open", NOW + 3600))  # open, not yet due
        conn.execute(insert(promises), _rows(3, "broken", NOW - 86400, late_at=NOW - 10))
        conn.execute(insert(promises), _rows(4, "kept", NOW - 86400))
    engine = PromiseEngine(store.engine)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "after_cursor_execute", seen)
    counts = engine.outstanding(NOW)
    event.remove(store.engine, "after_cursor_execute", seen)
    assert counts == {"open": 5, "overdue": 10_007}
    assert len(statements) == 1
    sql = statements[0].lower()
    assert "sum(" in sql and "promises.key" not in sql and "group by" not in sql
    store.close()
