"""Suite-wide guard: never test compiled modules older than their sources (decision 0007)."""

from __future__ import annotations

import pytest

from monitor import native


def pytest_sessionstart(session: pytest.Session) -> None:
    if native.pure_python_requested():
        return
    stale = native.stale_modules()
    if stale:
        raise pytest.UsageError(
            f"compiled modules older than their .py sources: {', '.join(stale)}. They would "
            "test the old code: rebuild with `make venv` (or `pip install -e .`), or run with "
            "RINGWATCH_PURE_PYTHON=1 to test the sources."
        )
