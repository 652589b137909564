"""Data migrations run once per database by ``Store.open`` (recorded in ``schema_migrations``).

``scrub-leaked-session-tokens`` (issue 14): before the fix, ``POST /api/promises`` stored the
whole login object (its text holds the session and CSRF tokens) in ``promises.agent`` and in
``promise_events.actor``. The migration rewrites every such value to the user's name (or
``redacted`` when no name can be read from it) and ends every session, so a token that was
read before the upgrade opens nothing afterwards.

``reviews-answers-and-calibration`` (issue 19): adds ``reviews.kind`` (``review`` for every
existing row), ``reviews.calibrates`` and ``reviews.answers`` to a store made before them
(``create_all`` makes new tables, never new columns). Existing reviews keep their checklist;
they have no prefill or override reasons (``answers`` is null).

``import-checkpoints-64-bit`` (issue 18): ``import_checkpoints`` counted bytes and events in
32-bit integers, so on PostgreSQL an import failed ("integer out of range") once it had read
2 GiB of one file. The columns become BIGINT there (SQLite's integers are 64-bit already).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Table,
    delete,
    inspect,
    select,
    text,
    update,
)

from monitor.store.reviews import write_audit
from monitor.store.schema import reviews, schema_migrations, sessions
from monitor.store.users import NAME_PATTERN

__all__ = ["CHECKPOINT_COUNTS", "MIGRATIONS", "REDACTED", "leaked_name", "looks_leaked", "upgrade"]

REDACTED = "redacted"

# The text of the old ``Principal``: "Principal(user=User(name='admin1', role=...), csrf='…',
# token='…')", possibly behind an actor prefix such as "user:".
_LEAK = re.compile(r"(?:csrf|token)\s*=|Principal\(|User\(")
_NAME = re.compile(r"User\(name=(['\"])(?P<name>[^'\"]{1,64})\1")


def looks_leaked(value: str | None) -> bool:
    """True when a stored name is the text of a login object rather than a name."""
    return value is not None and _LEAK.search(value) is not None


def leaked_name(value: str) -> str:
    """The user name inside a leaked login object's text, or ``REDACTED``."""
    m = _NAME.search(value)
    if m is not None and NAME_PATTERN.match(m.group("name")):
        return m.group("name")
    return REDACTED


def _scrub_column(conn: Connection, table: Table, key: str, column: str, prefix: str) -> int:
    col = table.c[column]
    rows = conn.execute(
        select(table.c[key], col).where(
            col.like("%token=%") | col.like("%csrf=%") | col.like("%Principal(%")
        )
    ).all()
    changed = 0
    for row_key, value in rows:
        if not looks_leaked(value):
            continue
        name = leaked_name(value)
        clean = f"{prefix}{name}" if prefix and name != REDACTED else name
        conn.execute(update(table).where(table.c[key] == row_key).values({column: clean}))
        changed += 1
    return changed


def _scrub_leaked_session_tokens(conn: Connection, now: float) -> None:
    from monitor.promises.tables import promise_events, promises

    names = set(inspect(conn).get_table_names())
    scrubbed = 0
    if "promises" in names:
        scrubbed += _scrub_column(conn, promises, "id", "agent", "")
    if "promise_events" in names:
        scrubbed += _scrub_column(conn, promise_events, "id", "actor", "user:")
    ended = conn.execute(delete(sessions)).rowcount
    if not scrubbed and not ended:  # a new database: nothing to tell
        return
    write_audit(
        conn,
        now,
        "system",
        "sessions_rotated",
        None,
        {"reason": "upgrade: scrub leaked session tokens", "scrubbed": scrubbed, "ended": ended},
    )


def _add_columns(conn: Connection, table: Table, names: tuple[str, ...]) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN`` each of ``names`` the table lacks (as declared on
    ``table``: type, NOT NULL with its server default); returns those added."""
    have = {c["name"] for c in inspect(conn).get_columns(table.name)}
    added = []
    for name in names:
        if name in have:
            continue
        col = table.c[name]
        ddl = f"ALTER TABLE {table.name} ADD COLUMN {name} {col.type.compile(conn.dialect)}"
        default = col.server_default
        if default is not None:
            value = str(getattr(default, "arg", "")).replace("'", "''")
            ddl += f" DEFAULT '{value}'"
        if not col.nullable:
            ddl += " NOT NULL"
        conn.execute(text(ddl))
        added.append(name)
    return added


def _review_answers_and_calibration(conn: Connection, now: float) -> None:
    _add_columns(conn, reviews, ("kind", "calibrates", "answers"))


#: the ``import_checkpoints`` columns that count bytes or events (BIGINT)
CHECKPOINT_COUNTS: tuple[str, ...] = ("size", "offset", "resume_offset", "events", "calls")


def _import_checkpoints_64_bit(conn: Connection, now: float) -> None:
    if conn.dialect.name != "postgresql":
        return  # SQLite: an INTEGER holds 64 bits
    have = {c["name"]: c["type"] for c in _columns(conn, "import_checkpoints")}
    quote = conn.dialect.identifier_preparer.quote
    narrow = [n for n in CHECKPOINT_COUNTS if n in have and not isinstance(have[n], BigInteger)]
    if narrow:  # (no table yet: it is made with BIGINT columns)
        alter = ", ".join(f"ALTER COLUMN {quote(n)} TYPE BIGINT" for n in narrow)
        conn.execute(text(f"ALTER TABLE import_checkpoints {alter}"))


def _columns(conn: Connection, table: str) -> list[Any]:
    """The table's columns as the database has them (none when it has no such table)."""
    if not inspect(conn).has_table(table):
        return []
    return list(inspect(conn).get_columns(table))


MIGRATIONS: tuple[tuple[str, Callable[[Connection, float], None]], ...] = (
    ("scrub-leaked-session-tokens", _scrub_leaked_session_tokens),
    ("reviews-answers-and-calibration", _review_answers_and_calibration),
    ("import-checkpoints-64-bit", _import_checkpoints_64_bit),
)


def upgrade(engine: Engine, now: float) -> list[str]:
    """Run every migration this database has not had yet, each in its own transaction;
    returns the names of those run."""
    done: list[str] = []
    for name, step in MIGRATIONS:
        with engine.begin() as conn:
            seen = conn.execute(
                select(schema_migrations.c.name).where(schema_migrations.c.name == name)
            ).first()
            if seen is not None:
                continue
            step(conn, now)
            conn.execute(schema_migrations.insert().values(name=name, applied_at=now))
        done.append(name)
    return done
