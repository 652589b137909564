"""Issue 19, item 7 (sampling half): ``qa.sample_per_agent_per_week`` random unflagged calls
per agent per week enter the QA queue marked "sample": reproducible (seeded by week and
agent), the week decided by the call's start (event time, the site's time zone), sampled
once the week is over, the quota counted so it is never exceeded. SQLite and PostgreSQL."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from callrecord_factory import T0, finding, record

from monitor.errors import StoreError
from monitor.record import Outcome
from monitor.store import FlagFilter, Store
from monitor.store.sampling import sample_key, week_of

UTC = ZoneInfo("UTC")
WEEK, START, END = week_of(T0, UTC)  # 2026-W39, Monday 2026-09-21 00:00 UTC
GRACE = 4 * 3600.0


def _calls(store: Store, agent: str, n: int, first: float = START + 3600) -> list[str]:
    ids = [f"{agent}-{i}" for i in range(n)]
    for i, cid in enumerate(ids):
        store.save_call(record(cid, agent=agent, started_at=first + i * 600, findings=()))
    return ids


def _expected(agent: str, ids: list[str], n: int) -> set[str]:
    return set(sorted(ids, key=lambda c: sample_key(WEEK, agent, c))[:n])


def _sampled(store: Store) -> set[str]:
    page = store.flagged(FlagFilter(), per_page=500)
    marks = store.queue_marks(r.call_id for r in page.items)
    return {cid for cid, m in marks.items() if m.sample}


def test_samples_per_agent_per_week_reproducibly(store: Store) -> None:
    alice = _calls(store, "alice", 6)
    bob = _calls(store, "bob", 5)
    store.save_call(record("breach", agent="alice", started_at=START + 7200))  # flagged
    store.save_call(
        record("gone", agent="alice", started_at=START + 60, outcome=Outcome.ABANDONED,
               answered_at=None, findings=())
    )  # fmt: skip
    # not over yet by event time: the newest call is inside the week
    assert store.sample_calls(2, "UTC", GRACE).picked == 0
    store.save_call(record("next-week", agent="carol", started_at=END + GRACE, findings=()))
    result = store.sample_calls(2, "UTC", GRACE)
    assert result.picked == 4 and WEEK in result.weeks
    picked = _sampled(store)
    assert picked == _expected("alice", alice, 2) | _expected("bob", bob, 2)
    flag = store.call(sorted(picked)[0]).flag  # type: ignore[union-attr]
    assert flag is not None and flag.status == "open" and flag.severity == "none"
    assert flag.rules == ()
    # the breach stays a breach (not a sample); the abandoned call is no candidate
    assert "breach" not in picked and "gone" not in picked
    assert store.queue_marks(["breach"]) == {}
    # a restart runs again: the week is done, nothing re-picked; an import tops up only
    assert store.sample_calls(2, "UTC", GRACE).picked == 0
    assert store.sample_calls(2, "UTC", GRACE, history=True).picked == 0
    assert _sampled(store) == picked
    entry = next(e for e in store.audit_entries() if e.action == "qa_sample")
    assert entry.detail == {"week": WEEK, "calls": 4}


def test_quota_is_counted_never_exceeded(store: Store) -> None:
    only = _calls(store, "alice", 1)
    store.save_call(record("later", agent="bob", started_at=END + 86400, findings=()))
    assert store.sample_calls(3, "UTC", GRACE).picked == 1
    # an import adds older calls of that week: topped up to 3, never over
    more = [f"old-{i}" for i in range(5)]
    for i, cid in enumerate(more):
        store.save_call(record(cid, agent="alice", started_at=START + 60 + i, findings=()))
    assert store.sample_calls(3, "UTC", GRACE, history=True).picked == 2
    assert store.sample_calls(3, "UTC", GRACE, history=True).picked == 0
    week_picks = {c for c in _sampled(store) if c in set(only + more)}
    assert len(week_picks) == 3 and only[0] in week_picks


def test_the_week_is_the_calls_start_in_the_site_time_zone(store: Store) -> None:
    london = ZoneInfo("Europe/London")  # BST in September: UTC+1
    # Sunday 23:30 UTC is Monday 00:30 in London: the next week there
    edge = START + 7 * 86400 - 1800
    store.save_call(record("edge", agent="alice", started_at=edge, findings=()))
    assert week_of(edge, UTC)[0] == WEEK
    assert week_of(edge, london)[0] != WEEK
    store.save_call(record("much-later", agent="bob", started_at=END + 30 * 86400, findings=()))
    store.sample_calls(1, "Europe/London", GRACE, history=True)
    from sqlalchemy import select

    from monitor.store.qa_tables import qa_samples

    with store.engine.connect() as conn:
        week = conn.execute(select(qa_samples.c.week).where(qa_samples.c.call_id == "edge"))
        assert week.scalar_one() == week_of(edge, london)[0]


def test_a_sampled_call_that_later_breaches_keeps_its_mark(store: Store) -> None:
    [cid] = _calls(store, "alice", 1)
    store.save_call(record("later", agent="bob", started_at=END + GRACE, findings=()))
    store.sample_calls(1, "UTC", GRACE)
    stored = store.call(cid)
    assert stored is not None
    store.add_finding(cid, finding(rule="callback-kept", at=END))
    flag = store.call(cid).flag  # type: ignore[union-attr]
    assert flag is not None and flag.severity == "warning"
    assert store.queue_marks([cid])[cid].sample


def test_sampling_off_and_out_of_range(store: Store) -> None:
    _calls(store, "alice", 3)
    store.save_call(record("later", agent="bob", started_at=END + GRACE, findings=()))
    assert store.sample_calls(0, "UTC", GRACE).picked == 0
    with pytest.raises(StoreError, match=r"qa.sample_per_agent_per_week must be 0..100"):
        store.sample_calls(101, "UTC", GRACE, history=True)
