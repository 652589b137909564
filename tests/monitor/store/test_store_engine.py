"""Engine helpers: URL normalisation and the promise-tables import guard."""

from __future__ import annotations

import importlib

import pytest

from monitor.store import engine as eng


def test_normalise_url() -> None:
    assert eng.normalise_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert eng.normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert eng.normalise_url("sqlite:///x.db") == "sqlite:///x.db"
    assert eng.normalise_url("data/x.sqlite").startswith("sqlite:////")


def test_missing_promise_module_is_tolerated(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> object:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(importlib, "import_module", missing)
    assert eng._import_promise_tables() is False


def test_other_import_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str) -> object:
        raise ModuleNotFoundError("No module named 'yaml'", name="yaml")

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="yaml"):
        eng._import_promise_tables()


def test_promise_tables_are_imported() -> None:
    assert eng._import_promise_tables() is True
    assert "promises" in eng.metadata.tables
