"""Options shared by the commands: one ``--store`` / ``RINGWATCH_STORE`` for every command that
uses the store, and the rule for which commands may create a store.

Which store: ``--store`` (or ``RINGWATCH_STORE``), else the configuration's ``store.url``,
else the default store in the data directory (``monitor.paths``). Only ``run``, ``demo``,
``import`` and ``users add`` may create a SQLite store (``create=True``); every other command
refuses a file that does not exist, so a typo in a path is an error (exit 2), not a new empty
database. Kept free of SQLAlchemy: the store is imported only when a command opens it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from monitor.errors import StoreError
from monitor.paths import data_dir, default_store_url

if TYPE_CHECKING:
    from monitor.store import Store

__all__ = ["STORE_ENV", "check_store", "open_store", "resolve_store", "sqlite_path", "store_option"]

STORE_ENV = "RINGWATCH_STORE"
F = TypeVar("F", bound=Callable[..., object])

_STORE_HELP = (
    "Store: a SQLite file or postgresql://USER:PASS@HOST/DB (env RINGWATCH_STORE). "
    "Default: the configuration's store.url if it has one, else ringwatch.sqlite in the data "
    "directory ($RINGWATCH_DATA, else $XDG_DATA_HOME/ringwatch or ~/.local/share/ringwatch)."
)


def store_option(func: F) -> F:
    """``--store URL`` (env ``RINGWATCH_STORE``) as the ``store_url`` parameter (None: unset)."""
    option = click.option(
        "--store",
        "store_url",
        envvar=STORE_ENV,
        default=None,
        metavar="PATH|URL",
        help=_STORE_HELP,
    )
    return option(func)


def resolve_store(given: str | None, configured: str | None = None) -> str:
    """``--store``/``RINGWATCH_STORE``, else the configuration's ``store.url``, else the default."""
    return given or configured or default_store_url()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite store (a plain path or ``sqlite:///...``); None for other stores
    and for an in-memory database."""
    if "://" not in url:
        return Path(url).expanduser()
    scheme, _, rest = url.partition("://")
    if scheme.split("+")[0] != "sqlite":
        return None
    # sqlite:///relative, sqlite:////absolute; query parameters are not part of the file
    name = rest[1:].split("?", 1)[0] if rest.startswith("/") else ""
    if not name or name == ":memory:":
        return None
    return Path(name).expanduser()


def check_store(url: str, *, create: bool) -> str:
    """``url`` when it may be opened: a SQLite file must exist unless ``create``; the data
    directory is made for a new store in it. Raises StoreError (exit 2) otherwise."""
    path = sqlite_path(url)
    if path is None:
        return url
    if path.is_dir():
        raise StoreError(f"store {str(path)!r} is a directory; give the SQLite file in it")
    if path.exists():
        return url
    if not create:
        raise StoreError(
            f"store {str(path)!r} does not exist; check the path (--store, RINGWATCH_STORE or "
            "store.url), or create the store first with `ringwatch users add`, `ringwatch run` "
            "or `ringwatch demo`"
        )
    if path.absolute().parent == data_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    return url


def open_store(given: str | None, *, create: bool, configured: str | None = None) -> Store:
    """The store the options name (see ``resolve_store``), checked by ``check_store``."""
    from monitor.store import Store

    return Store.open(check_store(resolve_store(given, configured), create=create))
