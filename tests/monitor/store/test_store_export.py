"""Issue 19, item 11: the CSV exports add the caller's name and the review (flag status,
disposition, reviewer, score) at the end, keep the old columns in order, and round values;
the queue's closed rows carry their disposition and score."""

from __future__ import annotations

import csv
import io

from callrecord_factory import T0, finding, record

from monitor.record import CONTRACT_FIELDS
from monitor.store import Store
from monitor.store.export import CALL_COLUMNS, FINDING_COLUMNS
from monitor.store.models import FlagFilter

PASSWORD = "correct horse battery staple"


def _rows(lines: list[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(lines))))


def _seed(store: Store) -> None:
    store.add_user("qa1", "qa", PASSWORD)
    store.add_user("qa2", "qa", PASSWORD)
    store.save_call(
        record(
            "c1",
            caller_name="=Jane",
            ring_seconds=19.700000047683716,
            talk_seconds=61.26,
            findings=(
                finding(),
                finding(rule="no-dead-air", value=12.345678, threshold=10, at=T0 + 40),
            ),
        )
    )
    store.save_call(record("c2", started_at=T0 + 5, caller_name="Bob"))
    store.save_call(record("c3", started_at=T0 + 10, findings=()))
    store.claim("c1", "qa1")
    store.submit_review(
        "c1", "qa1", "coaching_needed", {"greeting": True, "no_dead_air": False}, "notes"
    )
    store.claim("c2", "qa2")


def test_calls_csv_keeps_the_old_columns_and_adds_the_review(store: Store) -> None:
    _seed(store)
    lines = list(store.export_calls_csv())
    header = next(csv.reader([lines[0]]))
    assert tuple(header[: len(CONTRACT_FIELDS)]) == CONTRACT_FIELDS  # order kept for scripts
    assert header[len(CONTRACT_FIELDS) :] == [
        "caller_name",
        "flag_status",
        "disposition",
        "reviewer",
        "score",
        "score_max",
    ]
    assert tuple(header) == CALL_COLUMNS
    rows = {r["call_id"]: r for r in _rows(lines)}
    c1, c2, c3 = rows["c1"], rows["c2"], rows["c3"]
    assert c1["caller_name"] == "'=Jane"  # a formula is defused
    assert (c1["ring_seconds"], c1["talk_seconds"]) == ("19.7", "61.3")
    assert (c1["flag_status"], c1["disposition"], c1["reviewer"]) == (
        "closed",
        "coaching_needed",
        "qa1",
    )
    assert c1["score"] == "1" and c1["score_max"] == "2"
    assert (c2["flag_status"], c2["reviewer"], c2["disposition"], c2["score"]) == (
        "claimed",
        "qa2",
        "",
        "",
    )
    assert (c3["flag_status"], c3["reviewer"], c3["caller_name"]) == ("", "", "Jane Caller")


def test_findings_csv_rounds_to_the_rules_unit(store: Store) -> None:
    _seed(store)
    lines = list(store.export_findings_csv(units={"no-dead-air": "s"}))
    header = next(csv.reader([lines[0]]))
    old = ["call_id", "rule", "severity", "value", "threshold", "at", "title", "flag"]
    assert header[:8] == old
    assert tuple(header) == FINDING_COLUMNS
    rows = _rows(lines)
    dead = next(r for r in rows if r["rule"] == "no-dead-air")
    assert (dead["value"], dead["threshold"], dead["unit"]) == ("12.3", "10", "s")
    rings = next(r for r in rows if r["call_id"] == "c1" and r["rule"] != "no-dead-air")
    assert (rings["value"], rings["unit"]) == ("5", "")  # not loaded: no unit, 3 decimals
    assert dead["disposition"] == "coaching_needed" and dead["score"] == "1"
    assert dead["caller_name"] == "'=Jane" and dead["flag_status"] == "closed"


def test_closed_flags_carry_disposition_and_score(store: Store) -> None:
    _seed(store)
    page = store.flagged(FlagFilter(status="closed"))
    (row,) = page.items
    assert (row.call_id, row.disposition, row.score, row.score_max, row.reviewer) == (
        "c1",
        "coaching_needed",
        1,
        2,
        "qa1",
    )
    store.reopen("c1", "qa2", "second look")
    store.submit_review("c1", "qa2", "not_a_breach", {"greeting": True}, "")
    (row,) = store.flagged(FlagFilter(status="closed")).items
    assert (row.disposition, row.reviewer) == ("not_a_breach", "qa2")  # the latest review
    claimed = store.flagged(FlagFilter(status="claimed")).items
    assert [(r.call_id, r.disposition, r.score) for r in claimed] == [("c2", None, None)]
