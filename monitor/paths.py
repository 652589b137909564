"""ringwatch's one default data directory, for every command that keeps data.

``$RINGWATCH_DATA`` when set, else ``$XDG_DATA_HOME/ringwatch``, else
``~/.local/share/ringwatch``. The default store is ``ringwatch.sqlite`` in it: the demo, ``run``
without ``store.url``, ``users`` and ``promises`` all use that one file unless told otherwise
(``--store`` / ``RINGWATCH_STORE``). Never a directory under the current one, so a command
started anywhere leaves no ``ringwatch-data`` behind. Standard library only (the CLI imports it
for every command).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "STORE_FILE", "data_dir", "default_store_path", "default_store_url"]

DATA_ENV = "RINGWATCH_DATA"
STORE_FILE = "ringwatch.sqlite"


def data_dir() -> Path:
    """The data directory (absolute; not created here)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().absolute()
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # the XDG spec: a relative XDG_DATA_HOME is invalid and ignored
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "ringwatch"


def default_store_path() -> Path:
    """The default SQLite store: ``<data dir>/ringwatch.sqlite``."""
    return data_dir() / STORE_FILE


def default_store_url() -> str:
    return f"sqlite:///{default_store_path()}"
