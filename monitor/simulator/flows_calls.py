"""Two-party call flows: direct inbound calls to an extension, internal calls, outbound
calls and callbacks. Event order follows the Asterisk 22.1 direct-call captures
(ispbx-ast22.1-direct-call-{answered,unanswered})."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal

from monitor.simulator.engine import ContactCentre, Flow, WaitAgent
from monitor.simulator.recordings import AudioStyle
from monitor.simulator.truth import CallOutcome, PromiseTruth, TruthBuilder
from monitor.simulator.wire import Chan

__all__ = [
    "DialPlan",
    "DialResult",
    "dial",
    "direct_call",
    "internal_call",
    "outbound_call",
    "talk_then_hangup",
    "voicemail",
]

Step = Generator["float | WaitAgent", object, None]
DialResult = Literal["answer", "busy", "cancel", "noanswer", "congestion"]


@dataclass(frozen=True)
class DialPlan:
    """How one dial attempt goes: the callee answers after ``ring`` seconds unless
    ``result`` says otherwise; ``give_up`` is when the caller hangs up while ringing."""

    result: DialResult = "answer"
    ring: float = 6.0
    talk: float = 60.0
    callee_hangs_up: bool = False
    timeout: float = 20.0
    audio: AudioStyle | None = None  # the recording's sound, when recorded (None: drawn)


def dial(
    cc: ContactCentre,
    caller: Chan,
    tech: str,
    callee_num: str,
    callee_name: str,
    dialstring: str,
    plan: DialPlan,
    context: str,
) -> Generator[float | WaitAgent, object, tuple[DialResult, Chan]]:
    """Dial one leg from ``caller`` (the 22.1 order up to DialEnd)."""
    callee = cc.new_channel(
        tech,
        linkedid=caller.linkedid,
        state=0,
        cid_num=callee_num,
        cid_name=callee_name,
        context=context,
        exten="s",
    )
    cc.connected_line(callee, caller)
    caller.application, caller.app_data = "Dial", f"{dialstring},{int(plan.timeout)}"
    cc.dial_begin(caller, callee, dialstring)
    cc.connected_line(caller, callee)
    yield 0.4
    if plan.result in ("busy", "congestion"):
        cc.dial_end(caller, callee, plan.result.upper())
        cc.hangup(callee, 17 if plan.result == "busy" else 34)
        return plan.result, callee
    cc.newstate(callee, 5)
    cc.dial_state(caller, callee, "RINGING")
    if plan.result == "answer":
        yield plan.ring
        cc.newstate(callee, 6)
        cc.dial_end(caller, callee, "ANSWER")
        if caller.state != 6:
            cc.newstate(caller, 6)
        return "answer", callee
    if plan.result == "cancel":
        yield min(plan.ring, plan.timeout)
        cc.hangup_request(caller, CANCEL_CAUSE)
        cc.dial_end(caller, callee, "CANCEL")
        return "cancel", callee
    yield plan.timeout
    cc.dial_end(caller, callee, "NOANSWER")
    cc.hangup(callee, 16)
    return "noanswer", callee


# Asterisk 22 (chan_pjsip) on a caller's CANCEL while the callee rings: HangupRequest and
# both Hangups carry Cause 127 "Interworking, unspecified" (tests/lab, caller_cancel_sip)
CANCEL_CAUSE = 127


def talk_then_hangup(
    cc: ContactCentre, caller: Chan, callee: Chan, talk: float, callee_hangs_up: bool
) -> Step:
    """Bridge two answered channels, talk, hang up (22.1 answered order)."""
    bridge = cc.bridge_create()
    cc.bridge_enter(bridge, callee)
    cc.bridge_enter(bridge, caller)
    yield talk
    first, second = (callee, caller) if callee_hangs_up else (caller, callee)
    cc.hangup_request(first)
    cc.bridge_leave(bridge, first)
    cc.bridge_leave(bridge, second)
    cc.soft_hangup(first, 16)
    cc.bridge_destroy(bridge)
    cc.hangup(first, 16)
    cc.hangup(second, 16)


def cancelled(cc: ContactCentre, caller: Chan, callee: Chan) -> None:
    """The caller gave up while the callee rang (after DialEnd CANCEL). As the lab's Asterisk
    22.10.1 does for a SIP CANCEL: both legs hang up with Cause 127, the callee first."""
    cc.soft_hangup(caller, 16)
    cc.hangup(callee, CANCEL_CAUSE)
    cc.hangup(caller, CANCEL_CAUSE)


def voicemail(cc: ContactCentre, caller: Chan, box: str, seconds: float) -> Step:
    """The caller leaves a message in ``box`` and hangs up."""
    if caller.state != 6:
        cc.newstate(caller, 6)
    cc.newexten(caller, "VoiceMail", f"{box}@{cc.config.voicemail_context},u")
    yield seconds
    cc.varset(caller, "VMSTATUS", "SUCCESS")
    cc.hangup_request(caller)
    cc.soft_hangup(caller, 16)
    cc.hangup(caller, 16)


_OUTCOME: dict[str, CallOutcome] = {
    "answer": "answered",
    "busy": "busy",
    "cancel": "unanswered",
    "noanswer": "unanswered",
    "congestion": "failed",
}


def _finish(cc: ContactCentre, b: TruthBuilder, result: DialResult, answered_at: float) -> None:
    b.outcome = _OUTCOME[result]
    if result == "answer":
        b.answer = answered_at
    cc.close_call(b)


def two_party(
    cc: ContactCentre,
    b: TruthBuilder,
    caller: Chan,
    callee: tuple[str, str, str, str],
    plan: DialPlan,
    context: str,
    vm_on_noanswer: str | None = None,
    record_as: str | None = None,
) -> Step:
    """Dial, then talk / cancel / voicemail; records the truth. With ``record_as`` an
    answered call is recorded from the answer (MIXMONITOR_FILENAME ``<record_as>-...``)."""
    tech, num, name, dialstring = callee
    result, leg = yield from dial(cc, caller, tech, num, name, dialstring, plan, context)
    answered_at = cc.now
    if result == "answer" and record_as is not None:
        b.recording = cc.recording_name(record_as, caller)
        b.audio = plan.audio
        cc.varset(caller, "MIXMONITOR_FILENAME", b.recording)
    if result == "answer":
        yield from talk_then_hangup(cc, caller, leg, plan.talk, plan.callee_hangs_up)
    elif result == "cancel":
        cancelled(cc, caller, leg)
    elif result == "noanswer" and vm_on_noanswer:
        yield from voicemail(cc, caller, vm_on_noanswer, min(plan.talk, 30.0))
        b.outcome = "voicemail"
        cc.close_call(b)
        return
    else:
        yield 1.0
        cc.hangup_request(caller)
        cc.soft_hangup(caller, 16)
        cc.hangup(caller, 16)
    _finish(cc, b, result, answered_at)
    if num in cc.ext_busy:
        cc.ext_busy.discard(num)


def direct_call(cc: ContactCentre, number: str, name: str, ext: str, plan: DialPlan) -> Flow:
    """An outside caller dials an extension's DID: trunk channel in ``from-pstn``."""
    cfg = cc.config
    target = next(e for e in cfg.extensions if e.ext == ext) if cfg.extensions else None
    callee_name = target.name if target else ext
    did = target.did if target and target.did else ext
    caller = cc.new_channel(
        f"PJSIP/{cfg.trunk}",
        linkedid=None,
        state=4,
        cid_num=number,
        cid_name=name,
        context=cfg.inbound_context,
        exten=did,
    )
    b = cc.open_call(TruthBuilder(caller.linkedid, "direct", number, did, cc.now))
    b.agent = ext
    cc.newexten(caller, "Answer", "")
    cc.newstate(caller, 6)
    cc.newexten(caller, "Dial", f"PJSIP/{ext},{int(plan.timeout)}", 2)
    if plan.result == "answer" or plan.result == "busy":
        cc.ext_busy.add(ext)
    callee = (f"PJSIP/{ext}", ext, callee_name, ext)
    yield from two_party(cc, b, caller, callee, plan, cfg.internal_context, ext, f"d-{ext}")
    cc.ext_busy.discard(ext)


def internal_call(cc: ContactCentre, src: str, src_name: str, dst: str, plan: DialPlan) -> Flow:
    """Extension ``src`` calls extension ``dst`` inside ``from-internal``."""
    ctx = cc.config.internal_context
    caller = cc.new_channel(
        f"PJSIP/{src}",
        linkedid=None,
        state=4,
        cid_num=src,
        cid_name=src_name,
        context=ctx,
        exten=dst,
    )
    b = cc.open_call(TruthBuilder(caller.linkedid, "internal", src, dst, cc.now))
    b.agent = dst
    cc.newexten(caller, "Dial", f"PJSIP/{dst},{int(plan.timeout)}")
    dst_name = dst
    if dst in cc.agents:
        dst_name = cc.agents[dst].cfg.name
    yield from two_party(cc, b, caller, (f"PJSIP/{dst}", dst, dst_name, dst), plan, ctx)


def outbound_call(
    cc: ContactCentre,
    ext: str,
    number: str,
    plan: DialPlan,
    kind: Literal["outbound", "callback"] = "outbound",
    promise: PromiseTruth | None = None,
) -> Flow:
    """Extension ``ext`` dials an outside number through the trunk."""
    cfg = cc.config
    ctx = cfg.internal_context
    name = cc.agents[ext].cfg.name if ext in cc.agents else ext
    caller = cc.new_channel(
        f"PJSIP/{ext}",
        linkedid=None,
        state=4,
        cid_num=ext,
        cid_name=name,
        context=ctx,
        exten=number,
    )
    b = cc.open_call(TruthBuilder(caller.linkedid, kind, ext, number, cc.now))
    b.agent = ext
    if promise is not None:
        b.promise = promise
        resolve_promise(cc, promise, caller.linkedid, plan.result == "answer")
    cc.newexten(caller, "Dial", f"PJSIP/{number}@{cfg.trunk},{int(plan.timeout)}")
    agent = cc.agents.get(ext)
    if agent is not None:
        agent.busy = agent.in_call = True
    leg = (f"PJSIP/{cfg.trunk}", number, "<unknown>", f"{number}@{cfg.trunk}")
    yield from two_party(cc, b, caller, leg, plan, cfg.inbound_context)
    if agent is not None:
        cc.release_agent(agent, agent.cfg.behaviour.wrapup_seconds)


def resolve_promise(cc: ContactCentre, promise: PromiseTruth, linkedid: str, ok: bool) -> None:
    """Record the actual fate of a promise: kept if this callback, placed before the due
    time, is answered."""
    kept = ok and cc.now <= promise.due_at
    for i, p in enumerate(cc.promises):
        if p.number == promise.number and p.promised_at == promise.promised_at:
            if p.callback_linkedid is None:
                cc.promises[i] = PromiseTruth(
                    p.number, p.promised_at, p.due_at, p.agent, p.reason, kept, linkedid
                )
            return
