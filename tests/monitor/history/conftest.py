"""History test fixtures: the shared testkit (large transcripts, child-process RSS probe) made
importable as ``history_testkit``, and the PostgreSQL fixtures (``pg_cluster``, ``db_url``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


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


_kit = _load("history_testkit")
_pg = _load("pg_fixture")
pg_cluster = _pg.pg_cluster
db_url = _pg.db_url
