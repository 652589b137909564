"""Issue 19 item 6: the review checklist starts answered from the measurements, with the
evidence (pure: monitor/web/prefill.py over the seed standards)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from callrecord_factory import T0, audio, finding, record

from monitor.record import Severity, Span
from monitor.rules import RuleSet, Site, load_rules
from monitor.rules.seed import SEED_RULES
from monitor.web.prefill import evidence_text, prefill
from monitor.web.settings import DEFAULT_CHECKLIST, ChecklistItem

DEAD_AIR = finding(
    rule="no-dead-air-over-10s",
    severity=Severity.WARNING,
    value=19.7,
    threshold=10,
    at=T0 + 45,
    evidence=(("silence", 35.0), ("limit", 45.0), ("speech", 54.7)),
    title="No dead air over 10 seconds outside hold",
)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(SEED_RULES)


def _silence(seconds: float) -> object:
    return replace(audio(), dead_air=(Span(20.0, 20.0 + seconds),))


def test_a_19_7_s_dead_air_sets_no_dead_air_to_no_with_the_finding(rules: RuleSet) -> None:
    rec = record("c1", audio=_silence(19.7), findings=(finding(), DEAD_AIR))
    got = prefill(rec, DEFAULT_CHECKLIST, rules, Site("uk"))
    dead = got["no_dead_air"]
    assert dead["prefill"] is False
    [ev] = dead["evidence"]
    assert ev["rule"] == "no-dead-air-over-10s" and ev["status"] == "breached"
    assert ev["value"] == 19.7 and ev["threshold"] == 10 and ev["unit"] == "s"
    assert ev["finding_seq"] == 1 and ev["source"] == "finding"
    assert ev["text"] == (
        "No dead air over 10 seconds outside hold: 19.7 s, limit 10 s — breached (finding #2)"
    )
    # the rings finding (seq 0) answers "answered within three rings": no
    rings = got["answered_promptly"]
    assert rings["prefill"] is False and rings["evidence"][0]["finding_seq"] == 0
    assert rings["evidence"][0]["unit"] == "rings"


def test_measured_without_a_stored_finding(rules: RuleSet) -> None:
    # the rule was added after the call was stored: the measurement still decides
    rec = record("c1", audio=_silence(19.7), findings=(), holds=())
    ev = prefill(rec, DEFAULT_CHECKLIST, rules, Site("uk"))["no_dead_air"]
    assert ev["prefill"] is False
    assert ev["evidence"][0]["source"] == "measured" and ev["evidence"][0]["finding_seq"] is None
    assert ev["evidence"][0]["value"] == pytest.approx(19.7)
    # silence during a hold is not dead air: the 10 s hold at 0:50 cuts it to 15 s
    held = prefill(record("c1", audio=_silence(19.7), findings=()), DEFAULT_CHECKLIST, rules,
                   Site("uk"))  # fmt: skip
    assert held["no_dead_air"]["evidence"][0]["value"] == pytest.approx(15.0)


def test_met_standards_answer_yes_with_the_measured_value(rules: RuleSet) -> None:
    rec = record("c1", audio=_silence(4.0), findings=(), answered_at=T0 + 5, answered_any_at=T0 + 5)
    got = prefill(rec, DEFAULT_CHECKLIST, rules, Site("uk"))
    assert got["no_dead_air"]["prefill"] is True
    assert got["no_dead_air"]["evidence"][0]["text"].endswith("4 s, limit 10 s — met")
    assert got["answered_promptly"]["prefill"] is True  # 5 s in the UK: 2 rings of 3
    assert got["answered_promptly"]["evidence"][0]["value"] == 2
    assert got["checked_back_on_hold"]["prefill"] is True  # the one hold: 10 s of 60
    # US cadence (6 s a ring): the same answer is one ring
    us = prefill(rec, DEFAULT_CHECKLIST, rules, Site("us"))
    assert us["answered_promptly"]["evidence"][0]["value"] == 1


def test_unmeasured_items_stay_unanswered(rules: RuleSet) -> None:
    rec = record("c1", audio=None, findings=(), holds=(), hold_count=0, hold_seconds=0.0)
    got = prefill(rec, DEFAULT_CHECKLIST, rules, Site("uk"))
    assert got["no_dead_air"]["prefill"] is None  # no recording: not measured
    assert "no audio" in got["no_dead_air"]["evidence"][0]["text"]
    assert got["checked_back_on_hold"]["prefill"] is None  # no hold on this call
    assert got["checked_back_on_hold"]["evidence"][0]["note"] == "no hold on this call"
    # no check measures these, and the seed pack has no overtalk rule
    for key in ("greeting", "asked_before_hold", "used_name", "no_overtalk"):
        assert key not in got


def test_a_breach_wins_over_a_met_rule_and_custom_items(rules: RuleSet) -> None:
    holds = ChecklistItem("holds", "Holds short", ("longest_hold", "total_hold"))
    rec = record(
        "c1",
        findings=(),
        holds=(Span(T0 + 20, T0 + 70), Span(T0 + 72, T0 + 150)),
        hold_count=2,
        hold_seconds=128.0,
        longest_hold_seconds=78.0,
        ended_at=T0 + 160,
    )
    got = prefill(rec, (holds,), rules, Site("uk"))["holds"]
    assert got["prefill"] is False
    assert {e["rule"]: e["status"] for e in got["evidence"]} == {
        "hold-check-back-60s": "breached",
        "total-hold-under-2m": "breached",
    }
    unmeasured = evidence_text({"rule": "x", "status": "not_evaluated"})
    assert unmeasured == "x: not measured (not_evaluated)"
