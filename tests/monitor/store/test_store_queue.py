"""Store: the flagged-calls queue (filters, sort, pagination, counts) and its speed at 100k."""

from __future__ import annotations

import time

import pytest
from callrecord_factory import T0, finding, record
from sqlalchemy import insert

from monitor.record import Severity
from monitor.store import FlagFilter, Store
from monitor.store.schema import calls, findings, flags


@pytest.fixture
def seeded(store: Store) -> Store:
    store.add_user("qa1", "qa", "correct horse")
    for i in range(30):
        sev = Severity.CRITICAL if i % 3 == 0 else Severity.WARNING
        rule = "no-dead-air" if i % 2 else "answer-within-three-rings"
        store.save_call(
            record(
                f"c{i:02d}",
                started_at=T0 + i * 60,
                queue="sales" if i < 10 else "support",
                agent=f"agent{i % 4}",
                findings=(finding(rule=rule, severity=sev),),
            )
        )
    store.claim("c05", "qa1")
    store.claim("c06", "qa1")
    store.submit_review("c06", "qa1", "confirmed_breach", {}, "")
    return store


def test_filters(seeded: Store) -> None:
    s = seeded
    assert s.flagged().total == 30
    assert s.flagged(FlagFilter(queue="sales")).total == 10
    assert s.flagged(FlagFilter(agent="agent1")).total == 8
    assert s.flagged(FlagFilter(severity="critical")).total == 10
    assert s.flagged(FlagFilter(rule="no-dead-air")).total == 15
    assert s.flagged(FlagFilter(since=T0 + 60 * 20)).total == 10
    assert s.flagged(FlagFilter(since=T0 + 60 * 20, until=T0 + 60 * 25)).total == 5
    page = s.flagged(FlagFilter(status="claimed"))
    assert page.total == 1 and page.items[0].call_id == "c05"
    assert page.counts == {"open": 28, "claimed": 1, "closed": 1}
    both = s.flagged(FlagFilter(queue="sales", rule="no-dead-air", status="open"))
    assert {r.call_id for r in both.items} == {"c01", "c03", "c07", "c09"}


def test_sort_and_pages(seeded: Store) -> None:
    s = seeded
    p1 = s.flagged(sort="-started_at", page=1, per_page=7)
    p5 = s.flagged(sort="-started_at", page=5, per_page=7)
    assert p1.pages == 5 and len(p1.items) == 7 and len(p5.items) == 2
    assert p1.items[0].call_id == "c29" and p5.items[-1].call_id == "c00"
    asc = s.flagged(sort="started_at", per_page=3)
    assert [r.call_id for r in asc.items] == ["c00", "c01", "c02"]
    sev = s.flagged(sort="-severity", per_page=10)
    assert all(r.severity == "critical" for r in sev.items)
    assert sev.items[0].caller_name == "Jane Caller"


@pytest.mark.slow
def test_queue_at_100k_flags(store: Store) -> None:
    """Seed 100k flagged calls in bulk and time a filtered count + page (printed, in docs)."""
    n = 100_000
    base = record("x").to_contract()
    from monitor.store.records import call_row

    proto = call_row(record("x", findings=()), T0)
    crow, frow, grow = [], [], []
    for i in range(n):
        cid = f"k{i:06d}"
        q = ("sales", "support", "billing", "tech")[i % 4]
        row = dict(proto, call_id=cid, started_at=T0 + i, queue=q, agent=f"a{i % 50}")
        crow.append(row)
        rule = ("answer-within-three-rings", "no-dead-air", "hold-too-long")[i % 3]
        frow.append(
            {
                "call_id": cid,
                "seq": 0,
                "rule": rule,
                "severity": "warning",
                "value": 5.0,
                "threshold": 3.0,
                "at": T0 + i,
                "title": "",
                "flag": True,
                "live": False,
                "evidence": [],
            }
        )
        grow.append(
            {
                "call_id": cid,
                "status": ("open", "claimed", "closed")[i % 3],
                "severity": "warning",
                "severity_rank": 2,
                "rules": rule,
                "queue": q,
                "agent": f"a{i % 50}",
                "started_at": T0 + i,
                "created_at": T0,
                "updated_at": T0,
                "claimed_by": None,
                "claimed_at": None,
            }
        )
    assert base["call_id"] == "x"
    with store.engine.begin() as conn:
        for start in range(0, n, 20_000):
            conn.execute(insert(calls), crow[start : start + 20_000])
            conn.execute(insert(findings), frow[start : start + 20_000])
            conn.execute(insert(flags), grow[start : start + 20_000])
    if store.backend == "postgresql":
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    timings = {}
    for name, flt, sort, pg in (
        ("all, newest first, page 1", FlagFilter(), "-started_at", 1),
        ("status=open, page 500", FlagFilter(status="open"), "-started_at", 500),
        ("queue+status, by severity", FlagFilter(queue="sales", status="open"), "-severity", 3),
        ("rule filter", FlagFilter(rule="no-dead-air"), "-started_at", 10),
    ):
        t = time.perf_counter()
        page = store.flagged(flt, sort=sort, page=pg, per_page=50)
        timings[name] = time.perf_counter() - t
        assert len(page.items) == 50
    assert store.flagged().total == n
    print(
        f"\n[{store.backend}] 100k flags: "
        + "; ".join(f"{k}: {v * 1000:.0f} ms" for k, v in timings.items())
    )
