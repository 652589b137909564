"""Failed-login counts in the store (``login_failures``), so every web process on one store
shares one back-off budget (``monitor.web.throttle.StoredLoginThrottle``).

Each function runs in the caller's transaction. ``count_failure`` is one upsert, so two
processes counting at once both count (on PostgreSQL the row is locked until commit; SQLite
takes its write lock).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, case, delete, func, select, update

from monitor.store.calls_write import insert_for
from monitor.store.schema import login_failures

__all__ = ["clear", "count_failure", "lock", "locked_until", "prune"]

_T = login_failures


def locked_until(conn: Connection, keys: Sequence[str]) -> float:
    """The latest lock end of ``keys`` (0.0: none is locked or known)."""
    found = conn.execute(select(func.max(_T.c.locked_until)).where(_T.c.key.in_(keys))).scalar()
    return float(found or 0.0)


def count_failure(conn: Connection, key: str, now: float, forget_seconds: float) -> int:
    """One more failure for ``key`` at ``now`` (the count starts again after
    ``forget_seconds`` without one); returns the count."""
    stmt = insert_for(conn)(_T).values(key=key, failures=1, last=now, locked_until=0.0)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_T.c.key],
        set_={
            "failures": case(
                (stmt.excluded.last - _T.c.last > forget_seconds, 1),
                else_=_T.c.failures + 1,
            ),
            "last": stmt.excluded.last,
        },
    )
    conn.execute(stmt)
    return int(conn.execute(select(_T.c.failures).where(_T.c.key == key)).scalar_one())


def lock(conn: Connection, key: str, until: float) -> None:
    conn.execute(update(_T).where(_T.c.key == key).values(locked_until=until))


def clear(conn: Connection, key: str) -> None:
    conn.execute(delete(_T).where(_T.c.key == key))


def prune(conn: Connection, now: float, forget_seconds: float) -> int:
    """Forget keys with no failure for ``forget_seconds`` and no lock left; how many."""
    gone = delete(_T).where(_T.c.last < now - forget_seconds, _T.c.locked_until <= now)
    return int(conn.execute(gone).rowcount or 0)
