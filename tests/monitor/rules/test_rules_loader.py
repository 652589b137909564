"""Rule-file loading and validation, driven by good/bad fixture files and a table."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import monitor.rules as rules_pkg
from monitor.cli.main import cli
from monitor.errors import RulesError
from monitor.record import Direction, Severity
from monitor.rules import load_rules, load_rules_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rules"
REPO = Path(__file__).resolve().parents[3]

# file -> every expected problem as (line, column, substring); the count must match exactly.
BAD: dict[str, list[tuple[int, int, str]]] = {
    "unknown-check.bad.yml": [
        (5, 16, 'rule "answer-within-three-rings": unknown check "rings_to_anser" '
                '(did you mean "rings_to_answer"?)'),
    ],
    "unknown-keys.bad.yml": [
        (1, 1, 'unknown key "grups" (did you mean "groups"?)'),
        (4, 5, 'group: unknown key "aplies_to" (did you mean "applies_to"?)'),
        (8, 26, 'rule "answer-within-three-rings": unknown key "clok" (did you mean "clock"?)'),
        (9, 9, 'unknown key "severty" (did you mean "severity"?)'),
    ],
    "bad-types.bad.yml": [
        (6, 23, 'param "max" of rings_to_answer: must be a whole number >= 0'),
        (6, 37, 'param "clock" of rings_to_answer: must be one of arrival, queue_join'),
        (7, 19, "severity must be info, warning or critical, got 'loud'"),
        (8, 15, "flag must be true or false"),
        (11, 17, 'rule "hold": expected params mapping, got a list'),
        (12, 13, 'rule "Bad Id": id must be lower-case'),
        (17, 17, 'rule "talk": talk_time needs at least one of: min, max'),
    ],
    "duplicate-ids.bad.yml": [
        (9, 13, 'rule "at-most-one-transfer": duplicate rule id (first at '),
        (12, 9, 'duplicate key "params"'),
    ],
    "window.bad.yml": [
        (6, 29, "21s is not a bucket boundary of ringwatch_queue_wait_seconds"),
        (6, 42, 'param "formula" of service_level: must be one of sl, sl2'),
        (8, 9, 'rule "abandon": abandon_rate is a window standard: add target'),
        (14, 25, "target ratio must be between 0 and 1, got 1.5"),
        (14, 38, "bad duration '15 minutes'"),
    ],
    "calendar.bad.yml": [
        (3, 15, "unknown timezone 'Mars/Olympus'"),
        (4, 26, "weekday must be one of mon, tue"),
        (5, 12, 'hours must look like "08:00-18:00"'),
        (6, 16, "holiday must be a date"),
        (9, 34, 'rule "greet": unknown calendar "ofice"'),
        (9, 52, "direction must be inbound, outbound or internal, got 'sideways'"),
    ],
    "yaml-syntax.bad.yml": [(7, 1, "invalid YAML")],
    "missing.bad.yml": [
        (4, 9, 'rule "no-check": missing required key "check"'),
        (6, 9, 'rule "no-max": queue_wait needs param "max"'),
        (8, 5, 'group: missing required key "name"'),
    ],
}  # fmt: skip


def test_every_bad_fixture_is_in_the_table() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.bad.yml")) == sorted(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_reports_every_problem_with_position(name: str) -> None:
    path = FIXTURES / name
    with pytest.raises(RulesError) as info:
        load_rules(path)
    problems = info.value.problems
    assert len(problems) == len(BAD[name]), "\n".join(problems)
    for (line, col, text), got in zip(BAD[name], problems, strict=True):
        assert got.startswith(f"{path}:{line}:{col}: "), got
        assert text in got


@pytest.mark.parametrize("name", sorted(BAD))
def test_rules_check_cli_names_file_line_and_column(name: str) -> None:
    path = FIXTURES / name
    result = CliRunner().invoke(cli, ["rules", "check", str(path)])
    assert result.exit_code == 1
    line, col, text = BAD[name][0]
    assert f"{path}:{line}:{col}: " in result.output
    assert text in result.output


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.good.yml")))
def test_good_files_load(name: str) -> None:
    ruleset = load_rules(FIXTURES / name)
    assert ruleset.rules and all(r.file.endswith(name) for r in ruleset.rules)


def test_full_good_file_values() -> None:
    ruleset = load_rules(FIXTURES / "full.good.yml")
    rings = ruleset.get("rings-uk")
    assert rings.params == {"max": 3, "clock": "first_ring", "answer": "any", "country": "uk"}
    assert rings.severity is Severity.CRITICAL and rings.flag
    assert rings.target is not None and rings.target.window_seconds == 3600
    assert rings.target.ratio == 0.9
    assert rings.applies_to.directions == frozenset({Direction.INBOUND})
    assert rings.applies_to.queues == frozenset({"sales", "support"})
    assert rings.applies_to.pbx == frozenset({"london"})
    cal = rings.applies_to.business_hours
    assert cal is not None and cal.timezone == "Europe/London" and len(cal.holidays) == 2
    assert ruleset.get("wait").params["max"] == 45.0
    assert ruleset.get("talk").params == {"min": 10.0, "max": 1200.0}
    assert ruleset.get("callback").params["due"] == 86400.0
    assert ruleset.get("rona").params["max"] == 0
    assert ruleset.get("sl2").params["include_short_abandons"] is False
    assert ruleset.get("abandon-rate").params["include_short_abandons"] is False
    after = ruleset.get("after-hours-callback").applies_to
    assert after.outside_business_hours is not None and after.business_hours is None


def test_directory_load_and_duplicate_ids_across_files(tmp_path: Path) -> None:
    text = (
        "groups:\n  - name: g\n    rules:\n      - {id: same, check: transfers, params: {max: 1}}\n"
    )
    (tmp_path / "a.yml").write_text(text)
    (tmp_path / "b.yaml").write_text(text)
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{tmp_path / 'b.yaml'}:4:14: ")
    assert f"first at {tmp_path / 'a.yml'}:4:14" in problem


def test_empty_directory_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no rule files"):
        load_rules(tmp_path)
    with pytest.raises(RulesError, match=r"x\.yml:1:1: the file is empty"):
        load_rules_text("", "x.yml")


def test_shipped_standards_are_valid_and_sourced() -> None:
    ruleset = load_rules(REPO / "rules")
    assert len(ruleset.rules) == 11
    assert all(r.source or r.description for r in ruleset.rules)
    checks = {r.check for r in ruleset.rules}
    assert {"rings_to_answer", "callback_kept", "service_level", "abandon_rate"} <= checks
    assert ruleset.get("return-missed-calls-24h").params == {"policy": "implicit", "due": 86400.0}


def test_public_api_all_is_exact_and_importable() -> None:
    names = rules_pkg.__all__
    assert len(names) == len(set(names))
    assert all(hasattr(rules_pkg, n) for n in names)
    exported = {n for n in vars(rules_pkg) if not n.startswith("_") and n != "annotations"}
    modules = {n for n in exported if type(getattr(rules_pkg, n)).__name__ == "module"}
    assert exported - modules == set(names)
    assert {
        "evaluate",
        "check_live",
        "live_deadlines",
        "compile_promql",
        "flag_for",
        "load_rules",
        "RuleSetHolder",
        "WindowEvaluator",
        "Deadline",
    } <= set(names)


def test_readme_examples_are_valid_rules() -> None:
    readme = (REPO / "rules" / "README.md").read_text()
    block = readme.split("Examples, one per check:\n\n```yaml\n", 1)[1].split("```", 1)[0]
    text = "groups:\n- name: examples\n  rules:\n" + "".join(
        f"  {line}\n" for line in block.splitlines()
    )
    ruleset = load_rules_text(text, "README.md")
    assert {r.check for r in ruleset.rules} == set(rules_pkg.CATALOGUE)
