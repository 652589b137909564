"""Store test fixtures: the PostgreSQL cluster plugin and a Store per backend."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[2] / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_pg = _load("pg_fixture")
_factory = _load("callrecord_factory")
pg_cluster = _pg.pg_cluster
db_url = _pg.db_url

from monitor.store import Store  # noqa: E402


@pytest.fixture
def clock() -> object:
    return _factory.FakeClock()


@pytest.fixture
def store(db_url: str, clock: object) -> Iterator[Store]:
    s = Store.open(db_url, hasher=_factory.FAST_HASHER, clock=clock)  # type: ignore[arg-type]
    try:
        yield s
    finally:
        s.close()
