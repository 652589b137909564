"""``ringwatch rules check`` and ``ringwatch rules test`` exit codes and output."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.rules import load_rules, run_rule_tests

REPO = Path(__file__).resolve().parents[3]


def test_rules_check_valid_directory_prints_summary() -> None:
    result = CliRunner().invoke(cli, ["rules", "check", str(REPO / "rules")])
    assert result.exit_code == 0, result.output
    assert "SUCCESS: 11 rules in 1 file(s) are valid" in result.output


def test_shipped_rule_tests_pass_and_cover_every_rule_both_ways() -> None:
    report = run_rule_tests(REPO / "rules")
    assert report.ok, "\n".join(report.lines)
    assert report.passed >= 22
    assert set(report.coverage) == set(load_rules(REPO / "rules").ids)
    assert report.gaps() == {}
    result = CliRunner().invoke(cli, ["rules", "test", str(REPO / "rules"), "--require-coverage"])
    assert result.exit_code == 0, result.output
    assert "SUCCESS" in result.output and " 0 failed" in result.output


def _copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(REPO / "rules", target)
    return target


def test_failing_rule_test_exits_1_with_promtool_style_output(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    (rules / "tests" / "wrong.test.yml").write_text(
        "tests:\n"
        "  - name: wrongly expects a pass\n"
        "    rules: [answer-within-three-rings]\n"
        "    call: {answered_at: 30, ended_at: 90}\n"
        "    expected_findings: []\n"
    )
    result = CliRunner().invoke(cli, ["rules", "test", str(rules)])
    assert result.exit_code == 1
    assert f"Unit Testing:  {rules / 'tests' / 'wrong.test.yml'}" in result.output
    assert "FAILED:" in result.output
    assert 'test "wrongly expects a pass":' in result.output
    assert "got: [{rule: answer-within-three-rings, value: 5, threshold: 3, at: 18}]" in (
        result.output
    )


def test_bad_test_file_is_an_error_with_position(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    (rules / "tests" / "bad.test.yml").write_text(
        "tests:\n  - name: typo\n    rules: [no-such-rule]\n"
        "    cal: {}\n    expected_findings: []\n"
    )
    result = CliRunner().invoke(cli, ["rules", "test", str(rules)])
    assert result.exit_code == 1
    assert "ERRORS:" in result.output
    assert 'bad.test.yml:4:5: test "typo": unknown key "cal" (did you mean "call"?)' in (
        result.output
    )


def test_coverage_gap_fails_only_with_require_coverage(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    (rules / "extra.yml").write_text(
        "groups:\n- name: x\n  rules:\n  - {id: talk-short, check: talk_time, params: {min: 5}}\n"
    )
    plain = CliRunner().invoke(cli, ["rules", "test", str(rules)])
    assert plain.exit_code == 0
    assert "coverage: rule talk-short has no breach or pass test" in plain.output
    strict = CliRunner().invoke(cli, ["rules", "test", str(rules), "--require-coverage"])
    assert strict.exit_code == 1
