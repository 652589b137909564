"""Pipeline: live findings fire at the moment the limit passes (event time), once per rule."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from monitor import events as ev
from monitor.events import ChannelRef, ChannelState
from monitor.pipeline import Pipeline
from monitor.record import CallRecord, Finding
from monitor.rules import RuleResult, Site, load_rules_text
from monitor.tracker import Tracker, TrackerSettings

T0 = 1_700_000_000.0
LINK = "1700000000.1"
CALLER = ChannelRef("PJSIP/trunk-1", LINK, LINK, ChannelState.RING, "4155550100", "A",
                    None, None, "from-pstn", "8005550100")  # fmt: skip
AGENT = ChannelRef("PJSIP/201-2", "1700000000.2", LINK, ChannelState.DOWN, "201", "Alice",
                   None, None, "ext", "201")  # fmt: skip

RULES = """
groups:
  - name: live
    rules:
      - id: answer-within-three-rings
        title: Answer within three rings
        check: rings_to_answer
        params: {max: 3, clock: arrival, answer: person}
        severity: warning
        flag: true
      - id: hold-check-back
        title: Check back on a hold within 60 s
        check: longest_hold
        params: {max: 60}
        severity: warning
        flag: true
"""


class Sink:
    def __init__(self) -> None:
        self.live: list[tuple[str, Finding]] = []
        self.done: list[CallRecord] = []

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        self.done.append(record)

    def live_finding(self, call_id: str, finding: Finding) -> None:
        self.live.append((call_id, finding))


def _up(c: ChannelRef, state: ChannelState) -> ChannelRef:
    return ChannelRef(c.channel, c.uniqueid, c.linkedid, state, c.caller_num, c.caller_name,
                      None, None, c.context, c.exten)  # fmt: skip


@pytest.fixture
def pipe() -> tuple[Pipeline, Sink]:
    sink = Sink()
    rules = load_rules_text(RULES, "live.yml")
    tracker = Tracker(TrackerSettings(pbx="t", cadence_seconds=6.0))
    return Pipeline(tracker, rules, site=Site("us"), sinks=[sink]), sink


def test_ringing_past_three_rings_fires_at_the_limit(pipe: tuple[Pipeline, Sink]) -> None:
    p, sink = pipe
    p.feed_event(ev.ChannelCreated(T0, CALLER))
    p.feed_event(ev.ChannelCreated(T0 + 1, AGENT))
    p.feed_event(ev.ChannelStateChanged(T0 + 1, _up(AGENT, ChannelState.RINGING)))
    p.advance(T0 + 17.9)
    assert sink.live == []
    p.advance(T0 + 30)  # a quiet line: the service ticks the clock forward
    ((call_id, finding),) = sink.live
    assert call_id == LINK
    assert finding.rule == "answer-within-three-rings"
    assert finding.at == pytest.approx(T0 + 18.0)  # 3 rings x 6 s after arrival
    assert finding.live
    p.advance(T0 + 60)
    assert len(sink.live) == 1  # once per rule per call


def test_hold_past_limit_fires_during_the_call_and_stays_on_the_record(
    pipe: tuple[Pipeline, Sink],
) -> None:
    p, sink = pipe
    p.feed_event(ev.ChannelCreated(T0, CALLER))
    p.feed_event(ev.ChannelCreated(T0 + 1, AGENT))
    p.feed_event(ev.ChannelStateChanged(T0 + 1, _up(AGENT, ChannelState.RINGING)))
    p.feed_event(ev.ChannelStateChanged(T0 + 5, _up(AGENT, ChannelState.UP)))
    p.feed_event(ev.HoldStarted(T0 + 20, AGENT))
    # the next event arrives long after the limit: the finding is dated at the limit
    p.feed_event(ev.HoldEnded(T0 + 100, AGENT))
    assert [f.rule for _, f in sink.live] == ["hold-check-back"]
    assert sink.live[0][1].at == pytest.approx(T0 + 80.0)
    p.feed_event(ev.ChannelHungUp(T0 + 120, CALLER, 16, ""))
    p.feed_event(ev.ChannelHungUp(T0 + 120, AGENT, 16, ""))
    (record,) = sink.done
    assert [f.rule for f in record.findings] == ["hold-check-back"]
    assert record.findings[0].value == pytest.approx(80.0)


def test_answered_in_time_raises_nothing(pipe: tuple[Pipeline, Sink]) -> None:
    p, sink = pipe
    p.feed_event(ev.ChannelCreated(T0, CALLER))
    p.feed_event(ev.ChannelCreated(T0 + 1, AGENT))
    p.feed_event(ev.ChannelStateChanged(T0 + 1, _up(AGENT, ChannelState.RINGING)))
    p.feed_event(ev.ChannelStateChanged(T0 + 7, _up(AGENT, ChannelState.UP)))
    p.advance(T0 + 300)
    p.feed_event(ev.ChannelHungUp(T0 + 301, CALLER, 16, ""))
    p.feed_event(ev.ChannelHungUp(T0 + 301, AGENT, 16, ""))
    assert sink.live == []
    assert sink.done[0].findings == ()


def test_a_breach_stops_counting_when_its_condition_ends(pipe: tuple[Pipeline, Sink]) -> None:
    # issue 16 item 2: ringwatch_live_breaches counts calls breaching *now*
    from monitor.live import LiveState

    p, sink = pipe
    live = LiveState({"t": p})
    p.sinks.append(live)
    now = lambda: live.live_snapshots()[0].live_breaches  # noqa: E731
    p.feed_event(ev.ChannelCreated(T0, CALLER))
    p.feed_event(ev.ChannelCreated(T0 + 1, AGENT))
    p.feed_event(ev.ChannelStateChanged(T0 + 1, _up(AGENT, ChannelState.RINGING)))
    p.advance(T0 + 20)
    assert now() == {"answer-within-three-rings": 1}
    p.feed_event(ev.ChannelStateChanged(T0 + 25, _up(AGENT, ChannelState.UP)))
    assert now() == {}  # answered: no longer breaching, the call is still up
    p.feed_event(ev.HoldStarted(T0 + 30, AGENT))
    p.advance(T0 + 95)
    assert now() == {"hold-check-back": 1}
    p.feed_event(ev.HoldEnded(T0 + 100, AGENT))
    assert now() == {}  # taken off hold
    p.feed_event(ev.HoldStarted(T0 + 110, AGENT))
    p.advance(T0 + 175)
    assert now() == {"hold-check-back": 1}  # a second long hold breaches again
    p.feed_event(ev.ChannelHungUp(T0 + 180, CALLER, 16, ""))
    p.feed_event(ev.ChannelHungUp(T0 + 180, AGENT, 16, ""))
    assert now() == {}
    (record,) = sink.done
    # the record keeps one finding per rule, the first
    rules = sorted(f.rule for f in record.findings)
    assert rules == ["answer-within-three-rings", "hold-check-back"]
    hold = next(f for f in record.findings if f.rule == "hold-check-back")
    assert hold.at == pytest.approx(T0 + 90.0)


def test_live_rules_follow_a_reload_of_the_rule_set() -> None:
    sink = Sink()
    three = load_rules_text(RULES, "live.yml")
    two = load_rules_text(RULES.replace("max: 3", "max: 2"), "live.yml")
    current = [three]
    tracker = Tracker(TrackerSettings(pbx="t", cadence_seconds=6.0))
    p = Pipeline(tracker, lambda: current[0], site=Site("us"), sinks=[sink])
    p.feed_event(ev.ChannelCreated(T0, CALLER))  # armed with three rings: T0 + 18
    current[0] = two
    p.feed_event(ev.ChannelCreated(T0 + 1, AGENT))
    p.feed_event(ev.ChannelStateChanged(T0 + 1, _up(AGENT, ChannelState.RINGING)))
    p.advance(T0 + 13)  # rearmed by the ringing with the reloaded set: two rings, T0 + 12
    ((_, finding),) = sink.live
    assert finding.at == pytest.approx(T0 + 12.0)
    assert finding.threshold == 2


def test_a_resync_that_ends_a_hold_is_seen_at_the_calls_next_event(
    pipe: tuple[Pipeline, Sink],
) -> None:
    # the resync ends the agent's leg and its hold; the caller's next event (one that cannot
    # change a deadline input by itself) still clears the breach
    p, _ = pipe
    p.feed_event(ev.ChannelCreated(T0, CALLER))
    p.feed_event(ev.ChannelCreated(T0 + 1, AGENT))
    p.feed_event(ev.ChannelStateChanged(T0 + 1, _up(AGENT, ChannelState.RINGING)))
    p.feed_event(ev.ChannelStateChanged(T0 + 5, _up(AGENT, ChannelState.UP)))
    p.feed_event(ev.HoldStarted(T0 + 20, AGENT))
    p.advance(T0 + 85)
    assert p.breaching == {LINK: {"hold-check-back"}}
    p.resync([CALLER.uniqueid], T0 + 90)
    assert p.breaching == {LINK: {"hold-check-back"}}  # nothing rearmed yet
    p.feed_event(ev.CallerIdChanged(T0 + 91, CALLER, connected=True))
    assert p.breaching == {}
