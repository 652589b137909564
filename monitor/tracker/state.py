"""The call state machine: every state a call can be in and the moves allowed between them.

::

    ARRIVING ──> IVR ──> QUEUED ──> RINGING ──> TALKING <──> ON_HOLD
        │         │        │           │           │
        └─────────┴────────┴───────────┴───────────┴──> ENDED

ARRIVING: the caller's channel exists, nothing answered it yet. IVR: answered by the PBX
(dialplan, IVR, voicemail) but not by a person. QUEUED: waiting in a queue (music or ringback).
RINGING: a person's phone is ringing. TALKING: bridged to a person. ON_HOLD: a party pressed
Hold. ENDED: the last leg hung up (or the call was closed as incomplete).

A transfer can send a talking call back to RINGING or QUEUED; a ring-no-answer sends RINGING back
to QUEUED; voicemail after ringing moves RINGING to IVR. Anything else is impossible: the tracker
counts and logs it and keeps the call's facts, it never raises into the event loop.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["ALLOWED", "CallState", "IllegalTransition"]


class CallState(StrEnum):
    ARRIVING = "arriving"
    IVR = "ivr"
    QUEUED = "queued"
    RINGING = "ringing"
    TALKING = "talking"
    ON_HOLD = "on_hold"
    ENDED = "ended"


_S = CallState
ALLOWED: Final[dict[CallState, frozenset[CallState]]] = {
    _S.ARRIVING: frozenset({_S.IVR, _S.QUEUED, _S.RINGING, _S.TALKING, _S.ENDED}),
    _S.IVR: frozenset({_S.QUEUED, _S.RINGING, _S.TALKING, _S.ENDED}),
    _S.QUEUED: frozenset({_S.RINGING, _S.TALKING, _S.IVR, _S.ENDED}),
    _S.RINGING: frozenset({_S.QUEUED, _S.TALKING, _S.IVR, _S.ENDED}),
    _S.TALKING: frozenset({_S.ON_HOLD, _S.RINGING, _S.QUEUED, _S.IVR, _S.ENDED}),
    _S.ON_HOLD: frozenset({_S.TALKING, _S.RINGING, _S.QUEUED, _S.ENDED}),
    _S.ENDED: frozenset(),
}


class IllegalTransition(Exception):
    """A move the state machine does not allow (counted by the tracker, never raised out)."""

    def __init__(self, call_id: str, src: CallState, dst: CallState, cause: str) -> None:
        self.call_id, self.src, self.dst, self.cause = call_id, src, dst, cause
        super().__init__(f"call {call_id}: {src} -> {dst} on {cause} is not allowed")
