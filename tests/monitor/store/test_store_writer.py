"""StoreWriter: a write is made at once while the store is healthy; a locked store queues it
and every later one (in order), retried with back-off; other failures are dropped and
counted; keyed writes coalesce; a full queue blocks; close() reports what it could not write."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from monitor.errors import StoreError
from monitor.store.writer import StoreWriter, is_transient


def _locked() -> StoreError:
    try:
        raise OperationalError("INSERT ...", {}, Exception("database is locked"))
    except OperationalError as exc:
        try:
            raise StoreError("store: saving call '1' failed: database is locked") from exc
        except StoreError as wrapped:
            return wrapped


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Db:
    """A fake store: ``locked`` makes every write fail as SQLite does."""

    def __init__(self) -> None:
        self.locked = False
        self.rows: list[int] = []

    def write(self, i: int) -> None:
        if self.locked:
            raise _locked()
        self.rows.append(i)


def _writer(clock: Clock, **kw: object) -> StoreWriter:
    return StoreWriter(monotonic=clock, wall=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def test_transient_means_locked_or_unreachable() -> None:
    assert is_transient(_locked())
    assert not is_transient(StoreError("NOT NULL constraint failed"))
    assert not is_transient(ValueError("bug"))


def test_healthy_store_is_written_at_once() -> None:
    clock, db = Clock(), Db()
    writer = _writer(clock)
    writer.submit("call 1", lambda: db.write(1))
    assert db.rows == [1] and writer.pending == 0 and writer.state == "ok"


def test_locked_store_queues_in_order_backs_off_and_recovers() -> None:
    clock, db = Clock(), Db()
    writer = _writer(clock, retry_first=0.1, retry_max=0.4)
    db.locked = True
    for i in range(4):
        writer.submit(f"call {i}", lambda i=i: db.write(i))
    assert writer.pending == 4 and writer.state == "degraded" and writer.retries == 1
    tries = []
    for _ in range(6):  # the retry task: each attempt waits for its back-off
        clock.now = writer._next_try
        writer.drain()
        tries.append(writer.retries)
    assert tries == [2, 3, 4, 5, 6, 7]  # one attempt per back-off, never a busy loop
    assert writer._delay == 0.4  # capped
    db.locked = False
    writer.submit("call 4", lambda: db.write(4))  # queued behind the others: order kept
    assert writer.flush(5)
    assert db.rows == [0, 1, 2, 3, 4] and writer.state == "ok" and writer.written == 5


def test_a_write_that_can_never_succeed_is_dropped_and_counted() -> None:
    clock, db = Clock(), Db()
    writer = _writer(clock)

    def bad() -> None:
        raise StoreError("NOT NULL constraint failed")

    writer.submit("bad", bad)
    writer.submit("good", lambda: db.write(1))
    assert db.rows == [1] and writer.failed == 1 and writer.state == "ok"


def test_keyed_writes_coalesce_while_queued() -> None:
    clock, db = Clock(), Db()
    writer = _writer(clock)
    db.locked = True
    writer.submit("call", lambda: db.write(0))
    for _ in range(10):
        writer.submit("advance", lambda: db.write(9), key="advance")
    assert writer.pending == 2
    db.locked = False
    assert writer.flush(5) and db.rows == [0, 9]


def test_full_queue_blocks_the_submitter_until_there_is_room() -> None:
    clock, db = Clock(), Db()
    writer = _writer(clock, max_pending=2)
    db.locked = True
    writer.submit("1", lambda: db.write(1))
    writer.submit("2", lambda: db.write(2))

    def unlock_later(seconds: float) -> None:
        clock.now += seconds
        if clock.now > 103:
            db.locked = False

    writer._sleep = unlock_later
    writer.submit("3", lambda: db.write(3))  # waits (retrying) until the store is back
    assert writer.blocked == 1 and clock.now > 103
    assert writer.flush(5) and db.rows == [1, 2, 3]


def test_close_gives_up_on_a_store_that_stays_locked_and_says_how_much() -> None:
    clock, db = Clock(), Db()
    writer = _writer(clock)
    db.locked = True
    writer.submit("call 1", lambda: db.write(1))
    writer.submit("call 2", lambda: db.write(2))
    start = clock.now
    assert writer.close(timeout=3.0) == 2
    assert 3.0 <= clock.now - start < 4.0
    assert writer.pending == 0 and db.rows == []


def test_max_pending_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_pending"):
        StoreWriter(max_pending=0)
