"""Dashboards as code: committed JSON is current, uids fixed, ${datasource}, thresholds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.cli.dashboards_cmd import build_files
from monitor.cli.main import cli
from monitor.metrics.dashboards import Standards, build_dashboards, standards_from_rules
from monitor.metrics.grafana_model import dashboard_exprs, expand_variables
from monitor.rules.model import RuleSet

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "dashboards/grafana"
UIDS = {
    "ringwatch-wallboard.json": "ringwatch-wallboard",
    "ringwatch-qa.json": "ringwatch-qa",
    "ringwatch-operations.json": "ringwatch-operations",
}


def committed() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(GRAFANA.glob("*.json"))}


def test_committed_dashboards_are_up_to_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    build_files("rules", tmp_path)
    fresh = {p.name: p.read_text() for p in tmp_path.glob("*.json")}
    on_disk = {p.name: p.read_text() for p in GRAFANA.glob("*.json")}
    assert fresh == on_disk, "dashboards/grafana is stale: run `ringwatch dashboards build`"


def test_fixed_uids_and_datasource_variable() -> None:
    boards = committed()
    assert {name: b["uid"] for name, b in boards.items()} == UIDS
    for name, board in boards.items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        ds = variables["datasource"]
        assert (ds["type"], ds["query"]) == ("datasource", "prometheus"), name
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), name
        for p in board["panels"]:
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
            assert p["targets"], p["title"]
            for t in p["targets"]:
                assert t["datasource"]["uid"] == "${datasource}"
            pos = p["gridPos"]
            assert pos["x"] + pos["w"] <= 24, p["title"]


def test_wallboard_has_what_a_supervisor_needs() -> None:
    titles = [p["title"] for p in committed()["ringwatch-wallboard.json"]["panels"]]
    for needle in (
        "Waiting now",
        "Longest wait",
        "within 3 rings today",
        "Service level today",
        "Abandon rate today",
        "On hold now",
        "Longest hold",
        "promises open",
        "promises overdue",
        "Breaches today by rule and queue",
    ):
        assert any(needle in t for t in titles), needle


def test_qa_and_operations_panels() -> None:
    qa = " ".join(dashboard_exprs(committed()["ringwatch-qa.json"]))
    assert "ringwatch_qa_flags_open" in qa and "ringwatch_qa_reviews_total" in qa
    assert "sum by (agent)" in qa
    ops = " ".join(dashboard_exprs(committed()["ringwatch-operations.json"]))
    for metric in (
        "ringwatch_ami_up",
        "ringwatch_ami_reconnects_total",
        "ringwatch_event_lag_seconds",
        "ringwatch_ami_parse_errors_total",
        "ringwatch_rules_loaded",
    ):
        assert metric in ops


def test_thresholds_at_the_standards(ruleset: RuleSet) -> None:
    s = standards_from_rules(ruleset)
    assert s == Standards(
        rings_max=3,
        rings_target=0.9,
        rings_directions=("inbound",),
        sl_threshold=20.0,
        sl_target=0.8,
        abandon_ceiling=0.05,
        short_abandon=5.0,
        hold_max=120.0,
    )
    board = build_dashboards(Standards(sl_threshold=30.0, sl_target=0.7))[
        "ringwatch-wallboard.json"
    ]
    sl = next(p for p in board["panels"] if p["title"].startswith("Service level today"))
    steps = sl["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [x["color"] for x in steps] == ["red", "#EAB839", "green"]
    assert steps[2]["value"] == 0.7 and steps[1]["value"] == pytest.approx(0.65)
    assert 'le="30.0"' in sl["targets"][0]["expr"]
    abandon = next(p for p in board["panels"] if p["title"] == "Abandon rate today")
    steps = abandon["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [x["color"] for x in steps] == ["green", "#EAB839", "red"]
    assert steps[2]["value"] == 0.05


def test_abandon_rate_leaves_out_short_abandons_as_the_rule_says() -> None:
    def expr(s: Standards) -> str:
        board = build_dashboards(s)["ringwatch-wallboard.json"]
        panel = next(p for p in board["panels"] if p["title"] == "Abandon rate today")
        return str(panel["targets"][0]["expr"])

    with_short = expr(Standards(short_abandon=5.0))
    assert with_short.count('outcome="abandoned",le="5.0"') == 2  # numerator and denominator
    assert 'le="' not in expr(Standards(short_abandon=0.0))


def test_rings_panel_counts_the_standards_directions_only() -> None:
    def expr(s: Standards) -> str:
        board = build_dashboards(s)["ringwatch-wallboard.json"]
        panel = next(p for p in board["panels"] if "within 3 rings" in p["title"])
        return str(panel["targets"][0]["expr"])

    assert expr(Standards()).count('direction="inbound"') == 2
    assert 'direction=~"inbound|internal"' in expr(
        Standards(rings_directions=("inbound", "internal"))
    )
    assert "direction" not in expr(Standards(rings_directions=()))


def test_count_panels_are_green_at_zero() -> None:
    """Promises overdue and live breaches: 0 is green (it was amber), 1 and more red."""
    board = committed()["ringwatch-wallboard.json"]
    for title in ("Callback promises overdue", "Calls breaching a live check now"):
        panel = next(p for p in board["panels"] if p["title"] == title)
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps == [{"color": "green", "value": None}, {"color": "red", "value": 1}], title


def test_version_stat_shows_the_label_not_the_value() -> None:
    board = committed()["ringwatch-operations.json"]
    panel = next(p for p in board["panels"] if p["title"] == "Version")
    assert panel["options"]["textMode"] == "name"
    assert panel["targets"][0]["legendFormat"] == "{{version}}"


def test_breach_time_series_have_exemplars_and_the_datasource_links_them() -> None:
    import yaml

    for board in committed().values():
        for panel in board["panels"]:
            breaches = any("breached" in t["expr"] for t in panel["targets"])
            if panel["type"] == "timeseries" and breaches:
                assert all(t.get("exemplar") for t in panel["targets"]), panel["title"]
    ds = yaml.safe_load((ROOT / "dashboards/provisioning/datasources/prometheus.yml").read_text())
    (dest,) = ds["datasources"][0]["jsonData"]["exemplarTraceIdDestinations"]
    assert dest["name"] == "call_id"
    # $$ is a literal $ in Grafana provisioning (a bare ${...} is an environment variable)
    assert dest["url"].endswith("/calls/$${__value.raw}")


def test_expand_variables() -> None:
    assert expand_variables('sum(x{pbx=~"$pbx"}[$__rate_interval])') == 'sum(x{pbx=~".*"}[1m])'
    assert expand_variables('label_values(ringwatch_calls_total{pbx=~"$pbx"}, queue)') == (
        'group by (queue) (ringwatch_calls_total{pbx=~".*"})'
    )
    assert expand_variables("y[${__range}]", {"__range": "1h"}) == "y[1h]"


def test_cli_build(tmp_path: Path, rules_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["dashboards", "build", "--rules", str(rules_dir), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(UIDS)
