"""Scripted scenarios: exactly one call of a given shape with the timings you pass, on an
engine with random traffic off. Each returns the engine with the call scheduled; run it
with ``engine.run_all()`` and compare against ``engine.truth``."""

from __future__ import annotations

from pathlib import Path

from monitor.simulator.config import AgentConfig, CentreConfig, ExtensionConfig, QueueConfig
from monitor.simulator.engine import DEFAULT_START, ContactCentre
from monitor.simulator.flows_calls import DialPlan, direct_call
from monitor.simulator.flows_queue import QueuePlan, queue_call
from monitor.simulator.recordings import AudioStyle
from monitor.simulator.talk import HoldPlan, TalkPlan

__all__ = [
    "CALLER",
    "CALLER_NAME",
    "direct_answered",
    "direct_unanswered",
    "outbound_callback",
    "queue_abandoned",
    "queue_answered_with_hold",
    "queue_attended_transfer",
    "queue_blind_transfer",
    "queue_rona_then_answer",
    "queue_voicemail",
    "script_config",
]

CALLER = "02079460123"
CALLER_NAME = "Jane Smith"


def script_config(ring_timeout: float = 15.0, retry: float = 5.0) -> CentreConfig:
    """Queue ``support`` (agents 201, 202, linear), queue ``night`` with nobody in it, and
    extension 300 (Reception, DID 02079460300)."""
    return CentreConfig(
        queues=(
            QueueConfig(
                "support",
                did="02079460200",
                agents=("201", "202"),
                strategy="linear",
                ring_timeout=ring_timeout,
                retry=retry,
            ),
            QueueConfig("night", did="02079460999", agents=()),
        ),
        agents=(AgentConfig("201", "Alice Archer"), AgentConfig("202", "Bob Baker")),
        extensions=(ExtensionConfig("300", "Reception", did="02079460300"),),
    )


def _engine(
    seed: int,
    start: float,
    config: CentreConfig | None = None,
    recordings_dir: Path | None = None,
) -> ContactCentre:
    return ContactCentre(
        config or script_config(),
        seed=seed,
        start=start,
        traffic=False,
        recordings_dir=recordings_dir,
    )


def queue_answered_with_hold(
    *,
    ivr: float = 1.0,
    ring: float = 9.0,
    talk: float = 60.0,
    hold_at: float = 20.0,
    hold: float = 30.0,
    check_back: bool = False,
    agent_hangs_up: bool = False,
    seed: int = 0,
    start: float = DEFAULT_START,
    recordings_dir: Path | None = None,
    audio: AudioStyle | None = None,
) -> ContactCentre:
    """With ``recordings_dir`` the engine asks for the call's recording (``audio``: how it
    sounds) in ``take_recording_jobs()``."""
    cc = _engine(seed, start, recordings_dir=recordings_dir)
    holds = (HoldPlan(hold_at, hold, check_back, 20.0),) if hold > 0 else ()
    tplan = TalkPlan(talk=talk, holds=holds, agent_hangs_up=agent_hangs_up, wrapup=0.0, audio=audio)
    plan = QueuePlan(patience=600.0, ivr=ivr, rings=(ring,), talk=tplan)
    return _support_call(cc, plan)


def queue_abandoned(
    *, ivr: float = 1.0, patience: float = 25.0, seed: int = 0, start: float = DEFAULT_START
) -> ContactCentre:
    """Both agents are on other calls, so the caller waits and hangs up after ``patience``."""
    cc = _engine(seed, start)
    for agent in cc.agents.values():
        agent.busy = True
    plan = QueuePlan(patience=patience, ivr=ivr)
    return _support_call(cc, plan)


def queue_rona_then_answer(
    *,
    ring_timeout: float = 15.0,
    retry: float = 5.0,
    ring: float = 4.0,
    talk: float = 30.0,
    seed: int = 0,
    start: float = DEFAULT_START,
) -> ContactCentre:
    """The first member rung does not answer (AgentRingNoAnswer), the next attempt does."""
    cc = _engine(seed, start, script_config(ring_timeout, retry))
    tplan = TalkPlan(talk=talk, wrapup=0.0)
    plan = QueuePlan(patience=600.0, ivr=1.0, rings=(None, ring), talk=tplan)
    return _support_call(cc, plan)


def _support_call(cc: ContactCentre, plan: QueuePlan) -> ContactCentre:
    """Start the scripted caller's call to queue ``support`` on ``cc``."""
    cc.spawn(queue_call(cc, "support", CALLER, CALLER_NAME, plan))
    return cc


def queue_blind_transfer(
    *,
    ring: float = 5.0,
    talk: float = 30.0,
    transfer_ring: float = 4.0,
    after: float = 40.0,
    seed: int = 0,
    start: float = DEFAULT_START,
) -> ContactCentre:
    cc = _engine(seed, start)
    tplan = TalkPlan(
        talk=talk,
        transfer="blind",
        transfer_to="300",
        transfer_ring=transfer_ring,
        transfer_talk=after,
        wrapup=0.0,
    )
    plan = QueuePlan(patience=600.0, ivr=1.0, rings=(ring,), talk=tplan)
    return _support_call(cc, plan)


def queue_attended_transfer(
    *,
    ring: float = 5.0,
    talk: float = 30.0,
    transfer_ring: float = 4.0,
    consult: float = 15.0,
    after: float = 40.0,
    seed: int = 0,
    start: float = DEFAULT_START,
) -> ContactCentre:
    cc = _engine(seed, start)
    tplan = TalkPlan(
        talk=talk,
        transfer="attended",
        transfer_to="300",
        transfer_ring=transfer_ring,
        consult=consult,
        transfer_talk=after,
        wrapup=0.0,
    )
    plan = QueuePlan(patience=600.0, ivr=1.0, rings=(ring,), talk=tplan)
    return _support_call(cc, plan)


def queue_voicemail(
    *, ivr: float = 1.0, seed: int = 0, start: float = DEFAULT_START
) -> ContactCentre:
    """A call to queue ``night``, which has no agents: straight to voicemail."""
    cc = _engine(seed, start)
    cc.spawn(queue_call(cc, "night", CALLER, CALLER_NAME, QueuePlan(ivr=ivr)))
    return cc


def direct_answered(
    *,
    ring: float = 10.1,
    talk: float = 20.0,
    callee_hangs_up: bool = False,
    seed: int = 0,
    start: float = DEFAULT_START,
    recordings_dir: Path | None = None,
    audio: AudioStyle | None = None,
) -> ContactCentre:
    cc = _engine(seed, start, recordings_dir=recordings_dir)
    plan = DialPlan("answer", ring, talk, callee_hangs_up, audio=audio)
    cc.spawn(direct_call(cc, CALLER, CALLER_NAME, "300", plan))
    return cc


def direct_unanswered(
    *, ring: float = 7.9, seed: int = 0, start: float = DEFAULT_START
) -> ContactCentre:
    """The caller gives up after ``ring`` seconds of ringing (DialEnd CANCEL)."""
    cc = _engine(seed, start)
    cc.spawn(direct_call(cc, CALLER, CALLER_NAME, "300", DialPlan("cancel", ring)))
    return cc


def outbound_callback(
    *,
    due_in: float = 1800.0,
    callback_after: float = 600.0,
    kept: bool = True,
    ring: float = 5.0,
    talk: float = 30.0,
    seed: int = 0,
    start: float = DEFAULT_START,
) -> ContactCentre:
    """A queue call in which agent 201 promises a callback (UserEvent CallbackPromise),
    then the callback: placed ``callback_after`` seconds after the promise."""
    cc = _engine(seed, start)
    tplan = TalkPlan(
        talk=talk,
        promise_due_in=due_in,
        promise_kept=kept,
        callback_after=callback_after,
        wrapup=0.0,
    )
    plan = QueuePlan(patience=600.0, ivr=1.0, rings=(ring,), talk=tplan)
    return _support_call(cc, plan)
