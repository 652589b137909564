"""An agent's pages (issue 19, item 9): the reviews of their own calls, and their answer to
each: acknowledge, or dispute with a comment (the call goes back to the QA queue). A review
of anyone else's call is 404 for them; every answer is audited by the store."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.web.app import AppContext, render
from monitor.web.errors import MAX_ID, form_schema
from monitor.web.permissions import Me
from monitor.web.security import Principal, check_csrf

__all__ = ["MAX_COMMENT", "router"]

router = APIRouter()

MAX_COMMENT = 2_000  # characters of a dispute's comment


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def _known(review_id: int) -> int:
    """An id the database can hold, else 404 (as any unknown review)."""
    if not 1 <= review_id <= MAX_ID:
        raise HTTPException(404, f"no review {review_id} of your calls")
    return review_id


def _agent(ctx: AppContext, me: Principal) -> str:
    agent = ctx.store.agent_for(me.user.name)
    if agent is None:
        raise HTTPException(
            403,
            "this agent login is not linked to an agent name; ask an admin to add it again "
            "with 'ringwatch users add NAME --role agent --agent \"Agent Name\"'",
        )
    return agent


@router.get("/my/reviews")
def my_reviews(request: Request, me: Me) -> Response:
    ctx = _ctx(request)
    agent = _agent(ctx, me)
    return render(
        request,
        "my_reviews.html",
        {"agent": agent, "items": ctx.store.agent_reviews(agent)},
        principal=me,
    )


@router.get("/my/reviews/{review_id}")
def my_review(request: Request, review_id: int, me: Me) -> Response:
    ctx = _ctx(request)
    agent = _agent(ctx, me)
    return render(
        request,
        "my_review.html",
        {
            "agent": agent,
            "v": ctx.store.agent_review(agent, _known(review_id)),
            "checklist": ctx.settings.checklist,
            "max_comment": MAX_COMMENT,
        },
        principal=me,
    )


async def _answer(request: Request, review_id: int, me: Principal, kind: str) -> Response:
    ctx = _ctx(request)
    form = await request.form()
    check_csrf(me.csrf, form.get("csrf"))
    comment = form.get("comment", "")
    text = comment if isinstance(comment, str) else ""
    if len(text) > MAX_COMMENT:
        raise HTTPException(
            400, f"the comment is {len(text):,} characters; the limit is {MAX_COMMENT:,}"
        )
    if kind == "disputed" and not text.strip():
        raise HTTPException(400, "say why you dispute this review: the comment goes to QA")
    agent = _agent(ctx, me)
    _known(review_id)
    await run_in_threadpool(ctx.store.respond_to_review, me.user.name, agent, review_id, kind, text)
    return RedirectResponse(f"/my/reviews/{review_id}", status_code=303)


@router.post("/my/reviews/{review_id}/acknowledge", openapi_extra=form_schema())
async def acknowledge(request: Request, review_id: int, me: Me) -> Response:
    return await _answer(request, review_id, me, "acknowledged")


@router.post("/my/reviews/{review_id}/dispute", openapi_extra=form_schema(comment=MAX_COMMENT + 10))
async def dispute(request: Request, review_id: int, me: Me) -> Response:
    return await _answer(request, review_id, me, "disputed")
