"""Issue 19 items 6, 7 (calibration) and 8 on the web and the API: the prefilled checklist
with its evidence, override reasons checked by the server, calibration scores and their
variance, and who holds a claim since when."""

from __future__ import annotations

import re

from web_testkit import csrf_of

from monitor.store import Store

SINCE = r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


def _claim(client_for, who: str = "qa1"):  # type: ignore[no-untyped-def]
    qa = client_for(who)
    token = csrf_of(qa.get("/calls/c1").text)
    assert qa.post("/calls/c1/claim", data={"csrf": token}).status_code == 200
    return qa, token


def _checked(html: str, key: str) -> str:
    m = re.search(rf'name="check_{key}" value="(\w+)" checked', html)
    assert m, f"no answer checked for {key}"
    return m.group(1)


def test_the_form_starts_from_the_measurements_with_evidence(client_for, store: Store) -> None:  # type: ignore[no-untyped-def]
    qa, _ = _claim(client_for)
    page = qa.get("/calls/c1").text
    assert _checked(page, "no_dead_air") == "no"
    assert "No dead air over 10 seconds outside hold: 12 s, limit 10 s — breached" in page
    assert _checked(page, "answered_promptly") == "no"
    rings = "Answer the phone within three rings: 5 rings, limit 3 rings — breached (finding #1)"
    assert rings in page
    assert _checked(page, "checked_back_on_hold") == "yes"  # the 10 s hold: within 60 s
    assert _checked(page, "greeting") == "na"  # no check measures it
    assert 'name="reason_no_dead_air"' in page and 'name="reason_greeting"' not in page
    draft = store.call("c1").open_review  # type: ignore[union-attr]
    assert draft is not None and draft.answers is not None
    assert draft.answers["no_dead_air"]["prefill"] is False


def test_an_override_without_a_reason_is_refused(client_for, store: Store) -> None:  # type: ignore[no-untyped-def]
    qa, token = _claim(client_for)
    form = {"csrf": token, "disposition": "not_a_breach", "check_no_dead_air": "yes"}
    bad = qa.post("/calls/c1/review", data=form)
    assert bad.status_code == 400
    assert "no_dead_air (measured no, answered yes)" in bad.text
    api = qa.post(
        "/api/calls/c1/review",
        json={"disposition": "not_a_breach", "answers": {"no_dead_air": {"value": "yes"}}},
        headers={"x-csrf-token": token},
    )
    assert api.status_code == 400
    assert api.json() == {
        "error": "give a reason for each answer that differs from the measurement: "
        "no_dead_air (measured no, answered yes)"
    }
    unknown = qa.post(
        "/api/calls/c1/review",
        json={"disposition": "not_a_breach", "answers": {"dead_air": {"value": "yes"}}},
        headers={"x-csrf-token": token},
    )
    assert unknown.status_code == 400 and "no checklist item 'dead_air'" in unknown.json()["error"]
    assert store.call("c1").flag.status == "claimed"  # type: ignore[union-attr]
    form["reason_no_dead_air"] = "caller asked for time to find the card"
    assert qa.post("/calls/c1/review", data=form).status_code == 200
    done = store.call("c1").reviews[-1]  # type: ignore[union-attr]
    assert done.checklist["no_dead_air"] is True
    assert done.answers["no_dead_air"]["reason"] == "caller asked for time to find the card"  # type: ignore[index]
    page = qa.get("/calls/c1").text
    assert '(measured: no)</span> <span class="override">overridden: caller asked for' in page


def test_review_api_round_trip(client_for, store: Store) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    hdr = {"x-csrf-token": csrf_of(qa.get("/flags").text)}
    claimed = qa.post("/api/calls/c1/claim", headers=hdr)
    assert claimed.status_code == 200 and claimed.json()["state"] == "open"
    assert claimed.json()["answers"]["no_dead_air"]["prefill"] is False
    body = {
        "disposition": "coaching_needed",
        "answers": {
            "greeting": {"value": "yes"},
            "checked_back_on_hold": {"value": "no", "reason": "no check-back heard"},
        },
        "notes": "api",
    }
    done = qa.post("/api/calls/c1/review", json=body, headers=hdr)
    assert done.status_code == 200, done.text
    got = qa.get("/api/calls/c1/review").json()
    assert got["flag"]["status"] == "closed"
    [review] = got["reviews"]
    assert review["checklist"]["checked_back_on_hold"] is False
    assert review["answers"]["checked_back_on_hold"]["reason"] == "no check-back heard"
    assert review["answers"]["no_dead_air"]["value"] is False  # left out: the prefill stands
    assert got["prefill"]["no_dead_air"]["evidence"][0]["rule"] == "no-dead-air-over-10s"


def test_who_holds_a_claim_is_shown_and_said(client_for, store: Store) -> None:  # type: ignore[no-untyped-def]
    _claim(client_for, "qa1")
    qa2 = client_for("qa2")
    page = qa2.get("/calls/c1").text
    assert re.search(rf"Claimed by <b>qa1</b> {SINCE}\.", page)
    assert 'id="claim"' not in page and 'id="submit-review"' not in page
    token = csrf_of(page)
    again = qa2.post("/calls/c1/claim", data={"csrf": token})
    assert again.status_code == 409
    assert re.search(rf"already claimed by &#39;qa1&#39; {SINCE}", again.text)
    api = qa2.post("/api/calls/c1/claim", headers={"x-csrf-token": token})
    assert api.status_code == 409
    assert re.fullmatch(rf"call 'c1' is already claimed by 'qa1' {SINCE}", api.json()["error"])
    flags = qa2.get("/flags").text
    assert re.search(rf'class="claimed-by">by qa1 {SINCE}</span>', flags)
    item = next(i for i in qa2.get("/api/flags").json()["items"] if i["call_id"] == "c1")
    assert item["claimed_by"] == "qa1" and item["claimed_at"].endswith("Z")
    flag = qa2.get("/api/calls/c1/review").json()["flag"]
    assert flag["claimed_by"] == "qa1" and flag["claimed_at"] == item["claimed_at"]


def test_calibration_by_a_second_reviewer(client_for, store: Store) -> None:  # type: ignore[no-untyped-def]
    qa1, token1 = _claim(client_for, "qa1")
    form = {"csrf": token1, "disposition": "coaching_needed", "check_greeting": "yes"}
    assert qa1.post("/calls/c1/review", data=form).status_code == 200
    assert 'id="calibrate"' not in qa1.get("/calls/c1").text  # the author cannot calibrate
    sup = client_for("sup1")
    assert 'id="calibrate"' not in sup.get("/calls/c1").text
    sup_token = csrf_of(sup.get("/flags").text)
    assert sup.post("/calls/c1/calibrate", data={"csrf": sup_token}).status_code == 403
    qa2 = client_for("qa2")
    page = qa2.get("/calls/c1").text
    assert 'id="calibrate"' in page
    token2 = csrf_of(page)
    assert qa2.post("/calls/c1/calibrate", data={"csrf": token2}).status_code == 200
    blind = qa2.get("/calls/c1").text
    assert 'id="calibrating"' in blind and "Hidden until you submit your calibration score" in blind
    assert "badge disp" not in blind  # qa1's disposition and score stay hidden
    hidden = qa2.get("/api/calls/c1/review").json()["reviews"][0]
    assert "checklist" not in hidden and hidden["hidden"].startswith("blind calibration")
    cal = {
        "csrf": token2,
        "disposition": "not_a_breach",
        "check_greeting": "no",
        "check_no_dead_air": "yes",
        "reason_no_dead_air": "hold music gap, not dead air",
    }
    assert qa2.post("/calls/c1/review", data=cal).status_code == 200
    stored = store.call("c1")
    assert stored is not None and stored.flag is not None and stored.flag.status == "closed"
    assert [(r.kind, r.reviewer) for r in stored.reviews] == [
        ("review", "qa1"),
        ("calibration", "qa2"),
    ]
    shown = qa2.get("/calls/c1").text
    assert "Calibration of review #" in shown
    # qa1: greeting yes, rings no, dead air no, hold yes = 2/4; qa2: no, no, yes, yes = 2/4
    assert 'class="difference">+0 points' in shown and 'class="disagree-count">2</b> of 10' in shown
    assert re.search(r'<tr class="disagree" data-key="greeting">', shown)
    assert re.search(r'<tr class="disagree" data-key="no_dead_air">', shown)
    assert "dispositions differ" in shown
    view = sup.get("/calibration").text
    assert 'id="cal-calls">1<' in view and "Greeted with own name" in view
    data = sup.get("/api/calibration").json()
    assert data["summary"]["calls"] == 1
    [one] = data["calls"]
    assert one["disagreements"] == ["greeting", "no_dead_air"] and one["variance"] == 0.0
    assert [s["reviewer"] for s in one["scores"]] == ["qa1", "qa2"]
    twice = qa2.post("/api/calls/c1/calibrate", headers={"x-csrf-token": token2})
    assert twice.status_code == 409 and "already scored review" in twice.json()["error"]


def test_the_prefill_follows_the_services_rules_and_site(app, client_for) -> None:  # type: ignore[no-untyped-def]
    from monitor.rules import Site, load_rules_text

    rules = load_rules_text(
        """
groups:
  - name: house
    rules:
      - id: dead-air-20s
        title: No dead air over 20 seconds
        check: dead_air
        params: {max: 20}
      - id: rings-3
        title: Three rings
        check: rings_to_answer
        params: {max: 3}
"""
    )
    app.state.report_rules = lambda: rules  # as the service sets them (its current rule set)
    app.state.rules_site = Site("us")
    qa, _ = _claim(client_for)
    got = qa.get("/api/calls/c1/review").json()["prefill"]
    assert set(got) == {"no_dead_air", "answered_promptly"}  # no hold rule: that item is open
    # answered after 15 s: 3 rings at the US cadence (6 s), 5 in the UK (3 s)
    assert got["answered_promptly"]["prefill"] is True
    assert got["answered_promptly"]["evidence"][0]["value"] == 3
    [ev] = got["no_dead_air"]["evidence"]
    assert got["no_dead_air"]["prefill"] is True and ev["rule"] == "dead-air-20s"
    assert ev["text"] == "No dead air over 20 seconds: 12 s, limit 20 s — met"


def test_admin_release_by_api_is_audited_and_frees_the_claim(client_for, store: Store) -> None:  # type: ignore[no-untyped-def]
    _claim(client_for, "qa1")
    admin = client_for("admin1")
    hdr = {"x-csrf-token": csrf_of(admin.get("/flags").text)}
    resp = admin.post("/api/calls/c1/release", json={"reason": "qa1 on leave"}, headers=hdr)
    assert resp.status_code == 200
    entry = next(e for e in store.audit_entries("c1") if e.action == "release")
    assert entry.actor == "admin1" and entry.detail == {"from": "qa1", "reason": "qa1 on leave"}
    assert admin.get("/api/calls/c1/review").json()["flag"]["claimed_by"] is None
    qa2 = client_for("qa2")
    claimed = qa2.post(
        "/api/calls/c1/claim", headers={"x-csrf-token": csrf_of(qa2.get("/flags").text)}
    )
    assert claimed.status_code == 200 and claimed.json()["reviewer"] == "qa2"
    assert claimed.json()["answers"]["no_dead_air"]["prefill"] is False  # a fresh prefill


def test_the_queue_says_since_only_while_claimed(client_for, store: Store) -> None:  # type: ignore[no-untyped-def]
    qa, token = _claim(client_for)
    assert 'class="claimed-by">by qa1 since' in qa.get("/flags").text
    form = {"csrf": token, "disposition": "not_a_breach"}
    assert qa.post("/calls/c1/review", data=form).status_code == 200
    page = qa.get("/flags", params={"status": "closed"}).text
    assert "claimed-by" not in page and "closed</span> · qa1" in page  # who reviewed it
