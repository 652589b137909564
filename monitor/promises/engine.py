"""The callback promise engine: make promises, keep them, break them on event time.

Every change is written through to the database in one transaction before the method
returns (the database is the ledger; nothing lives only in memory), so a crash loses
nothing and a restart just opens the same database. Every source has an idempotency key,
so a replay of the same events does not duplicate promises or history.

The pipeline calls :meth:`on_call` with each finished :class:`~monitor.record.CallRecord`,
:meth:`on_event` with each :class:`~monitor.events.CallbackPromised`, and :meth:`advance`
as event time moves; each returns the :class:`~monitor.promises.model.Change` list to turn
into findings and metrics. Invalid requests raise :class:`~monitor.errors.PromiseError`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from monitor.errors import PromiseError, StoreError
from monitor.events import CallbackPromised
from monitor.promises import ledger
from monitor.promises import repository as repo
from monitor.promises.matching import callback_of, is_miss, miss_number, miss_time
from monitor.promises.model import (
    Action,
    Change,
    PromiseKind,
    PromiseState,
    check_transition,
)
from monitor.promises.numbers import Normalised, normalise
from monitor.promises.settings import ALWAYS_OPEN, BusinessCalendar, PromiseSettings
from monitor.promises.views import PromiseQueries
from monitor.record import CallRecord

__all__ = ["PromiseEngine", "miss_key"]


def miss_key(call_id: str) -> str:
    """The key of the promise a missed call makes (one per call, however often replayed)."""
    return f"call:{call_id}:missed"


class PromiseEngine(PromiseQueries):
    """The promise ledger on a database. Thread-safe (one lock); event time only.

    ``refresh_seconds`` bounds (in real seconds, only a cache) how long :meth:`advance` trusts
    its cached next due time before asking the database again, so promises added by another
    process (``ringwatch promises add``) are seen; outcomes never depend on it.
    """

    def __init__(
        self,
        db: Engine,
        settings: PromiseSettings | None = None,
        calendar: BusinessCalendar = ALWAYS_OPEN,
        *,
        refresh_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(db)
        self.settings = settings if settings is not None else PromiseSettings()
        self.calendar: BusinessCalendar = calendar if self.settings.business_hours else ALWAYS_OPEN
        self._lock = threading.RLock()
        self._refresh = refresh_seconds
        self._monotonic = monotonic
        self._next_due: float | None = None
        self._checked_at: float | None = None  # monotonic time of the last next_due read

    # ---- time ------------------------------------------------------------------------------

    def due_at(self, made_at: float) -> float:
        """The due time of a promise made at ``made_at`` under the settings (and calendar)."""
        return self.calendar.add_business_seconds(made_at, self.settings.due_seconds)

    def advance(self, now: float) -> list[Change]:
        """Move event time to ``now``: break every open promise due before it (at its due
        time, in due order). The same event times give the same outcomes, live or replayed."""
        with self._lock:
            self._now = now if self._now is None else max(self._now, now)
            fresh = (
                self._checked_at is not None
                and self._monotonic() - self._checked_at < self._refresh
            )
            if fresh and (self._next_due is None or now <= self._next_due):
                return []
            with self._tx((), due_before=now) as conn:  # (the promises due before now)
                changes = [
                    ledger.break_promise(conn, p, self.settings) for p in repo.due(conn, now)
                ]
                # the earliest due time: stored, or of a promise not written yet (deferred)
                deferred = None if self._deferred is None else self._deferred.min_due
                dues = [repo.next_due(conn), deferred]
                self._next_due = min((d for d in dues if d is not None), default=None)
            self._checked_at = self._monotonic()
            return [c for c in changes if c is not None]

    def _note_due(self, due_at: float) -> None:
        if self._next_due is None or due_at < self._next_due:
            self._next_due = due_at

    # ---- calls -----------------------------------------------------------------------------

    def on_call(self, record: CallRecord) -> list[Change]:
        """A finished call: it may return promises to its number, or make one (a miss)."""
        changes: list[Change] = []
        with self._lock:
            callback = callback_of(record, self.settings)
            if callback is not None:
                changes += self.advance(callback.at)
                if self._may_hold(callback.number):  # (its promises only: to its number)
                    with self._tx((callback.number,)) as conn:
                        changes += ledger.returned(conn, callback, self.settings)
            if is_miss(record, self.settings):
                made_at = miss_time(record)
                changes += self.advance(made_at)
                changes += self._make(
                    key=miss_key(record.call_id),
                    kind=PromiseKind.MISSED,
                    number=miss_number(record, self.settings),
                    made_at=made_at,
                    due_at=self.due_at(made_at),
                    actor=f"call:{record.call_id}",
                    source_call_id=record.call_id,
                    reason=f"missed call ({record.outcome})",
                )
        return changes

    def batch_keys(
        self, records: Iterable[CallRecord], events: Iterable[CallbackPromised] = ()
    ) -> list[str]:
        """The keys of the promises ``records`` (missed calls) and ``events`` would make: a
        batch's ``keys``."""
        keys = [miss_key(r.call_id) for r in records if is_miss(r, self.settings)]
        return keys + [self._event_key(e)[0] for e in events]

    def batch_numbers(
        self, records: Iterable[CallRecord], events: Iterable[CallbackPromised] = ()
    ) -> tuple[set[str], set[str]]:
        """The numbers ``records`` (callbacks, missed calls) and ``events`` may return or
        join promises to, and those of them the callbacks dial: a batch's ``numbers`` and
        ``callbacks``."""
        numbers: set[str] = set()
        callbacks: set[str] = set()
        for r in records:
            callback = callback_of(r, self.settings)
            if callback is not None:
                callbacks.add(callback.number)
            if is_miss(r, self.settings) and (e164 := miss_number(r, self.settings).e164):
                numbers.add(e164)
        numbers.update(n for e in events if (n := self._event_key(e)[1].e164))
        return numbers | callbacks, callbacks

    def _event_key(self, event: CallbackPromised) -> tuple[str, Normalised]:
        """A CallbackPromise's idempotency key, and its number."""
        number = normalise(event.number, self.settings.country)
        linkedid = event.chan.linkedid if event.chan is not None else "-"
        ident = number.e164 or (event.number or "").strip()
        return f"ami:{linkedid}:{ident}:{event.due_at:.3f}", number

    # ---- explicit promises -----------------------------------------------------------------

    def on_event(self, event: CallbackPromised) -> list[Change]:
        """AMI ``UserEvent: CallbackPromise``. Raises PromiseError if it is not a promise."""
        key, number = self._event_key(event)
        with self._lock:
            changes = self.advance(event.at)
            changes += self._make(
                key=key,
                kind=PromiseKind.AMI,
                number=number,
                made_at=event.at,
                due_at=self._explicit_due(event.at, event.due_at),
                actor=f"agent:{event.agent}" if event.agent else "ami",
                source_call_id=None if event.chan is None else event.chan.linkedid,
                reason=event.reason,
                agent=event.agent,
            )
        return changes

    def promise(
        self,
        number: str,
        due_at: float,
        *,
        made_at: float,
        actor: str,
        kind: PromiseKind = PromiseKind.API,
        key: str | None = None,
        reason: str | None = None,
        agent: str | None = None,
    ) -> list[Change]:
        """An explicit promise from the API or the CLI. ``key`` makes a retry idempotent."""
        norm = normalise(number, self.settings.country)
        if not norm.ok:
            raise PromiseError(
                f"cannot promise a callback to {number!r}: {norm.problem}; give the number "
                f"with its country code (+44 7700 900123) or as dialled in {self.settings.country}"
            )
        with self._lock:
            changes = self.advance(made_at)
            changes += self._make(
                key=key or f"{kind}:{norm.e164}:{made_at:.6f}",
                kind=kind,
                number=norm,
                made_at=made_at,
                due_at=self._explicit_due(made_at, due_at),
                actor=actor,
                source_call_id=None,
                reason=reason,
                agent=agent,
            )
        return changes

    def _explicit_due(self, made_at: float, due_at: float) -> float:
        """An explicit promise's due time: its own, unless its rule sets ``due``."""
        explicit = self.settings.explicit
        if explicit is None or explicit.due_seconds is None:
            return due_at
        return made_at + explicit.due_seconds

    def rule_for(self, kind: PromiseKind) -> str:
        """The rule a promise of ``kind`` is judged under: missed calls under the implicit
        rule, explicit promises under the explicit one (when the rules have one)."""
        explicit = self.settings.explicit
        if kind is PromiseKind.MISSED or explicit is None:
            return self.settings.rule_id
        return explicit.rule_id

    def _make(
        self,
        *,
        key: str,
        kind: PromiseKind,
        number: Normalised,
        made_at: float,
        due_at: float,
        actor: str,
        source_call_id: str | None,
        reason: str | None,
        agent: str | None = None,
    ) -> list[Change]:
        if not due_at > made_at:
            raise PromiseError(
                f"promise {key}: due time {due_at} is not after the time it was made "
                f"({made_at}); give a due time in the future"
            )
        values: dict[str, Any] = {
            "key": key[:255],
            "kind": str(kind),
            "pbx": self.settings.pbx,
            "number": number.e164,
            "raw_number": None if number.raw is None else number.raw[:128],
            "source_call_id": source_call_id,
            "reason": None if reason is None else reason[:500],
            "agent": agent,
            "rule": self.rule_for(kind),
            "made_at": made_at,
            "due_at": due_at,
        }
        deferred, numbers, e164 = self._deferred, self._numbers, number.e164
        # a key checked unknown when the batch began needs no lookup (promises/deferred.py)
        unknown = deferred is not None and deferred.take(values["key"])
        no_open = e164 is not None and numbers is not None and e164 not in numbers
        if deferred is not None and unknown and no_open and numbers is not None and e164:
            made = deferred.make(values, actor, "promise made")  # to a number none is open to
            self._note_due(due_at)
            numbers.add(e164)
            return [made]
        try:  # (the promises with its key, or to its number)
            with self._tx((e164,) if e164 else (), (values["key"],)) as conn:
                return ledger.make_in(
                    conn, values, number, actor, self.settings, self._note_due, numbers, deferred,
                    known=False if unknown else None,
                )  # fmt: skip
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            with self._tx() as conn:  # another writer made it first: the same promise
                if repo.find_key(conn, values["key"]) is not None:
                    return []
            raise

    # ---- people ----------------------------------------------------------------------------

    def cancel(self, promise_id: int, reason: str, *, at: float, actor: str) -> Change:
        """Cancel an open promise (a person decided it needs no callback); reason required."""
        if not reason.strip():
            raise PromiseError(f"cancelling promise {promise_id} needs a reason (--reason TEXT)")
        with self._lock, self._tx() as conn:
            current = repo.get(conn, promise_id)
            if current is None:
                raise PromiseError(
                    f"no promise with id {promise_id}; list them with 'ringwatch promises list'"
                )
            check_transition(promise_id, current.state, PromiseState.CANCELLED)
            closed = repo.close(
                conn, current, PromiseState.CANCELLED, at, actor, detail=reason.strip()
            )
            if closed is None:
                raise PromiseError(f"promise {promise_id} was closed by someone else just now")
        return Change(
            closed,
            Action.CANCELLED,
            at,
            actor,
            PromiseState.OPEN,
            PromiseState.CANCELLED,
            reason.strip(),
        )
