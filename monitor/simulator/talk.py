"""An answered queue call: recording, talk with holds (with or without checking back),
an optional callback promise, and the end: caller or agent hang-up, blind or attended
transfer."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Literal

from monitor.simulator.engine import AgentState, ContactCentre, QueueState, WaitAgent
from monitor.simulator.flows_calls import DialPlan, cancelled, dial, outbound_call, talk_then_hangup
from monitor.simulator.pbx import CALL
from monitor.simulator.recordings import AudioStyle
from monitor.simulator.truth import HoldTruth, PromiseTruth, TruthBuilder
from monitor.simulator.wire import Bridge, Chan, Pairs, bridge_block, event

__all__ = ["CHECK_BACK_GAP", "HoldPlan", "TalkPlan", "draw_talk", "talk_phase"]

Step = Generator["float | WaitAgent", object, None]
CHECK_BACK_GAP = 6.0  # seconds an agent spends back on the line when checking back


@dataclass(frozen=True)
class HoldPlan:
    """A hold ``offset`` talk-seconds after the answer, lasting ``seconds`` in total; with
    ``check_back`` the agent returns every ``every`` seconds for CHECK_BACK_GAP seconds."""

    offset: float
    seconds: float
    check_back: bool = False
    every: float = 30.0


@dataclass(frozen=True)
class TalkPlan:
    """What happens once an agent answers (talk seconds exclude hold time)."""

    talk: float = 60.0
    holds: tuple[HoldPlan, ...] = ()
    agent_hangs_up: bool = False
    transfer: Literal["none", "blind", "attended"] = "none"
    transfer_to: str = ""
    transfer_ring: float = 4.0
    consult: float = 15.0
    transfer_talk: float = 40.0
    promise_due_in: float | None = None
    promise_kept: bool = True
    promise_reason: str = "agent-promised"
    callback_after: float | None = None
    wrapup: float | None = None
    audio: AudioStyle | None = None  # the recording's sound (None: drawn from the seed)


def draw_talk(cc: ContactCentre, agent: AgentState) -> TalkPlan:
    """Draw the answering agent's behaviour for one call."""
    beh, rng = agent.cfg.behaviour, cc.rng
    talk = max(5.0, rng.gammavariate(2.0, beh.talk_seconds / 2.0))
    holds: tuple[HoldPlan, ...] = ()
    if rng.random() < beh.hold_probability:
        secs = max(5.0, rng.expovariate(1.0 / beh.hold_seconds))
        check = rng.random() < beh.check_back_probability
        holds = (HoldPlan(talk * rng.uniform(0.2, 0.7), secs, check, beh.check_back_every),)
    roll = rng.random()
    transfer: Literal["none", "blind", "attended"] = "none"
    if roll < beh.blind_transfer_probability:
        transfer = "blind"
    elif roll < beh.blind_transfer_probability + beh.attended_transfer_probability:
        transfer = "attended"
    promise = None
    if rng.random() < beh.promise_probability:
        promise = cc.config.callbacks.due_in_seconds
    return TalkPlan(
        talk=talk,
        holds=holds,
        agent_hangs_up=rng.random() < beh.agent_hangs_up_probability,
        transfer=transfer,
        transfer_ring=max(1.0, rng.gammavariate(3.0, 2.0)),
        consult=rng.uniform(8.0, 30.0),
        transfer_talk=max(5.0, rng.gammavariate(2.0, 45.0)),
        promise_due_in=promise,
        promise_kept=rng.random() < cc.config.callbacks.keep_probability,
    )


def _transfer_target(cc: ContactCentre, plan: TalkPlan, agent: AgentState) -> str | None:
    candidates = [plan.transfer_to] if plan.transfer_to else [e.ext for e in cc.config.extensions]
    for ext in candidates:
        busy = ext in cc.agents and cc.agents[ext].busy
        if ext and ext != agent.cfg.ext and ext not in cc.ext_busy and not busy:
            return ext
    return None


def talk_phase(
    cc: ContactCentre,
    queue: QueueState,
    caller: Chan,
    leg: Chan,
    agent: AgentState,
    plan: TalkPlan,
    b: TruthBuilder,
    who: Pairs,
    hold_time: int,
) -> Step:
    bridge = cc.bridge_create()
    cc.bridge_enter(bridge, leg)
    cc.bridge_enter(bridge, caller)
    b.recording = cc.recording_name(f"q-{queue.cfg.name}", caller)
    b.audio = plan.audio
    cc.varset(caller, "MIXMONITOR_FILENAME", b.recording)
    b.outcome = "answered"
    connect = cc.now
    elapsed = 0.0
    for hold in plan.holds:
        yield max(0.0, hold.offset - elapsed)
        elapsed = max(elapsed, hold.offset)
        left = hold.seconds
        first = True
        while left > 0:
            if not first:
                yield CHECK_BACK_GAP
            first = False
            seg = min(left, hold.every) if hold.check_back else left
            cc.hold(leg)
            cc.moh_start(caller)
            start = cc.now
            yield seg
            cc.unhold(leg)
            cc.moh_stop(caller)
            b.holds.append(HoldTruth(start, cc.now))
            left -= seg
    yield max(1.0, plan.talk - elapsed)
    if plan.promise_due_in is not None and caller.cid_num.isdigit():
        _promise(cc, caller, agent, plan, b)
    wrapup = agent.cfg.behaviour.wrapup_seconds if plan.wrapup is None else plan.wrapup
    target = _transfer_target(cc, plan, agent) if plan.transfer != "none" else None

    def complete(reason: str) -> None:
        talk = [("HoldTime", str(hold_time)), ("TalkTime", str(int(cc.now) - int(connect)))]
        cc.agent_event("AgentComplete", caller, leg, [*who, *talk, ("Reason", reason)])
        queue.completed += 1
        queue.talk_total += cc.now - connect
        agent.last_call = cc.now

    if target is not None and plan.transfer == "blind":
        yield from _blind(cc, caller, leg, bridge, target, plan, b, complete)
        cc.release_agent(agent, wrapup)
        yield from _after_transfer(cc, caller, target, plan, b)
        return
    if target is not None and plan.transfer == "attended":
        yield from _attended(cc, caller, leg, bridge, agent, target, plan, b, complete, wrapup)
        return
    first_, second = (leg, caller) if plan.agent_hangs_up else (caller, leg)
    cc.hangup_request(first_)
    complete("agent" if plan.agent_hangs_up else "caller")
    cc.bridge_leave(bridge, first_)
    cc.soft_hangup(first_, 16)
    cc.bridge_leave(bridge, second)
    cc.bridge_destroy(bridge)
    cc.hangup(first_, 16)
    cc.soft_hangup(second, 16)
    cc.hangup(second, 16)
    cc.release_agent(agent, wrapup)
    cc.close_call(b)


def _promise(
    cc: ContactCentre, caller: Chan, agent: AgentState, plan: TalkPlan, b: TruthBuilder
) -> None:
    due_in = plan.promise_due_in or 0.0
    number = caller.cid_num
    pairs = [
        ("Number", number),
        ("DueIn", str(int(due_in))),
        ("Agent", agent.cfg.ext),
        ("Reason", plan.promise_reason),
    ]
    cc.user_event(caller, "CallbackPromise", pairs)
    promise = PromiseTruth(
        number, cc.now, cc.now + due_in, agent.cfg.ext, plan.promise_reason, plan.promise_kept
    )
    b.promise = promise
    cc.promises.append(
        PromiseTruth(number, cc.now, cc.now + due_in, agent.cfg.ext, plan.promise_reason, False)
    )
    answer = cc.rng.random() < cc.config.callbacks.answer_probability or plan.promise_kept
    if plan.callback_after is not None:
        when = cc.now + plan.callback_after
    elif plan.promise_kept:
        when = cc.now + due_in * cc.rng.uniform(0.2, 0.6)
    elif cc.rng.random() < 0.5:
        when = cc.now + due_in + cc.rng.uniform(120.0, 900.0)
    else:
        return
    dplan = DialPlan(result="answer" if answer else "cancel", ring=5.0, talk=90.0, timeout=30.0)

    def callback() -> Generator[float | WaitAgent, object, None]:
        while cc.agents[agent.cfg.ext].busy:
            yield 15.0
        yield from outbound_call(cc, agent.cfg.ext, number, dplan, "callback", promise)

    cc.spawn(callback(), when)


def _blind(
    cc: ContactCentre,
    caller: Chan,
    leg: Chan,
    bridge: Bridge,
    target: str,
    plan: TalkPlan,
    b: TruthBuilder,
    complete: Callable[[str], None],
) -> Step:
    ctx = cc.config.internal_context
    body: Pairs = [
        ("Result", "Success"),
        *leg.snapshot("Transferer"),
        *caller.snapshot("Transferee"),
        *bridge_block(bridge),
        ("IsExternal", "Yes"),
        ("Context", ctx),
        ("Extension", target),
    ]
    cc.emit(event("BlindTransfer", CALL, body))
    complete("transfer")
    cc.bridge_leave(bridge, leg)
    cc.hangup(leg, 16)
    cc.bridge_leave(bridge, caller)
    cc.bridge_destroy(bridge)
    b.transfers += 1
    caller.context, caller.exten, caller.priority = ctx, target, 1
    yield 0.2


def _after_transfer(
    cc: ContactCentre, caller: Chan, target: str, plan: TalkPlan, b: TruthBuilder
) -> Step:
    name = cc.agents[target].cfg.name if target in cc.agents else target
    cc.ext_busy.add(target)
    dplan = DialPlan("answer", plan.transfer_ring, plan.transfer_talk)
    ctx = cc.config.internal_context
    result, tleg = yield from dial(cc, caller, f"PJSIP/{target}", target, name, target, dplan, ctx)
    if result == "answer":
        yield from talk_then_hangup(cc, caller, tleg, plan.transfer_talk, False)
    else:
        cancelled(cc, caller, tleg)
    cc.ext_busy.discard(target)
    cc.close_call(b)


def _attended(
    cc: ContactCentre,
    caller: Chan,
    leg: Chan,
    bridge: Bridge,
    agent: AgentState,
    target: str,
    plan: TalkPlan,
    b: TruthBuilder,
    complete: Callable[[str], None],
    wrapup: float,
) -> Step:
    ctx = cc.config.internal_context
    ext = agent.cfg.ext
    cc.ext_busy.add(target)
    cc.hold(leg)
    cc.moh_start(caller)
    held = cc.now
    consult = cc.new_channel(
        f"PJSIP/{ext}",
        linkedid=caller.linkedid,
        state=4,
        cid_num=ext,
        cid_name=agent.cfg.name,
        context=ctx,
        exten=target,
    )
    name = cc.agents[target].cfg.name if target in cc.agents else target
    dplan = DialPlan("answer", plan.transfer_ring, plan.consult)
    _, tleg = yield from dial(cc, consult, f"PJSIP/{target}", target, name, target, dplan, ctx)
    second = cc.bridge_create()
    cc.bridge_enter(second, tleg)
    cc.bridge_enter(second, consult)
    yield plan.consult
    body: Pairs = [
        ("Result", "Success"),
        *leg.snapshot("OrigTransferer"),
        *bridge_block(bridge, "Orig"),
        *consult.snapshot("SecondTransferer"),
        *bridge_block(second, "Second"),
        *caller.snapshot("Transferee"),
        *tleg.snapshot("TransferTarget"),
        ("IsExternal", "Yes"),
        ("DestType", "Bridge"),
        ("DestBridgeUniqueid", bridge.uniqueid),
    ]
    cc.emit(event("AttendedTransfer", CALL, body))
    cc.moh_stop(caller)
    b.holds.append(HoldTruth(held, cc.now))
    b.transfers += 1
    complete("transfer")
    cc.bridge_leave(bridge, leg)
    cc.bridge_leave(second, consult)
    cc.bridge_leave(second, tleg)
    cc.bridge_enter(bridge, tleg)
    cc.bridge_destroy(second)
    cc.hangup(leg, 16)
    cc.hangup(consult, 16)
    cc.connected_line(caller, tleg)
    cc.release_agent(agent, wrapup)
    yield plan.transfer_talk
    cc.hangup_request(caller)
    cc.bridge_leave(bridge, caller)
    cc.bridge_leave(bridge, tleg)
    cc.soft_hangup(caller, 16)
    cc.bridge_destroy(bridge)
    cc.hangup(caller, 16)
    cc.hangup(tleg, 16)
    cc.ext_busy.discard(target)
    cc.close_call(b)
