"""The live service stores each call's standard results for the reports (ChecksSink)."""

from __future__ import annotations

from pathlib import Path

from history_testkit import QUEUE
from sqlalchemy import select

from monitor.pipeline import Pipeline
from monitor.replay import replay
from monitor.reports.checks import ChecksSink
from monitor.rules import load_rules
from monitor.sinks import StoreSink
from monitor.store.history_schema import call_checks
from monitor.store.store import Store
from monitor.tracker import Tracker, TrackerSettings

ROOT = Path(__file__).parents[3]


def test_live_calls_get_their_checks_stored(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "live.sqlite"))
    sink = ChecksSink(store)
    pipe = Pipeline(
        Tracker(TrackerSettings()), load_rules(ROOT / "rules"), sinks=[StoreSink(store), sink]
    )
    (record,) = list(replay([QUEUE], pipeline=pipe))
    with store.engine.connect() as conn:
        rows = dict(conn.execute(select(call_checks.c.rule, call_checks.c.met)).all())
    # 21 s to a person at the US 6 s cadence: four rings, the three-rings standard breached
    assert rows["answer-within-three-rings"] is False
    assert any(rows.values())  # and the others it applied to were met
    assert {f.rule for f in record.findings} == {r for r, met in rows.items() if not met}
    list(
        replay(
            [QUEUE],
            pipeline=Pipeline(Tracker(TrackerSettings()), load_rules(ROOT / "rules"), sinks=[sink]),
        )
    )
    with store.engine.connect() as conn:  # saved again: replaced, not doubled
        assert len(conn.execute(select(call_checks)).all()) == len(rows)
