"""The promise engine on scenarios built from real timestamps: kept, broken, merged ..."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from monitor.errors import PromiseError
from monitor.events import CallbackPromised, ChannelRef
from monitor.promises import (
    Action,
    KeepMode,
    PromiseEngine,
    PromiseKind,
    PromiseSettings,
    PromiseState,
    promise_events,
    promises,
)
from monitor.record import Outcome, Severity

HOUR = 3600.0
GB = PromiseSettings(country="GB", rule_id="return-missed-calls", severity=Severity.CRITICAL)


def _engine(db: Engine, **kw: object) -> PromiseEngine:
    base = {"country": "GB", "rule_id": "return-missed-calls"}
    base.update(kw)
    return PromiseEngine(db, PromiseSettings(**base), refresh_seconds=0.0)  # type: ignore[arg-type]


def test_kept_by_outbound_answered_three_hours_later_in_another_format(db, make_call, t0):
    engine = _engine(db)
    made = engine.on_call(
        make_call("in-1", "inbound", "abandoned", t0, caller="07700 900123", end=t0 + 40)
    )
    assert [c.action for c in made] == [Action.CREATED]
    promise = made[0].promise
    assert promise.number == "+447700900123"
    assert promise.due_at == t0 + 40 + 24 * HOUR
    assert promise.kind is PromiseKind.MISSED and promise.source_call_id == "in-1"

    back = make_call(
        "out-1",
        "outbound",
        "answered",
        t0 + 3 * HOUR,
        dialed="447700900123",
        answer=t0 + 3 * HOUR + 12,
    )
    changes = engine.on_call(back)
    assert [c.action for c in changes] == [Action.KEPT]
    kept = changes[0]
    assert kept.outcome == "kept"
    assert kept.promise.state is PromiseState.KEPT
    assert kept.promise.kept_by_call_id == "out-1"
    assert kept.promise.kept_at == t0 + 3 * HOUR + 12
    assert kept.callback_seconds == pytest.approx(3 * HOUR + 12 - 40)
    assert engine.counts_by_state()["kept"] == 1
    assert engine.advance(t0 + 48 * HOUR) == []  # a kept promise never breaks
    actions = [h["action"] for h in engine.history(promise.id)]
    assert actions == ["created", "kept"]


def test_broken_when_callback_comes_after_due_time(db, make_call, t0):
    engine = _engine(db)
    engine.on_call(make_call("in-1", "inbound", "unanswered", t0, caller="+44 7700 900123"))
    due = t0 + 60 + 24 * HOUR
    late = make_call(
        "out-9", "outbound", "answered", due + HOUR, dialed="07700900123", answer=due + HOUR + 5
    )
    changes = engine.on_call(late)  # no advance() in between: the call itself moves time
    assert [c.action for c in changes] == [Action.BROKEN, Action.LATE_CALLBACK]
    broken = changes[0]
    assert broken.at == due and broken.outcome == "broken"
    assert broken.finding is not None
    assert broken.finding.rule == "return-missed-calls"
    assert broken.finding.at == due and broken.finding.threshold == 24 * HOUR
    final = engine.get(broken.promise.id)
    assert final is not None and final.state is PromiseState.BROKEN
    assert final.kept_by_call_id is None and final.late_call_id == "out-9"
    assert changes[1].callback_seconds == pytest.approx(due + HOUR + 5 - (t0 + 60))
    assert engine.overdue(due + 2 * HOUR) == []  # reached late: no longer waiting


def test_advance_breaks_at_due_time_and_reports_overdue(db, make_call, t0):
    engine = _engine(db, severity=Severity.WARNING)
    engine.on_call(make_call("in-1", "inbound", "voicemail", t0, caller="07700900123"))
    due = t0 + 60 + 24 * HOUR
    assert engine.advance(due) == []  # a callback exactly at the due time would still keep
    assert engine.overdue(due) == []
    changes = engine.advance(due + 0.5)
    assert len(changes) == 1 and changes[0].at == due and changes[0].to_state is PromiseState.BROKEN
    assert changes[0].finding is not None and changes[0].finding.severity is Severity.WARNING
    assert [p.id for p in engine.overdue()] == [changes[0].promise.id]
    assert engine.advance(due + 10 * HOUR) == []  # broken once


def test_callback_at_exact_due_time_keeps(db, make_call, t0):
    engine = _engine(db)
    engine.on_call(make_call("in-1", "inbound", "abandoned", t0, caller="07700900123", end=t0))
    due = t0 + 24 * HOUR
    back = make_call("out-1", "outbound", "answered", due - 10, dialed="07700900123", answer=due)
    assert [c.action for c in engine.on_call(back)] == [Action.KEPT]


def test_kept_by_customer_calling_in_when_rule_allows(db, make_call, t0):
    engine = _engine(db, keep=frozenset({KeepMode.OUTBOUND_ANSWERED, KeepMode.INBOUND_ANSWERED}))
    engine.on_call(make_call("in-1", "inbound", "abandoned", t0, caller="07700900123"))
    again = make_call(
        "in-2",
        "inbound",
        "answered",
        t0 + 2 * HOUR,
        caller="+447700900123",
        answer=t0 + 2 * HOUR + 8,
    )
    changes = engine.on_call(again)
    assert [c.action for c in changes] == [Action.KEPT]
    assert changes[0].promise.kept_by_call_id == "in-2"
    assert "inbound_answered" in changes[0].detail


def test_customer_calling_in_does_not_keep_by_default(db, make_call, t0):
    engine = _engine(db)
    engine.on_call(make_call("in-1", "inbound", "abandoned", t0, caller="07700900123"))
    again = make_call(
        "in-2", "inbound", "answered", t0 + HOUR, caller="07700900123", answer=t0 + HOUR + 5
    )
    assert engine.on_call(again) == []
    assert engine.counts_by_state()["open"] == 1


def test_outbound_attempt_needs_min_ringing(db, make_call, t0):
    engine = _engine(db, keep=frozenset({KeepMode.OUTBOUND_ATTEMPT}), min_ring_seconds=20.0)
    engine.on_call(make_call("in-1", "inbound", "abandoned", t0, caller="07700900123"))
    short = make_call(
        "o-1", "outbound", "unanswered", t0 + HOUR, dialed="07700900123", end=t0 + HOUR + 10
    )
    assert engine.on_call(short) == []
    long = make_call(
        "o-2",
        "outbound",
        "unanswered",
        t0 + 2 * HOUR,
        dialed="07700900123",
        first_ring=t0 + 2 * HOUR + 2,
        end=t0 + 2 * HOUR + 40,
    )
    changes = engine.on_call(long)
    assert [c.action for c in changes] == [Action.KEPT]
    assert changes[0].promise.kept_at == t0 + 2 * HOUR + 22  # ring start + 20 s


@pytest.mark.parametrize("caller", ["anonymous", "<unknown>", "", "Restricted", None, "12"])
def test_withheld_or_invalid_number_is_unreturnable(db, make_call, t0, caller):
    engine = _engine(db)
    changes = engine.on_call(make_call("in-w", "inbound", "abandoned", t0, caller=caller))
    assert [c.action for c in changes] == [Action.CREATED, Action.UNRETURNABLE]
    assert changes[1].outcome == "unreturnable"
    assert changes[1].promise.number is None and changes[1].promise.raw_number == caller
    counts = engine.counts_by_state()
    assert counts["unreturnable"] == 1 and counts["open"] == 0
    assert engine.advance(t0 + 100 * HOUR) == []


def test_withheld_flag_wins_over_a_number(db, make_call, t0):
    engine = _engine(db)
    call = make_call("in-w", "inbound", "unanswered", t0, caller="07700900123", withheld=True)
    assert engine.on_call(call)[-1].promise.state is PromiseState.UNRETURNABLE


def test_two_abandons_from_one_number_make_one_promise(db, make_call, t0):
    engine = _engine(db)
    first = engine.on_call(make_call("in-1", "inbound", "abandoned", t0, caller="07700 900123"))
    second = engine.on_call(
        make_call("in-2", "inbound", "abandoned", t0 + HOUR, caller="+447700900123")
    )
    assert [c.action for c in second] == [Action.MERGED]
    assert second[0].promise.id == first[0].promise.id
    assert second[0].promise.misses == 2
    assert second[0].promise.due_at == first[0].promise.due_at  # earliest due kept
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(promises)).scalar() == 1
    back = make_call(
        "o-1", "outbound", "answered", t0 + 2 * HOUR, dialed="07700900123", answer=t0 + 2 * HOUR + 9
    )
    assert [c.action for c in engine.on_call(back)] == [Action.KEPT]


def test_new_miss_after_a_broken_promise_makes_a_new_one(db, make_call, t0):
    engine = _engine(db)
    engine.on_call(make_call("in-1", "inbound", "abandoned", t0, caller="07700900123"))
    changes = engine.on_call(
        make_call("in-2", "inbound", "abandoned", t0 + 30 * HOUR, caller="07700900123")
    )
    assert [c.action for c in changes] == [Action.BROKEN, Action.CREATED]


def test_answered_and_internal_calls_make_no_promise(db, make_call, t0):
    engine = _engine(db)
    assert (
        engine.on_call(
            make_call("a", "inbound", "answered", t0, caller="07700900123", answer=t0 + 5)
        )
        == []
    )
    assert engine.on_call(make_call("b", "internal", "unanswered", t0, caller="101")) == []
    assert engine.counts_by_state() == {
        "open": 0,
        "kept": 0,
        "broken": 0,
        "cancelled": 0,
        "unreturnable": 0,
    }


def test_queue_filter(db, make_call, t0):
    engine = _engine(db, queues=frozenset({"sales"}))
    assert (
        engine.on_call(
            make_call("a", "inbound", "abandoned", t0, caller="07700900123", queue="support")
        )
        == []
    )
    assert (
        len(
            engine.on_call(
                make_call("b", "inbound", "abandoned", t0, caller="07700900124", queue="sales")
            )
        )
        == 1
    )


def _promised(t: float, due: float, linkedid: str = "1715000000.11") -> CallbackPromised:
    chan = ChannelRef("PJSIP/101-0000001", "1715000000.12", linkedid)
    return CallbackPromised(
        t, chan=chan, number="07700 900555", due_at=due, agent="alice", reason="quote"
    )


def test_explicit_userevent_promise_kept(db, make_call, t0):
    engine = _engine(db)
    changes = engine.on_event(_promised(t0, t0 + 2 * HOUR))
    assert [c.action for c in changes] == [Action.CREATED]
    p = changes[0].promise
    assert p.kind is PromiseKind.AMI and p.agent == "alice" and p.reason == "quote"
    assert p.due_at == t0 + 2 * HOUR and changes[0].actor == "agent:alice"
    back = make_call(
        "o-1", "outbound", "answered", t0 + HOUR, dialed="+447700900555", answer=t0 + HOUR + 15
    )
    assert [c.action for c in engine.on_call(back)] == [Action.KEPT]


def test_explicit_userevent_promise_broken(db, t0):
    engine = _engine(db)
    engine.on_event(_promised(t0, t0 + 2 * HOUR))
    assert engine.advance(t0 + HOUR) == []
    broken = engine.advance(t0 + 3 * HOUR)
    assert [(c.action, c.at) for c in broken] == [(Action.BROKEN, t0 + 2 * HOUR)]
    assert broken[0].finding is not None and broken[0].finding.value == 2 * HOUR


def test_explicit_promise_merges_with_open_miss_earliest_due(db, make_call, t0):
    engine = _engine(db)
    engine.on_call(make_call("in-1", "inbound", "abandoned", t0, caller="07700900555"))
    merged = engine.on_event(_promised(t0 + 60, t0 + 2 * HOUR))
    assert [c.action for c in merged] == [Action.MERGED]
    assert merged[0].promise.due_at == t0 + 2 * HOUR
    assert engine.on_event(_promised(t0 + 60, t0 + 2 * HOUR)) == []  # replayed UserEvent


def test_bad_explicit_promises_raise(db, t0):
    engine = _engine(db)
    with pytest.raises(PromiseError, match="not a complete phone number"):
        engine.promise("12", t0 + HOUR, made_at=t0, actor="user:x")
    with pytest.raises(PromiseError, match="not after"):
        engine.promise("07700900123", t0 - 1, made_at=t0, actor="user:x")


def test_cancel_needs_reason_and_only_from_open(db, make_call, t0):
    engine = _engine(db)
    p = engine.on_call(make_call("in-1", "inbound", "abandoned", t0, caller="07700900123"))[0]
    with pytest.raises(PromiseError, match="needs a reason"):
        engine.cancel(p.promise.id, "  ", at=t0 + 10, actor="user:bob")
    change = engine.cancel(p.promise.id, "customer emailed instead", at=t0 + 10, actor="user:bob")
    assert change.outcome == "cancelled" and change.promise.state is PromiseState.CANCELLED
    with pytest.raises(PromiseError, match="cannot become cancelled"):
        engine.cancel(p.promise.id, "again", at=t0 + 20, actor="user:bob")
    with pytest.raises(PromiseError, match="no promise with id 999"):
        engine.cancel(999, "x", at=t0, actor="user:bob")
    hist = engine.history(p.promise.id)
    assert hist[-1]["actor"] == "user:bob" and hist[-1]["detail"] == "customer emailed instead"


def test_every_change_has_an_audit_row(db, make_call, t0):
    engine = _engine(db)
    engine.on_call(make_call("in-1", "inbound", "abandoned", t0, caller="07700900123"))
    engine.on_call(make_call("in-2", "inbound", "abandoned", t0 + 5, caller="07700900123"))
    engine.advance(t0 + 48 * HOUR)
    with db.connect() as conn:
        rows = conn.execute(select(promise_events.c.action).order_by(promise_events.c.id)).all()
    assert [r[0] for r in rows] == ["created", "merged", "broken"]


def test_views_for_the_web_page(db, make_call, t0):
    engine = _engine(db)
    for i, num in enumerate(["07700900001", "07700900002", "07700900003"]):
        engine.on_call(make_call(f"in-{i}", "inbound", "abandoned", t0 + i, caller=num))
    engine.on_call(
        make_call("o", "outbound", "answered", t0 + 100, dialed="07700900001", answer=t0 + 120)
    )
    engine.advance(t0 + 30 * HOUR)
    assert [p.number for p in engine.view("kept")] == ["+447700900001"]
    assert len(engine.view("broken")) == 2 and len(engine.view("overdue")) == 2
    assert engine.view("open") == [] and len(engine.view("all")) == 3
    with pytest.raises(PromiseError, match="unknown promise view"):
        engine.view("late")
    assert Outcome.ABANDONED in engine.settings.on_outcomes
