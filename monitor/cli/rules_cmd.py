"""``ringwatch rules check [DIR]`` and ``ringwatch rules test [DIR]``."""

from __future__ import annotations

from collections import Counter

import click

from monitor.errors import RulesError

__all__ = ["register"]


@click.group("rules")
def rules_group() -> None:
    """Validate and test the phone standards in rules/*.yml."""


@rules_group.command("check")
@click.argument("directory", default="rules/", type=click.Path())
def check_cmd(directory: str) -> None:
    """Validate every rule file in DIRECTORY (default rules/); exit 1 on any problem."""
    from monitor.rules import load_rules

    try:
        ruleset = load_rules(directory)
    except RulesError as exc:
        for line in exc.problems:
            click.echo(line)
        click.echo(f"{len(exc.problems)} problem(s) found", err=True)
        raise SystemExit(1) from None
    checks = Counter(r.check for r in ruleset.rules)
    flagged = sum(1 for r in ruleset.rules if r.flag)
    windows = sum(1 for r in ruleset.rules if r.target is not None)
    click.echo(
        f"SUCCESS: {len(ruleset.rules)} rules in {len(ruleset.files)} file(s) are valid "
        f"({flagged} flag calls for QA, {windows} window standards)"
    )
    for name, count in sorted(checks.items()):
        click.echo(f"  {name}: {count}")


@rules_group.command("test")
@click.argument("directory", default="rules/", type=click.Path())
@click.option(
    "--require-coverage", is_flag=True, help="Fail unless every rule has a breach and a pass test."
)
def test_cmd(directory: str, require_coverage: bool) -> None:
    """Run the rule tests in DIRECTORY/tests/*.test.yml; exit 1 on a failure."""
    from monitor.rules import run_rule_tests

    report = run_rule_tests(directory)
    for line in report.lines:
        click.echo(line)
    gaps = report.gaps()
    for rule, missing in gaps.items():
        click.echo(f"  coverage: rule {rule} has no {' or '.join(missing)} test")
    click.echo(f"{report.passed} passed, {report.failed} failed, {report.errors} file error(s)")
    if not report.ok or (require_coverage and gaps):
        raise SystemExit(1)


def register(group: click.Group) -> None:
    group.add_command(rules_group)
