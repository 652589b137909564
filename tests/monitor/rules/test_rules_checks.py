"""Per-call checks, applies_to (business hours with zoneinfo), findings and the QA flag."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.record import CallRecord, Severity
from monitor.rules import (
    CheckStatus,
    Context,
    PromiseResult,
    Site,
    build_call,
    evaluate,
    evaluate_results,
    flag_for,
    load_rules_text,
    run_check,
)
from monitor.rules.testcall import DEFAULT_BASE, parse_time

BASE = parse_time(DEFAULT_BASE)


def call(site: str = "us", **desc: Any) -> CallRecord:
    return build_call(desc, base=BASE, cadence=Site(site).cadence_seconds)


def one_rule(check: str, params: str, extra: str = "", site: str = "us", **desc: Any) -> Any:
    text = f"groups:\n- name: g\n  rules:\n  - {{id: r, check: {check}, params: {params}{extra}}}\n"
    rule = load_rules_text(text).get("r")
    return run_check(rule, call(site, **desc), Context(Site(site)))


@pytest.mark.parametrize(
    ("site", "answered", "status", "rings", "at"),
    [
        ("uk", 9.0, CheckStatus.MET, 3, None),
        ("uk", 9.1, CheckStatus.BREACHED, 4, 9.0),
        ("us", 18.0, CheckStatus.MET, 3, None),
        ("us", 18.5, CheckStatus.BREACHED, 4, 18.0),
        ("de", 16.0, CheckStatus.BREACHED, 4, 15.0),
        ("us", 0.0, CheckStatus.MET, 1, None),
    ],
)
def test_rings_to_answer_uses_the_site_cadence(
    site: str, answered: float, status: CheckStatus, rings: int, at: float | None
) -> None:
    res = one_rule("rings_to_answer", "{max: 3}", site=site, answered_at=answered, ended_at=60)
    assert res.status is status and res.value == rings and res.threshold == 3
    assert res.at == (None if at is None else BASE + at)


def test_rings_clocks_and_answer_kinds() -> None:
    r = one_rule("rings_to_answer", "{max: 3, clock: queue_join}",
                 queue_joined_at=30, answered_at=50, ended_at=90)  # fmt: skip
    assert r.status is CheckStatus.BREACHED and r.at == BASE + 48 and r.value == 4
    assert dict(r.evidence)["queue_join"] == 30 and dict(r.evidence)["answered"] == 50
    r = one_rule("rings_to_answer", "{max: 3, clock: first_ring}", answered_at=5, ended_at=9)
    assert r.status is CheckStatus.NOT_APPLICABLE
    # voicemail picks up at 12 s, no person ever answers
    vm: dict[str, Any] = {"answered_any_at": 12, "ended_at": 60, "outcome": "voicemail"}
    assert one_rule("rings_to_answer", "{max: 3, answer: any}", **vm).status is CheckStatus.MET
    r = one_rule("rings_to_answer", "{max: 3}", **vm)
    assert r.status is CheckStatus.NOT_APPLICABLE  # rang 2 rings, then voicemail
    r = one_rule("rings_to_answer", "{max: 3}", **{**vm, "answered_any_at": 30})
    assert r.status is CheckStatus.BREACHED and r.at == BASE + 18 and r.value == 5
    # the param country overrides the site
    r = one_rule("rings_to_answer", "{max: 3, country: uk}", answered_at=10, ended_at=60)
    assert r.status is CheckStatus.BREACHED and r.at == BASE + 9


def test_queue_wait_and_abandoned() -> None:
    r = one_rule("queue_wait", "{max: 20}", queue_joined_at=5, answered_at=30, ended_at=90)
    assert r.status is CheckStatus.BREACHED and r.value == 25 and r.at == BASE + 25
    r = one_rule("queue_wait", "{max: 20}", queue_joined_at=5, answered_at=25, ended_at=90)
    assert r.status is CheckStatus.MET
    assert one_rule("queue_wait", "{max: 20}", answered_at=5).status is CheckStatus.NOT_APPLICABLE
    ab: dict[str, Any] = {"queue_joined_at": 5, "outcome": "abandoned"}
    r = one_rule("abandoned", "{short_abandon: 5}", ended_at=10, **ab)
    assert r.status is CheckStatus.NOT_APPLICABLE and "short abandon" in r.reason
    r = one_rule("abandoned", "{short_abandon: 5}", ended_at=30, **ab)
    assert r.status is CheckStatus.BREACHED and r.value == 25 and r.at == BASE + 30
    assert one_rule("abandoned", "{}", answered_at=9, ended_at=30).status is CheckStatus.MET
    r = one_rule("abandoned", "{}", ended_at=30, outcome="busy")
    assert r.status is CheckStatus.NOT_APPLICABLE


def test_holds_transfers_rona_and_talk() -> None:
    held: dict[str, Any] = {"answered_at": 10, "ended_at": 300}
    r = one_rule("longest_hold", "{max: 60}", holds=[[100, None]], **held)  # ran to the end
    assert r.status is CheckStatus.BREACHED and r.value == 200 and r.at == BASE + 160
    r = one_rule("hold_count", "{max: 2}", holds=[[20, 30], [40, 50], [60, 70]], **held)
    assert r.status is CheckStatus.BREACHED and r.value == 3 and r.at == BASE + 60
    assert one_rule("hold_count", "{max: 2}", **held).status is CheckStatus.MET
    assert one_rule("longest_hold", "{max: 60}", ended_at=9).status is CheckStatus.NOT_APPLICABLE
    r = one_rule("transfers", "{max: 1}", transfers=3, **held)
    assert r.status is CheckStatus.BREACHED and r.value == 3 and r.at == BASE + 300
    r = one_rule("agent_ring_no_answer", "{}", agent_ring_no_answer=2, **held)
    assert r.status is CheckStatus.BREACHED and r.threshold == 0
    r = one_rule("talk_time", "{min: 10, max: 120}", answered_at=10, ended_at=15)
    assert r.status is CheckStatus.BREACHED and r.value == 5 and r.threshold == 10
    r = one_rule("talk_time", "{max: 2m}", answered_at=10, ended_at=400)
    assert r.status is CheckStatus.BREACHED and r.at == BASE + 130
    assert one_rule("talk_time", "{min: 10}", **held).status is CheckStatus.MET
    assert one_rule("talk_time", "{min: 10}", ended_at=9).status is CheckStatus.NOT_APPLICABLE


def test_audio_checks_without_audio_are_never_a_pass() -> None:
    for check, params in [("greeting_latency", "{max: 3}"), ("dead_air", "{max: 10}"),
                          ("overtalk", "{max_seconds: 2}")]:  # fmt: skip
        r = one_rule(check, params, answered_at=5, ended_at=60)
        assert r.status is CheckStatus.NOT_EVALUATED and r.reason == "no audio"


def test_audio_checks_with_audio() -> None:
    answered: dict[str, Any] = {"answered_at": 5, "ended_at": 120}
    r = one_rule("greeting_latency", "{max: 3}", audio={"duration_seconds": 115}, **answered)
    assert r.status is CheckStatus.BREACHED and r.value is None and r.at == BASE + 8
    audio = {"recording_started_at": 0, "dead_air": [[20, 45]], "overtalk": [[50, 54]],
             "overtalk_ratio": 0.3}  # fmt: skip
    r = one_rule("dead_air", "{max: 10}", audio=audio, holds=[[25, 40]], **answered)
    assert r.status is CheckStatus.MET and r.value == 5  # 20-25 and 40-45 outside the hold
    r = one_rule("dead_air", "{max: 10}", audio=audio, **answered)
    assert r.status is CheckStatus.BREACHED and r.value == 25 and r.at == BASE + 30
    r = one_rule("overtalk", "{max_seconds: 3}", audio=audio, **answered)
    assert r.status is CheckStatus.BREACHED and r.value == 4 and r.at == BASE + 53
    r = one_rule("overtalk", "{max_ratio: 0.25}", audio=audio, **answered)
    assert r.status is CheckStatus.BREACHED and r.value == 0.3
    assert one_rule("overtalk", "{max_ratio: 0.5}", audio=audio, **answered).status is (
        CheckStatus.MET)  # fmt: skip


def test_callback_kept_outcomes() -> None:
    rule = load_rules_text(
        "groups:\n- name: g\n  rules:\n"
        "  - {id: cb, check: callback_kept, params: {policy: implicit, due: 24h}}\n"
    ).get("cb")
    rec = call(ended_at=30, outcome="abandoned")
    for outcome, status in [("cancelled", CheckStatus.NOT_APPLICABLE),
                            ("unreturnable", CheckStatus.NOT_APPLICABLE),
                            ("open", CheckStatus.NOT_EVALUATED), ("kept", CheckStatus.MET),
                            ("broken", CheckStatus.BREACHED)]:  # fmt: skip
        promise = PromiseResult("implicit", outcome, BASE + 30, BASE + 86430, None)
        other = PromiseResult("explicit", "broken", BASE + 30, BASE + 100, None)
        res = run_check(rule, rec, Context(Site(), (other, promise)))
        assert res.status is status, outcome
    assert run_check(rule, rec, Context()).status is CheckStatus.NOT_EVALUATED


CALENDAR_RULES = """
calendars:
  office:
    timezone: Europe/London
    hours: "08:00-18:00"
    holidays: [2026-04-03]
groups:
- name: g
  applies_to: {business_hours: office, direction: inbound, queues: [sales], pbx: [london]}
  rules:
  - {id: t, check: transfers, params: {max: 0}, flag: true, severity: critical, title: No transfers}
"""


@pytest.mark.parametrize(
    ("start", "applies"),
    [
        ("2026-03-02T10:00:00Z", True),  # Monday 10:00 GMT
        ("2026-03-02T07:30:00Z", False),  # 07:30 GMT, before opening
        ("2026-07-06T07:30:00Z", True),  # 08:30 BST: zoneinfo applies summer time
        ("2026-07-06T17:30:00Z", False),  # 18:30 BST
        ("2026-03-07T10:00:00Z", False),  # Saturday
        ("2026-04-03T10:00:00Z", False),  # a holiday
    ],
)
def test_business_hours_are_evaluated_at_started_at(start: str, applies: bool) -> None:
    rs = load_rules_text(CALENDAR_RULES)
    rec = call(started_at=start, queue="sales", pbx="london", answered_at=5, ended_at=60,
               transfers=1)  # fmt: skip
    assert bool(evaluate(rec, rs)) is applies


def test_applies_to_filters_and_findings() -> None:
    rs = load_rules_text(CALENDAR_RULES)
    base: dict[str, Any] = {"queue": "sales", "pbx": "london", "answered_at": 5, "ended_at": 60}
    assert evaluate(call(**{**base, "queue": "support"}, transfers=1), rs) == []
    assert evaluate(call(**{**base, "pbx": "paris"}, transfers=1), rs) == []
    assert evaluate(call(**base, transfers=1, direction="outbound"), rs) == []
    (f,) = evaluate(call(**base, transfers=1), rs)
    assert (f.rule, f.severity, f.value, f.threshold, f.at) == (
        "t", Severity.CRITICAL, 1, 0, BASE + 60)  # fmt: skip
    assert f.title == "No transfers" and f.flag and not f.live
    assert flag_for([f]) and not flag_for([])
    assert f.to_contract()["at"] == "2026-03-02T10:01:00.000Z"


def test_evaluate_results_and_flag_only_from_flagging_rules() -> None:
    rs = load_rules_text(
        "groups:\n- name: g\n  rules:\n"
        "  - {id: a, check: transfers, params: {max: 0}}\n"
        "  - {id: b, check: greeting_latency, params: {max: 3}, flag: true}\n"
        "  - {id: c, check: abandon_rate, target: {ratio: 0.05, window: 15m}}\n"
    )
    rec = call(answered_at=5, ended_at=60, transfers=1)
    results = {r.rule.id: r.result.status for r in evaluate_results(rec, rs)}
    assert results == {"a": CheckStatus.BREACHED, "b": CheckStatus.NOT_EVALUATED}
    findings = evaluate(rec, rs)
    assert [f.rule for f in findings] == ["a"] and not flag_for(findings)
    assert dict(evaluate(call(answered_at=5, ended_at=9, audio={"greeting_latency_seconds": 4}),
                         rs)[0].evidence) == {"answered": 5, "greeting": 9}  # fmt: skip


def test_rings_for_a_queued_caller_who_was_never_answered() -> None:
    # issue 16 item 1: the queue answered the channel at arrival; the caller waited 40 s for
    # a person and hung up: ringing (waiting for a person) ran to the hang-up, 7 rings
    queued: dict[str, Any] = {"answered_any_at": 0.5, "queue_joined_at": 1, "ended_at": 40,
                              "outcome": "abandoned", "queue": "sales"}  # fmt: skip
    r = one_rule("rings_to_answer", "{max: 3}", **queued)
    assert r.status is CheckStatus.BREACHED and r.value == 7 and r.at == BASE + 18
    # the same caller reaching voicemail at 12 s stopped waiting there
    r = one_rule("rings_to_answer", "{max: 3}", **{**queued, "voicemail_at": 12, "ended_at": 60})
    assert r.status is CheckStatus.NOT_APPLICABLE
