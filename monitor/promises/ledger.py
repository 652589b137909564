"""The promise ledger's steps inside one transaction: break a due promise, return promises to
a number on a callback, note a late callback, make (or merge) a promise. Each writes through
``conn`` and returns the :class:`~monitor.promises.model.Change` list;
:class:`~monitor.promises.engine.PromiseEngine` holds the lock, event time and the entry
points, and calls these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from monitor.promises import statements as repo
from monitor.promises.deferred import DeferredPromises
from monitor.promises.matching import Callback
from monitor.promises.model import Action, Change, Promise, PromiseState
from monitor.promises.numbers import Normalised
from monitor.promises.settings import PromiseSettings
from monitor.record import Finding

__all__ = ["SYSTEM", "break_promise", "make_in", "reached_late", "returned"]

SYSTEM = "system"


def break_promise(conn: Connection, promise: Promise, settings: PromiseSettings) -> Change | None:
    """Close a due open promise as broken at its due time, with its finding (under its own
    rule when it is the explicit one)."""
    detail = "not returned by the due time"
    closed = repo.close(conn, promise, PromiseState.BROKEN, promise.due_at, SYSTEM, detail=detail)
    if closed is None:
        return None
    s, explicit = settings, settings.explicit
    allowed = promise.due_at - promise.made_at
    if explicit is not None and promise.rule == explicit.rule_id:
        # judged under its own rule, against its own due time (or the rule's ``due``)
        severity, title, flag = explicit.severity, explicit.title, explicit.flag
        threshold = explicit.due_seconds if explicit.due_seconds is not None else allowed
    else:
        severity, title, flag, threshold = s.severity, s.title, s.flag, s.due_seconds
    finding = Finding(
        rule=promise.rule,
        severity=severity,
        value=allowed,
        threshold=threshold,
        at=promise.due_at,
        title=title,
        flag=flag,
    )
    return Change(
        closed,
        Action.BROKEN,
        promise.due_at,
        SYSTEM,
        PromiseState.OPEN,
        PromiseState.BROKEN,
        detail,
        promise.source_call_id,
        finding=finding,
    )


def returned(conn: Connection, cb: Callback, settings: PromiseSettings) -> list[Change]:
    """A callback to ``cb.number``: its open promises kept (or broken, if due before it), its
    broken ones not yet reached marked as reached late."""
    changes: list[Change] = []
    # the credit goes to the person who called back (the call's agent), else the call
    actor = f"agent:{cb.agent}" if cb.agent else f"call:{cb.call_id}"
    for p in repo.open_to(conn, cb.number):
        if p.made_at > cb.at:
            continue  # promised after this call: it cannot have returned it
        if p.due_at < cb.at:  # due before the callback: broken, whatever the cache said
            broke = break_promise(conn, p, settings)
            if broke is not None:
                changes.append(broke)
                changes += reached_late(conn, broke.promise, cb, actor)
            continue
        detail = f"returned by {cb.mode} call {cb.call_id}"
        kept = repo.close(
            conn,
            p,
            PromiseState.KEPT,
            cb.at,
            actor,
            detail=detail,
            call_id=cb.call_id,
            fields={"kept_by_call_id": cb.call_id, "kept_at": cb.at},
        )
        if kept is not None:
            changes.append(
                Change(
                    kept,
                    Action.KEPT,
                    cb.at,
                    actor,
                    PromiseState.OPEN,
                    PromiseState.KEPT,
                    detail,
                    cb.call_id,
                    callback_seconds=cb.at - p.made_at,
                )
            )
    for p in repo.unreached_to(conn, cb.number):
        if p.due_at < cb.at:
            changes += reached_late(conn, p, cb, actor)
    return changes


def reached_late(conn: Connection, p: Promise, cb: Callback, actor: str) -> list[Change]:
    """A broken promise reached after its due time (once)."""
    if p.late_at is not None or p.made_at > cb.at:
        return []
    detail = f"reached late by {cb.mode} call {cb.call_id}"
    updated = repo.amend(
        conn, p.id, Action.LATE_CALLBACK, cb.at, actor, detail=detail, call_id=cb.call_id,
        fields={"late_call_id": cb.call_id, "late_at": cb.at},
    )  # fmt: skip
    return [
        Change(
            updated,
            Action.LATE_CALLBACK,
            cb.at,
            actor,
            detail=detail,
            call_id=cb.call_id,
            callback_seconds=cb.at - p.made_at,
        )
    ]


def make_in(
    conn: Connection,
    values: dict[str, Any],
    number: Normalised,
    actor: str,
    settings: PromiseSettings,
    note_due: Callable[[float], None],
    numbers: set[str] | None = None,
    deferred: DeferredPromises | None = None,
    known: bool | None = None,
) -> list[Change]:
    """Make the promise ``values`` describe, or merge it into an open one of the same rule to
    the same number; ``note_due`` hears each new due time. ``numbers`` (inside an import
    batch): the numbers that may hold an open promise; a new promise's number joins it.
    ``deferred`` (a batch on PostgreSQL: monitor/promises/deferred.py): the ids taken already,
    and where a new promise whose key was checked (``known`` False: new; None: look it up)
    waits to be written with the batch's others."""
    key = values["key"]

    def insert(detail: str, unless_known: bool = False) -> Change | None:
        promise_id = None if deferred is None else deferred.next_id()
        return repo.insert_promise(
            conn, values, actor, detail, unless_known=unless_known, promise_id=promise_id
        )

    if numbers is not None and number.e164 is not None and number.e164 not in numbers:
        # most of an import's promises: no promise to this number can be open, so it is
        # made unless its key is known (a replay); PostgreSQL: in one statement
        made = insert("promise made", unless_known=known is None)
        if made is None:
            return []
        note_due(float(values["due_at"]))
        numbers.add(number.e164)
        return [made]
    if known is None and repo.find_key(conn, key) is not None:
        return []  # replayed: already made or merged
    made_at, due_at = float(values["made_at"]), float(values["due_at"])
    if number.e164 is None:
        created = insert("promise made")
        assert created is not None
        detail = f"cannot be returned: number {number.raw!r} is {number.problem}"
        closed = repo.close(
            conn, created.promise, PromiseState.UNRETURNABLE, made_at, SYSTEM, detail=detail
        )
        assert closed is not None
        return [
            created,
            Change(
                closed,
                Action.UNRETURNABLE,
                made_at,
                SYSTEM,
                PromiseState.OPEN,
                PromiseState.UNRETURNABLE,
                detail,
                values["source_call_id"],
            ),
        ]
    changes: list[Change] = []
    existing = repo.open_to(conn, number.e164) if numbers is None or number.e164 in numbers else []
    for p in existing:
        if p.due_at < made_at:  # overdue before this miss: break it first
            broke = break_promise(conn, p, settings)
            changes += [] if broke is None else [broke]
    # an open promise of the same rule absorbs this one (the earliest due time wins); a
    # promise under another rule stays separate, judged under its own rule
    current = [p for p in existing if p.due_at >= made_at and p.rule == values["rule"]]
    if current:
        target = current[0]
        new_due = min(target.due_at, due_at)
        detail = f"joined by {values['kind']} {values['source_call_id'] or key}"
        merged = repo.amend(
            conn, target.id, Action.MERGED, made_at, actor, detail=detail,
            call_id=values["source_call_id"], source_key=key,
            fields={"due_at": new_due, "misses": target.misses + 1},
        )  # fmt: skip
        note_due(new_due)
        return [
            *changes,
            Change(
                merged,
                Action.MERGED,
                made_at,
                actor,
                detail=detail,
                call_id=values["source_call_id"],
            ),
        ]
    if deferred is not None and known is False:  # its key checked new: written later
        created = deferred.make(values, actor, "promise made")
    else:
        created = insert("promise made")
    assert created is not None
    note_due(due_at)
    if numbers is not None:
        numbers.add(number.e164)
    return [*changes, created]
