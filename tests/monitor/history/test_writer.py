"""The import's writer process (monitor/history/writer.py): the same store as writing in
process, errors and a dead writer reported, Ctrl-C handled by the importer alone."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor.config import Config, build_config
from monitor.errors import StoreError
from monitor.history import writer as writer_mod
from monitor.history.batch_store import Batch, BatchStore, WriteCounts
from monitor.history.importer import Importer
from monitor.history.wiring import build_importer
from monitor.history.writer import InlineWriter, ProcessWriter, fork_possible, make_writer
from monitor.promises.tables import promise_events, promises
from monitor.rules import load_rules
from monitor.simulator import ContactCentre, default_config, write_transcript
from monitor.store.history_schema import call_checks, import_checkpoints
from monitor.store.schema import calls, findings, flags
from monitor.store.store import Store

ROOT = Path(__file__).parents[3]
PARENT = os.getpid()


@pytest.fixture
def fork_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer process even though other tests left threads running in this pytest
    process (the importer's own rule keeps the writer in process then: fork copies only the
    calling thread). What the child does here takes no lock another thread could hold."""
    monkeypatch.setattr(writer_mod, "fork_possible", lambda target: (True, ""))


def _in_the_writer() -> None:
    """A writer-side test hook must never act in the pytest process itself."""
    if os.getpid() == PARENT:
        raise AssertionError("the batch was written in process, not by the writer process")


@pytest.fixture(scope="module")
def transcript(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "morning.ami"
    with path.open("wb") as out:
        write_transcript(ContactCentre(default_config(), seed=11), 3 * 3600.0, out)
    return path


def _cfg(url: str) -> Config:
    return build_config({"site": {"country": "GB"}, "store": {"url": url}})


def _importer(url: str, **kw: Any) -> tuple[Store, Importer]:
    store = Store.open(url)
    return store, build_importer(_cfg(url), store, load_rules(ROOT / "rules"), **kw)


def _snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row an import writes, without row ids and wall-clock bookkeeping times."""
    skip = {"id", "stored_at", "created_at", "updated_at"}
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.engine.connect() as conn:
        for table in (calls, findings, flags, call_checks, promises, promise_events):
            cols = [c for c in table.c if c.name not in skip]
            rows = conn.execute(select(*cols)).all()
            out[table.name] = sorted((tuple(map(repr, r)) for r in rows), key=str)
        cps = conn.execute(select(import_checkpoints)).mappings().all()
        out["checkpoints"] = sorted(
            (cp["status"], cp["offset"], cp["events"], cp["calls"]) for cp in cps
        )
    return out


def test_the_writer_process_stores_exactly_what_the_importer_stores_in_process(
    db_url: str, tmp_path: Path, transcript: Path, fork_allowed: None
) -> None:
    inline_store, inline = _importer(str(tmp_path / "inline.sqlite"), writer_process=False)
    one = inline.run([transcript])
    store, importer = _importer(db_url, batch_calls=25)  # many batches in flight
    two = importer.run([transcript])
    assert not one.writer_process and two.writer_process
    # with the writer process the rules judged each call there, not in the pipeline
    assert inline.pipeline.evaluate and not importer.pipeline.evaluate
    want, got = _snapshot(inline_store), _snapshot(store)
    assert len(want["calls"]) > 100 and want["findings"] and want["promise_events"]
    for table in want:
        assert got[table] == want[table], table
    for name in ("events", "calls", "calls_new", "calls_existing", "findings"):
        assert getattr(two, name) == getattr(one, name), name
    assert two.promise_changes == one.promise_changes and two.promise_changes
    store.close()
    inline_store.close()


def test_an_error_in_the_writer_is_raised_by_the_import_and_earlier_batches_stay(
    tmp_path: Path, transcript: Path, fork_allowed: None
) -> None:
    store, importer = _importer(str(tmp_path / "fails.sqlite"), batch_calls=20)
    write = importer.target.write_many
    seen: list[int] = []

    def failing(batches: list[Batch]) -> None:  # runs in the writer process (a fork)
        _in_the_writer()
        seen.append(1)
        if len(seen) == 3:
            raise ValueError("disk on fire")
        write(batches)

    importer.target.write_many = failing  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="disk on fire") as info:
        importer.run([transcript])
    assert importer.stats.writer_process
    assert any("writer process" in note for note in getattr(info.value, "__notes__", ()))
    assert not seen  # this process never wrote: the child did
    with store.engine.connect() as conn:
        stored = conn.execute(select(calls.c.call_id)).all()
        (cp,) = conn.execute(select(import_checkpoints)).mappings().all()
    # the two batches before the failure are stored, with a checkpoint to resume from
    assert 20 <= len(stored) < 200 and cp["status"] == "partial"
    store.close()


def test_a_writer_process_that_dies_is_a_store_error_saying_how_to_resume(
    tmp_path: Path, transcript: Path, fork_allowed: None
) -> None:
    store, importer = _importer(str(tmp_path / "dies.sqlite"), batch_calls=20)

    def die(batches: list[Batch]) -> None:
        _in_the_writer()
        os._exit(3)

    importer.target.write_many = die  # type: ignore[method-assign]
    with pytest.raises(StoreError, match=r"exit code 3\).*run the same import again"):
        importer.run([transcript])
    store.close()


def test_ctrl_c_reaches_the_importer_only_and_everything_handed_over_is_written(
    tmp_path: Path, transcript: Path, fork_allowed: None
) -> None:
    """SIGINT goes to the whole foreground process group: the writer ignores it, the importer
    hands over its last batch and waits for it to be written."""
    store, importer = _importer(str(tmp_path / "int.sqlite"), batch_calls=20)
    importer.checkpoint_seconds = 0.0
    pids: list[int | None] = []

    def progress(done: int, total: int, events: int) -> None:
        writer = importer._writer
        assert isinstance(writer, ProcessWriter)
        if not pids:
            pids.append(writer.pid)
            assert writer.pid is not None
            os.kill(writer.pid, signal.SIGINT)  # as a terminal's Ctrl-C would
        if events >= 4000:
            raise KeyboardInterrupt

    importer.progress = progress
    with pytest.raises(KeyboardInterrupt):
        importer.run([transcript])
    st = importer.stats
    assert st.interrupted and st.writer_process and st.calls_new > 0
    with store.engine.connect() as conn:
        stored = len(conn.execute(select(calls.c.call_id)).all())
        (cp,) = conn.execute(select(import_checkpoints)).mappings().all()
    assert stored == st.calls_new  # what the summary says is what the store holds
    assert cp["status"] == "partial" and cp["calls"] == st.calls
    # the same import again (a 4 MB file resumes from its start): the rest, nothing twice
    _, again = _importer(str(tmp_path / "int.sqlite"))
    rest = again.run([transcript])
    assert rest.calls_existing == st.calls_new and rest.calls_new > 0
    with store.engine.connect() as conn:
        assert len(conn.execute(select(calls.c.call_id)).all()) == stored + rest.calls_new
    store.close()


def test_the_writer_stays_in_process_where_a_fork_would_lose_or_break_something(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = BatchStore(Store.open("sqlite://"), None)
    ok, why = fork_possible(memory)
    assert not ok and "in-memory" in why
    assert isinstance(make_writer(memory, process=True), InlineWriter)
    on_disk = BatchStore(Store.open(str(tmp_path / "d.sqlite")), None)
    with monkeypatch.context() as only_this_thread:  # other tests may have left threads
        only_this_thread.setattr(writer_mod.threading, "active_count", lambda: 1)
        assert fork_possible(on_disk) == (True, "")
    assert isinstance(make_writer(on_disk, process=False), InlineWriter)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, args=(10.0,))
    other.start()
    try:
        ok, why = fork_possible(on_disk)
        assert not ok and "threads" in why
    finally:
        stop.set()
        other.join()


def test_a_batch_after_close_is_refused(tmp_path: Path) -> None:
    target = BatchStore(Store.open(str(tmp_path / "c.sqlite")), None)
    writer = ProcessWriter(target)
    writer.submit(Batch([], 0.0, []))
    writer.close()
    assert writer.counts.batches == 1
    with pytest.raises(StoreError, match="after close"):
        writer.submit(Batch([], 0.0, []))


def _batches_of(path: Path, transcript: Path, calls: int) -> tuple[Store, Any, list[Batch]]:
    """An import in one process into ``path``, with every batch it wrote kept."""
    store, importer = _importer(str(path), batch_calls=calls, writer_process=False)
    batches: list[Batch] = []
    write = importer.target.write

    def keep(batch: Batch) -> None:
        batches.append(batch)
        write(batch)

    importer.target.write = keep  # type: ignore[method-assign]
    stats = importer.run([transcript])
    return store, stats, batches


@pytest.mark.parametrize("group", [2, 5, 1000])
def test_batches_written_together_store_what_they_store_one_by_one(
    tmp_path: Path, transcript: Path, group: int
) -> None:
    """The writer process writes batches that queued up as one (``write_many``): the same
    rows, counts and promise history as writing each in turn."""
    one_store, stats, batches = _batches_of(tmp_path / "one.sqlite", transcript, 15)
    assert len(batches) > 5
    together_store, together = _importer(str(tmp_path / "together.sqlite"))
    for i in range(0, len(batches), group):
        together.target.write_many(batches[i : i + group])
    got = together.target.counts
    assert (got.calls, got.calls_new, got.calls_existing) == (
        stats.calls,
        stats.calls_new,
        stats.calls_existing,
    )
    assert got.findings == stats.findings and got.promise_changes == stats.promise_changes
    want, have = _snapshot(one_store), _snapshot(together_store)
    assert any("broken" in str(r) for r in want["promise_events"])  # late findings happened
    for table in want:
        assert have[table] == want[table], table


def test_a_failed_write_stores_none_of_its_ledger_calls_or_checkpoint(
    db_url: str, tmp_path: Path, transcript: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction per write: the ledger's changes commit with the calls and the
    checkpoint, or not at all (a rerun redoes the batch whole)."""
    one_store, _, batches = _batches_of(tmp_path / "one.sqlite", transcript, 40)
    store, importer = _importer(db_url, writer_process=False)
    target = importer.target
    target.write(batches[0])

    def counts() -> tuple[int, ...]:
        with store.engine.connect() as conn:
            return tuple(
                len(conn.execute(select(t)).all())
                for t in (calls, promises, promise_events, import_checkpoints)
            )

    before = counts()
    made = sum(target.counts.promise_changes.values())

    def broken(*args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("monitor.history.batch_store.insert_new_calls", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        target.write_many(batches[1:])
    assert sum(target.counts.promise_changes.values()) > made  # the ledger had changed...
    assert counts() == before  # ...and nothing of it stayed
    store.close()
    one_store.close()


@pytest.mark.parametrize("busy", [True, False])
def test_the_importer_judges_a_share_while_the_writer_is_saturated_and_stores_the_same(
    tmp_path: Path,
    transcript: Path,
    fork_allowed: None,
    monkeypatch: pytest.MonkeyPatch,
    busy: bool,
) -> None:
    """The rules' end-of-call judgement runs in the writer; while the writer is saturated at
    a flush (the store is the slower side), the importer takes an eighth more of each
    batch's calls (up to all), an eighth less while it idles. The store gets the same rows
    wherever a call is judged."""
    inline_store, inline = _importer(str(tmp_path / "inline.sqlite"), writer_process=False)
    inline.run([transcript])
    store, importer = _importer(str(tmp_path / "busy.sqlite"), batch_calls=25)
    judge = importer.target.judge
    assert judge is not None
    judged_here: list[int] = []

    def counted(*args: Any) -> Any:
        if os.getpid() == PARENT:
            judged_here.append(1)
        return judge(*args)

    importer.target.judge = counted
    monkeypatch.setattr(Importer, "_writer_saturated", lambda self: busy)
    stats = importer.run([transcript])
    assert stats.writer_process and stats.calls_new > 200
    if busy:  # 1/8, 2/8 ... of the first batches, then every call
        assert stats.calls_new - 8 * 40 < len(judged_here) < stats.calls_new
    else:
        assert judged_here == []
    want, got = _snapshot(inline_store), _snapshot(store)
    for table in want:
        assert got[table] == want[table], table
    store.close()
    inline_store.close()


def test_busy_says_whether_a_batch_handed_over_is_still_being_written(
    tmp_path: Path, fork_allowed: None
) -> None:
    store, importer = _importer(str(tmp_path / "b.sqlite"))
    gate_r, gate_w = os.pipe()
    write = importer.target.write_many

    def held(batches: list[Batch]) -> None:  # in the writer: waits for the test's word
        os.read(gate_r, 1)
        write(batches)

    importer.target.write_many = held  # type: ignore[method-assign]
    writer = ProcessWriter(importer.target)
    assert not writer.busy
    writer.submit(Batch([], None, []))
    assert writer.busy  # held in the writer until the gate opens
    os.write(gate_w, b"x")
    writer.close()
    assert not writer.busy and writer.counts.batches == 1
    assert not InlineWriter(importer.target).busy
    os.close(gate_r)
    os.close(gate_w)
    store.close()


def test_the_writer_is_saturated_when_it_was_busy_nine_tenths_of_the_time(
    tmp_path: Path,
) -> None:
    store, importer = _importer(str(tmp_path / "s.sqlite"))

    class Reports:  # what a ProcessWriter's counts say after each write
        counts = WriteCounts()
        busy = True

    writer = Reports()
    importer._writer = writer  # type: ignore[assignment]
    assert importer._writer_saturated() is True  # nothing written yet, one in hand
    seen = []
    for busy_seconds, at in ((1.0, 10.0), (1.95, 11.0), (2.5, 12.0), (3.3, 13.0)):
        writer.counts = WriteCounts(busy_seconds=busy_seconds, busy_at=at)
        seen.append(importer._writer_saturated())
    assert seen == [None, True, False, None]  # first span; 95 %, 55 %, 80 % busy
    writer.busy = False
    assert importer._writer_saturated() is False  # no write since, and idle
    store.close()
