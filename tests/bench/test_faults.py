"""The fault harness, short form (issue 20; the long form is ``make bench`` / bench/faults.py):
the real service process against the simulator through a proxy, with a PBX restart, a
black-holed link, kill -9 of the service, a locked store, an overload burst and 10,000 overdue
promises, in about a minute."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.faults import SHORT, run  # noqa: E402


def test_faults_lose_no_call_and_recover_in_time(tmp_path: Path) -> None:
    r = run(SHORT, tmp_path)
    where = f"figures: {r}; logs in {tmp_path}"
    print(where)  # pytest -s shows the figures
    assert r.reconnect_seconds is not None and r.reconnect_seconds < 2.0, where
    assert r.blackhole_detect_seconds is not None and r.blackhole_detect_seconds < 10.0, where
    assert r.kill9_back_seconds is not None, where
    assert r.checkable_calls >= 10, where
    assert r.lost == 0 and r.doubled == 0, where
    assert r.lock_window_lost == 0, where
    assert r.healthz_max_ms_locked is not None and r.healthz_max_ms_locked < 1000, where
    assert r.overload_reconnects == 0 and r.shed_exposed, where
    assert r.overdue_gauge is not None and r.overdue_gauge >= SHORT.overdue, where
