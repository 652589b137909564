"""Issue 16 item 4: one coherent timeline in the demo.

The simulator's clock starts at real now (or just after what an earlier run of the same demo
stored) and runs 10x; the service's clock (event time, reviews, sessions, promises) reads it.
A review is never stamped before the call it reviews, and a restarted demo never moves time
backwards.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from monitor.cli.run_cmd import build_demo_config, demo_start
from monitor.service import Service
from tests.callrecord_factory import record

NOW = 1_790_000_000.0


def test_a_first_demo_starts_at_real_now(tmp_path: Path) -> None:
    assert demo_start(f"sqlite:///{tmp_path / 'demo.sqlite'}", NOW) == NOW


def test_reviews_are_stamped_on_the_demo_clock_and_a_restart_goes_on_from_there(
    tmp_path: Path,
) -> None:
    cfg = build_demo_config(tmp_path, 5038, "s", 8080)
    sim_now = [NOW + 5 * 3600.0]  # the simulator ran 10x for half an hour
    service = Service(cfg, clock=lambda: sim_now[0], registry=CollectorRegistry())
    try:
        call = record("1790018000.1", started_at=NOW + 5 * 3600 - 90, ended_at=NOW + 5 * 3600 - 5)
        service.store.save_call(call)
        service.store.add_user("qa", "qa", "pw-long-enough-123")
        review = service.store.claim(call.call_id, "qa")
        # was: stamped on the wall clock, before the call began ("review closed 13:32" on a
        # call that started 13:56)
        assert review.created_at == sim_now[0] >= call.started_at
    finally:
        service.close()
    # the demo restarts a minute of real time later: its clock must not go back to real now
    restart = demo_start(cfg.store_url, NOW + 60.0)
    assert restart >= sim_now[0]
    assert restart <= sim_now[0] + 120.0
