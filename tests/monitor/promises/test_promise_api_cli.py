"""POST /api/promises (router factory, auth dependency) and ``ringwatch promises``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi import FastAPI, Header, HTTPException
from fastapi.testclient import TestClient

from monitor.cli.promises_cmd import parse_due, promises_group
from monitor.errors import InputError
from monitor.promises import PromiseEngine, PromiseSettings
from monitor.promises.api import promises_router
from monitor.promises.db import open_database


def _user(x_user: str | None = Header(default=None)) -> dict[str, str]:
    if not x_user:
        raise HTTPException(401, "sign in")
    return {"username": x_user}


@pytest.fixture
def client(tmp_path: Path, t0: float) -> tuple[TestClient, PromiseEngine]:
    engine = PromiseEngine(
        open_database(f"sqlite:///{tmp_path / 'api.sqlite'}"), PromiseSettings(country="GB")
    )
    app = FastAPI()
    app.include_router(promises_router(engine, _user, clock=lambda: t0))
    return TestClient(app), engine


def test_api_needs_a_user(client) -> None:
    http, _ = client
    assert (
        http.post(
            "/api/promises", json={"number": "07700900123", "due_in_seconds": 3600}
        ).status_code
        == 401
    )
    assert http.get("/api/promises").status_code == 401


def test_api_make_list_show_cancel(client, t0: float) -> None:
    http, engine = client
    me = {"X-User": "carol"}
    body = {"number": "07700 900123", "due_in_seconds": 7200, "reason": "refund", "key": "r1"}
    made = http.post("/api/promises", json=body, headers=me)
    assert made.status_code == 201, made.text
    p = made.json()["promise"]
    assert p["number"] == "+447700900123" and p["agent"] == "carol" and p["state"] == "open"
    again = http.post("/api/promises", json=body, headers=me)  # retried with the same key
    assert again.status_code == 200 and again.json()["promise"]["id"] == p["id"]
    assert engine.counts_by_state()["open"] == 1
    listed = http.get("/api/promises?view=open", headers=me).json()["promises"]
    assert [x["id"] for x in listed] == [p["id"]]
    assert http.get("/api/promises/counts", headers=me).json()["open"] == 1
    bad = http.post(f"/api/promises/{p['id']}/cancel", json={"reason": ""}, headers=me)
    assert bad.status_code == 422
    done = http.post(
        f"/api/promises/{p['id']}/cancel", json={"reason": "sorted by email"}, headers=me
    )
    assert done.status_code == 200 and done.json()["promise"]["state"] == "cancelled"
    assert (
        http.post(f"/api/promises/{p['id']}/cancel", json={"reason": "x"}, headers=me).status_code
        == 409
    )
    shown = http.get(f"/api/promises/{p['id']}", headers=me).json()
    assert [h["action"] for h in shown["history"]] == ["created", "cancelled"]
    assert shown["history"][-1]["actor"] == "user:carol"
    assert http.get("/api/promises/999", headers=me).status_code == 404


def test_api_rejects_bad_promises(client) -> None:
    http, _ = client
    me = {"X-User": "carol"}
    assert (
        http.post(
            "/api/promises", json={"number": "12", "due_in_seconds": 60}, headers=me
        ).status_code
        == 400
    )
    assert http.post("/api/promises", json={"number": "07700900123"}, headers=me).status_code == 422
    naive = {"number": "07700900123", "due_at": "2024-05-06T17:00:00"}
    assert http.post("/api/promises", json=naive, headers=me).status_code == 422
    assert http.get("/api/promises?view=nope", headers=me).status_code == 400


def test_parse_due(t0: float) -> None:
    assert parse_due("2h", t0) == t0 + 7200
    assert parse_due("1d12h", t0) == t0 + 36 * 3600
    assert parse_due("2024-05-06T17:00:00Z", t0) == t0 + 8 * 3600
    with pytest.raises(InputError, match="no time zone"):
        parse_due("2024-05-06T17:00:00", t0)
    with pytest.raises(InputError, match="neither a period"):
        parse_due("tomorrow", t0)


def _new_store(url: str) -> str:
    from monitor.store import Store

    Store.open(url).close()  # promises never create a store (monitor/cli/options.py)
    return url


def test_cli_add_list_cancel(tmp_path: Path) -> None:
    url = _new_store(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    run = CliRunner().invoke
    base = ["--store", url, "--country", "GB"]
    out = run(
        promises_group,
        [
            *base,
            "add",
            "07700 900123",
            "--due",
            "2h",
            "--reason",
            "quote",
            "--key",
            "a1",
            "--by",
            "dave",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "created" in out.output and "+447700900123" in out.output
    out = run(promises_group, [*base, "add", "+447700900123", "--due", "2h", "--key", "a1"])
    assert "already recorded" in out.output
    listed = run(promises_group, [*base, "list", "--state", "open", "--json"])
    assert listed.exit_code == 0 and listed.output.count("+447700900123") == 1
    pid = listed.output.split('"id": ')[1].split(",")[0]
    out = run(promises_group, [*base, "cancel", pid, "--reason", "wrong number", "--by", "dave"])
    assert out.exit_code == 0 and "cancelled" in out.output
    out = run(promises_group, [*base, "list", "--state", "cancelled"])
    assert "wrong number" not in out.output and "cancelled" in out.output
    shown = run(promises_group, [*base, "show", pid])
    assert "wrong number" in shown.output and "user:dave" in shown.output
    bad = run(promises_group, [*base, "cancel", pid, "--reason", "again"])
    assert bad.exit_code != 0 and "cannot become cancelled" in str(bad.exception)


def test_cli_through_main_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from monitor.cli.main import main

    url = _new_store(f"sqlite:///{tmp_path / 'main.sqlite'}")
    assert main(["promises", "--store", url, "add", "12", "--due", "2h"]) == 2
    assert "not a complete phone number" in capsys.readouterr().err
    assert main(["promises", "--store", url, "list"]) == 0
