"""StoreWriter: transient failures are retried in order, others dropped and counted, keyed
writes coalesce, a full queue blocks its submitter, close() reports what it could not write."""

from __future__ import annotations

import threading
import time

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


def test_transient_means_locked_or_unreachable() -> None:
    assert is_transient(_locked())
    assert not is_transient(StoreError("NOT NULL constraint failed"))
    assert not is_transient(ValueError("bug"))


def test_locked_writes_are_retried_in_order_then_made_once() -> None:
    done: list[int] = []
    fails = {"left": 3}

    def write(i: int) -> None:
        if i == 0 and fails["left"]:
            fails["left"] -= 1
            raise _locked()
        done.append(i)

    writer = StoreWriter(retry_first=0.01, retry_max=0.02)
    for i in range(5):
        writer.submit(f"w{i}", lambda i=i: write(i))
    assert writer.flush(5)
    assert done == [0, 1, 2, 3, 4]
    assert writer.retries == 3 and writer.state == "ok" and writer.written == 5
    writer.close()


def test_a_write_that_can_never_succeed_is_dropped_and_counted() -> None:
    done: list[str] = []
    writer = StoreWriter()

    def bad() -> None:
        raise StoreError("NOT NULL constraint failed")

    writer.submit("bad", bad)
    writer.submit("good", lambda: done.append("good"))
    assert writer.flush(5)
    assert done == ["good"] and writer.failed == 1 and writer.state == "ok"
    writer.close()


def test_keyed_writes_coalesce_while_waiting() -> None:
    gate = threading.Event()
    ran: list[str] = []
    writer = StoreWriter()
    writer.submit("block", gate.wait)
    for _ in range(10):
        writer.submit("advance", lambda: ran.append("advance"), key="advance")
    assert writer.pending == 2
    gate.set()
    assert writer.flush(5)
    assert ran == ["advance"]
    writer.close()


def test_full_queue_blocks_the_submitter_until_there_is_room() -> None:
    gate = threading.Event()
    writer = StoreWriter(max_pending=2)
    writer.submit("block", gate.wait)
    writer.submit("second", lambda: None)
    submitted = threading.Event()
    t = threading.Thread(target=lambda: (writer.submit("third", lambda: None), submitted.set()))
    t.start()
    assert not submitted.wait(0.3)  # no room: it waits, nothing is dropped
    gate.set()
    assert submitted.wait(5)
    t.join(5)
    assert writer.flush(5) and writer.written == 3 and writer.blocked == 1
    writer.close()


def test_close_gives_up_on_a_store_that_stays_locked_and_says_how_much() -> None:
    def locked() -> None:
        raise _locked()

    writer = StoreWriter(retry_first=0.01, retry_max=0.05)
    writer.submit("call 1", locked)
    writer.submit("call 2", lambda: None)
    t0 = time.monotonic()
    assert writer.close(timeout=0.3) == 2
    assert time.monotonic() - t0 < 2.0
    assert writer.health()["state"] == "degraded"


def test_max_pending_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_pending"):
        StoreWriter(max_pending=0)
