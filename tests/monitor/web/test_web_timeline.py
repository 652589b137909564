"""Timeline SVG, "jump to" offsets and wallboard tiles (pure functions)."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from callrecord_factory import T0, audio, finding, record

from monitor.record import Span
from monitor.web.live import DEFAULT_STANDARDS, LiveNumbers, StaticLive, grade, tiles
from monitor.web.timeline import jumps, recording_start, timeline_svg

NS = "{http://www.w3.org/2000/svg}"


def test_svg_is_well_formed_with_lanes_and_findings() -> None:
    rec = record(
        audio=audio(), recording="a.wav", extra={"transfer_at": [T0 + 55]}, caller_name="<b>x</b>"
    )
    root = ET.fromstring(timeline_svg(rec))
    labels = [t.text for t in root.iter(f"{NS}text") if t.get("class") == "tl-lane"]
    assert labels == [
        "Call",
        "Ringing",
        "Hold / transfer",
        "Agent speech",
        "Caller speech",
        "Dead air / overtalk",
        "Findings",
    ]
    classes = [e.get("class") for e in root.iter()]
    assert classes.count("tl-ringtick") == 5
    assert "tl-hold" in classes and "tl-transfer" in classes and "tl-queue" in classes
    assert sum(1 for c in classes if c and c.startswith("tl-finding")) == 2
    assert "style=" not in timeline_svg(rec) and "<script" not in timeline_svg(rec)


def test_hostile_rule_names_are_escaped() -> None:
    rec = record(findings=(finding(rule='"><script>alert(1)</script>'),))
    svg = timeline_svg(rec)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)


def test_jump_offsets_follow_the_recording_start() -> None:
    rec = record(
        audio=audio(start=T0 + 15),
        recording="a.wav",
        findings=(finding(at=T0 + 40, evidence=(("silence", 35.0),)),),
    )
    assert recording_start(rec) == T0 + 15
    ((_, moments),) = jumps(rec)
    assert [(j.call_offset, j.seek) for j in moments] == [(40.0, 25.0), (35.0, 20.0)]
    before = jumps(dataclasses.replace(rec, findings=(finding(at=T0 + 5, evidence=()),)))
    assert before[0][1][0].seek is None  # before the recording started
    no_rec = jumps(dataclasses.replace(rec, recording=None))
    assert all(j.seek is None for _, ms in no_rec for j in ms)
    no_audio = dataclasses.replace(rec, audio=None)
    assert recording_start(no_audio) == rec.answered_at


def test_running_call_and_open_hold_render() -> None:
    rec = record(
        ended_at=None,
        answered_at=None,
        holds=(Span(T0 + 5, None),),
        rings=None,
        ring_seconds=None,
        findings=(finding(at=T0 + 30),),
    )
    root = ET.fromstring(timeline_svg(rec))
    assert any(e.get("class") == "tl-hold" for e in root.iter())


def test_tiles_grade_against_standards() -> None:
    assert grade(0.85, DEFAULT_STANDARDS["service_level"]) == "green"
    assert grade(0.75, DEFAULT_STANDARDS["service_level"]) == "amber"
    assert grade(0.5, DEFAULT_STANDARDS["service_level"]) == "red"
    assert grade(4, DEFAULT_STANDARDS["waiting_now"]) == "amber"
    assert grade(None, DEFAULT_STANDARDS["abandon_rate"]) == "none"
    live = StaticLive()
    live.update(longest_wait_seconds=95, abandon_rate=0.07)
    by_key = {t.key: t for t in tiles(live.numbers())}
    assert by_key["longest_wait_seconds"].text == "1:35"
    assert by_key["longest_wait_seconds"].status == "red"
    assert by_key["abandon_rate"].text == "7%" and by_key["abandon_rate"].status == "amber"
    assert by_key["service_level"].text == "–" and by_key["service_level"].status == "none"
    assert len(tiles(LiveNumbers())) == 7


def test_recording_path_maps_asterisk_absolute_paths_into_the_recordings_dir() -> None:
    from monitor.web.recordings import recording_path

    spool = "/var/spool/asterisk/monitor"
    assert recording_path("2026/01/q-1.wav", spool) == "2026/01/q-1.wav"
    assert recording_path(f"{spool}/2026/01/q-1.wav", spool) == "2026/01/q-1.wav"
    assert recording_path("/etc/passwd", spool) is None
    assert recording_path(f"{spool}/../../etc/passwd", spool) is None
    assert recording_path(None, spool) is None
