"""queue_log: every app_queue verb parsed with its fields, in the file and SQL-export formats,
turned into call records where what queue_log cannot know stays unknown."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import pytest
from history_testkit import QUEUE, assert_queue_log_matches_ami

from monitor.cli.main import main
from monitor.errors import InputError
from monitor.history.crosscheck import crosscheck
from monitor.history.formats import detect_format
from monitor.history.queue_log import VERBS, QueueLogParser, parse_line
from monitor.history.queue_log_calls import UNKNOWN_FIELDS, QueueLogCalls
from monitor.history.source import InputFile
from monitor.record import Outcome, Timing
from monitor.store.store import Store

FIXTURES = Path(__file__).parents[2] / "fixtures" / "queue_log"
KATA = FIXTURES / "logvisualiserkata-freepbx-ast1.4-2010.queue_log"
WAZO = FIXTURES / "wazo-xivo-doc-queue_log-table-rows.psv"

# (line as Asterisk 13-22 writes it, verb, expected fields)
VERB_LINES: list[tuple[str, str, dict[str, object]]] = [
    ("1700000000|1700000000.1|sales|NONE|ENTERQUEUE||07700900123|1|Jane Caller", "ENTERQUEUE",
     {"url": None, "callerid": "07700900123", "position": 1, "callerid_name": "Jane Caller"}),
    ("1700000002|1700000000.1|sales|Alice|RINGNOANSWER|15000", "RINGNOANSWER",
     {"ringtime_ms": 15000}),
    ("1700000003|1700000000.2|sales|Bob|RINGCANCELED|1200", "RINGCANCELED",
     {"ringtime_ms": 1200}),
    ("1700000004|1700000000.1|sales|Bob|CONNECT|4|1700000002.5|2", "CONNECT",
     {"holdtime": 4, "member_uniqueid": "1700000002.5", "ringtime": 2}),
    ("1700000064|1700000000.1|sales|Bob|COMPLETEAGENT|4|60|1", "COMPLETEAGENT",
     {"holdtime": 4, "calltime": 60, "origposition": 1}),
    ("1700000064|1700000000.3|sales|Bob|COMPLETECALLER|7|30|2", "COMPLETECALLER",
     {"holdtime": 7, "calltime": 30, "origposition": 2}),
    ("1700000010|1700000000.2|sales|NONE|ABANDON|2|3|10", "ABANDON",
     {"position": 2, "origposition": 3, "waittime": 10}),
    ("1700000300|1700000000.4|sales|NONE|EXITWITHTIMEOUT|1|1|300", "EXITWITHTIMEOUT",
     {"position": 1, "origposition": 1, "waittime": 300}),
    ("1700000030|1700000000.5|sales|NONE|EXITWITHKEY|5|1|2|30", "EXITWITHKEY",
     {"key": "5", "position": 1, "origposition": 2, "waittime": 30}),
    ("1700000020|1700000000.6|sales|NONE|EXITEMPTY|1|1|20", "EXITEMPTY",
     {"position": 1, "origposition": 1, "waittime": 20}),
    ("1700000025|1700000000.7|sales|NONE|WITHDRAW|1|1|25|callback", "WITHDRAW",
     {"position": 1, "origposition": 1, "waittime": 25, "withdraw_info": "callback"}),
    ("1700000090|1700000000.8|sales|Bob|BLINDTRANSFER|2000|from-internal|5|80|1",
     "BLINDTRANSFER",
     {"exten": "2000", "context": "from-internal", "holdtime": 5, "calltime": 80,
      "origposition": 1}),
    ("1700000095|1700000000.9|sales|Bob|ATTENDEDTRANSFER|BRIDGE|bridge-42|6|85|1",
     "ATTENDEDTRANSFER",
     {"method": "BRIDGE", "method_data": "bridge-42", "holdtime": 6, "calltime": 85,
      "origposition": 1}),
    ("1300000095|1300000000.9|sales|Bob|TRANSFER|2000|from-internal|6|85|1", "TRANSFER",
     {"exten": "2000", "context": "from-internal", "holdtime": 6, "calltime": 85,
      "origposition": 1}),
    ("1700000005|1700000000.1|sales|Bob|AGENTDUMP|", "AGENTDUMP", {}),
    ("1700000005|1700000000.1|sales|Bob|SYSCOMPAT|", "SYSCOMPAT", {}),
    ("1700000100|NONE|sales|Bob|PAUSE|lunch", "PAUSE", {"reason": "lunch"}),
    ("1700000200|NONE|sales|Bob|UNPAUSE|Auto-Unpause", "UNPAUSE", {"reason": "Auto-Unpause"}),
    ("1700000100|NONE|NONE|Bob|PAUSEALL|break", "PAUSEALL", {"reason": "break"}),
    ("1700000200|NONE|NONE|Bob|UNPAUSEALL|", "UNPAUSEALL", {"reason": None}),
    ("1700000000|MANAGER|sales|Bob|ADDMEMBER|PAUSED", "ADDMEMBER", {"paused": "PAUSED"}),
    ("1700000000|CLI|sales|Bob|ADDMEMBER|", "ADDMEMBER", {"paused": None}),
    ("1700009000|MANAGER|sales|Bob|REMOVEMEMBER|", "REMOVEMEMBER", {}),
    ("1700000000|NONE|sales|Bob|PENALTY|3", "PENALTY", {"penalty": 3}),
    ("1700000000|NONE|sales|Bob|RINGINUSE|0", "RINGINUSE", {"ringinuse": 0}),
    ("1700000000|1700000000.11|NONE|Agent/1001|AGENTLOGIN|PJSIP/1001-0001", "AGENTLOGIN",
     {"channel": "PJSIP/1001-0001"}),
    ("1700003600|1700000000.11|NONE|Agent/1001|AGENTLOGOFF|PJSIP/1001-0001|3600",
     "AGENTLOGOFF", {"channel": "PJSIP/1001-0001", "logintime": 3600}),
    ("1700000000|NONE|NONE|NONE|QUEUESTART|", "QUEUESTART", {}),
    ("1700000000|NONE|NONE|NONE|CONFIGRELOAD|", "CONFIGRELOAD", {}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "verb", "fields"), VERB_LINES, ids=[v[1] for v in VERB_LINES])
def test_every_verb_parses_with_its_fields(text: str, verb: str, fields: dict[str, object]) -> None:
    line = parse_line(text, 1)
    assert line is not None and line.verb == verb
    assert line.fields == fields
    assert line.at == float(text.split("|", 1)[0])
    assert line.callid == (None if text.split("|")[1] == "NONE" else text.split("|")[1])


def test_the_table_covers_every_verb_the_issue_lists() -> None:
    listed = {"ENTERQUEUE", "CONNECT", "COMPLETEAGENT", "COMPLETECALLER", "ABANDON",
              "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY", "RINGNOANSWER", "RINGCANCELED",
              "TRANSFER", "ATTENDEDTRANSFER", "BLINDTRANSFER", "PAUSE", "UNPAUSE", "ADDMEMBER",
              "REMOVEMEMBER", "AGENTLOGIN", "AGENTLOGOFF"}  # fmt: skip
    assert listed <= set(VERBS)
    assert listed <= {v for _, v, _ in VERB_LINES}


def test_older_versions_write_fewer_fields_and_none_is_guessed() -> None:
    enter14 = parse_line("1266833911|1266833905.2|9000|NONE|ENTERQUEUE||01773597776", 1)
    connect14 = parse_line("1266833912|1266833905.2|9000|Local/2004|CONNECT|1|1266833911.7", 2)
    assert enter14 is not None and connect14 is not None
    assert enter14.fields["position"] is None and enter14.fields["callerid_name"] is None
    assert connect14.fields == {"holdtime": 1, "member_uniqueid": "1266833911.7", "ringtime": None}


def test_a_line_that_is_not_queue_log_is_an_error_with_its_number() -> None:
    with pytest.raises(InputError, match="line 7: not a queue_log line"):
        parse_line("Event: Newchannel", 7)


def _calls(lines: list[str]) -> list:  # type: ignore[type-arg]
    calls = QueueLogCalls(pbx="main")
    out = []
    for line in QueueLogParser("test").feed(lines):
        out += calls.feed(line)
    return out + calls.finish()


def test_synthetic_calls_for_every_ending() -> None:
    text = [t for t, _, _ in VERB_LINES if t.split("|")[4] not in ("TRANSFER",)]
    enters = [
        f"1700000000|1700000000.{i}|sales|NONE|ENTERQUEUE||0770090012{i}|1" for i in range(2, 10)
    ]
    records = {r.call_id: r for r in _calls(enters[:1] + text[:1] + enters[1:] + text[1:])}
    answered = records["1700000000.1"]
    assert answered.outcome is Outcome.ANSWERED and answered.agent == "Bob"
    assert answered.queue_wait_seconds == 4 and answered.talk_seconds == 60
    assert answered.answered_at == 1700000004 and answered.ended_at == 1700000064
    assert answered.agent_ring_no_answer == 1 and answered.agents_tried == ("Alice", "Bob")
    assert answered.caller == "07700900123" and answered.caller_name == "Jane Caller"
    assert answered.extra["ended_by"] == "agent"
    # what queue_log cannot know is unknown, never guessed
    assert answered.ring_seconds is None and answered.rings is None
    assert answered.hangup_cause is None and answered.dialed is None
    assert answered.timing is Timing.APPROXIMATE
    assert set(UNKNOWN_FIELDS) <= set(answered.extra["unknown"])
    abandoned = records["1700000000.2"]
    assert abandoned.outcome is Outcome.ABANDONED and abandoned.queue_wait_seconds == 10
    assert abandoned.agents_tried == ("Bob",) and abandoned.answered_at is None
    exits = {records[f"1700000000.{i}"].extra.get("queue_exit") for i in (4, 5, 6, 7)}
    assert exits == {"timeout", "key", "empty", "withdraw"}
    assert all(records[f"1700000000.{i}"].outcome is Outcome.UNANSWERED for i in (4, 5, 6, 7))
    assert records["1700000000.8"].transfers == 1 and records["1700000000.9"].transfers == 1
    assert records["1700000000.3"].extra["ended_by"] == "caller"


def test_the_real_asterisk_1_4_file() -> None:
    records = _calls(KATA.read_text().splitlines())
    outcomes = [str(r.outcome) for r in records]
    assert outcomes.count("answered") == 7 and outcomes.count("abandoned") == 12
    first = next(r for r in records if r.call_id == "1266833905.2")
    assert first.agent == "Local/2004@from-internal/n" and first.queue == "9000"
    assert first.started_at == 1266833911 and first.queue_wait_seconds == 1
    assert first.talk_seconds == 3 and first.agent_ring_no_answer == 2
    anonymous = next(r for r in records if r.call_id == "1266833996.30")
    assert anonymous.caller == "anonymous"
    # 21 ENTERQUEUE: 7 answered, 12 abandoned, 2 still waiting when the file ends
    assert outcomes.count("incomplete") == 2 and len(records) == 21


def test_the_sql_table_export_with_a_header() -> None:
    parser = QueueLogParser("wazo", timezone="UTC")
    lines = list(parser.feed(WAZO.read_text().splitlines()))
    assert parser.bad_lines == 0 and len(lines) == 12
    connect = next(x for x in lines if x.verb == "CONNECT")
    assert connect.fields == {"holdtime": 2, "member_uniqueid": "1341401601.27", "ringtime": 1}
    assert connect.at == pytest.approx(
        1341387203.085718, abs=1e-3
    )  # 2012-07-04 07:33:23.085718 UTC
    abandon = next(x for x in lines if x.verb == "ABANDON")
    assert abandon.fields == {"position": 1, "origposition": 1, "waittime": 6}


def test_csv_export_with_quotes_and_a_local_zone(tmp_path: Path) -> None:
    csv_text = (
        "time,callid,queuename,agent,event,data1,data2,data3,data4,data5\n"
        '2026-01-05 09:00:00.250000,1767603600.1,sales,NONE,ENTERQUEUE,,"0770090,0123",1,,\n'
        "2026-01-05 09:00:12,1767603600.1,sales,Bob,CONNECT,12,1767603610.2,3,,\n"
        "2026-01-05 09:01:12,1767603600.1,sales,Bob,COMPLETECALLER,12,60,1,,\n"
    )
    path = tmp_path / "queue_log.csv"
    path.write_text(csv_text)
    assert detect_format(InputFile(path)) == "queue_log"
    calls = QueueLogCalls()
    out = []
    for line in QueueLogParser("csv", timezone="Europe/London").feed(csv_text.splitlines()):
        out += calls.feed(line)
    (call,) = out
    assert call.caller == "0770090,0123" and call.talk_seconds == 60
    assert call.started_at == pytest.approx(1767603600.25)  # London is UTC in January


def test_import_detects_queue_log_and_merges_rotated_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = KATA.read_text().splitlines(keepends=True)
    cut = next(i for i, x in enumerate(lines) if "|CONNECT|" in x)  # a call spans the rotation
    older, newer = tmp_path / "queue_log.1.gz", tmp_path / "queue_log"
    older.write_bytes(gzip.compress("".join(lines[:cut]).encode()))
    newer.write_text("".join(lines[cut:]))
    db = tmp_path / "q.sqlite"
    assert (
        main(["import", "--store", str(db), "--no-rules", "--quiet", str(newer), str(older)]) == 0
    )
    store = Store.open(str(db))
    records = store.list_calls(limit=100)
    assert len(records) == 21
    first = next(r for r in records if r.call_id == "1266833905.2")
    assert first.outcome is Outcome.ANSWERED and first.extra["source"] == "queue_log"
    assert "21 calls" in capsys.readouterr().err


def _hand_made_queue_log(path: Path) -> None:
    """What app_queue writes for the call of the AMI capture ``QUEUE`` (Asterisk 13.18):
    joined Q1 at 13:43:59 (HoldTime 9 before AgentConnect at 13:44:08), talked 3 s, the
    caller hung up (AgentComplete Reason: caller)."""
    path.write_text(
        "1514295839|1514295827.372|Q1|NONE|ENTERQUEUE||123|1\n"
        "1514295848|1514295827.372|Q1|SIP/777|CONNECT|9|1514295839.373|9\n"
        "1514295851|1514295827.372|Q1|SIP/777|COMPLETECALLER|9|3|1\n"
    )


def test_crosscheck_helper_on_an_ami_capture_and_its_queue_log(tmp_path: Path) -> None:
    qlog = tmp_path / "queue_log"
    _hand_made_queue_log(qlog)
    assert assert_queue_log_matches_ami([QUEUE], [qlog]) == 1


def test_crosscheck_reports_what_differs(tmp_path: Path) -> None:
    qlog = tmp_path / "queue_log"
    _hand_made_queue_log(qlog)
    qlog.write_text(qlog.read_text().replace("|3|1\n", "|30|1\n"))
    with pytest.raises(AssertionError, match=r"talk_seconds: AMI 3\.0, queue_log 30\.0"):
        assert_queue_log_matches_ami([QUEUE], [qlog])
    assert crosscheck([], []).ok


def test_a_transferred_call_has_no_known_end() -> None:
    """The lab's q-bt call (Asterisk 22.10.1 queue_log): Ivan blind-transfers the caller after
    3 s; the caller talks on to the target, which queue_log never sees. The end was the
    transfer's time (a guess: AMI ends the call 5 s later); now unknown, and the talk is the
    agent's part (calltime), as AMI's TalkTime."""
    lines = [
        "1796327303|1796327303.90007|q-bt|NONE|ENTERQUEUE||4155550127|1",
        "1796327304|1796327303.90007|q-bt|Ivan|CONNECT|1|1796327303.28|1",
        "1796327307|1796327303.90007|q-bt|Ivan|BLINDTRANSFER|qbt-dest|agents|1|3|1",
    ]
    (rec,) = _calls(lines)
    assert rec.outcome is Outcome.ANSWERED and rec.transfers == 1
    assert rec.answered_at == 1796327304 and rec.talk_seconds == 3
    assert rec.ended_at is None
    assert "ended_at" in rec.extra["unknown"]
    assert rec.to_contract()["ended_at"] is None


def test_the_contract_leaves_what_queue_log_cannot_know_null() -> None:
    """Holds are unknown to queue_log: the record's 0 placeholders are null in the contract
    (API, replay JSON/CSV), never a guessed "no hold"."""
    (rec,) = _calls(VERB_LINES_ANSWERED)
    contract = rec.to_contract()
    for name in ("hold_seconds", "hold_count", "longest_hold_seconds", "ring_seconds", "rings"):
        assert contract[name] is None, name
    assert contract["talk_seconds"] == 60 and contract["queue_wait_seconds"] == 4


VERB_LINES_ANSWERED = [
    "1700000000|1700000000.1|sales|NONE|ENTERQUEUE||07700900123|1",
    "1700000004|1700000000.1|sales|Bob|CONNECT|4|1700000000.5|3",
    "1700000064|1700000000.1|sales|Bob|COMPLETEAGENT|4|60|1",
]


def test_crosscheck_unknown_fields_must_be_null_and_exits_agree() -> None:
    """A field queue_log lists as unknown is not compared but must be null there (a guessed
    end is a mismatch); the queue exit is compared where both sources know it."""
    lines = [
        "1796327303|1796327303.90007|q-bt|NONE|ENTERQUEUE||4155550127|1",
        "1796327304|1796327303.90007|q-bt|Ivan|CONNECT|1|1796327303.28|1",
        "1796327307|1796327303.90007|q-bt|Ivan|BLINDTRANSFER|qbt-dest|agents|1|3|1",
        "1796327303|1796327303.90005|q-to|NONE|ENTERQUEUE||4155550123|1",
        "1796327308|1796327303.90005|q-to|NONE|EXITWITHTIMEOUT|1|1|5",
    ]
    moved, left = _calls(lines)
    ami_moved = dataclasses.replace(moved, ended_at=1796327312.8, timing=Timing.EXACT)
    ami_left = dataclasses.replace(left, extra={"queue_exit": "timeout"})
    result = crosscheck([ami_moved, ami_left], [moved, left])
    assert result.ok, result.report()
    assert result.fields_unknown == 1  # the transferred call's end
    guessed = dataclasses.replace(moved, ended_at=1796327307.0)
    other = dataclasses.replace(ami_left, extra={"queue_exit": "empty"})
    bad = crosscheck([ami_moved, other], [guessed, left])
    assert any("ended_at: queue_log guessed" in m for m in bad.mismatches), bad.report()
    assert any("queue_exit: AMI empty, queue_log timeout" in m for m in bad.mismatches)


def test_crosscheck_allows_for_queue_log_cutting_times_to_the_second() -> None:
    """queue_log writes time(NULL): an AMI hang-up at 872.007 is queue_log's 871 (seen in the
    lab: the caller's COMPLETECALLER at 871.9, AMI's Hangup 0.1 s later); an AMI time before
    the queue_log second, or more than a second plus the tolerance after it, still differs."""
    lines = [
        "1796332863|1796332863.90023|q-live|NONE|ENTERQUEUE||4155550199|1",
        "1796332865|1796332863.90023|q-live|Ivan|CONNECT|2|1796332863.31|1",
        "1796332871|1796332863.90023|q-live|Ivan|COMPLETECALLER|2|6|1",
    ]
    [ql] = _calls(lines)
    assert ql.ended_at == 1796332871.0
    for ended, ok in ((1796332872.007, True), (1796332869.9, False), (1796332873.1, False)):
        ami = dataclasses.replace(ql, ended_at=ended, timing=Timing.EXACT)
        result = crosscheck([ami], [ql], tolerance=1.0)
        assert result.ok is ok, (ended, result.report())
