"""Table statistics while an import fills the store (monitor/store/statistics.py): ANALYZE
on PostgreSQL from the first thousand calls and each time the calls table doubles; nothing
on SQLite."""

from __future__ import annotations

from sqlalchemy import Engine

from monitor.store.statistics import IMPORT_TABLES, ImportStatistics
from monitor.store.store import Store


def _reltuples(engine: Engine) -> dict[str, float]:
    sql = "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%(names)s)"
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(sql, {"names": list(IMPORT_TABLES)}).all()
    return {str(name): float(n) for name, n in rows}


def test_the_import_tables_are_analysed_as_the_calls_table_doubles(store: Store) -> None:
    stats = ImportStatistics(store.engine, first=50)
    pg = store.engine.dialect.name == "postgresql"
    if pg:  # a new store: never analysed (-1: PostgreSQL 14 on)
        assert {"calls", "findings", "flags"} <= set(_reltuples(store.engine))
        assert max(_reltuples(store.engine).values()) < 0
    stats.written(30)
    assert stats.runs == 0  # under the first thousand (here fifty)
    stats.written(30)
    assert stats.runs == (1 if pg else 0)
    if pg:  # the statistics of every table it has: empty ones (0 rows, not -1: unknown)
        assert all(n == 0 for n in _reltuples(store.engine).values())
    stats.written(59)
    assert stats.runs == (1 if pg else 0)  # 119 < twice the 60 analysed
    stats.written(1)
    assert stats.runs == (2 if pg else 0)
