"""Issue 19, item 7: ``ringwatch run`` samples the closed weeks for QA when
``qa.sample_per_agent_per_week`` is set (and not otherwise); ``ringwatch import`` samples the
weeks it brought in."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from monitor.config import Config, PbxConfig, Secret
from monitor.service import Service
from monitor.store import Store
from monitor.store.sampling import SampleResult, week_of
from tests.callrecord_factory import T0, record

REPO = Path(__file__).resolve().parents[2]


class _Signalling(Store):
    """A store that says when a sampling run finished (the loop runs it in a thread)."""

    runs: list[SampleResult]
    done: tuple[asyncio.AbstractEventLoop, asyncio.Event]

    def sample_calls(self, *args: Any, **kwargs: Any) -> SampleResult:
        try:
            result = super().sample_calls(*args, **kwargs)
            self.runs.append(result)
            return result
        finally:
            loop, event = self.done
            loop.call_soon_threadsafe(event.set)


def _seed(url: str) -> None:
    from zoneinfo import ZoneInfo

    end = week_of(T0, ZoneInfo("UTC"))[2]
    store = Store.open(url)
    try:
        for i in range(4):
            store.save_call(record(f"a{i}", agent="alice", started_at=T0 + i * 60, findings=()))
        store.save_call(record("later", agent="bob", started_at=end + 86400, findings=()))
    finally:
        store.close()


def _config(tmp_path: Path, per_week: int) -> Config:
    return Config(
        pbxs=(PbxConfig(name="main", secret=Secret("x")),),
        rules_dir=REPO / "rules",
        store_url=f"sqlite:///{tmp_path / 'rw.sqlite'}",
        web_enabled=False,
        qa_sample_per_agent_per_week=per_week,
    )


def test_the_service_samples_closed_weeks_at_start(tmp_path: Path) -> None:
    cfg = _config(tmp_path, 2)
    _seed(cfg.store_url)
    service = Service(cfg)

    async def main() -> None:
        stop = asyncio.Event()
        store = _Signalling.open(cfg.store_url)
        store.runs, store.done = [], (asyncio.get_running_loop(), stop)
        service.store.close()
        service.store = store
        await asyncio.wait_for(service.run(stop, collect=False), 30)

    try:
        asyncio.run(main())
        runs = service.store.runs  # type: ignore[attr-defined]
        assert len(runs) == 1 and runs[0].picked == 2
        marks = service.store.queue_marks(f"a{i}" for i in range(4))
        assert len(marks) == 2 and all(m.sample for m in marks.values())
    finally:
        service.close()


def test_no_sampling_unless_configured(tmp_path: Path) -> None:
    cfg = _config(tmp_path, 0)
    service = Service(cfg)

    async def main() -> None:
        stop = asyncio.Event()
        tasks: list[str] = []

        def ready(_: Service) -> None:
            tasks.extend(t.get_name() for t in asyncio.all_tasks())
            stop.set()

        await asyncio.wait_for(service.run(stop, collect=False, on_ready=ready), 30)
        assert "qa" not in tasks and "retention" in tasks

    try:
        asyncio.run(main())
    finally:
        service.close()


def test_import_samples_the_weeks_it_brought_in(tmp_path: Path, capsys: Any) -> None:
    from sqlalchemy import func, select

    from monitor.cli.main import main
    from monitor.store.qa_tables import qa_samples

    log = REPO / "tests/fixtures/queue_log/logvisualiserkata-freepbx-ast1.4-2010.queue_log"
    db = tmp_path / "rw.sqlite"
    store = Store.open(f"sqlite:///{db}")
    try:  # a call two weeks later: the imported week (22 Feb 2010) is over by event time
        store.save_call(record("later", agent="zed", started_at=1_268_000_000.0, findings=()))
    finally:
        store.close()
    cfg = tmp_path / "ringwatch.yml"
    cfg.write_text("qa:\n  sample_per_agent_per_week: 1\n")
    args = ["import", "--config", str(cfg), "--store", str(db), "--no-rules", "--quiet", str(log)]
    assert main(args) == 0
    err = capsys.readouterr().err
    store = Store.open(f"sqlite:///{db}")
    try:
        with store.engine.connect() as conn:
            per_agent = dict(
                conn.execute(
                    select(qa_samples.c.agent, func.count()).group_by(qa_samples.c.agent)
                ).all()
            )
        assert per_agent and set(per_agent.values()) == {1}, per_agent
        assert f"{sum(per_agent.values())} calls sampled for QA" in err
        assert main(args) == 0  # importing again picks nothing more
        assert "0 calls sampled for QA" in capsys.readouterr().err
    finally:
        store.close()
