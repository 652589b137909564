"""``ringwatch dashboards push`` through grafana-client against a fake Grafana on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.errors import ConfigError, InputError
from monitor.metrics.grafana_push import load_dashboard_files, push_dashboards

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class FakeGrafana:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    token: str = "glsa_test_token"


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    state: dict[str, FakeGrafana] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            fake = state["fake"]
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(
                {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
            )
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                self._reply(401, {"message": "invalid API key"})
                return
            uid = body["dashboard"]["uid"]
            self._reply(
                200, {"id": 7, "uid": uid, "url": f"/d/{uid}/x", "status": "success", "version": 2}
            )

        def _reply(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state["fake"] = FakeGrafana(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    try:
        yield state["fake"]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_push_posts_each_dashboard_with_bearer_token(grafana: FakeGrafana) -> None:
    boards = load_dashboard_files(ROOT / "dashboards/grafana")
    results = push_dashboards(grafana.url, grafana.token, boards, folder_uid="ringwatch")
    assert [r.uid for r in results] == [b["uid"] for b in boards]
    assert all(r.status == "success" for r in results)
    assert len(grafana.requests) == 3
    for req, board in zip(grafana.requests, boards, strict=True):
        assert req["path"] == "/api/dashboards/db"
        assert req["auth"] == "Bearer glsa_test_token"
        assert req["body"]["overwrite"] is True
        assert req["body"]["folderUid"] == "ringwatch"
        assert req["body"]["dashboard"]["uid"] == board["uid"]
        assert req["body"]["dashboard"]["id"] is None
        assert req["body"]["dashboard"]["panels"] == board["panels"]


@pytest.mark.parametrize("suffix", ["/grafana", "/grafana/", "/ops/grafana"])
def test_push_to_a_grafana_under_a_sub_path(grafana: FakeGrafana, suffix: str) -> None:
    """Without the trailing slash the posts went to /grafanaapi/dashboards/db."""
    boards = load_dashboard_files(ROOT / "dashboards/grafana")[:1]
    results = push_dashboards(grafana.url + suffix, grafana.token, boards)
    assert [r.status for r in results] == ["success"]
    prefix = suffix.rstrip("/")
    assert [r["path"] for r in grafana.requests] == [f"{prefix}/api/dashboards/db"]


def test_api_base_url() -> None:
    from monitor.metrics.grafana_push import api_base_url

    assert api_base_url("https://h/grafana") == "https://h/grafana/"
    assert api_base_url("https://h:3000") == "https://h:3000/"
    assert api_base_url("https://h/grafana?verify=false") == "https://h/grafana/?verify=false"
    with pytest.raises(ConfigError, match="not an http"):
        api_base_url("grafana.example")


def test_push_with_a_bad_token_is_a_clear_error(grafana: FakeGrafana) -> None:
    boards = load_dashboard_files(ROOT / "dashboards/grafana")
    with pytest.raises(ConfigError, match=r"refused dashboard 'ringwatch-operations'.*Editor"):
        push_dashboards(grafana.url, "wrong", boards)


def test_push_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="GRAFANA_TOKEN"):
        push_dashboards("http://127.0.0.1:9", "", [])


def test_unreachable_grafana_is_a_clear_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConfigError, match="cannot reach Grafana"):
        push_dashboards(f"http://127.0.0.1:{port}", "t", [{"uid": "x"}], timeout=2)


def test_no_dashboards_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="ringwatch dashboards build"):
        load_dashboard_files(tmp_path)


def test_cli_push_reads_token_from_env(grafana: FakeGrafana) -> None:
    result = CliRunner().invoke(
        cli,
        ["dashboards", "push", "--url", grafana.url, "--dir", str(ROOT / "dashboards/grafana")],
        env={"GRAFANA_TOKEN": grafana.token},
    )
    assert result.exit_code == 0, result.output
    assert "success: ringwatch-wallboard" in result.output
    assert {r["auth"] for r in grafana.requests} == {"Bearer glsa_test_token"}
