"""Ground truth: what the simulator really did, call by call. Tests of the collector,
tracker and rules compare what they derived from the AMI stream against these values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from monitor.simulator.recordings import AudioStyle

__all__ = ["CallKind", "CallOutcome", "CallTruth", "HoldTruth", "PromiseTruth", "TruthBuilder"]

CallKind = Literal["queue", "direct", "internal", "outbound", "callback"]
CallOutcome = Literal["answered", "abandoned", "unanswered", "busy", "failed", "voicemail"]


@dataclass(frozen=True)
class HoldTruth:
    """One Hold→Unhold span (virtual epoch seconds)."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class PromiseTruth:
    """A callback promise sent as ``UserEvent: CallbackPromise``; ``kept`` is the plan
    (a callback before ``due_at``), ``callback_linkedid`` the call that honoured it."""

    number: str
    promised_at: float
    due_at: float
    agent: str
    reason: str
    kept: bool
    callback_linkedid: str | None = None


@dataclass(frozen=True)
class CallTruth:
    """One call the engine made. Times are virtual epoch seconds; ``answer`` is the time a
    person (agent or extension) answered, ``None`` if nobody did."""

    linkedid: str
    kind: CallKind
    caller: str
    dialled: str
    queue: str | None
    agent: str | None
    start: float
    answer: float | None
    end: float
    outcome: CallOutcome
    holds: tuple[HoldTruth, ...] = ()
    transfers: int = 0
    promise: PromiseTruth | None = None
    queue_join: float | None = None
    rona: int = 0
    interrupted: bool = False
    recording: str | None = None

    @property
    def hold_seconds(self) -> float:
        return sum(h.seconds for h in self.holds)


@dataclass
class TruthBuilder:
    """Mutable truth while a call is running; ``freeze`` makes the record."""

    linkedid: str
    kind: CallKind
    caller: str
    dialled: str
    start: float
    queue: str | None = None
    agent: str | None = None
    answer: float | None = None
    outcome: CallOutcome = "failed"
    holds: list[HoldTruth] = field(default_factory=list)
    transfers: int = 0
    promise: PromiseTruth | None = None
    queue_join: float | None = None
    rona: int = 0
    recording: str | None = None
    audio: AudioStyle | None = None  # the recording's style when a test fixes it

    def freeze(self, end: float, interrupted: bool = False) -> CallTruth:
        return CallTruth(
            linkedid=self.linkedid,
            kind=self.kind,
            caller=self.caller,
            dialled=self.dialled,
            queue=self.queue,
            agent=self.agent,
            start=self.start,
            answer=self.answer,
            end=end,
            outcome=self.outcome,
            holds=tuple(self.holds),
            transfers=self.transfers,
            promise=self.promise,
            queue_join=self.queue_join,
            rona=self.rona,
            interrupted=interrupted,
            recording=self.recording,
        )
