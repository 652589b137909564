"""Real calls on a real Asterisk 22.10.1, replayed through ringwatch's pipeline, judged
against the truth: the scripted timings, the AMI moments that define each figure (±50 ms),
and Asterisk's own figures (AgentConnect, AgentComplete, CDR, queue_log, QueueSummary).

One batch: every scenario's call runs at the same time in one Asterisk (tests/lab/conftest.py).
"""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from monitor.record import CallRecord
from tests.lab.conftest import LabRun
from tests.lab.scenarios import SCENARIOS, SCRIPT_TOLERANCE
from tests.lab.truth import CallTruth, truth_for

EXACT = 0.050  # ringwatch's figures against the AMI moments that define them
# a duration Asterisk counts in whole seconds (time(NULL) at both ends) differs from the exact
# one by less than a second, plus the skew between its instants and the events' Timestamps
# (a loaded run: HoldTime 2 against 0.9999 s, 1.0001 s apart)
WHOLE_SECONDS = 1.0 + EXACT

NAMES = [sc.name for sc in SCENARIOS if sc.phase == 1]


def _record(run: LabRun, name: str) -> tuple[CallRecord, CallTruth]:
    sc = run.scenarios[name]
    if sc.error is not None:
        raise AssertionError(f"scenario {name} could not be driven: {sc.error}")
    records = run.result.by_caller(sc.caller)
    assert len(records) == 1, f"{name}: {len(records)} records for caller {sc.caller}: {records}"
    record = records[0]
    return record, truth_for(run.messages, record.call_id)


def _close(label: str, got: float | None, want: float | None, tol: float) -> None:
    assert got is not None and want is not None, f"{label}: ringwatch {got}, truth {want}"
    assert math.isclose(got, want, abs_tol=tol), f"{label}: ringwatch {got:.3f}, truth {want:.3f}"


@pytest.mark.parametrize("name", NAMES)
def test_scenario(lab_run: LabRun, name: str) -> None:
    record, truth = _record(lab_run, name)
    expect = lab_run.scenarios[name].expect
    # outcome, agent, counts: exact
    assert record.outcome == expect["outcome"], f"{name}: {record.outcome} ({truth.events})"
    assert record.timing == "exact"
    if "agent" in expect:
        assert record.agent == expect["agent"]
    assert record.agent_ring_no_answer == expect.get("rna", 0)
    assert len(truth.rna_ms) == expect.get("rna", 0)
    assert record.transfers == expect.get("transfers", 0) == truth.transfers
    assert record.hold_count == expect.get("hold_count", 0) == len(truth.holds)
    if "findings" in expect:
        assert {f.rule for f in record.findings} == expect["findings"]
    # every moment within ±50 ms of the AMI moment that defines it
    _close("started_at", record.started_at, truth.started, EXACT)
    _close("ended_at", record.ended_at, truth.ended, EXACT)
    if expect["outcome"] == "answered":
        _close("answered_at", record.answered_at, truth.answered, EXACT)
        _close("ring_seconds", record.ring_seconds, truth.ring, EXACT)
        if "talk" in expect:
            _close("talk_seconds", record.talk_seconds, truth.talk, EXACT)
    else:
        assert record.answered_at is None and record.talk_seconds is None
        assert record.ring_seconds is None
    if truth.queue_join is not None:
        _close("queue_wait_seconds", record.queue_wait_seconds, truth.wait, EXACT)
    else:
        assert record.queue_wait_seconds is None
    for (start, end), span in zip(truth.holds, record.holds, strict=True):
        _close("hold start", span.start, start, EXACT)
        _close("hold end", span.end, end, EXACT)
    # the script: what the scenario meant to happen (call set-up takes a few hundred ms)
    for key, got in (("ring", record.ring_seconds), ("talk", record.talk_seconds),
                     ("wait", record.queue_wait_seconds)):  # fmt: skip
        if key in expect:
            _close(f"scripted {key}", got, float(expect[key]), SCRIPT_TOLERANCE)  # type: ignore[arg-type]
    if "holds" in expect:
        _close_list = [h.seconds() for h in record.holds]
        for got_h, want_h in zip(_close_list, expect["holds"], strict=True):  # type: ignore[call-overload]
            _close("scripted hold", got_h, want_h, SCRIPT_TOLERANCE)
    # Asterisk's own figures (whole seconds)
    if truth.agent_connect is not None:
        assert record.ring_seconds is not None and record.queue_wait_seconds is not None
        ast_wait = int(truth.agent_connect["HoldTime"])
        assert abs(record.queue_wait_seconds - ast_wait) < WHOLE_SECONDS, truth.agent_connect
        if "ast_ring" in expect:
            assert abs(int(truth.agent_connect["RingTime"]) - expect["ast_ring"]) <= 1  # type: ignore[operator]
        if "ast_hold" in expect:
            assert abs(ast_wait - expect["ast_hold"]) <= 1  # type: ignore[operator]
    if truth.agent_complete is not None and record.talk_seconds is not None:
        assert abs(record.talk_seconds - int(truth.agent_complete["TalkTime"])) < WHOLE_SECONDS
        if "ast_talk" in expect:
            assert abs(int(truth.agent_complete["TalkTime"]) - expect["ast_talk"]) <= 1  # type: ignore[operator]
    if truth.abandon_hold is not None:
        assert record.queue_wait_seconds is not None
        assert abs(record.queue_wait_seconds - truth.abandon_hold) < WHOLE_SECONDS
    for ms, rna in zip(truth.rna_ms, [4000], strict=False):
        assert abs(ms - rna) <= 1000, f"AgentRingNoAnswer RingTime {ms} (milliseconds)"


@pytest.mark.parametrize("name", NAMES)
def test_scenario_cdr(lab_run: LabRun, name: str) -> None:
    """cdr_manager's CDRs agree (whole seconds): the call spans from the first CDR's start to
    the last one's end; the CDR to the leg that answered bills from the caller's answer (the
    PBX's, when the dialplan answered first: ``answered_any_at``; or the CDR's own start,
    when Asterisk forked it for a later dial attempt) to the end."""
    record, truth = _record(lab_run, name)
    assert truth.cdr, f"{name}: no CDR for the call's channels"
    start = min(_cdr_time(c["StartTime"]) for c in truth.cdr)
    end = max(_cdr_time(c["EndTime"]) for c in truth.cdr)
    assert record.ended_at is not None
    assert abs((end - start) - (record.ended_at - record.started_at)) <= 1.5, truth.cdr
    if record.outcome == "answered" and truth.answered_by and not record.transfers:
        answerer = next(
            m.get("Channel") for m in lab_run.messages if m.get("Uniqueid") == truth.answered_by
        )
        billed = [c for c in truth.cdr if c.get("DestinationChannel") == answerer]
        assert billed, f"{name}: no CDR to {answerer}"
        assert record.answered_any_at is not None
        # a CDR forked for a later dial attempt of an answered caller bills from its start
        since = max(record.answered_any_at, _cdr_time(billed[0]["StartTime"]))
        billsec = record.ended_at - since
        assert abs(int(billed[0]["BillableSeconds"]) - billsec) <= 1.5, billed


def _cdr_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").timestamp()


def test_queue_log_agrees(lab_run: LabRun) -> None:
    """app_queue's queue_log: CONNECT holdtime/ringtime, COMPLETE* talk time, ABANDON wait."""
    rows = lab_run.queue_log
    assert rows, "queue_log is empty: logger.conf queue_log = yes"
    by_call: dict[str, list[list[str]]] = {}
    for row in rows:
        by_call.setdefault(row[1], []).append(row)
    checked = 0
    for name, sc in lab_run.scenarios.items():
        records = lab_run.result.by_caller(sc.caller)
        if len(records) != 1 or records[0].queue is None:
            continue
        record = records[0]
        lines = [
            r for uid, rs in by_call.items() for r in rs if uid in _uids(lab_run, record.call_id)
        ]
        events = {r[4]: r for r in lines}
        if record.outcome == "answered":
            connect = events["CONNECT"]
            assert record.queue_wait_seconds is not None
            assert abs(int(connect[5]) - record.queue_wait_seconds) < WHOLE_SECONDS, (name, connect)
            done = events.get("COMPLETECALLER") or events.get("COMPLETEAGENT")
            moved = events.get("ATTENDEDTRANSFER") or events.get("BLINDTRANSFER")
            assert done is not None or moved is not None, (name, lines)
            assert record.talk_seconds is not None
            if done is not None:  # COMPLETE*|holdtime|calltime|origposition
                assert abs(int(done[6]) - record.talk_seconds) < WHOLE_SECONDS, (name, done)
            else:  # ATTENDEDTRANSFER|BRIDGE|bridge|holdtime|calltime|origposition
                assert (
                    moved is not None
                    and abs(int(moved[7]) - record.queue_wait_seconds) < WHOLE_SECONDS
                ), (name, moved)
        elif record.outcome == "abandoned":
            abandon = events["ABANDON"]
            assert record.queue_wait_seconds is not None
            assert abs(int(abandon[7]) - record.queue_wait_seconds) < WHOLE_SECONDS, (name, abandon)
        if "RINGNOANSWER" in events:
            assert int(events["RINGNOANSWER"][5]) >= 1000  # milliseconds
        checked += 1
    assert checked >= min(5, len(lab_run.scenarios))


def _uids(run: LabRun, call_id: str) -> set[str]:
    return {m.get("Uniqueid") or "" for m in run.messages if m.get("Linkedid") == call_id}


def test_queue_status_agrees(lab_run: LabRun) -> None:
    """app_queue's own counters after the batch (QueueStatus ``QueueParams``): Completed and
    Abandoned per queue equal ringwatch's answered and abandoned calls of that queue, and
    its service level (answered within ``servicelevel = 20`` s) agrees. app_queue counts a
    timeout or empty-queue exit as abandoned too (record_abandoned); ringwatch calls those
    unanswered, with ``queue_exit`` saying why."""
    params = [m for m in lab_run.queue_status if m.get("Event") == "QueueParams"]
    assert params
    checked = 0
    for p in params:
        queue = p.get("Queue")
        ours = [r for r in lab_run.result.records if r.queue == queue]
        if not ours:
            continue
        answered = [r for r in ours if r.outcome == "answered"]
        abandoned = [r for r in ours if r.outcome == "abandoned"
                     or r.extra.get("queue_exit") in ("timeout", "empty")]  # fmt: skip
        assert int(p.get("Completed") or 0) == len(answered), (queue, dict(p.items))
        assert int(p.get("Abandoned") or 0) == len(abandoned), (queue, dict(p.items))
        within = [r for r in answered if (r.queue_wait_seconds or 0.0) <= 20.0]
        perf = float(p.get("ServicelevelPerf") or 0.0)
        if answered:
            assert perf == pytest.approx(100.0 * len(within) / len(answered), abs=0.1), (
                queue,
                perf,
            )
        checked += 1
    assert checked >= min(3, len(lab_run.scenarios))


def test_nothing_unexpected(lab_run: LabRun) -> None:
    """No illegal state transitions, and no call record that no scenario made."""
    assert lab_run.result.illegal == {}
    callers = {sc.caller for sc in lab_run.scenarios.values()}
    strays = [
        r for r in lab_run.result.records if r.caller not in callers and r.direction != "outbound"
    ]
    assert strays == []


def test_callback_promise_kept(lab_run: LabRun) -> None:
    """UserEvent(CallbackPromise) from the dialplan opens a promise; the outbound call to the
    number through the PJSIP trunk, answered, keeps it."""
    if "callback_promise_kept" not in lab_run.scenarios:
        pytest.skip("RINGWATCH_LAB_ONLY leaves the callback scenario out (a developer's filter)")
    callback = [r for r in lab_run.result.records if r.direction == "outbound"]
    assert len(callback) == 1, callback
    out = callback[0]
    assert out.outcome == "answered"
    assert out.dialed == "4155550115"
    assert out.ring_seconds == pytest.approx(2.0, abs=SCRIPT_TOLERANCE)  # the trunk rings 2 s
    outcomes = [(c.promise.kind, c.outcome) for c in lab_run.result.changes if c.outcome]
    assert ("ami", "kept") in [(str(k), str(o)) for k, o in outcomes], lab_run.result.changes
