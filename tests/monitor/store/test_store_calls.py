"""Store: idempotent saves, round trips, retention, errors — on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
from callrecord_factory import T0, audio, finding, record
from sqlalchemy import func, select

from monitor.errors import PromiseError, StoreError
from monitor.record import Severity
from monitor.store import FlagFilter, Store
from monitor.store.schema import calls, findings, flags


def _count(store: Store, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_round_trip_keeps_every_field(store: Store) -> None:
    rec = record(audio=audio(), recording="2026/call1.wav")
    store.save_call(rec)
    got = store.call(rec.call_id)
    assert got is not None
    assert got.record == rec
    assert got.record.to_contract() == rec.to_contract()
    assert got.flag is not None and got.flag.status == "open"
    assert got.flag.rules == ("answer-within-three-rings",)


def test_save_is_idempotent_for_replays(store: Store) -> None:
    rec = record(findings=(finding(), finding(rule="no-dead-air", severity=Severity.CRITICAL)))
    for _ in range(3):
        store.save_call(rec)
    assert _count(store, calls) == 1
    assert _count(store, findings) == 2
    assert _count(store, flags) == 1
    page = store.flagged()
    assert page.total == 1 and page.items[0].severity == "critical"


def test_second_save_updates_call_but_keeps_review_state(store: Store) -> None:
    rec = record()
    store.save_call(rec)
    store.add_user("qa1", "qa", "correct horse")
    store.claim(rec.call_id, "qa1")
    store.save_call(dataclasses.replace(rec, talk_seconds=99.0))
    got = store.call(rec.call_id)
    assert got is not None and got.record.talk_seconds == 99.0
    assert got.flag is not None and got.flag.status == "claimed"


def test_call_without_flagging_findings_is_not_queued(store: Store) -> None:
    store.save_call(record(findings=(finding(flag=False),)))
    store.save_call(record("c2", findings=()))
    assert store.flagged().total == 0
    assert store.count_calls() == 2


def test_unknown_call_is_none(store: Store) -> None:
    assert store.call("nope") is None


def test_retention_spares_open_flags_and_reviews(store: Store, clock: object) -> None:
    old_plain = record("old-plain", findings=())
    old_flagged = record("old-flagged")
    old_reviewed = record("old-reviewed")
    new_plain = record("new-plain", findings=(), started_at=T0 + 8 * 86400)
    for r in (old_plain, old_flagged, old_reviewed, new_plain):
        store.save_call(r)
    store.add_user("qa1", "qa", "correct horse")
    store.claim("old-reviewed", "qa1")
    store.submit_review("old-reviewed", "qa1", "not_a_breach", {}, "fine")
    clock.now = T0 + 10 * 86400  # type: ignore[attr-defined]
    deleted = store.purge(older_than_days=5)
    assert deleted == 1
    assert store.call("old-plain") is None
    assert store.call("old-flagged") is not None
    assert store.call("old-reviewed") is not None
    assert store.call("new-plain") is not None
    assert any(e.action == "purge" for e in store.audit_entries())


def test_retention_rejects_nonsense(store: Store) -> None:
    with pytest.raises(StoreError, match="positive number of days"):
        store.purge(0)


def test_bad_url_is_a_store_error(tmp_path: object) -> None:
    with pytest.raises(StoreError, match="not supported"):
        Store.open("mysql://x@y/z")
    with pytest.raises(StoreError, match="does not exist"):
        Store.open("/nonexistent-dir-xyz/ringwatch.sqlite")


def test_sqlite_pragmas(tmp_path: object) -> None:
    from pathlib import Path

    s = Store.open(str(Path(str(tmp_path)) / "p.sqlite"))
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    s.close()


def test_list_calls_and_findings(store: Store) -> None:
    for i in range(5):
        store.save_call(record(f"c{i}", started_at=T0 + i))
    got = store.list_calls(limit=3)
    assert [r.call_id for r in got] == ["c4", "c3", "c2"]
    assert got[0].findings[0].rule == "answer-within-three-rings"
    assert len(store.findings_for(rule="answer-within-three-rings")) == 5
    assert store.findings_for(rule="other") == []
    with pytest.raises(StoreError, match="limit"):
        store.list_calls(limit=0)


def test_csv_export(store: Store) -> None:
    store.save_call(record("c1", caller_name="=HYPERLINK(1)"))
    store.save_call(record("c2", started_at=T0 + 5, findings=()))
    lines = list(store.export_calls_csv())
    assert lines[0].startswith("call_id,pbx,direction,caller,")
    assert len(lines) == 3
    assert "answer-within-three-rings:warning" in lines[1]
    assert "2026-" in lines[1] or "20" in lines[1]
    flines = list(store.export_findings_csv())
    assert flines[0].strip() == (
        "call_id,rule,severity,value,threshold,at,title,flag,"  # the original columns, in order
        "unit,caller_name,flag_status,disposition,reviewer,score,score_max"  # added at the end
    )
    assert len(flines) == 2 and flines[1].startswith("c1,answer-within-three-rings,warning,5")
    windowed = list(store.export_calls_csv(since=T0 + 1))
    assert len(windowed) == 2 and windowed[1].startswith("c2,")


def test_promises_read_and_cancel(store: Store, clock: object) -> None:
    from monitor.promises.engine import PromiseEngine

    engine = PromiseEngine(store.engine)
    engine.promise("+441632960001", T0 + 3600, made_at=T0, actor="test", reason="missed")
    engine.promise("+441632960002", T0 + 7200, made_at=T0, actor="test")
    rows = store.promises("open", now=T0)
    assert [r.number for r in rows] == ["+441632960001", "+441632960002"]
    assert store.promises("overdue", now=T0 + 5000)[0].number == "+441632960001"
    assert store.promises("kept") == []
    with pytest.raises(StoreError, match="reason"):
        store.cancel_promise(rows[0].id, "sup", " ")
    store.cancel_promise(rows[0].id, "sup", "customer called back on another line")
    cancelled = store.promises("cancelled", now=T0)
    assert [r.id for r in cancelled] == [rows[0].id]
    assert any(e.action == "promise_cancel" for e in store.audit_entries())
    with pytest.raises(PromiseError):
        store.cancel_promise(rows[0].id, "sup", "again")
    with pytest.raises(StoreError, match="promise view"):
        store.promises("bogus")


def test_flag_filter_rejects_bad_values(store: Store) -> None:
    with pytest.raises(StoreError, match="status"):
        store.flagged(FlagFilter(status="weird"))
    with pytest.raises(StoreError, match="sort"):
        store.flagged(sort="caller")
    with pytest.raises(StoreError, match="per_page"):
        store.flagged(per_page=10_000)
