"""The report page, /api/reports and the downloads; a browser changes range and breakdown,
downloads the CSV and the PDF, and the PDF is rendered to PNG (pdftoppm) and checked."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_testkit import chromium, serve
from playwright.sync_api import Browser, expect
from starlette.testclient import TestClient

from monitor.reports.params import request_from
from monitor.reports.query import build_report
from monitor.web import WebSettings, create_app

PASSWORD = "correct horse battery"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
RANGE = "from=2026-01-05&to=2026-01-07"


@pytest.fixture(scope="module")
def app(history: Any) -> Any:
    store, rules = history
    if not any(u.name == "sup1" for u in store.users()):
        store.add_user("sup1", "supervisor", PASSWORD)
    app = create_app(store, WebSettings())
    app.state.report_rules = lambda: rules
    app.state.report_timezone = "Europe/London"
    return app


def _login(client: TestClient) -> TestClient:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    resp = client.post(
        "/login",
        data={"username": "sup1", "password": PASSWORD, "csrf": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    return client


def test_api_report_is_the_report_and_needs_a_login(app: Any, history: Any) -> None:
    store, rules = history
    with TestClient(app) as anon:
        assert anon.get(f"/api/reports?{RANGE}").status_code == 401
    with TestClient(app) as client:
        _login(client)
        got = client.get(f"/api/reports?{RANGE}&breakdown=queue&interval=day").json()
        req = request_from(
            {"from": "2026-01-05", "to": "2026-01-07", "breakdown": "queue", "interval": "day"},
            "Europe/London",
        )
        assert got == build_report(store.engine, req, rules)
        assert client.get(f"/api/reports?{RANGE}&interval=fortnight").status_code == 400
        # the calls behind a number: exactly the breached count of that standard
        row = got["totals"][0]
        std = next(s for s in row["standards"] if s["breached"])
        behind = client.get("/api" + std["calls_url"]).json()["calls"]
        assert len(behind) == std["breached"]
        assert {c["queue"] or "(none)" for c in behind} == {row["key"]}
        csv_text = client.get(f"/export/report.csv?{RANGE}&breakdown=queue").text
        lines = list(csv.DictReader(io.StringIO(csv_text)))
        totals = [x for x in lines if x["interval"] == "total"]
        assert {x["queue"]: int(x["offered"]) for x in totals} == {
            r["key"]: r["figures"]["offered"] for r in got["totals"]
        }


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.mark.slow
def test_browser_changes_range_and_breakdown_and_downloads(
    server: str, browser: Browser, history: Any, tmp_path: Path
) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server + "/reports?" + RANGE)
    page.fill("input[name=username]", "sup1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#totals tr.total")).to_have_count(1)  # breakdown none: one total
    expect(page.locator("svg.chart rect.bar").first).to_be_visible()
    whole = int(page.locator("#totals tr.total td.offered").inner_text())
    # change the breakdown to queue: one total per queue, adding up to the same calls
    page.select_option("select[name=breakdown]", "queue")
    page.click("form.report-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"breakdown=queue"))
    by_queue = [int(x) for x in page.locator("#totals tr.total td.offered").all_inner_texts()]
    assert len(by_queue) >= 2 and sum(by_queue) == whole
    # a shorter range: fewer calls
    page.fill("input[name=to]", "2026-01-06")
    page.click("form.report-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"to=2026-01-06"))
    first_day = sum(int(x) for x in page.locator("#totals tr.total td.offered").all_inner_texts())
    assert 0 < first_day < whole
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reports-page.png"), full_page=True)
    # CSV download: the same totals as the page
    with page.expect_download() as dl:
        page.click("a#csv")
    csv_path = tmp_path / "report.csv"
    dl.value.save_as(csv_path)
    rows = [r for r in csv.DictReader(csv_path.open()) if r["interval"] == "total"]
    assert sum(int(r["offered"]) for r in rows) == first_day
    # PDF download, rendered to PNG by poppler and checked
    with page.expect_download() as dl:
        page.click("a#pdf")
    pdf_path = tmp_path / "report.pdf"
    dl.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF-1.4")
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "50",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(pdf_path),
            str(tmp_path / "page"),
        ],
        check=True,
        timeout=60,
    )
    png = next(tmp_path.glob("page*.png"))
    from PIL import Image

    with Image.open(png) as img:
        assert img.size[0] > img.size[1] > 300  # A4 landscape at 50 dpi: 585 x 413
        rgb = img.convert("RGB")
        colours = rgb.getcolors(1 << 20) or []
    green = sum(n for n, (r, g, b) in colours if g > 120 and r < 100 and b < 100)
    dark = sum(n for n, (r, g, b) in colours if r + g + b < 200)
    assert green > 200, "the answered bars of the chart are drawn"
    assert dark > 1000, "the text of the report is drawn"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "ringwatch standards report" in text and "Totals" in text
    assert "Answer the phone within three rings" in text
    assert all(re.search(rf"\b{r['offered']}\b", text) for r in rows)  # the totals printed
    png.rename(ARTIFACTS / "reports-pdf-page1.png")
    # one click from a number to the calls behind it
    page.locator("#totals table.standards td.num a").first.click()
    expect(page.locator("#behind")).to_be_visible()
    assert errors == []
    ctx.close()
