"""Import checkpoints: which file was read how far, so a stopped import resumes.

A file is known by its identity (size and a hash of its first 64 KiB:
:class:`~monitor.history.source.FileIdentity`), not its path, so a rotated or moved file is
still recognised. ``status`` is ``done`` once the whole file was imported (importing it again
reads nothing), else ``partial`` with ``resume_offset``: a content offset before the start of
every call that was still open when the checkpoint was written (docs/import.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection, Insert, bindparam, select

from monitor.store import dbapi
from monitor.store.calls_write import insert_for
from monitor.store.history_schema import import_checkpoints

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    key: str
    path: str
    size: int
    format: str
    status: str
    offset: int
    resume_offset: int
    last_event_at: float | None
    events: int
    calls: int

    @property
    def done(self) -> bool:
        return self.status == "done"


def load_checkpoint(conn: Connection, key: str) -> Checkpoint | None:
    row = (
        conn.execute(select(import_checkpoints).where(import_checkpoints.c.key == key))
        .mappings()
        .first()
    )
    if row is None:
        return None
    return Checkpoint(**{k: row[k] for k in Checkpoint.__slots__})


def save_checkpoint(conn: Connection, cp: Checkpoint, now: float) -> None:
    values = {k: getattr(cp, k) for k in Checkpoint.__slots__}
    values["updated_at"] = now
    upsert = dbapi.prepare(conn, "save_checkpoint", partial(_upsert, conn))
    dbapi.execute(conn, upsert.sql, upsert.args(values)).close()


_COLUMNS = (*Checkpoint.__slots__, "updated_at")


def _upsert(conn: Connection) -> Insert:
    """INSERT ... ON CONFLICT (key) DO UPDATE, every column a parameter (built once)."""
    stmt = insert_for(conn)(import_checkpoints).values({k: bindparam(k) for k in _COLUMNS})
    upsert: Insert = stmt.on_conflict_do_update(
        index_elements=[import_checkpoints.c.key],
        set_={k: stmt.excluded[k] for k in _COLUMNS if k != "key"},
    )
    return upsert
