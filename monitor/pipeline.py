"""The event pipeline: AMI messages -> events -> calls -> findings -> sinks.

One pipeline per PBX, owned by one event loop (design.md §1). It is synchronous and pure of
I/O: the service feeds it messages with their receive time; a replay feeds it transcript
messages. Everything runs on **event time**: live deadlines (a caller ringing past N rings, a
hold running past its limit) fire when an event's time passes them, or when the service calls
``advance(now)`` on a quiet line.

Sinks (metrics, store, promises, the web's live view) receive completed calls with their rule
results, and live findings as they happen.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from collectors.ami.parser import AmiMessage
from collectors.ami.translate import Translator
from monitor import events as ev
from monitor.clock import PbxClock
from monitor.events.other import CallbackPromised
from monitor.record import CallRecord, Finding, LiveCall
from monitor.rules import RuleResult, RuleSet, Site, evaluate_results
from monitor.rules.evaluate import finding_for
from monitor.rules.live import LivePlan, can_come_due
from monitor.rules.model import CheckStatus
from monitor.tracker import Tracker
from monitor.tracker.call import Call
from monitor.tracker.tracker import DEADLINE_NEUTRAL

__all__ = ["CallSink", "EventObserver", "Pipeline", "PipelineStats", "judge"]

log = logging.getLogger(__name__)


class CallSink(Protocol):
    """Something that wants completed calls and live findings (metrics, store, promises)."""

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None: ...

    def live_finding(self, call_id: str, finding: Finding) -> None: ...


class EventObserver(Protocol):
    """Something that follows every event and event time besides the tracker (the agent
    board of the live view): it must not raise on an event it does not use."""

    def feed(self, event: ev.Event) -> None: ...

    def advance(self, now: float) -> None: ...


@dataclass
class PipelineStats:
    messages: int = 0
    events: int = 0
    calls: int = 0
    findings: int = 0
    live_findings: int = 0
    sink_errors: int = 0
    last_event_at: float | None = None


def _with_findings(r: CallRecord, findings: tuple[Finding, ...]) -> CallRecord:
    """``dataclasses.replace(r, findings=findings)``, compiled: every field read natively and
    passed by position, in CallRecord's field order (tests/monitor/pipeline/
    test_with_findings.py compares it with ``replace`` on a record with every field set)."""
    return CallRecord(
        r.call_id, r.pbx, r.direction, r.caller, r.dialed, r.queue, r.agent, r.started_at,
        r.answered_at, r.ended_at, r.outcome, r.ring_seconds, r.rings, r.queue_wait_seconds,
        r.talk_seconds, r.hold_seconds, r.hold_count, r.longest_hold_seconds, r.transfers,
        r.hangup_cause, r.timing, findings, r.caller_name, r.caller_withheld, r.first_ring_at,
        r.queue_joined_at, r.answered_any_at, r.voicemail_at, r.holds, r.agent_ring_no_answer,
        r.agents_tried, r.recording, r.audio, r.legs, r.events, r.extra,
    )  # fmt: skip


# A pending live deadline: (at, call_id, rule_id, generation). Plain tuples, so the heap
# compares in C; an entry whose generation is not the call's current one is void.
_Deadline = tuple[float, str, str, int]


class Pipeline:
    """Translator + tracker + rules, fanning out to sinks."""

    def __init__(
        self,
        tracker: Tracker,
        rules: Callable[[], RuleSet] | RuleSet | None = None,
        *,
        site: Site | None = None,
        sinks: Sequence[CallSink] = (),
        translator: Translator | None = None,
        on_promise: Callable[[ev.CallbackPromised], None] | None = None,
        observers: Sequence[EventObserver] = (),
        evaluate: bool = True,
    ) -> None:
        self.tracker = tracker
        # False: completed calls go to the sinks unjudged (live findings only, no results);
        # whoever takes them runs ``judge`` (the import's writer process does)
        self.evaluate = evaluate
        self.translator = translator or Translator()
        self._rules = rules
        self.site = site or Site()
        self.sinks = list(sinks)
        self.on_promise = on_promise
        self.observers = list(observers)
        self.stats = PipelineStats()
        self.clock = PbxClock()  # the PBX's event time and offset (fed by the collector)
        self._heap: list[_Deadline] = []
        self._plan: LivePlan | None = None  # the live rules of the current rule set and site
        self._generation: dict[str, int] = {}
        self._watch_state: dict[str, tuple[object, ...]] = {}
        # calls whose deadline inputs may have changed since ``_watch_state`` (a resync ended
        # their legs or holds; no rules to arm them): compared after any event of theirs
        self._unsettled: set[str] = set()
        self.live_findings: dict[str, list[Finding]] = {}
        # calls breaching a live rule now (call id -> rule ids): a rule leaves the set when
        # its condition ends (the caller answered, taken off hold), not when the call ends
        self.breaching: dict[str, set[str]] = {}
        self.now: float = 0.0

    # ---- rules -----------------------------------------------------------------------------

    @property
    def ruleset(self) -> RuleSet | None:
        rules = self._rules
        if rules is None or isinstance(rules, RuleSet):
            return rules
        return rules()

    def _live_plan(self) -> LivePlan | None:
        """The live rules of the rule set now in force (a reload gives a new plan)."""
        rules = self.ruleset
        if rules is None:
            return None
        plan = self._plan
        if plan is None or plan.rules is not rules or plan.site is not self.site:
            plan = self._plan = LivePlan(rules, self.site)
        return plan

    # ---- input -----------------------------------------------------------------------------

    def feed_message(self, msg: AmiMessage, received_at: float | None = None) -> list[CallRecord]:
        self.stats.messages += 1
        event = self.translator.translate(msg, received_at)
        if event is None:
            return []
        return self.feed_event(event)

    def feed_event(self, event: ev.Event) -> list[CallRecord]:
        stats = self.stats
        stats.events += 1
        at = event.at
        out: list[CallRecord] = self.advance(at) if at > self.now else []
        if isinstance(event, CallbackPromised) and self.on_promise is not None:
            self.on_promise(event)
        for observer in self.observers:
            observer.feed(event)
        tracker = self.tracker
        completed = tracker.feed(event)
        stats.last_event_at = at
        for record in completed:
            out.append(self._complete(record))
        for gone in tracker.dissolved:  # calls whose legs all joined other calls
            self._forget(gone)
        call_id = tracker.last_call_id
        if call_id is not None:
            watched = self._watch_state
            # a DEADLINE_NEUTRAL event changes no deadline input of a call already watched
            if (
                type(event) not in DEADLINE_NEUTRAL
                or call_id not in watched
                or call_id in self._unsettled
            ):
                call = tracker.calls.get(call_id)
                if call is not None:
                    key = call.deadline_inputs()
                    if watched.get(call_id) != key:
                        self._rearm(call_id, call, key)
                    elif self._unsettled:
                        self._unsettled.discard(call_id)
        return out

    def feed(self, event: ev.Event) -> list[CallRecord]:
        """``feed_event`` under the name the live collector's resync feeder expects."""
        return self.feed_event(event)

    def advance(self, now: float) -> list[CallRecord]:
        """Move event time to ``now``: fire due live deadlines and expire stale calls."""
        if now < self.now:
            return []
        self.now = now
        for observer in self.observers:
            observer.advance(now)
        heap = self._heap
        if heap and heap[0][0] <= now:
            plan = self._live_plan()
            while heap and heap[0][0] <= now:
                _, call_id, rule_id, generation = heapq.heappop(heap)
                if self._generation.get(call_id) != generation or plan is None:
                    continue
                snap = self.tracker.live_view(call_id)
                if snap is None:
                    continue
                finding = plan.check(snap, rule_id, now)
                if finding is not None:
                    self._live(call_id, finding)
        out = [self._complete(r) for r in self.tracker.expire(now)]
        return out

    def breaching_counts(self) -> dict[str, int]:
        """Calls breaching each live rule now (the ``ringwatch_live_breaches`` gauge)."""
        out: dict[str, int] = {}
        for rules in self.breaching.values():
            for rule in rules:
                out[rule] = out.get(rule, 0) + 1
        return out

    def feed_record(self, record: CallRecord) -> CallRecord:
        """A call built elsewhere (an Asterisk queue_log import): evaluated by the rules and
        handed to the sinks exactly as a call the tracker completed (``advance`` to its end
        first, as for an event)."""
        return self._complete(record)

    def finish(self) -> list[CallRecord]:
        """End of input (a replay): the still-open calls close as ``incomplete``."""
        return [self._complete(r) for r in self.tracker.flush()]

    def resync(self, live_uniqueids: Iterable[str], at: float) -> list[CallRecord]:
        done = [self._complete(r) for r in self.tracker.resync(live_uniqueids, at)]
        # the calls that go on may have lost legs and holds: compared at their next event
        self._unsettled.update(self._watch_state)
        return done

    # ---- internals -------------------------------------------------------------------------

    def _rearm(self, call_id: str, call: Call, key: tuple[object, ...]) -> None:
        """Recompute a running call's live deadlines: ``key``, the facts they read
        (``Call.deadline_inputs``), changed since they were last armed."""
        plan = self._live_plan()
        if plan is None:
            self._unsettled.add(call_id)  # not armed: ``_watch_state`` keeps older facts
            return
        self._watch_state[call_id] = key
        if self._unsettled:
            self._unsettled.discard(call_id)
        gen = self._generation.get(call_id, 0) + 1
        self._generation[call_id] = gen  # deadlines armed before this change are void
        held = self.breaching.get(call_id)
        due = can_come_due(answered=call.answered_at is not None, holding=bool(call.open_holds))
        if not held and not due:
            return
        snap = self.tracker.live_view(call_id)  # one view for both (nothing changes between)
        if held:
            self._clear_ended(call_id, held, plan, snap)
        if not due or snap is None:
            return
        now = self.now
        for at, rule_id in plan.deadlines(snap):
            if at <= now:
                finding = plan.check(snap, rule_id, now)
                if finding is not None:
                    self._live(call_id, finding)
                continue
            heapq.heappush(self._heap, (at, call_id, rule_id, gen))

    def _clear_ended(
        self, call_id: str, held: set[str], plan: LivePlan, snap: LiveCall | None
    ) -> None:
        """Drop the live rules whose breach condition ended with the call's last change
        (``snap``: the call now)."""
        for rule_id in list(held):
            if snap is None or not plan.breached(snap, rule_id, self.now):
                held.discard(rule_id)
        if not held:
            del self.breaching[call_id]

    def _live(self, call_id: str, finding: Finding) -> None:
        self.breaching.setdefault(call_id, set()).add(finding.rule)
        existing = self.live_findings.setdefault(call_id, [])
        if any(f.rule == finding.rule for f in existing):
            return  # breaching again (a second long hold): the record keeps the first
        existing.append(finding)
        self.stats.live_findings += 1
        for sink in self.sinks:
            try:
                sink.live_finding(call_id, finding)
            except Exception:  # a sink must never stop the event loop
                self.stats.sink_errors += 1
                log.exception("sink %s failed on a live finding", type(sink).__name__)

    def _forget(self, call_id: str) -> list[Finding]:
        """Drop a call's live-rule state (it closed, or dissolved into another call); its
        deadlines left in the heap are void (no generation) and pop off when due."""
        self._generation.pop(call_id, None)
        self._watch_state.pop(call_id, None)
        self._unsettled.discard(call_id)
        self.breaching.pop(call_id, None)
        return self.live_findings.pop(call_id, [])

    def _complete(self, record: CallRecord) -> CallRecord:
        live = self._forget(record.call_id)
        rules = self.ruleset
        results: Sequence[RuleResult] = ()
        if not self.evaluate:
            # judged later, elsewhere (an import's writer process): the record carries only
            # its live findings, and ``judge`` is run on it with the same rules and site
            done = _with_findings(record, tuple(live)) if live else record
        else:
            done, results = judge(record, live, rules, self.site)
        self.stats.calls += 1
        self.stats.findings += len(done.findings)
        for sink in self.sinks:
            try:
                sink.call_completed(done, results)
            except Exception:  # a sink must never stop the event loop
                self.stats.sink_errors += 1
                log.exception("sink %s failed on call %s", type(sink).__name__, record.call_id)
        return done


def judge(
    record: CallRecord, live: Sequence[Finding], rules: RuleSet | None, site: Site
) -> tuple[CallRecord, list[RuleResult]]:
    """A completed call judged by the rules: the record with its findings, and every rule's
    result. ``live`` are the findings its live rules raised while it ran. Pure: the same
    record, live findings, rules and site give the same answer in any process."""
    results: list[RuleResult] = []
    findings: list[Finding] = []
    if rules is not None:
        results = evaluate_results(record, rules, site=site)
        findings = [
            finding_for(rr.rule, rr.result)
            for rr in results
            if rr.result.status is CheckStatus.BREACHED
        ]
    # The end-of-call evaluation is the record's word on every rule it could judge (met or
    # breached, on the call's own event times: a replay of the same bytes gives the same
    # findings). A live finding stands only where it could not judge (not evaluated: the
    # call never finished) or the rule is gone: a live finding dated by a quiet-line clock
    # that ran ahead of late events must not outlive the facts.
    judged = {rr.rule.id for rr in results if rr.result.status is not CheckStatus.NOT_EVALUATED}
    seen = {f.rule for f in findings}
    findings.extend(f for f in live if f.rule not in seen and f.rule not in judged)
    return _with_findings(record, tuple(findings)), results
