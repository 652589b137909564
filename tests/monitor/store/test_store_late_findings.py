"""Late findings (broken promises) for many calls in one transaction: the same calls as one
``Store.add_finding`` each."""

from __future__ import annotations

from callrecord_factory import finding, record
from sqlalchemy import select

from monitor.store import Store
from monitor.store.calls_write import add_late_findings
from monitor.store.schema import calls


def test_late_findings_in_one_transaction_equal_add_finding_each(
    store: Store, clock: object
) -> None:
    late = finding(rule="return-missed-calls", value=86400.0, threshold=86400.0)
    other = finding(rule="callback-promise", value=3600.0, threshold=3600.0)
    store.save_call(record("a", findings=(finding(),)))
    store.save_call(record("b", findings=(late,)))  # has the rule already
    store.save_call(record("c", findings=()))
    found = {"a": [late, other, late], "b": [late], "c": [other], "gone": [late]}
    before = clock.now  # type: ignore[attr-defined]
    clock.now += 60.0  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        held = add_late_findings(conn, found, store.clock())
        stored = dict(conn.execute(select(calls.c.call_id, calls.c.stored_at)).all())
    # the calls saved again are stored anew (report rollups re-read them); b is unchanged
    assert stored == {"a": before + 60.0, "b": before, "c": before + 60.0}
    assert held == 5  # every finding of a stored call; the purged call's is skipped
    rules = {cid: [f.rule for f in store.call(cid).record.findings] for cid in "abc"}  # type: ignore[union-attr]
    assert rules == {
        "a": ["answer-within-three-rings", "return-missed-calls", "callback-promise"],
        "b": ["return-missed-calls"],
        "c": ["callback-promise"],
    }
    assert store.call("c").flag is not None  # type: ignore[union-attr]  # saved with its flag
    for cid, fs in found.items():  # add_finding on top changes nothing more
        for f in fs:
            assert store.add_finding(cid, f) is (cid != "gone")
    assert {c: [f.rule for f in store.call(c).record.findings] for c in "abc"} == rules  # type: ignore[union-attr]
