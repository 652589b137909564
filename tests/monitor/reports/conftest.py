"""Report test fixtures: one simulated, imported store shared by the module's tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

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


_kit = _load("report_testkit")
_pg = _load("pg_fixture")
pg_cluster = _pg.pg_cluster
_load("history_testkit")
_load("browser_testkit")  # for the report page test (from browser_testkit import ...)


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(store, rules) with six simulated hours across midnight."""
    store, rules = _kit.simulated_store(tmp_path_factory.mktemp("history"))
    yield store, rules
    store.close()
