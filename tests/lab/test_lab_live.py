"""``ringwatch run`` against the lab: the calls it stored and counted live are the calls the
replay of the same AMI finds; after ``core restart now`` it is back within 2 s of Asterisk,
and the call the restart cut is closed exactly once (Asterisk hangs it up on the way down:
answered, ended at the restart)."""

from __future__ import annotations

import math
import time

from monitor.rules import load_rules
from tests.lab.asterisk import REPO
from tests.lab.conftest import LabRun
from tests.lab.live import figure, metric, until

EXACT = 0.050


def test_live_calls_match_the_replay(lab_run: LabRun) -> None:
    live = lab_run.live
    want = {r.call_id: r for r in lab_run.result.records}
    until("the live store to hold every call", lambda: len(live.rows("calls")) >= len(want), 20)
    got = {str(row["call_id"]): row for row in live.rows("calls")}
    assert set(got) == set(want)
    for call_id, rec in want.items():
        row = got[call_id]
        assert row["outcome"] == rec.outcome, call_id
        for key in ("hold_count", "transfers", "queue", "agent", "direction", "caller"):
            assert row[key] == getattr(rec, key), (call_id, key)
        for key in ("started_at", "answered_at", "ended_at", "ring_seconds", "talk_seconds",
                    "queue_wait_seconds", "hold_seconds"):  # fmt: skip
            a, b = row[key], getattr(rec, key)
            assert (a is None) == (b is None), (call_id, key, a, b)
            if a is not None:
                assert math.isclose(float(a), float(b), abs_tol=EXACT), (call_id, key, a, b)  # type: ignore[arg-type]
    # (the audio findings come from the recordings, which the replay does not analyse:
    # tests/lab/test_lab_audio.py)
    audio = {"greet-within-3s", "no-dead-air-over-10s"}
    findings = {
        (str(f["call_id"]), str(f["rule"])) for f in live.rows("findings") if f["rule"] not in audio
    }
    assert findings == {(r.call_id, f.rule) for r in want.values() for f in r.findings}


def test_live_metrics_count_the_calls(lab_run: LabRun) -> None:
    text = lab_run.live.metrics()
    outcomes: dict[str, int] = {}
    for r in lab_run.result.records:
        outcomes[str(r.outcome)] = outcomes.get(str(r.outcome), 0) + 1
    for outcome, n in outcomes.items():
        assert metric(text, "ringwatch_calls_total", outcome=outcome) == n, outcome
    assert metric(text, "ringwatch_ami_up") == 1


def test_live_promise_kept(lab_run: LabRun) -> None:
    rows = lab_run.live.rows("promises")
    explicit = [r for r in rows if r["kind"] == "ami"]
    assert [r["state"] for r in explicit] == ["kept"], rows
    assert str(explicit[0]["number"]).endswith("4155550115")


def test_restart_mid_call_reconnects_and_closes_the_cut_call_once(lab_run: LabRun) -> None:
    lab, live = lab_run.lab, lab_run.live
    before = metric(live.metrics(), "ringwatch_calls_total")
    mark = lab.ami.mark()
    uid = lab.originate("restart-call", "4155550190", 150)
    lab.ami.wait_for(
        lambda m: (
            m.get("Event") == "DialEnd"
            and m.get("DialStatus") == "ANSWER"
            and m.get("Linkedid") == uid
        ),
        15,
        mark,
    )
    until(
        "the live call to be seen", lambda: metric(live.metrics(), "ringwatch_active_calls") >= 1, 5
    )
    old = lab.ami
    cut = time.time()
    old.send("Command", Command="core restart now")
    old.wait_closed(30)
    lab.ami = lab.ast.connect("lab", lab.ast.secret, 90)  # returns on FullyBooted
    back = time.time()
    up = until("ringwatch run to reconnect", live.ami_up, 60)
    figure("reconnect_after_asterisk_back_seconds", round(up - back, 3))
    assert up - back <= 2.0, f"ringwatch reconnected {up - back:.1f} s after Asterisk was back"
    until(
        "the cut call to be stored",
        lambda: any(r["call_id"] == uid for r in live.rows("calls")),
        20,
    )
    rows = [r for r in live.rows("calls") if r["call_id"] == uid]
    # Asterisk hangs its channels up before it restarts and says so (Hangup events): the
    # call was answered and ended at the restart, and is recorded once as such
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["outcome"] == "answered", row
    assert cut - 0.5 <= float(row["ended_at"]) <= back, (cut, row["ended_at"], back)  # type: ignore[arg-type]
    assert metric(live.metrics(), "ringwatch_calls_total") == before + 1
    assert metric(live.metrics(), "ringwatch_ami_reconnects_total") >= 1


def test_live_flags_the_breaching_calls(lab_run: LabRun) -> None:
    """The QA queue: exactly the calls with a finding of a ``flag: true`` rule are flagged
    (RONA, the slow answer, and the dead air that only the recording shows), with those
    rules."""
    live = lab_run.live
    flagging = {r.id for r in load_rules(REPO / "rules").rules if r.flag}
    want = {
        r.call_id: {f.rule for f in r.findings if f.rule in flagging}
        for r in lab_run.result.records
        if any(f.rule in flagging for f in r.findings)
    }
    dead = lab_run.result.by_caller(lab_run.scenarios["mixmonitor_greeting_dead_air"].caller)[0]
    want.setdefault(dead.call_id, set()).add("no-dead-air-over-10s")
    assert len(want) >= 3

    def all_flagged() -> bool:
        return {str(f["call_id"]) for f in live.rows("flags")} >= set(want)

    until("the breaching calls to be flagged", all_flagged, 30)
    flags = {str(f["call_id"]): str(f["rules"]) for f in live.rows("flags")}
    assert set(flags) == set(want), flags
    for call_id, rules in want.items():
        assert all(rule in flags[call_id] for rule in rules), (call_id, flags[call_id])
