"""Issue 14, point 6: the SQLite store (password hashes) is created readable by its owner
only, and so are its WAL and shared-memory files."""

from __future__ import annotations

import os
from pathlib import Path

from monitor.store import Store


def test_new_sqlite_store_is_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which made it 0644
    try:
        db = tmp_path / "ringwatch.sqlite"
        store = Store.open(str(db))
        store.add_user("ann", "qa", "a long password")
        files = [p for p in tmp_path.iterdir() if p.name.startswith(db.name)]
        modes = {p.name: p.stat().st_mode & 0o777 for p in files}
        store.close()
    finally:
        os.umask(old)
    assert modes["ringwatch.sqlite"] == 0o600
    assert modes.get("ringwatch.sqlite-wal", 0o600) == 0o600
    assert modes.get("ringwatch.sqlite-shm", 0o600) == 0o600
    assert len(modes) >= 2  # WAL mode: the -wal file exists while open


def test_existing_store_file_mode_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    Store.open(str(db)).close()
    db.chmod(0o640)  # an operator's choice (e.g. a backup group)
    Store.open(str(db)).close()
    assert db.stat().st_mode & 0o777 == 0o640
