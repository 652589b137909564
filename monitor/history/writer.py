"""Where an import's batches are written: in the importer's process, or in a writer process.

A history import is two kinds of work: reading (parse, translate, track, rules: CPU in
Python) and storing (the promise ledger, the inserts, the database's own work). With a second
core the store work runs beside the reading in a forked child (:class:`ProcessWriter`): the
main loop hands each batch over a pipe and goes on reading. Batches are written in the order
they were made, each with its checkpoints, exactly as :class:`InlineWriter` writes them in
process, so the result and the resume points are the same either way; batches that queued up
while the writer was busy are written together (``BatchStore.write_many``: the same rows, in
fewer transactions), so a slower store catches up.

The pipe holds at most the batch being written and the next one: a main loop faster than the
store waits for it (memory stays flat). The child ignores SIGINT: after Ctrl-C the importer
hands over its last partial batch and waits until everything handed over is written. An error
in the child is raised again in the importer (the exception itself when it can be pickled,
else a StoreError with its text); a child that dies is a StoreError naming its exit code.

Fork is used (Linux): the child starts in milliseconds with the importer's store, ledger and
settings as they are; it is not used for an in-memory SQLite store (the child's copy would be
lost), without ``fork``, or while other threads run (fork copies only the calling thread).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from multiprocessing.connection import Connection
from typing import Protocol

from monitor.errors import StoreError
from monitor.history.batch_store import Batch, BatchStore, WriteCounts

__all__ = ["BatchWriter", "InlineWriter", "ProcessWriter", "fork_possible", "make_writer"]


class BatchWriter(Protocol):
    """Takes batches in order; ``counts`` is what has been written so far."""

    @property
    def counts(self) -> WriteCounts: ...

    @property
    def busy(self) -> bool:
        """A batch handed over is still being written (the store is the slower side now)."""

    def submit(self, batch: Batch) -> None: ...

    def close(self, *, quiet: bool = False) -> None:
        """Wait until every batch submitted is written; raises the writer's error if any,
        unless ``quiet`` (an error is already on its way up)."""


class InlineWriter:
    """Writes each batch at once, in this process."""

    def __init__(self, target: BatchStore) -> None:
        self.target = target

    @property
    def counts(self) -> WriteCounts:
        return self.target.counts

    @property
    def busy(self) -> bool:
        return False  # each batch is written before submit returns

    def submit(self, batch: Batch) -> None:
        self.target.write(batch)

    def close(self, *, quiet: bool = False) -> None:
        return None


def fork_possible(target: BatchStore) -> tuple[bool, str]:
    """Whether a forked writer can be used here, and why not."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return False, "this platform cannot fork"
    url = target.store.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return False, "an in-memory SQLite store lives in this process only"
    if threading.active_count() > 1:
        return False, "other threads run in this process"
    return True, ""


def make_writer(target: BatchStore, process: bool) -> BatchWriter:
    """A ProcessWriter when ``process`` and possible, else an InlineWriter."""
    if process and fork_possible(target)[0]:
        return ProcessWriter(target)
    return InlineWriter(target)


_STOP = b""
_COALESCE = 16


class ProcessWriter:
    """Writes batches in a forked child, one at a time, in order."""

    def __init__(self, target: BatchStore) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe(duplex=True)
        self._counts = WriteCounts()
        self._submitted = 0  # batches handed over (the child's counts say how many it wrote)
        self._error: BaseException | None = None
        self._failed = False  # the writer's error or death was raised already
        self._closed = False
        self._process = ctx.Process(
            target=_child_main,
            args=(child, target),
            name="ringwatch-import-writer",
            daemon=True,  # never outlives an importer that is killed
        )
        self._process.start()
        child.close()

    @property
    def counts(self) -> WriteCounts:
        self._drain(block=False)
        return self._counts

    @property
    def busy(self) -> bool:
        self._drain(block=False)
        return self._counts.batches < self._submitted

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def submit(self, batch: Batch) -> None:
        if self._closed:
            raise StoreError("import writer: a batch was submitted after close")
        self._drain(block=False)
        self._raise_error()
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        self._submitted += 1
        try:
            self._conn.send_bytes(data)  # blocks while the child writes the one before
        except (BrokenPipeError, ConnectionResetError, OSError):
            self._drain(block=True)
            self._raise_error()
            raise self._died() from None

    def close(self, *, quiet: bool = False) -> None:
        """Hand over the end, wait for every batch to be written, then for the child."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
            self._conn.send_bytes(_STOP)  # a child that died already: its end is read below
        done = self._drain(block=True)
        self._process.join(timeout=30.0)
        if self._process.is_alive():  # pragma: no cover - a child that will not exit
            self._process.kill()
            self._process.join()
        self._conn.close()
        if quiet or self._failed:
            return
        self._raise_error()
        if not done:
            raise self._died()

    def _drain(self, block: bool) -> bool:
        """Read the child's reports: counts after each batch, an error, or the end (True)."""
        conn = self._conn
        if self._conn.closed:
            return True
        while block or conn.poll():
            try:
                kind, payload = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                return False
            if kind == "counts":
                self._counts = payload
            elif kind == "error":
                self._error = payload
                return False
            elif kind == "done":
                self._counts = payload
                return True
        return False

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._failed = True
            raise error

    def _died(self) -> StoreError:
        self._failed = True
        self._process.join(timeout=5.0)
        return StoreError(
            f"the import's writer process ended unexpectedly (exit code "
            f"{self._process.exitcode}); what it committed is kept with its checkpoint: run "
            "the same import again to resume"
        )


def _child_main(conn: Connection, target: BatchStore) -> None:
    """The writer process: batches in, counts out, until the end or an error."""
    import gc

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the importer decides what Ctrl-C means
    gc.freeze()  # what was inherited is not scanned (nor copied by the scans)
    target.after_fork()

    def send(msg: object) -> None:
        conn.send_bytes(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))

    try:
        done = False
        while not done:
            try:
                data = conn.recv_bytes()
            except EOFError:  # the importer is gone: nothing more will come
                break
            batches: list[Batch] = []
            while True:
                if data == _STOP:
                    done = True
                    break
                batches.append(pickle.loads(data))
                # batches that queued up while the last write ran are written as one (fewer
                # transactions when the store is the slower side); at most _COALESCE
                if len(batches) >= _COALESCE or not conn.poll():
                    break
                data = conn.recv_bytes()
            if batches:
                target.write_many(batches)
                send(("counts", target.counts))
        if done:
            target.counts.memory_kib = _own_memory()
            send(("done", target.counts))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the importer
        import traceback

        exc.add_note("(in the import's writer process)\n" + traceback.format_exc().rstrip())
        send(("error", _portable(exc)))
    finally:
        conn.close()
        os._exit(0)  # no atexit handlers of the parent's (pytest, click) in the child


def _own_memory() -> dict[str, int]:
    """This process's peak RSS, PSS and private memory in KiB (Linux /proc), else empty."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    out["hwm"] = int(line.split()[1])
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key == "Pss":
                    out["pss"] = int(rest.split()[0])
                elif key in ("Private_Clean", "Private_Dirty"):
                    out["private"] = out.get("private", 0) + int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return out


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a StoreError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - anything unpicklable is described instead
        return StoreError(f"import writer: {type(exc).__name__}: {exc}")
    return exc
