"""The audio pool stops before the interpreter exits (a clean Ctrl-C printed
``OSError: [Errno 9] Bad file descriptor`` from concurrent.futures when its manager thread was
still closing the wake-up pipe at exit; seen in the fresh-install demo test)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor

from monitor.service_wiring import stop_pool


def test_stop_pool_waits_for_the_manager_thread() -> None:
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    assert pool.submit(abs, -3).result(timeout=60) == 3
    manager = pool._executor_manager_thread  # type: ignore[attr-defined]
    assert manager is not None and manager.is_alive()
    assert stop_pool(pool, timeout=30.0)
    assert not manager.is_alive()


def test_a_pool_that_never_started_stops_at_once() -> None:
    assert stop_pool(ProcessPoolExecutor(1), timeout=0.1)


def test_no_traceback_at_exit_after_stop_pool() -> None:
    """Twenty interpreters that use a pool and exit straight after stopping it: never a
    traceback on stderr (the race needs exit right after a non-waiting shutdown)."""
    code = textwrap.dedent(
        """
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from monitor.service_wiring import stop_pool
        if __name__ == "__main__":
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            pool.submit(abs, -1).result(timeout=60)
            assert stop_pool(pool, timeout=30.0)
        """
    )
    for _ in range(20):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120)  # fmt: skip
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
