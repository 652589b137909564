"""The service wires each PBX's agent board into its pipeline and the live view (issue 19):
a simulator call fed to the pipeline shows on ``service.live.board()``."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from monitor.config import Config, PbxConfig
from monitor.service import Service
from monitor.simulator import scripted
from monitor.simulator.wire import with_timestamp

RULES = Path(__file__).resolve().parents[2] / "rules"


def test_the_service_board_shows_agents_queues_and_calls(tmp_path: Path) -> None:
    cfg = Config(
        country="GB",
        pbxs=(PbxConfig(name="sim"),),
        rules_dir=RULES,
        store_url=f"sqlite:///{tmp_path / 'rw.sqlite'}",
        web_enabled=False,
        queues=("support", "sales"),
    )  # type: ignore[call-arg]
    service = Service(cfg, registry=CollectorRegistry())
    try:
        assert service.live.agents is service.agents and set(service.agents) == {"sim"}
        pipeline = service.pipelines["sim"]
        engine = scripted.queue_answered_with_hold(ring=9.0, talk=120.0, hold_at=20.0, hold=70.0)
        messages = engine.run_all()
        t0 = messages[0][0]
        for at, msg in messages:
            if at > t0 + 60:
                break
            pipeline.feed_message(with_timestamp(msg, at))
        board = service.live.board()
        assert [q.queue for q in board.queues] == ["sales", "support"]  # configured: a row each
        [alice] = [a for a in board.agents if a.name == "Alice Archer"]
        assert (alice.state, alice.call_queue) == ("on_call", "support")
        [hold] = board.calls
        assert hold.kind == "hold" and hold.red_at == hold.since + 60.0
        assert board.window == "last 15 min"
    finally:
        service.close()
