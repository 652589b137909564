"""Table statistics kept fresh while a history import fills the store (PostgreSQL).

A driver prepares a statement it runs often (psycopg: from its sixth run), and PostgreSQL
then plans it once for any parameters: with the statistics of the moment. An import into a
new or nearly empty store makes those plans while its tables are empty, so a lookup by key
is planned as a scan of the whole table, and stays one while the table grows to millions of
rows (autovacuum would refresh the statistics, but only about a minute later): measured on a
547k-event import, ``DELETE FROM call_checks WHERE call_id = ANY(...)`` took 9.4 of its 12 s
of server time. ANALYZE refreshes the statistics and makes PostgreSQL plan such statements
again; :class:`ImportStatistics` runs it each time the import has doubled the size of the
calls table since the statistics it has (from 1,000 calls on: a few times per import, each
a sample of at most 30,000 rows per table). SQLite plans each statement when it is prepared
and has no such trap: nothing is done there.
"""

from __future__ import annotations

from sqlalchemy import Engine

__all__ = ["IMPORT_TABLES", "ImportStatistics"]

#: the tables an import writes and reads back by key
IMPORT_TABLES: tuple[str, ...] = (
    "calls",
    "findings",
    "flags",
    "call_checks",
    "promises",
    "promise_events",
)


class ImportStatistics:
    """ANALYZEs :data:`IMPORT_TABLES` as an import fills the store (PostgreSQL only)."""

    def __init__(self, engine: Engine, first: int = 1000) -> None:
        self.engine = engine
        self.first = first
        self.runs = 0  # ANALYZEs made
        self._known: float | None = None  # calls in the statistics (None: not read yet)
        self._size = 0.0  # calls in the table now: the statistics' and those written since
        self._tables: list[str] = []  # those of IMPORT_TABLES the store has

    def written(self, calls: int) -> None:
        """``calls`` more calls were committed: ANALYZE when the table has doubled since its
        statistics were taken (and holds at least ``first`` calls)."""
        if self.engine.dialect.name != "postgresql":
            return
        if self._known is None:
            self._known = self._size = self._read()
        self._size += calls
        if self._tables and self._size >= max(self.first, 2.0 * self._known):
            with self.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE " + ", ".join(self._tables))
            self._known = self._size
            self.runs += 1

    def _read(self) -> float:
        """Which of the tables exist; the calls the statistics count (0: never analysed)."""
        sql = (
            "SELECT t.name, c.reltuples FROM unnest(%(names)s::text[]) AS t(name) "
            "JOIN pg_class c ON c.oid = to_regclass(t.name)"
        )
        with self.engine.connect() as conn:
            found = conn.exec_driver_sql(sql, {"names": list(IMPORT_TABLES)}).all()
        rows: dict[str, float] = {str(name): float(n) for name, n in found}
        self._tables = [t for t in IMPORT_TABLES if t in rows]
        return max(float(rows.get("calls") or 0.0), 0.0)
