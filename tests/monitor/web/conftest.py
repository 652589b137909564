"""Web test fixtures: a Store per backend (SQLite, real PostgreSQL), seeded users and calls,
the app, and logged-in test clients per role."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient


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
_kit = _load("web_testkit")
_load("browser_testkit")  # for the browser tests (from browser_testkit import ...)
pg_cluster = _pg.pg_cluster
db_url = _pg.db_url

from monitor.promises import PromiseEngine  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.web import LiveNumbers, StaticLive, WebSettings, create_app  # noqa: E402

PASSWORD = _kit.PASSWORD
HOSTILE = _kit.HOSTILE
login = _kit.login


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(db_url, hasher=_factory.FAST_HASHER)
    for name, role in (("qa1", "qa"), ("qa2", "qa"), ("sup1", "supervisor"), ("admin1", "admin")):
        s.add_user(name, role, PASSWORD)
    s.add_user("agent1", "agent", PASSWORD, agent="alice")  # the agent of c1 and c3
    f = _factory
    s.save_call(
        f.record(
            "c1",
            recording="2026/c1.wav",
            audio=f.audio(),
            findings=(
                f.finding(),
                f.finding(
                    rule="no-dead-air",
                    severity=f.Severity.CRITICAL,
                    at=f.T0 + 40,
                    value=12,
                    threshold=5,
                    evidence=(("silence", 35.0),),
                    title="No dead air over 5 s",
                ),
            ),
        )
    )
    s.save_call(
        f.record("c2", caller_name=HOSTILE, started_at=f.T0 + 100, queue="sales", agent="bob")
    )
    s.save_call(f.record("c3", started_at=f.T0 + 200, findings=()))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    root = tmp_path / "recordings"
    (root / "2026").mkdir(parents=True)
    (root / "2026" / "c1.wav").write_bytes(b"RIFF" + bytes(range(256)) * 4)
    (tmp_path / "secret.wav").write_bytes(b"top secret")
    return root


@pytest.fixture
def live() -> StaticLive:
    return StaticLive(
        LiveNumbers(
            waiting_now=1,
            longest_wait_seconds=12,
            answered_within_three_rings_today=0.93,
            service_level=0.85,
            abandon_rate=0.02,
            on_hold_now=1,
            overdue_promises=0,
        )
    )


@pytest.fixture
def settings(recordings: Path) -> WebSettings:
    return WebSettings(
        recordings_dir=recordings, wallboard_interval_seconds=0.05, wallboard_stream_max_seconds=0.0
    )


@pytest.fixture
def app(store: Store, settings: WebSettings, live: StaticLive) -> object:
    from prometheus_client import CollectorRegistry, Counter

    registry = CollectorRegistry()
    Counter("ringwatch_test_total", "test counter", registry=registry).inc()
    return create_app(
        store, settings, live=live, registry=registry, promises=PromiseEngine(store.engine)
    )


@pytest.fixture
def client_for(app: object) -> Iterator[Callable[[str | None], TestClient]]:
    clients: list[TestClient] = []

    def make(user: str | None) -> TestClient:
        c = TestClient(app, base_url="http://testserver")  # type: ignore[arg-type]
        clients.append(c)
        return login(c, user) if user else c

    yield make
    for c in clients:
        c.close()
