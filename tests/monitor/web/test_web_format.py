"""The display formatter (monitor/web/format.py) and the call page's rows (callview.py):
units, rounding, labels, zones, Q.850 causes, and jump targets in recording time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from callrecord_factory import T0, audio, finding, record

from monitor.errors import ConfigError
from monitor.record import Span
from monitor.rules import load_rules
from monitor.store import Store
from monitor.web import WebSettings, create_app
from monitor.web import format as fmt
from monitor.web.callview import finding_views, record_rows, recording_start_note, rule_units
from monitor.web.timeline import jumps, timeline_svg

RULES = Path(__file__).resolve().parents[3] / "rules"
LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (19.700000047683716, "19.7 s"),
        (0.04, "0 s"),
        (3.0, "3 s"),
        (9.96, "10 s"),
        (59.94, "59.9 s"),
        (59.96, "1 min"),
        (125.34, "2 min 5.3 s"),
        (120.0, "2 min"),
        (3599.9, "59 min 59.9 s"),
        (86_400.0, "24 h"),
        (90_180.0, "25 h 3 min"),
        (-2.25, "-2.2 s"),
        (None, "–"),
        (float("nan"), "–"),
    ],
)
def test_seconds_are_rounded_to_a_tenth_with_the_unit(value: float | None, text: str) -> None:
    assert fmt.seconds(value) == text


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (5, "rings", "5 rings"),
        (1, "rings", "1 ring"),
        (3.46, "rings", "3.5 rings"),
        (12.000000047, "s", "12 s"),
        (0.0312, "ratio", "3.1%"),
        (0.5, "ratio", "50%"),
        (1, "holds", "1 hold"),
        (3, "holds", "3 holds"),
        (2, "transfers", "2 transfers"),
        (1, "RONAs", "1 RONA"),
        (7.25, "", "7.2"),
        (None, "s", "–"),
    ],
)
def test_measure_in_the_checks_unit(value: float | None, unit: str, text: str) -> None:
    assert fmt.measure(value, unit) == text


def test_units_come_from_the_rules_check() -> None:
    units = rule_units(load_rules(RULES))
    assert units["answer-within-three-rings"] == "rings"
    assert units["no-dead-air-over-10s"] == "s"
    assert units["total-hold-under-2m"] == "s"
    assert units["at-most-one-transfer"] == "transfers"
    assert fmt.unit_for("overtalk", {"max_ratio": 0.1}) == "ratio"
    assert fmt.unit_for("overtalk", {"max_seconds": 2, "max_ratio": 0.1}) == "s"
    assert fmt.unit_for("no_such_check") == "" and fmt.unit_for(None) == ""
    assert rule_units(None) == {}


@pytest.mark.parametrize(
    ("value", "unit", "cell"),
    [
        (19.700000047683716, "s", 19.7),
        (15.0, "s", 15),
        (3.46, "rings", 3.5),
        (0.031234, "ratio", 0.031),
        (2.0, "transfers", 2),
        (7.123456, "", 7.123),
        (None, "s", None),
    ],
)
def test_csv_rounding(value: float | None, unit: str, cell: float | None) -> None:
    got = fmt.round_for_csv(value, unit)
    assert got == cell and type(got) is type(cell)


def test_times_carry_their_zone() -> None:
    summer, winter = 1_790_000_000.0, 1_767_258_000.0  # 2026-09-21, 2026-01-01
    assert fmt.zoned(summer, LONDON) == "2026-09-21 15:13:20 BST"
    assert fmt.zoned(winter, LONDON) == "2026-01-01 09:00:00 GMT"
    assert fmt.zoned(summer, ZoneInfo("UTC")) == "2026-09-21 14:13:20 UTC"
    assert fmt.zoned(summer, LONDON, with_date=False) == "15:13:20 BST"
    # a zone without an abbreviation shows its offset
    assert fmt.zoned(summer, ZoneInfo("Asia/Dubai")) == "2026-09-21 18:13:20 UTC+04:00"
    assert fmt.zoned(summer, ZoneInfo("America/St_Johns")).endswith(" NDT")
    assert fmt.zoned(None, LONDON) == "–"


def test_clock_floors_like_a_media_player() -> None:
    assert fmt.clock(68.9) == "1:08"
    assert fmt.clock(0.0) == "0:00"
    assert fmt.clock(3725.0) == "1:02:05"
    assert fmt.clock(-3.0) == "0:00"
    assert fmt.clock(None) == "–"


def test_labels_and_hangup_causes() -> None:
    assert fmt.label("coaching_needed") == "Coaching needed"
    assert fmt.label("confirmed_breach") == "Confirmed breach"
    assert fmt.label("not_a_breach") == "Not a breach"
    assert fmt.label("voicemail") == "went to voicemail"
    assert fmt.label("some_new_word") == "some new word"
    assert fmt.label(None) == "–"
    assert fmt.hangup_cause(16) == "normal clearing"
    assert fmt.hangup_cause(17) == "user busy"
    assert fmt.hangup_cause(19) == "no answer (user alerted)"
    assert fmt.hangup_cause(21) == "call rejected"
    assert fmt.hangup_cause(34) == "no circuit or channel available"
    assert fmt.hangup_cause(250) == "cause 250"
    assert fmt.hangup_cause(None) == "–"


def test_jump_targets_are_in_recording_time() -> None:
    """The defect: the call page labelled a moment in call time ("@1:18") while the player
    seeks in recording time, which starts at the answer (here 10 s later): it landed at
    1:08. Now each moment carries both, and the page shows the recording's."""
    rec = record(
        "c10",
        answered_at=T0 + 10,
        recording="2026/c10.wav",
        audio=replace(audio(start=T0 + 10), duration_seconds=120.0),
        findings=(
            finding(
                rule="no-dead-air-over-10s",
                at=T0 + 78,
                value=12.000000047,
                threshold=10,
                evidence=(("silence", 68.0),),
            ),
        ),
    )
    ((_, moments),) = jumps(rec)
    assert [(j.what, j.call_offset, j.seek) for j in moments] == [
        ("limit passed", 78.0, 68.0),
        ("silence", 68.0, 58.0),
    ]
    assert fmt.clock(moments[0].seek) == "1:08"  # was shown as "@1:18"
    svg = timeline_svg(rec)
    assert "1:18 into the call, 1:08 in the recording" in svg
    (view,) = finding_views(rec, {"no-dead-air-over-10s": "s"})
    assert (view.measured, view.limit, view.unit_note) == ("12 s", "10 s", "")
    (unknown,) = finding_views(rec, {})
    assert unknown.measured == "12" and "not among the loaded rules" in unknown.unit_note
    assert recording_start_note(rec, LONDON) == "the answer, 0:10 into the call (15:13:30 BST)"


def test_moments_before_the_recording_have_no_seek() -> None:
    rec = record("c11", recording="2026/c11.wav", audio=audio(start=T0 + 15))
    ((_, moments),) = jumps(rec)
    assert [j.seek for j in moments] == [None, 0.0]  # at T0+9 is before the answer


def test_record_rows_are_labelled_and_rounded() -> None:
    rec = record(
        "c12",
        hangup_cause=16,
        talk_seconds=60.04999,
        ring_seconds=19.700000047683716,
        audio=audio(),
        holds=(),
        hold_count=0,
    )
    rows = {r.key: r for r in record_rows(rec, LONDON)}
    assert rows["hangup_cause"].text == "normal clearing"
    assert rows["hangup_cause"].title == "Q.850 cause 16"
    assert rows["holds"].text == "none" and rows["hold_count"].text == "none"
    assert rows["ring_seconds"].text == "19.7 s"
    assert rows["talk_seconds"].text == "1 min"
    assert rows["rings"].text == "5 rings"
    assert rows["started_at"].text == "2026-09-21 15:13:20 BST"
    assert rows["answered_at"].text == "15:13:35 BST (+0:15)"
    assert rows["transfers"].text == "none"
    assert rows["audio.overtalk_ratio"].text == "3%"
    assert rows["audio.talk_ratio"].text == "agent 55% · caller 45%"
    held = replace(
        rec, holds=(Span(T0 + 20, T0 + 50),), hold_count=1, hold_seconds=30.0,
        longest_hold_seconds=30.0,
    )  # fmt: skip
    rows = {r.key: r for r in record_rows(held, LONDON)}
    assert rows["holds"].text == "0:20–0:50 (30 s) (call time)"
    assert rows["hold_count"].text == "1 hold, 30 s in all, longest 30 s"
    assert all("[]" not in r.text and "_" not in r.label for r in rows.values())


def test_a_recording_without_audio_facts_starts_where_the_config_says() -> None:
    """``audio.recording_start: start`` (MixMonitor in the dialplan before Queue): a call
    whose recording was not analysed must not be dated from the answer (15 s later here)."""
    rec = record("c13", recording="2026/c13.wav", audio=None)  # answered at T0 + 15
    ((_, at_answer),) = jumps(rec)
    ((_, at_start),) = jumps(rec, "start")
    assert [j.seek for j in at_answer] == [None, 0.0]
    assert [j.seek for j in at_start] == [9.0, 15.0]  # call time = recording time
    note = recording_start_note(rec, LONDON, "start")
    assert note.startswith("the call's arrival, 0:00 into the call")


def test_the_call_page_uses_the_configured_recording_start(store: Store, recordings: Path) -> None:
    from fastapi.testclient import TestClient
    from web_testkit import login

    base = store.call("c1")
    assert base is not None
    store.save_call(replace(base.record, call_id="c14", audio=None))  # 2026/c1.wav, no facts
    for mode, seek in (("answer", "0.0"), ("start", "15.0")):
        app = create_app(store, WebSettings(recordings_dir=recordings, recording_start=mode))
        with TestClient(app, base_url="http://testserver") as client:
            html = login(client, "qa1").get("/calls/c14").text
        assert f'class="jump" data-seek="{seek}"' in html, mode
    with pytest.raises(ConfigError, match="recording_start"):
        create_app(store, WebSettings(recording_start="later"))
