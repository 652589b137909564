"""Pure reading of a finished call: does it make a promise (a miss), or return one?"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.promises.numbers import Normalised, normalise
from monitor.promises.settings import KeepMode, PromiseSettings
from monitor.record import CallRecord, Direction, Outcome

__all__ = ["Callback", "callback_of", "is_miss", "miss_number", "miss_time"]


@dataclass(frozen=True, slots=True)
class Callback:
    """A call that returns promises to ``number``: it qualified at ``at`` by ``mode``."""

    call_id: str
    number: str
    at: float
    mode: KeepMode
    agent: str | None = None  # who returned it (the call's agent: a person, never a trunk)


def is_miss(record: CallRecord, settings: PromiseSettings) -> bool:
    """An inbound call that ended in one of the settings' outcomes, in a covered queue."""
    if record.direction is not Direction.INBOUND or record.outcome not in settings.on_outcomes:
        return False
    return settings.queues is None or (record.queue or "") in settings.queues


def miss_time(record: CallRecord) -> float:
    """When the missed call ended: the due period counts from here."""
    return record.ended_at if record.ended_at is not None else record.started_at


def miss_number(record: CallRecord, settings: PromiseSettings) -> Normalised:
    if record.caller_withheld:
        return Normalised(record.caller, None, "withheld")
    return normalise(record.caller, settings.country)


def _outbound_times(record: CallRecord, settings: PromiseSettings) -> list[tuple[float, KeepMode]]:
    answered = record.answered_at if record.answered_at is not None else record.answered_any_at
    if record.outcome is not Outcome.ANSWERED:
        answered = None
    found: list[tuple[float, KeepMode]] = []
    if answered is not None and KeepMode.OUTBOUND_ANSWERED in settings.keep:
        found.append((answered, KeepMode.OUTBOUND_ANSWERED))
    if KeepMode.OUTBOUND_ATTEMPT in settings.keep:
        ring_start = record.first_ring_at if record.first_ring_at is not None else record.started_at
        if answered is not None:
            found.append((answered, KeepMode.OUTBOUND_ATTEMPT))
        elif (
            record.ended_at is not None
            and record.ended_at - ring_start >= settings.min_ring_seconds
        ):
            found.append((ring_start + settings.min_ring_seconds, KeepMode.OUTBOUND_ATTEMPT))
    return found


def callback_of(record: CallRecord, settings: PromiseSettings) -> Callback | None:
    """The earliest way this call returns a promise under the settings' keep policy, if any."""
    if record.direction is Direction.OUTBOUND:
        found = _outbound_times(record, settings)
        raw = record.dialed
    elif record.direction is Direction.INBOUND and KeepMode.INBOUND_ANSWERED in settings.keep:
        found = []
        if record.outcome is Outcome.ANSWERED and record.answered_at is not None:
            found.append((record.answered_at, KeepMode.INBOUND_ANSWERED))
        raw = None if record.caller_withheld else record.caller
    else:
        return None
    if not found:
        return None
    number = normalise(raw, settings.country)
    if number.e164 is None:
        return None
    at, mode = min(found, key=lambda item: item[0])
    return Callback(record.call_id, number.e164, at, mode, record.agent)
