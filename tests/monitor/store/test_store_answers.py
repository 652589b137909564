"""Issue 19 items 6 and 7 in the store: prefilled answers with evidence, override reasons,
calibration scores beside a closed review, and the migration of older stores."""

from __future__ import annotations

from typing import Any

import pytest
from callrecord_factory import record
from sqlalchemy import delete, inspect, select, text

from monitor.errors import InputError, StoreError
from monitor.store import Store
from monitor.store.answers import overrides, prefill_values, settle
from monitor.store.calibration import compare
from monitor.store.schema import reviews, schema_migrations

EVIDENCE = {
    "rule": "no-dead-air-over-10s",
    "status": "breached",
    "value": 19.7,
    "threshold": 10.0,
    "unit": "s",
    "finding_seq": 1,
}
PREFILL: dict[str, Any] = {
    "no_dead_air": {"prefill": False, "evidence": [EVIDENCE]},
    "answered_promptly": {"prefill": True, "evidence": [{"rule": "rings", "status": "met"}]},
    "checked_back_on_hold": {"prefill": None, "evidence": [{"status": "not_applicable"}]},
}
ITEMS = [
    ("answered_promptly", "Answered"),
    ("greeting", "Greeted"),
    ("no_dead_air", "No dead air"),
]


@pytest.fixture
def flagged(store: Store) -> Store:
    store.save_call(record("c1"))
    for name in ("qa1", "qa2", "qa3"):
        store.add_user(name, "qa", "correct horse")
    store.add_user("admin1", "admin", "correct horse")
    return store


def test_settle_needs_a_reason_for_each_override() -> None:
    with pytest.raises(InputError) as err:
        settle(PREFILL, {"no_dead_air": True, "answered_promptly": None, "greeting": True}, {})
    msg = str(err.value)
    assert "no_dead_air (measured no, answered yes)" in msg
    assert "answered_promptly (measured yes, answered n/a)" in msg
    assert "greeting" not in msg  # not measured: answered freely
    got = settle(
        PREFILL,
        {"no_dead_air": True, "greeting": True},
        {"no_dead_air": "the agent said 'one moment'", "answered_promptly": "ignored"},
    )
    assert got["no_dead_air"] == {
        "prefill": False,
        "evidence": [EVIDENCE],
        "value": True,
        "reason": "the agent said 'one moment'",
    }
    # left out: keeps the prefill; a reason for a confirmed answer is dropped
    assert got["answered_promptly"]["value"] is True and got["answered_promptly"]["reason"] is None
    assert got["checked_back_on_hold"]["value"] is None
    assert overrides(got) == {"no_dead_air": "the agent said 'one moment'"}
    assert prefill_values(PREFILL) == {"no_dead_air": False, "answered_promptly": True}
    with pytest.raises(InputError, match="limited to 500"):
        settle(PREFILL, {"no_dead_air": True}, {"no_dead_air": "x" * 501})


def test_prefilled_review_override_needs_a_reason(flagged: Store) -> None:
    s = flagged
    draft = s.claim("c1", "qa1", PREFILL)
    assert draft.answers == PREFILL and draft.kind == "review"
    with pytest.raises(InputError, match="no_dead_air"):
        s.submit_review("c1", "qa1", "not_a_breach", {"no_dead_air": True}, "")
    assert s.call("c1").flag.status == "claimed"  # nothing changed  # type: ignore[union-attr]
    # handed over: the draft keeps its prefill
    s.assign("c1", "admin1", "qa2")
    done = s.submit_review(
        "c1",
        "qa2",
        "not_a_breach",
        {"no_dead_air": True, "greeting": True},
        "",
        reasons={"no_dead_air": "silence was the caller reading a card number"},
    )
    assert done.checklist == {
        "no_dead_air": True,
        "greeting": True,
        "answered_promptly": True,
        "checked_back_on_hold": None,
    }
    assert done.score == 3 and done.score_max == 3
    assert done.answers is not None
    assert done.answers["no_dead_air"]["reason"] == "silence was the caller reading a card number"
    assert done.answers["no_dead_air"]["evidence"] == [EVIDENCE]
    entry = next(e for e in s.audit_entries("c1") if e.action == "review")
    assert entry.detail["overrides"] == {
        "no_dead_air": "silence was the caller reading a card number"
    }


def test_a_draft_without_prefill_uses_the_one_given_at_submit(flagged: Store) -> None:
    flagged.claim("c1", "qa1")  # e.g. claimed before the upgrade
    with pytest.raises(InputError):
        flagged.submit_review("c1", "qa1", "not_a_breach", {"no_dead_air": True}, "", {}, PREFILL)
    done = flagged.submit_review("c1", "qa1", "not_a_breach", {}, "", {}, PREFILL)
    assert done.checklist["no_dead_air"] is False


def _closed_review(s: Store) -> int:
    s.claim("c1", "qa1", PREFILL)
    done = s.submit_review(
        "c1", "qa1", "confirmed_breach", {"greeting": True, "no_dead_air": False}, "first"
    )
    return done.id


def test_calibration_scores_beside_the_review(flagged: Store) -> None:
    s = flagged
    with pytest.raises(StoreError, match="no closed review yet"):
        s.calibrate("c1", "qa2", PREFILL)
    first = _closed_review(s)
    with pytest.raises(StoreError, match="calibration needs a second reviewer"):
        s.calibrate("c1", "qa1", PREFILL)
    cal = s.calibrate("c1", "qa2", PREFILL)
    assert cal.kind == "calibration" and cal.calibrates == first and cal.state == "open"
    assert s.calibrate("c1", "qa2", PREFILL).id == cal.id  # starting again: the same draft
    # the claim steps never touch a calibration draft
    with pytest.raises(StoreError, match="closed, not claimed"):
        s.release("c1", "admin1", "")
    scored = s.submit_review(
        "c1",
        "qa2",
        "coaching_needed",
        {"greeting": False, "no_dead_air": True},
        "second",
        reasons={"no_dead_air": "explained the wait"},
    )
    assert scored.kind == "calibration" and scored.state == "closed"
    assert scored.score == 2 and scored.score_max == 3
    got = s.call("c1")
    assert got is not None and got.flag is not None and got.flag.status == "closed"
    assert got.reviews[0].notes == "first" and got.reviews[0].score == 2  # untouched
    with pytest.raises(StoreError, match="already scored review"):
        s.calibrate("c1", "qa2", PREFILL)
    s.calibrate("c1", "qa3", PREFILL)
    assert len(s.calibrations()) == 1
    assert s.calibrations(viewer="qa3") == []  # qa3 is scoring it blind: not shown to them
    s.submit_review("c1", "qa3", "confirmed_breach", {"greeting": True}, "third")
    [(review, cals)] = s.calibrations()
    assert review.id == first and [c.reviewer for c in cals] == ["qa2", "qa3"]
    cmp = compare(review, cals, ITEMS)
    # qa1 2/3 = 66.7 %, qa2 2/3 = 66.7 %, qa3 2/3 (greeting, rings; dead air no)
    assert [r.percent for r in cmp.scores] == pytest.approx([200 / 3] * 3)
    assert cmp.differences == (0.0, 0.0) and cmp.variance == 0.0
    assert [i.key for i in cmp.disagreements] == ["greeting", "no_dead_air"]
    assert not cmp.same_disposition
    data = cmp.to_json()
    assert data["disagreements"] == ["greeting", "no_dead_air"]
    assert data["items"][2] == {
        "key": "no_dead_air",
        "prefill": False,
        "values": [False, True, False],
        "agree": False,
    }
    actions = [e.action for e in reversed(s.audit_entries(call_id="c1"))]
    assert actions == [
        "claim",
        "review",
        "calibration_start",
        "calibration",
        "calibration_start",
        "calibration",
    ]


def test_score_difference_and_variance() -> None:
    from monitor.store.models import Review

    def rv(i: int, score: int, of: int, checklist: dict[str, bool | None]) -> Review:
        return Review(i, "c1", f"qa{i}", "closed", "not_a_breach", checklist, score, of, "",
                      None, None, 1.0, 2.0, "review" if i == 1 else "calibration", 1)  # fmt: skip

    a = rv(1, 3, 4, {"a": True, "b": True, "c": True, "d": False})
    b = rv(2, 1, 4, {"a": True, "b": False, "c": False, "d": False})
    cmp = compare(a, [b], [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")])
    assert cmp.differences == (-50.0,)  # 75 % -> 25 %
    assert cmp.variance == 625.0  # mean 50: ((25)² + (25)²) / 2
    assert [i.key for i in cmp.disagreements] == ["b", "c"]


def test_the_queue_metric_leaves_calibrations_out(flagged: Store) -> None:
    from prometheus_client import CollectorRegistry

    from monitor.metrics.qa import QaCollector

    _closed_review(flagged)
    flagged.calibrate("c1", "qa2")
    flagged.submit_review("c1", "qa2", "not_a_breach", {}, "")
    reg = CollectorRegistry()
    reg.register(QaCollector(flagged))
    assert (
        reg.get_sample_value("ringwatch_qa_reviews_total", {"disposition": "confirmed_breach"})
        == 1.0
    )
    assert reg.get_sample_value("ringwatch_qa_reviews_total", {"disposition": "not_a_breach"}) == 0


def test_an_older_store_gets_the_new_columns(db_url: str, clock: object) -> None:
    s = Store.open(db_url, clock=clock)  # type: ignore[arg-type]
    s.save_call(record("c1"))
    s.claim("c1", "qa1")
    s.submit_review("c1", "qa1", "not_a_breach", {"greeting": True}, "before the upgrade")
    with s.engine.begin() as conn:  # the store as issue 14 left it
        for col in ("kind", "calibrates", "answers"):
            conn.execute(text(f"ALTER TABLE reviews DROP COLUMN {col}"))
        conn.execute(
            delete(schema_migrations).where(
                schema_migrations.c.name == "reviews-answers-and-calibration"
            )
        )
        have = {c["name"] for c in inspect(conn).get_columns("reviews")}
        assert "kind" not in have
    s.close()
    up = Store.open(db_url, clock=clock)  # type: ignore[arg-type]
    try:
        with up.engine.connect() as conn:
            have = {c["name"] for c in inspect(conn).get_columns("reviews")}
            kinds = conn.execute(select(reviews.c.kind)).scalars().all()
        assert {"kind", "calibrates", "answers"} <= have
        assert kinds == ["review"]
        [old] = up.call("c1").reviews  # type: ignore[union-attr]
        assert old.kind == "review" and old.answers is None and old.notes == "before the upgrade"
        up.add_user("qa2", "qa", "correct horse")
        assert up.calibrate("c1", "qa2").calibrates == old.id  # works on the upgraded store
    finally:
        up.close()


def test_a_calibration_score_is_never_taken_for_the_calls_review(flagged: Store) -> None:
    """The queue's review column, the CSV and the agent's own reviews show the review, not
    a second reviewer's calibration score (which may be newer and disagree)."""
    s = flagged
    first = _closed_review(s)
    s.calibrate("c1", "qa2", PREFILL)
    s.submit_review("c1", "qa2", "not_a_breach", {"greeting": True}, "calibration")
    [row] = s.flagged().items
    assert (row.disposition, row.reviewer) == ("confirmed_breach", "qa1")
    mine = s.agent_reviews("alice")
    assert [r.review.id for r in mine] == [first] and mine[0].latest
    calls_csv = "".join(s.export_calls_csv(None, None))
    assert "not_a_breach" not in calls_csv and "confirmed_breach" in calls_csv
