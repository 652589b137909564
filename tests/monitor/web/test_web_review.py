"""Web: login, queue, call page, review flow, API, export, wallboard, metrics, health."""

from __future__ import annotations

import json
import re

from web_testkit import PASSWORD, csrf_of

from monitor.store import Store


def test_login_wrong_password_and_logout(client_for) -> None:  # type: ignore[no-untyped-def]
    anon = client_for(None)
    page = anon.get("/login")
    bad = anon.post(
        "/login", data={"username": "qa1", "password": "nope nope", "csrf": csrf_of(page.text)}
    )
    assert bad.status_code == 401 and "Wrong user name or password" in bad.text
    qa = client_for("qa1")
    cookie = qa.cookies.get("rw_session")
    assert cookie
    flags = qa.get("/flags")
    out = qa.post("/logout", data={"csrf": csrf_of(flags.text)}, follow_redirects=False)
    assert out.status_code == 303
    qa.cookies.set("rw_session", cookie)
    assert qa.get("/flags", follow_redirects=False).status_code == 303  # session is gone


def test_session_cookie_flags(client_for) -> None:  # type: ignore[no-untyped-def]
    anon = client_for(None)
    page = anon.get("/login")
    resp = anon.post(
        "/login",
        data={"username": "qa1", "password": PASSWORD, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = next(
        v
        for k, v in resp.headers.multi_items()
        if k == "set-cookie" and v.startswith("rw_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert resp.headers["location"] == "/flags"


def test_secure_cookie_over_https(app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as c:
        page = c.get("/login")
        resp = c.post(
            "/login",
            data={"username": "sup1", "password": PASSWORD, "csrf": csrf_of(page.text)},
            follow_redirects=False,
        )
        cookie = next(
            v
            for k, v in resp.headers.multi_items()
            if k == "set-cookie" and v.startswith("rw_session=")
        )
        assert "Secure" in cookie
        assert resp.headers["location"] == "/wallboard"


def test_queue_lists_flags_with_filters(client_for) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    page = qa.get("/flags")
    assert page.status_code == 200
    assert 'id="total">2<' in page.text
    assert "/calls/c1" in page.text and "/calls/c2" in page.text and "/calls/c3" not in page.text
    sales = qa.get("/flags", params={"queue": "sales"})
    assert 'id="total">1<' in sales.text and "/calls/c1" not in sales.text
    crit = qa.get("/flags", params={"severity": "critical", "sort": "-severity"})
    assert "/calls/c1" in crit.text and "/calls/c2" not in crit.text
    assert qa.get("/flags", params={"status": "weird"}).status_code == 400
    assert qa.get("/flags", params={"from": "yesterday"}).status_code == 400


def test_call_page_shows_timeline_findings_and_jumps(client_for) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    page = qa.get("/calls/c1")
    assert page.status_code == 200
    assert '<svg class="timeline"' in page.text
    assert page.text.count('class="tl-finding') == 4  # 2 findings x (at + evidence)
    assert "Agent speech" in page.text and "Caller speech" in page.text
    assert '<audio id="player"' in page.text and 'src="/recordings/2026/c1.wav"' in page.text
    # no-dead-air at T0+40, recording starts at T0+15 -> 25 s in; evidence 35 s -> 20 s in
    assert 'data-seek="25.0"' in page.text and 'data-seek="20.0"' in page.text
    assert "<script>" not in page.text.replace('<script src="/static/call.js" defer></script>', "")
    sup = client_for("sup1")
    sup_page = sup.get("/calls/c1")
    assert sup_page.status_code == 200 and '<audio id="player"' not in sup_page.text
    assert qa.get("/calls/nope").status_code == 404


def test_review_flow_closed_is_immutable(client_for, store: Store) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    page = qa.get("/calls/c1")
    token = csrf_of(page.text)
    assert (
        qa.post("/calls/c1/claim", data={"csrf": token}, follow_redirects=False).status_code == 303
    )
    form = qa.get("/calls/c1")
    assert 'id="submit-review"' in form.text and "Greeted with own name" in form.text
    assert qa.post("/calls/c1/review", data={"csrf": token}).status_code == 400
    data = {
        "csrf": token,
        "disposition": "coaching_needed",
        "notes": "long silence at 0:40",
        "check_greeting": "yes",
        "check_no_dead_air": "no",
    }
    assert qa.post("/calls/c1/review", data=data, follow_redirects=False).status_code == 303
    done = qa.get("/calls/c1")
    assert "cannot be edited" in done.text and 'id="submit-review"' not in done.text
    again = qa.post("/calls/c1/review", data=data)
    assert again.status_code == 409 and "closed and cannot be edited" in again.text
    stored = store.call("c1")
    assert stored is not None and stored.reviews[0].checklist["greeting"] is True
    assert stored.reviews[0].checklist["no_dead_air"] is False
    assert stored.reviews[0].checklist["asked_before_hold"] is None
    # issue 19: items left out of the form keep their prefill from the measurements (rings
    # breached: no; the 10 s hold within 60 s: yes); the others stay n/a
    assert stored.reviews[0].checklist["answered_promptly"] is False
    assert stored.reviews[0].checklist["checked_back_on_hold"] is True
    assert stored.reviews[0].score == 2 and stored.reviews[0].score_max == 4
    qa2 = client_for("qa2")
    t2 = csrf_of(qa2.get("/calls/c1").text)
    assert (
        qa2.post(
            "/calls/c1/reopen",
            data={"csrf": t2, "reason": "agent disputes"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    stored = store.call("c1")
    assert stored is not None and len(stored.reviews) == 2
    assert (
        stored.reviews[0].state == "closed"
        and stored.reviews[1].reopened_from == stored.reviews[0].id
    )
    actions = [e.action for e in store.audit_entries(call_id="c1")]
    assert {"claim", "review", "reopen"} <= set(actions)


def test_api_contract_and_flags(client_for) -> None:  # type: ignore[no-untyped-def]
    from callrecord_factory import record  # type: ignore[import-not-found]

    qa = client_for("sup1")
    calls = qa.get("/api/calls").json()["calls"]
    assert [c["call_id"] for c in calls] == ["c3", "c2", "c1"]
    assert set(calls[0]) == set(record().to_contract())
    one = qa.get("/api/calls/c2").json()
    assert one["caller"] == "+441632960001" and one["findings"][0]["rule"]
    flags = qa.get("/api/flags", params={"per_page": 1}).json()
    assert flags["total"] == 2 and len(flags["items"]) == 1 and flags["counts"]["open"] == 2
    finds = qa.get("/api/findings", params={"rule": "no-dead-air"}).json()["findings"]
    assert len(finds) == 1 and finds[0]["call_id"] == "c1"
    assert qa.get("/api/calls", params={"limit": "x"}).status_code == 400
    assert qa.get("/api/calls/nope").status_code == 404


def test_csv_export(client_for, store: Store) -> None:  # type: ignore[no-untyped-def]
    sup = client_for("sup1")
    resp = sup.get("/export/calls.csv")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    lines = resp.text.strip().splitlines()
    assert lines[0].startswith("call_id,") and len(lines) == 4
    fresp = sup.get("/export/findings.csv")
    assert len(fresp.text.strip().splitlines()) == 4  # header + 2 (c1) + 1 (c2)
    assert any(e.action == "export_calls" for e in store.audit_entries())


def test_recording_range_requests(client_for) -> None:  # type: ignore[no-untyped-def]
    qa = client_for("qa1")
    full = qa.get("/recordings/2026/c1.wav")
    assert full.status_code == 200 and full.headers["content-type"] == "audio/wav"
    assert full.headers.get("accept-ranges") == "bytes" and len(full.content) == 1028
    part = qa.get("/recordings/2026/c1.wav", headers={"Range": "bytes=4-11"})
    assert part.status_code == 206 and part.content == bytes(range(8))
    assert part.headers["content-range"] == "bytes 4-11/1028"


def test_wallboard_page_and_stream(client_for, live) -> None:  # type: ignore[no-untyped-def]
    sup = client_for("sup1")
    page = sup.get("/wallboard")
    assert page.status_code == 200 and 'data-key="service_level"' in page.text
    assert "85%" in page.text and "tile status-green" in page.text
    live.update(service_level=0.5, waiting_now=9)
    body = sup.get("/wallboard/stream").text
    assert body.startswith("retry:")
    data = json.loads(re.search(r"event: board\ndata: (.*)\n\n", body).group(1))
    tiles = {t["key"]: t for t in data["tiles"]}
    assert data["board"] == {"now": 0.0, "window": "", "queues": [], "agents": [], "calls": []}
    assert tiles["service_level"]["text"] == "50%" and tiles["service_level"]["status"] == "red"
    assert tiles["waiting_now"]["status"] == "red"
    assert tiles["abandon_rate"]["status"] == "green"


def test_metrics_and_health(client_for) -> None:  # type: ignore[no-untyped-def]
    anon = client_for(None)
    m = anon.get("/metrics")
    assert m.status_code == 200 and "ringwatch_test_total 1.0" in m.text
    h = anon.get("/healthz")
    assert h.status_code == 200 and h.json() == {"status": "ok"}  # status only, to anyone
    assert anon.get("/healthz/details").status_code == 401
    d = client_for("sup1").get("/healthz/details").json()
    assert d["status"] == "ok" and d["store_ok"] is True and d["store"] in ("sqlite", "postgresql")


def test_promises_page_and_cancel(client_for, store: Store) -> None:  # type: ignore[no-untyped-def]
    from callrecord_factory import T0  # type: ignore[import-not-found]

    from monitor.promises.engine import PromiseEngine

    PromiseEngine(store.engine).promise("+441632960009", T0 + 60, made_at=T0, actor="test")
    sup = client_for("sup1")
    page = sup.get("/promises")
    assert page.status_code == 200 and "+441632960009" in page.text
    overdue = sup.get("/promises", params={"view": "overdue"})
    assert "+441632960009" in overdue.text  # the store clock is now, long after T0 + 60
    pid = store.promises("open")[0].id
    token = csrf_of(page.text)
    resp = sup.post(
        f"/promises/{pid}/cancel",
        data={"csrf": token, "reason": "wrong number"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    assert store.promises("open") == []
    assert "+441632960009" in sup.get("/promises", params={"view": "cancelled"}).text
    again = sup.post(f"/promises/{pid}/cancel", data={"csrf": token, "reason": "x"})
    assert again.status_code == 409
    assert sup.get("/promises", params={"view": "bogus"}).status_code == 400
