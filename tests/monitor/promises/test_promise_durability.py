"""Durability and replay: kill -9 mid-stream loses nothing committed; replays never duplicate."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from monitor.promises import Action, PromiseEngine, PromiseSettings, PromiseState
from monitor.promises.db import open_database
from monitor.promises.tables import promise_events, promises

HOUR = 3600.0

# The child makes promises through the engine, signals READY with what it committed (one
# line, so the parent's buffered reader and select() agree), and
# keeps writing (bounded) until the parent kills it with SIGKILL.
CHILD = r"""
import json, sys
from monitor.promises import PromiseEngine, PromiseSettings
from monitor.promises.db import open_database
from monitor.record import CallRecord, Direction, Outcome, Timing
from monitor.events import CallbackPromised, ChannelRef

url, t0 = sys.argv[1], float(sys.argv[2])
engine = PromiseEngine(open_database(url), PromiseSettings(country="GB"))

def miss(cid, caller, at):
    return CallRecord(cid, "default", Direction.INBOUND, caller, "200", "support", None, at,
                      None, at + 30, Outcome.ABANDONED, None, None, 30.0, None, 0.0, 0, 0.0,
                      0, 16, Timing.EXACT)

engine.on_call(miss("m-1", "07700 900101", t0))
engine.on_call(miss("m-2", "+447700900101", t0 + 600))          # merges into m-1's promise
engine.on_call(miss("m-3", "anonymous", t0 + 700))              # unreturnable
chan = ChannelRef("PJSIP/101-1", "1715000000.2", "1715000000.1")
engine.on_event(CallbackPromised(t0 + 800, chan=chan, number="07700900202",
                                 due_at=t0 + 2 * 3600, agent="alice", reason="quote"))
engine.promise("07700900303", t0 + 5 * 3600, made_at=t0 + 900, actor="user:bob", key="k-1")
committed = [p.to_dict() for p in engine.view("all", limit=None)]
print("READY " + json.dumps(committed), flush=True)  # one line: the signal and the data
for i in range(20000):  # until SIGKILL arrives; due after the advance() below
    engine.promise(f"07700{910000 + i}", t0 + 36000 + i, made_at=t0 + 1000 + i,
                   actor="loop", key=f"loop-{i}")
print("FINISHED", flush=True)
"""


def _read_line(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout):
            raise AssertionError(f"child said nothing within {timeout} s")
        return proc.stdout.readline()
    finally:
        sel.close()


def test_kill_9_then_restart_keeps_every_committed_promise(tmp_path: Path, t0: float) -> None:
    path = tmp_path / "crash.sqlite"
    url = f"sqlite:///{path}"
    open_database(url).dispose()  # schema first, so the child and parent agree
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, repr(t0)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        signal_word, _, payload = _read_line(proc).partition(" ")
        assert signal_word == "READY", proc.stderr.read() if proc.stderr else ""
        committed = json.loads(payload)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: the loop is writing right now
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()

    db = open_database(url)
    with db.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        orphans = conn.execute(
            select(func.count())
            .select_from(promises)
            .where(~promises.c.id.in_(select(promise_events.c.promise_id)))
        ).scalar()
    assert orphans == 0  # every promise row committed with its history, never half
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=0.0)
    by_key = {p.key: p.to_dict() for p in engine.view("all", limit=None)}
    assert len(committed) == 4
    for before in committed:
        assert by_key[before["key"]] == before
    reloaded = engine.by_key("call:m-1:missed")
    assert reloaded is not None and reloaded.misses == 2 and reloaded.number == "+447700900101"

    # the restarted engine carries on from the stored state
    changes = engine.advance(t0 + 3 * HOUR)
    assert [(c.action, c.promise.number) for c in changes] == [(Action.BROKEN, "+447700900202")]
    assert engine.by_key("cli:k-1") is None and engine.by_key("k-1") is not None


def _run_week(db: Engine, make_call, t0: float) -> list[tuple[object, ...]]:
    engine = PromiseEngine(db, PromiseSettings(country="GB"), refresh_seconds=0.0)
    outcomes = []
    for day in range(7):
        base = t0 + day * 24 * HOUR
        calls = [
            make_call(f"d{day}-a", "inbound", "abandoned", base, caller=f"0770090{day:04d}"),
            make_call(f"d{day}-b", "inbound", "abandoned", base + 60, caller=f"0770090{day:04d}"),
            make_call(f"d{day}-c", "inbound", "unanswered", base + 120, caller="anonymous"),
            make_call(f"d{day}-d", "inbound", "voicemail", base + 180, caller=f"0770091{day:04d}"),
        ]
        if day % 2 == 0:  # returned on even days, three hours later
            calls.append(
                make_call(
                    f"d{day}-o",
                    "outbound",
                    "answered",
                    base + 3 * HOUR,
                    dialed=f"+44770090{day:04d}",
                    answer=base + 3 * HOUR + 10,
                )
            )
        for call in calls:
            outcomes += [(c.action, c.at, c.promise.key) for c in engine.on_call(call)]
        outcomes += [(c.action, c.at, c.promise.key) for c in engine.advance(base + 12 * HOUR)]
    outcomes += [(c.action, c.at, c.promise.key) for c in engine.advance(t0 + 10 * 24 * HOUR)]
    return outcomes


def _snapshot(db: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with db.connect() as conn:
        rows = conn.execute(select(promises).order_by(promises.c.id)).all()
        events = conn.execute(select(promise_events).order_by(promise_events.c.id)).all()
    return [tuple(r) for r in rows], [tuple(e) for e in events]


def test_same_sequence_twice_makes_no_duplicates(tmp_path: Path, make_call, t0: float) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'twice.sqlite'}")
    first = _run_week(db, make_call, t0)
    after_first = _snapshot(db)
    second = _run_week(db, make_call, t0)  # a new engine: as after a restart, same transcript
    assert second == []  # nothing new: every source key already recorded
    assert _snapshot(db) == after_first
    counts = PromiseEngine(db).counts_by_state()
    assert counts == {"open": 0, "kept": 4, "broken": 10, "cancelled": 0, "unreturnable": 7}
    assert sum(1 for a, _, _ in first if a is Action.MERGED) == 7


def test_replay_reproduces_the_same_outcomes(tmp_path: Path, make_call, t0: float) -> None:
    one = open_database(f"sqlite:///{tmp_path / 'a.sqlite'}")
    two = open_database(f"sqlite:///{tmp_path / 'b.sqlite'}")
    assert _run_week(one, make_call, t0) == _run_week(two, make_call, t0)
    assert _snapshot(one) == _snapshot(two)
    broken = [p for p in PromiseEngine(one).broken()]
    assert broken and all(p.closed_at == p.due_at for p in broken)
    assert all(p.state is PromiseState.BROKEN for p in broken)


def test_a_new_sqlite_file_from_the_promises_cli_is_private(tmp_path: Path) -> None:
    from monitor.promises.db import open_database

    path = tmp_path / "ledger.sqlite"
    open_database(f"sqlite:///{path}").dispose()
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o640)  # an existing file keeps the mode its operator chose
    open_database(f"sqlite:///{path}").dispose()
    assert path.stat().st_mode & 0o777 == 0o640
