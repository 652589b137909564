"""The pipeline's per-call state is bounded by the calls still open (issue 20 item 8): a call
whose every leg joined another call (its linkedid changed: a Local channel, a transfer) is
dropped by the tracker without a record, and the pipeline forgets its live-rule state too;
over simulated hours, nothing per call outlives its call and the metric series stop growing."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from monitor import events as ev
from monitor.agents import AgentBoard
from monitor.events import ChannelRef, ChannelState
from monitor.metrics import RingwatchMetrics
from monitor.metrics.alert_sources import metric_rules
from monitor.pipeline import Pipeline
from monitor.rules import load_rules
from monitor.simulator import ContactCentre, default_config
from monitor.sinks import MetricsSink
from monitor.tracker import Tracker

RULES = load_rules(Path(__file__).parents[3] / "rules")
T0 = 1_700_000_000.0


def _chan(name: str, uid: str, link: str, context: str = "from-pstn") -> ChannelRef:
    return ChannelRef(
        name, uid, link, ChannelState.RING, "5551234567", "Caller", None, None, context,
        "8005550100",
    )  # fmt: skip


def _per_call(p: Pipeline) -> set[str]:
    return {*p._generation, *p._watch_state, *p._unsettled, *p.breaching, *p.live_findings}


def test_a_call_dissolved_into_another_leaves_no_live_rule_state() -> None:
    p = Pipeline(Tracker(), RULES)
    for n in range(200):
        a, b = f"{int(T0) + n}.{2 * n}", f"{int(T0) + n}.{2 * n + 1}"
        t = T0 + 10 * n
        caller = _chan(f"PJSIP/trunk-{n:08x}", a, a)
        local = _chan(f"Local/201@from-internal-{n:08x};2", b, b, "from-internal")
        p.feed_event(ev.ChannelCreated(t, caller))
        p.feed_event(ev.ChannelCreated(t, local))  # a call of its own, for now
        joined = _chan(local.channel, b, a, "from-internal")  # linkedid now the caller's
        p.feed_event(ev.ChannelStateChanged(t + 1, joined))
        p.feed_event(ev.ChannelHungUp(t + 2, joined, 16, ""))
        p.feed_event(ev.ChannelHungUp(t + 3, caller, 16, ""))
    assert p.stats.calls == 200 and p.tracker.calls == {}
    assert _per_call(p) == set()


def test_per_call_state_and_metric_series_stay_bounded_over_simulated_hours() -> None:
    metrics = RingwatchMetrics(
        CollectorRegistry(), ["pbx"], ["sales", "support"], metric_rules(RULES), agent_label=True
    )
    board = AgentBoard()
    p = Pipeline(Tracker(), RULES, sinks=[MetricsSink(metrics)], observers=[board])
    engine = ContactCentre(default_config(), seed=4, start=T0 + 8 * 3600)  # a working day

    def hours(n: int) -> tuple[int, int]:
        for _ in range(n):
            for _, msg in engine.run_until(engine.now + 3600):
                p.feed_message(msg)
            assert _per_call(p) <= set(p.tracker.calls), "state of a call that is gone"
            assert len(p._heap) <= 8 * (len(p.tracker.calls) + 1)
        series = sum(len(family.samples) for family in metrics.store.collect())
        return p.stats.calls, series

    calls_1, series_1 = hours(2)
    calls_2, series_2 = hours(2)
    assert calls_2 > calls_1 + 100
    assert len(p.translator.unknown) <= 64 and len(board._members) <= 60
    assert series_2 <= series_1 + 20, f"metric series {series_1} -> {series_2}"
