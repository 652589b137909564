"""The queue call: trunk caller → QueueCallerJoin → members rung one at a time (RONA,
retry) → AgentConnect → talk with holds, transfers, a callback promise → hang-up; or
abandon, or voicemail. Event order follows the 13.18 callme capture plus the 14+ DialState
(see docs/simulator.md for the differences)."""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal

from monitor.simulator.engine import AgentState, ContactCentre, Flow, QueueState, WaitAgent, Waiter
from monitor.simulator.flows_calls import voicemail
from monitor.simulator.talk import TalkPlan, draw_talk, talk_phase
from monitor.simulator.truth import TruthBuilder
from monitor.simulator.wire import Chan

__all__ = ["QueuePlan", "queue_call"]

Step = Generator["float | WaitAgent", object, None]


@dataclass(frozen=True)
class QueuePlan:
    """Caller-side facts of one queue call. ``rings`` gives each member attempt's ring
    seconds (``None`` = that member does not answer, RONA); ``talk`` overrides the
    answering agent's drawn behaviour."""

    patience: float = 120.0
    ivr: float = 1.5
    rings: tuple[float | None, ...] = ()
    talk: TalkPlan | None = None
    withheld: bool = False


def _secs(a: float, b: float) -> int:
    """Whole seconds between two instants the way app_queue computes them (time_t)."""
    return math.floor(b) - math.floor(a)


def queue_call(cc: ContactCentre, qname: str, number: str, name: str, plan: QueuePlan) -> Flow:
    cfg = cc.config
    queue = cc.queues[qname]
    caller = cc.new_channel(
        f"PJSIP/{cfg.trunk}",
        linkedid=None,
        state=4,
        cid_num=number,
        cid_name=name,
        context=cfg.inbound_context,
        exten=queue.cfg.did,
    )
    b = cc.open_call(TruthBuilder(caller.linkedid, "queue", number, queue.cfg.did, cc.now))
    b.queue = qname
    cc.newexten(caller, "Answer", "")
    cc.newstate(caller, 6)
    yield plan.ivr
    if not [a for a in queue.cfg.agents if a in cc.agents]:
        yield from _to_voicemail(cc, b, caller, queue)
        return
    cc.newexten(caller, "Queue", f"{qname},t,,,{int(queue.cfg.ring_timeout)}", 2)
    waiter = Waiter(caller, cc.now, len(queue.waiting) + 1)
    queue.waiting.append(waiter)
    b.queue_join = cc.now
    join_pairs = [("Queue", qname), ("Position", str(waiter.original_position))]
    cc.queue_event("QueueCallerJoin", caller, [*join_pairs, ("Count", str(len(queue.waiting)))])
    cc.moh_start(caller, queue.cfg.moh_class)
    deadline = cc.now + plan.patience
    vm_at = cc.now + queue.cfg.max_wait if queue.cfg.max_wait > 0 else math.inf
    until = min(deadline, vm_at)
    attempt = 0
    while True:
        got = yield WaitAgent(qname, until, waiter)
        agent = got if isinstance(got, AgentState) else None
        if agent is None:
            if vm_at <= deadline:
                _leave(cc, queue, waiter)
                cc.moh_stop(caller)
                yield from _to_voicemail(cc, b, caller, queue)
            else:
                _abandon(cc, queue, waiter, b, None)
            return
        ring = plan.rings[attempt] if attempt < len(plan.rings) else _draw_ring(cc, agent)
        attempt += 1
        result = yield from _ring_member(cc, queue, waiter, agent, ring, until, b, plan.talk)
        if result == "answered":
            return
        if result == "gone":
            return
        b.rona += 1
        yield max(0.0, min(queue.cfg.retry, until - cc.now))
        if cc.now >= until:
            if vm_at <= deadline:
                _leave(cc, queue, waiter)
                cc.moh_stop(caller)
                yield from _to_voicemail(cc, b, caller, queue)
            else:
                _abandon(cc, queue, waiter, b, None)
            return


def _draw_ring(cc: ContactCentre, agent: AgentState) -> float | None:
    beh = agent.cfg.behaviour
    if cc.rng.random() < beh.no_answer_probability:
        return None
    return max(1.0, cc.rng.gammavariate(3.0, beh.ring_seconds / 3.0))


def _leave(cc: ContactCentre, queue: QueueState, waiter: Waiter) -> None:
    pos = queue.position(waiter)
    queue.waiting.remove(waiter)
    pairs = [("Queue", queue.cfg.name), ("Position", str(pos))]
    cc.queue_event("QueueCallerLeave", waiter.chan, [*pairs, ("Count", str(len(queue.waiting)))])


def _abandon(
    cc: ContactCentre, queue: QueueState, waiter: Waiter, b: TruthBuilder, leg: Chan | None
) -> None:
    caller = waiter.chan
    cc.hangup_request(caller)
    if leg is not None:
        cc.dial_end(caller, leg, "CANCEL")
        cc.hangup(leg, 16)
    pos = queue.position(waiter)
    cc.queue_event(
        "QueueCallerAbandon",
        caller,
        [
            ("Queue", queue.cfg.name),
            ("Position", str(pos)),
            ("OriginalPosition", str(waiter.original_position)),
            ("HoldTime", str(_secs(waiter.joined, cc.now))),
        ],
    )
    _leave(cc, queue, waiter)
    cc.moh_stop(caller)
    cc.hangup(caller, 16)
    queue.abandoned += 1
    b.outcome = "abandoned"
    cc.close_call(b)


def _to_voicemail(cc: ContactCentre, b: TruthBuilder, caller: Chan, queue: QueueState) -> Step:
    yield from voicemail(cc, caller, queue.cfg.name, 20.0 + cc.rng.random() * 20.0)
    b.outcome = "voicemail"
    cc.close_call(b)


def _ring_member(
    cc: ContactCentre,
    queue: QueueState,
    waiter: Waiter,
    agent: AgentState,
    ring: float | None,
    until: float,
    b: TruthBuilder,
    talk: TalkPlan | None,
) -> Generator[float | WaitAgent, object, Literal["answered", "rona", "gone"]]:
    caller = waiter.chan
    ext, member = agent.cfg.ext, agent.cfg.name
    iface = f"PJSIP/{ext}"
    leg = cc.new_channel(
        iface,
        linkedid=caller.linkedid,
        state=0,
        cid_num=ext,
        cid_name=member,
        context=cc.config.internal_context,
        exten="s",
    )
    cc.connected_line(leg, caller, emit=False)
    who = [("Queue", queue.cfg.name), ("Interface", iface), ("MemberName", member)]
    cc.member_status(agent)
    cc.agent_event("AgentCalled", caller, leg, who)
    cc.dial_begin(caller, leg, iface)
    cc.connected_line(caller, leg)
    yield 0.3
    cc.newstate(leg, 5)
    cc.connected_line(leg, caller)
    cc.dial_state(caller, leg, "RINGING")
    ring_start = cc.now
    ring_for = queue.cfg.ring_timeout if ring is None else min(ring, queue.cfg.ring_timeout)
    if ring_start + ring_for > until:  # the caller hangs up while the member rings
        yield max(0.0, until - cc.now)
        _abandon(cc, queue, waiter, b, leg)
        cc.release_agent(agent, 0.0)
        return "gone"
    yield ring_for
    if ring is None or ring > queue.cfg.ring_timeout:
        ms = round((cc.now - ring_start) * 1000)
        cc.agent_event("AgentRingNoAnswer", caller, leg, [*who, ("RingTime", str(ms))])
        cc.dial_end(caller, leg, "NOANSWER")
        cc.hangup(leg, 0)
        cc.release_agent(agent, 0.0)
        return "rona"
    cc.newstate(leg, 6)
    cc.dial_end(caller, leg, "ANSWER")
    cc.moh_stop(caller)
    _leave(cc, queue, waiter)
    hold_time = _secs(waiter.joined, cc.now)
    times = [("HoldTime", str(hold_time)), ("RingTime", str(int(cc.now - ring_start)))]
    agent.in_call, agent.ringing = True, False
    cc.member_status(agent)
    cc.agent_event("AgentConnect", caller, leg, [*who, *times])
    agent.calls_taken += 1
    b.answer, b.agent = cc.now, ext
    queue.hold_total += cc.now - waiter.joined
    plan = talk if talk is not None else draw_talk(cc, agent)
    yield from talk_phase(cc, queue, caller, leg, agent, plan, b, who, hold_time)
    return "answered"
