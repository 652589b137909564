"""``ringwatch alerts generate``: the rule file from the standards, promtool-checked and tested."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from monitor.cli.alerts_cmd import generate_text
from monitor.cli.main import cli
from monitor.errors import RulesError
from monitor.metrics.alert_sources import find_compile_promql, specs_from_rules
from monitor.metrics.alerts import AlertLinks, StandardSpec, alert_name, build_alert_rules
from monitor.rules.model import RuleSet
from monitor.rules.promql import compile_promql

ROOT = Path(__file__).resolve().parents[3]
RULE_FILE = ROOT / "dashboards/alerts/ringwatch.rules.yml"
TESTS_DIR = ROOT / "dashboards/alerts/tests"
PROMTOOL = "/usr/bin/promtool"


def alerts_of(rules: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in rules["groups"] for r in g["rules"]}


def test_committed_rule_file_is_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    committed = RULE_FILE.read_text(encoding="utf-8")
    assert committed == generate_text("rules"), (
        "dashboards/alerts/ringwatch.rules.yml is stale: run "
        "`ringwatch alerts generate -o dashboards/alerts/ringwatch.rules.yml`"
    )


def test_committed_rule_file_passes_promtool_check() -> None:
    out = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULE_FILE)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 11 rules found" in out.stdout


def test_promtool_unit_tests_pass() -> None:
    files = sorted(str(p) for p in TESTS_DIR.glob("*.yml"))
    assert len(files) == 3
    out = subprocess.run(
        [PROMTOOL, "test", "rules", *files], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("SUCCESS") == 3


def test_every_alert_has_a_firing_and_a_quiet_promtool_case() -> None:
    names = set(alerts_of(yaml.safe_load(RULE_FILE.read_text())))
    fires: set[str] = set()
    quiet: set[str] = set()
    for f in TESTS_DIR.glob("*.yml"):
        for case in yaml.safe_load(f.read_text())["tests"]:
            for t in case.get("alert_rule_test", []):
                (fires if t.get("exp_alerts") else quiet).add(t["alertname"])
    assert names - fires == set(), "alerts without a firing test"
    assert names - quiet == set(), "alerts without a quiet test"


def test_specs_from_rules(ruleset: RuleSet) -> None:
    specs = {s.rule_id: s for s in specs_from_rules(ruleset, compile_promql)}
    assert set(specs) == {
        "answer-within-three-rings",
        "hold-under-two-minutes",
        "service-level-20s",
        "abandon-rate",
    }
    rings = specs["answer-within-three-rings"]
    assert (rings.live, rings.target, rings.window, rings.limit, rings.limit_unit) == (
        True,
        0.9,
        "15m",
        3.0,
        "rings",
    )
    assert specs["hold-under-two-minutes"].promql is None
    assert specs["hold-under-two-minutes"].live
    assert specs["abandon-rate"].ceiling and not specs["service-level-20s"].ceiling
    assert 'le="20.0"' in (specs["service-level-20s"].promql or "")


def test_generated_groups_and_comparisons(ruleset: RuleSet) -> None:
    rules = build_alert_rules(specs_from_rules(ruleset, compile_promql))
    assert [g["name"] for g in rules["groups"]] == [
        "ringwatch-window-standards",
        "ringwatch-live",
        "ringwatch-operations",
    ]
    alerts = alerts_of(rules)
    assert alerts["RingwatchServiceLevel20s"]["expr"].rstrip().endswith(") < 0.8")
    assert alerts["RingwatchAbandonRate"]["expr"].rstrip().endswith(") > 0.05")
    assert alerts["RingwatchHoldUnderTwoMinutesLive"]["expr"] == (
        'max by (pbx, rule) (ringwatch_live_breaches{rule="hold-under-two-minutes"}) > 0'
    )
    assert alerts["RingwatchNoAmiEvents"]["labels"]["business_hours"] == "only"
    for name, alert in alerts.items():
        assert alert["labels"]["severity"] in ("info", "warning", "critical"), name
        assert {"summary", "description", "dashboard", "runbook_url"} <= set(alert["annotations"])
        if alert["labels"]["kind"] != "operations":
            assert "qa_queue" in alert["annotations"], name


def test_window_alerts_are_per_pbx_and_queue(ruleset: RuleSet) -> None:
    alerts = alerts_of(build_alert_rules(specs_from_rules(ruleset, compile_promql)))
    window = [a for a in alerts.values() if a["labels"]["kind"] == "window"]
    assert len(window) == 3
    for alert in window:
        sums = alert["expr"].count("sum")
        assert sums >= 2 and alert["expr"].count("sum by (pbx, queue) (") == sums, alert["expr"]
        assert "{{ $labels.pbx }}" in alert["annotations"]["summary"]
        assert "$labels.queue" in alert["annotations"]["summary"]


def test_no_ami_events_needs_a_full_window_of_history_and_a_for() -> None:
    alert = alerts_of(build_alert_rules([]))["RingwatchNoAmiEvents"]
    assert alert["for"] == "5m"
    assert "ringwatch_ami_events_total offset 15m" in alert["expr"]


def test_qa_links_point_at_pages_the_web_ui_serves(ruleset: RuleSet) -> None:
    from monitor.store.promises_read import PROMISE_VIEWS
    from monitor.web.routes_pages import router

    paths = {getattr(r, "path", "") for r in router.routes}
    alerts = alerts_of(build_alert_rules(specs_from_rules(ruleset, compile_promql)))
    links = [
        a["annotations"]["qa_queue"] for a in alerts.values() if "qa_queue" in a["annotations"]
    ]
    assert len(links) == 6
    for link in links:
        assert link.startswith("http://localhost:8080/"), link
        path, _, query = link.removeprefix("http://localhost:8080").partition("?")
        assert path in paths, link
        if path == "/promises":
            assert query.removeprefix("view=") in PROMISE_VIEWS, link
        else:
            assert path == "/flags" and query.startswith("rule="), link


def test_every_alert_has_a_runbook_section() -> None:
    """Each committed alert links to its own section of docs/runbook.md, and the section says
    what the alert means, what to check first and how to fix it."""
    runbook = (ROOT / "docs/runbook.md").read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    for part in runbook.split("\n## ")[1:]:
        head, _, body = part.partition("\n")
        sections[head.strip().lower()] = body
    committed = alerts_of(yaml.safe_load(RULE_FILE.read_text()))
    assert len(committed) == 11
    for name, alert in committed.items():
        url = alert["annotations"]["runbook_url"]
        assert url == f"docs/runbook.md#{name.lower()}", url
        body = sections.get(name.lower())
        assert body is not None, f"docs/runbook.md has no '## {name}' section"
        for part in ("**What it means**", "**First checks**", "**Fixes**"):
            assert part in body, f"{name}: no {part} in its runbook section"


def test_asa_has_seconds_target_and_ceiling() -> None:
    spec = StandardSpec(
        "asa-30s",
        "Average speed of answer",
        "warning",
        "15m",
        30.0,
        "x / y",
        ceiling=True,
        unit="s",
    )
    alert = alerts_of(build_alert_rules([spec]))["RingwatchAsa30s"]
    assert alert["expr"].rstrip().endswith(") > 30")
    assert "above the standard 30" in alert["annotations"]["summary"]


def test_links_use_configured_base_urls(ruleset: RuleSet) -> None:
    links = AlertLinks(grafana_url="https://grafana.example/", web_url="https://rw.example")
    alerts = alerts_of(build_alert_rules(specs_from_rules(ruleset, compile_promql), links))
    sl = alerts["RingwatchServiceLevel20s"]["annotations"]
    assert sl["dashboard"] == (
        "https://grafana.example/d/ringwatch-wallboard/ringwatch-wallboard"
        "?var-pbx={{ $labels.pbx }}&var-queue={{ $labels.queue }}"
    )
    assert (
        sl["qa_queue"]
        == "https://rw.example/flags?rule=service-level-20s&queue={{ $labels.queue }}"
    )
    overdue = alerts["RingwatchCallbackPromisesOverdue"]["annotations"]
    assert overdue["qa_queue"] == "https://rw.example/promises?view=overdue"
    ami = alerts["RingwatchAmiDown"]["annotations"]
    assert ami["dashboard"].startswith("https://grafana.example/d/ringwatch-operations/")


def test_window_spec_without_promql_parts_is_an_error() -> None:
    from monitor.metrics.alerts import OperationalLimits, _window_rule

    with pytest.raises(ValueError, match="needs promql, target, window"):
        _window_rule(
            StandardSpec("x", "X", "warning", promql="a"), AlertLinks(), OperationalLimits()
        )


def test_alert_name() -> None:
    assert alert_name("answer-within-three-rings") == "RingwatchAnswerWithinThreeRings"
    assert alert_name("service_level_80_20") == "RingwatchServiceLevel8020"


def test_compiler_is_found_in_monitor_rules() -> None:
    assert find_compile_promql() is compile_promql


def test_missing_compiler_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, ruleset: RuleSet
) -> None:
    import monitor.metrics.alert_sources as src

    monkeypatch.setattr(src, "_COMPILER_MODULES", ("monitor.no_such_module",))
    with pytest.raises(RulesError, match="no compile_promql"):
        specs_from_rules(ruleset)


def test_cli_generate_writes_file(tmp_path: Path, rules_dir: Path) -> None:
    out = tmp_path / "alerts.yml"
    result = CliRunner().invoke(
        cli,
        [
            "alerts",
            "generate",
            "--rules",
            str(rules_dir),
            "-o",
            str(out),
            "--web-url",
            "https://rw.example",
            "--runbook-url",
            "https://wiki.example/ringwatch/runbook",
        ],
    )
    assert result.exit_code == 0, result.output
    alerts = alerts_of(yaml.safe_load(out.read_text()))
    assert "RingwatchServiceLevel20s" in alerts
    assert alerts["RingwatchAbandonRate"]["annotations"]["qa_queue"].startswith(
        "https://rw.example/flags?rule=abandon-rate"
    )
    assert alerts["RingwatchAmiDown"]["annotations"]["runbook_url"] == (
        "https://wiki.example/ringwatch/runbook#ringwatchamidown"
    )
