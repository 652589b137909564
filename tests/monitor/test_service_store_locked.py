"""A locked store loses nothing (issue 20 item 2): with another connection holding the SQLite
write lock for longer than the busy timeout, calls that complete meanwhile (and the promises
their misses open) are queued and retried, the service reports the store ``degraded`` at
once from memory, and after the lock is released every call is stored exactly once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from sqlalchemy import func, select

from monitor.config import Config, PbxConfig, Secret
from monitor.promises.tables import promises
from monitor.record import Outcome
from monitor.service import Service
from tests.callrecord_factory import T0, record

RULES = Path(__file__).resolve().parents[2] / "rules"
BUSY = 0.3  # seconds a statement waits for the lock before "database is locked"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    cfg = Config(
        country="GB",
        pbxs=(PbxConfig(name="main", secret=Secret("x")),),
        rules_dir=RULES,
        store_url=f"sqlite:///{tmp_path / 'rw.sqlite'}",
        web_enabled=False,
    )
    svc = Service(cfg, busy_timeout=BUSY)
    yield svc
    svc.close()


def _calls(n: int) -> list:
    out = []
    for i in range(n):
        if i % 2:  # a missed call from a presentable number: it opens a callback promise
            rec = record(f"{T0:.0f}.{i}", started_at=T0 + i * 100, answered_at=None,
                         ended_at=T0 + i * 100 + 30, outcome=Outcome.ABANDONED, agent=None,
                         ring_seconds=None, rings=None, talk_seconds=None, hold_seconds=0.0,
                         hold_count=0, longest_hold_seconds=0.0, holds=(),
                         caller=f"+4416329600{i:02d}", findings=())  # fmt: skip
        else:
            rec = record(f"{T0:.0f}.{i}", started_at=T0 + i * 100, ended_at=T0 + i * 100 + 75)
        out.append(rec)
    return out


def test_calls_completed_while_the_store_is_locked_are_all_stored_once(
    service: Service, tmp_path: Path
) -> None:
    sinks = service.pipelines["main"].sinks
    locker = sqlite3.connect(tmp_path / "rw.sqlite", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        calls = _calls(6)
        for rec in calls:
            for sink in sinks:
                sink.call_completed(rec, [])
        # one attempt waited out the busy timeout; every later write was queued at once
        assert time.monotonic() - started < 3 * BUSY
        for _ in range(3):  # what the retry task does, each after its back-off
            time.sleep(max(0.0, service.writer._next_try - time.monotonic()))
            t0 = time.monotonic()
            service.writer.drain()
            assert time.monotonic() - t0 < BUSY + 0.5  # the loop waits one busy timeout
        # each call, its standard results (reports) and its promise sink
        assert service.writer.pending == 3 * len(calls)
        assert service.writer.retries >= 3  # locked for several busy timeouts
        t0 = time.monotonic()
        report = service.health_report()
        assert time.monotonic() - t0 < 0.1
        assert report["status"] == "degraded"
        store = report["components"]["store"]
        assert store["state"] == "degraded" and store["pending"] >= len(calls)
        assert "locked" in store["last_error"]
        text = generate_latest(service.registry).decode()
        assert "ringwatch_store_degraded 1.0" in text
        assert service.store.count_calls() == 0  # reads still work (WAL): nothing written yet
    finally:
        locker.execute("COMMIT")
        locker.close()
    assert service.writer.flush(10.0)
    assert service.store.count_calls() == len(calls)
    for rec in calls:
        stored = service.store.call(rec.call_id)
        assert stored is not None and stored.record.outcome == rec.outcome
    with service.store.engine.connect() as conn:
        opened = conn.execute(
            select(promises.c.source_call_id, func.count()).group_by(promises.c.source_call_id)
        ).all()
    missed = {r.call_id for r in calls if r.outcome is Outcome.ABANDONED}
    assert {cid for cid, _ in opened} == missed and all(n == 1 for _, n in opened)
    assert service.health_report()["components"]["store"]["state"] == "ok"
    assert "ringwatch_store_degraded 0.0" in generate_latest(service.registry).decode()
