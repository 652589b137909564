"""``/api/promises``: a FastAPI router the web app mounts.

    app.include_router(promises_router(engine, current_user=require_user))

``current_user`` is the web app's authentication dependency: it must raise (401/403) when
there is no signed-in user, and return the user; ``actor_of(user)`` names them in the audit
history (default: the user's ``username`` or ``name`` attribute or key, or that of its
``user``; never the object's text, which may hold secrets).
Explicit promises take their time from ``clock`` (wall time: a person promising now).
"""

# No ``from __future__ import annotations`` here: FastAPI reads these annotations at runtime
# and ``Depends(current_user)`` refers to a factory argument.

import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, Field

from monitor.errors import PromiseError
from monitor.promises.engine import PromiseEngine
from monitor.promises.model import PromiseKind
from monitor.promises.views import VIEWS

# ids are 32-bit on every backend (PostgreSQL INTEGER): a larger one names no promise (404)
MAX_ID = 2**31 - 1

__all__ = ["MAX_ID", "CancelRequest", "PromiseRequest", "default_actor", "promises_router"]


class PromiseRequest(BaseModel):
    """A new explicit promise: ``due_at`` (ISO 8601 with zone) or ``due_in_seconds``."""

    number: str = Field(min_length=1, max_length=64)
    due_at: datetime | None = None
    due_in_seconds: float | None = Field(default=None, gt=0, le=366 * 86400)
    reason: str | None = Field(default=None, max_length=500)
    key: str | None = Field(default=None, min_length=1, max_length=200)


class CancelRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def default_actor(user: Any) -> str:
    """The user's name, and only that: never ``str(user)``, which for a login object holds
    its session and CSRF tokens (issue 14: they were stored and served to every viewer).

    Looks at ``username``/``name``/``login`` attributes or keys, then one level into a
    ``user`` attribute or key (the web tier's ``Principal``); "unknown" when none is a name.
    """
    for candidate in (user, _get(user, "user")):
        for attr in ("username", "name", "login"):
            value = _get(candidate, attr)
            if isinstance(value, str) and value:
                return value
    return "unknown"


def _get(obj: Any, attr: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(attr)
    return getattr(obj, attr, None)


def promises_router(
    engine: PromiseEngine,
    current_user: Callable[..., Any],
    *,
    clock: Callable[[], float] = time.time,
    actor_of: Callable[[Any], str] = default_actor,
    prefix: str = "/api/promises",
    audit: Callable[[str, str, dict[str, Any]], None] | None = None,
) -> APIRouter:
    """Routes: ``POST ""`` (make), ``GET ""?view=`` (list), ``GET /counts``,
    ``GET /{id}`` (with history), ``POST /{id}/cancel``. Every route needs ``current_user``.
    ``audit(actor, action, detail)`` records makes (``promise_add``) and cancels
    (``promise_cancel``, as the web form does) in the application's audit log."""
    router = APIRouter(prefix=prefix, tags=["promises"])
    User = Annotated[Any, Depends(current_user)]

    @router.post("", status_code=status.HTTP_201_CREATED)
    def make_promise(body: PromiseRequest, user: User, response: Response) -> dict[str, Any]:
        now = clock()
        if (body.due_at is None) == (body.due_in_seconds is None):
            raise HTTPException(422, "give exactly one of due_at or due_in_seconds")
        if body.due_at is not None:
            if body.due_at.tzinfo is None:
                raise HTTPException(422, "due_at needs a time zone, e.g. 2024-05-01T17:00:00Z")
            due = body.due_at.timestamp()
        else:
            assert body.due_in_seconds is not None
            due = now + body.due_in_seconds
        try:
            changes = engine.promise(
                body.number,
                due,
                made_at=now,
                actor=f"user:{actor_of(user)}",
                kind=PromiseKind.API,
                key=None if body.key is None else f"api:{body.key}",
                reason=body.reason,
                agent=actor_of(user),
            )
        except PromiseError as exc:
            raise HTTPException(400, str(exc)) from exc
        if changes:
            promise = changes[-1].promise
            action = str(changes[-1].action)
            if audit is not None:
                audit(
                    actor_of(user),
                    "promise_add",
                    {"promise_id": str(promise.id), "action": action, "via": "api"},
                )
        else:  # the same key again: the promise it made
            found = engine.by_key(f"api:{body.key}") if body.key else None
            if found is None:
                raise HTTPException(409, "this promise was already recorded")
            promise, action = found, "unchanged"
            response.status_code = status.HTTP_200_OK
        return {"promise": promise.to_dict(), "action": action}

    @router.get("")
    def list_promises(
        user: User,
        view: Annotated[str, Query(description=", ".join(VIEWS), max_length=20)] = "open",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ) -> dict[str, Any]:
        try:
            found = engine.view(view, now=clock(), limit=limit, offset=offset)
        except PromiseError as exc:
            raise HTTPException(400, str(exc)) from exc
        return {"view": view, "promises": [p.to_dict() for p in found]}

    @router.get("/counts")
    def counts(user: User) -> dict[str, int]:
        return engine.counts_by_state()

    @router.get("/{promise_id}")
    def show(promise_id: int, user: User) -> dict[str, Any]:
        found = engine.get(promise_id) if 1 <= promise_id <= MAX_ID else None
        if found is None:
            raise HTTPException(404, f"no promise with id {promise_id}")
        return {"promise": found.to_dict(), "history": engine.history(promise_id)}

    @router.post("/{promise_id}/cancel")
    def cancel(promise_id: int, body: CancelRequest, user: User) -> dict[str, Any]:
        if not 1 <= promise_id <= MAX_ID or engine.get(promise_id) is None:
            raise HTTPException(404, f"no promise with id {promise_id}")
        try:
            change = engine.cancel(
                promise_id, body.reason, at=clock(), actor=f"user:{actor_of(user)}"
            )
        except PromiseError as exc:
            raise HTTPException(409, str(exc)) from exc
        if audit is not None:
            audit(
                actor_of(user),
                "promise_cancel",
                {"promise_id": str(promise_id), "reason": body.reason.strip(), "via": "api"},
            )
        return {"promise": change.promise.to_dict(), "action": str(change.action)}

    return router
