"""``ringwatch rules test``: rule tests written as data (promtool ``test rules`` style).

A test file ``rules/tests/*.test.yml`` holds ``tests:``; each test gives a call description
and the findings expected (``expected_findings: []`` means "must not flag"), or a window of
calls and the ratio expected. See rules/README.md for the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError, RulesError
from monitor.record import Finding
from monitor.rules.cadence import cadence_for
from monitor.rules.evaluate import CHECKS, evaluate_results, finding_for
from monitor.rules.loader import load_rules
from monitor.rules.model import CheckStatus, PromiseResult, RuleSet, Site
from monitor.rules.testcall import DEFAULT_BASE, build_call, parse_time
from monitor.rules.window import WindowEvaluator
from monitor.rules.yamlnodes import Problems, compose_file, peek, plain

__all__ = ["TestReport", "run_rule_tests"]

_TOP = ("rule_files", "site", "base_time", "tests")
_TEST = ("name", "rules", "call", "promises", "expected_findings", "expected_results", "window")
_WINDOW = ("rule", "at", "calls", "ratio", "breached")
_EXPECT = ("rule", "value", "threshold", "at", "severity")
_PROMISE = ("policy", "outcome", "promised_at", "due_at", "settled_at")


@dataclass
class TestReport:
    """Outcome of a run: per-file output lines, failures and rule coverage."""

    lines: list[str] = field(default_factory=list)
    failed: int = 0
    passed: int = 0
    errors: int = 0
    coverage: dict[str, set[str]] = field(default_factory=dict)  # rule -> {"breach","pass"}

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.errors == 0

    def gaps(self) -> dict[str, list[str]]:
        """Rules lacking a breach or a pass test: rule -> missing kinds."""
        return {
            r: [k for k in ("breach", "pass") if k not in kinds]
            for r, kinds in sorted(self.coverage.items())
            if len(kinds) < 2
        }


def _close(a: float | None, b: Any) -> bool:
    if b is None or a is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 1e-3


def _match(exp: dict[str, Any], got: Finding, start: float) -> bool:
    if exp["rule"] != got.rule:
        return False
    if "value" in exp and not _close(got.value, exp["value"]):
        return False
    if "threshold" in exp and not _close(got.threshold, exp["threshold"]):
        return False
    if "severity" in exp and exp["severity"] != str(got.severity):
        return False
    at = None if got.at is None else got.at - start
    return "at" not in exp or _close(at, exp["at"])


def _show(f: Finding, start: float) -> str:
    at = "null" if f.at is None else f"{f.at - start:g}"
    return f"{{rule: {f.rule}, value: {f.value}, threshold: {f.threshold}, at: {at}}}"


def run_rule_tests(directory: str | Path) -> TestReport:
    """Run every ``DIR/tests/*.test.yml`` against the rules in DIR."""
    report = TestReport()
    root = Path(directory)
    files = sorted((root / "tests").glob("*.test.yml")) if root.is_dir() else [root]
    if not files:
        report.errors += 1
        report.lines.append(f"{root}: no rule tests (tests/*.test.yml); write some")
    for f in files:
        _run_file(f, root if root.is_dir() else f.parent, report)
    return report


def _run_file(path: Path, rules_dir: Path, report: TestReport) -> None:
    report.lines.append(f"Unit Testing:  {path}")
    p = Problems(str(path))
    node = compose_file(path.read_text(encoding="utf-8"), p)
    top = p.mapping(node, "", _TOP, required=("tests",)) if node is not None else None
    tests = p.sequence(top["tests"][1], "", "tests") if top and "tests" in top else None
    ruleset, site, base = RuleSet(), Site(), parse_time(DEFAULT_BASE)
    try:
        if top and "rule_files" in top:
            names = [v for _, v in p.texts(top["rule_files"][1], "", "rule_files") or []]
            ruleset = load_rules([path.parent / n for n in names])
        else:
            ruleset = load_rules(rules_dir)
        if top and "site" in top:
            site = Site(**plain(top["site"][1]))
            cadence_for(site.country)
        if top and "base_time" in top:
            base = parse_time(plain(top["base_time"][1]))
    except (RulesError, ConfigError, TypeError, ValueError) as exc:
        p.lines.append(f"{path}: {exc}")
    for rule in ruleset.rules:
        report.coverage.setdefault(rule.id, set())
    failures: list[str] = list(p.lines)
    for i, t in enumerate(tests or [] if not p.lines else []):
        failures += _run_test(t, i, p, ruleset, site, base, report)
    if p.lines:
        report.errors += 1
        report.lines += ["  ERRORS:", *(f"    {x}" for x in p.lines)]
    elif failures:
        report.lines += ["  FAILED:", *failures]
    else:
        report.lines.append("  SUCCESS")


def _run_test(
    node: Any, i: int, p: Problems, ruleset: RuleSet, site: Site, base: float, report: TestReport
) -> list[str]:
    label = peek(node, "name")
    keys = p.mapping(node, f'test "{label}"' if label else f"test {i + 1}", _TEST, ("name",))
    if keys is None or "name" not in keys:
        return []
    name = str(plain(keys["name"][1]))
    where = f'test "{name}"'
    before = len(p.lines)
    data = {k: plain(v) for k, (_, v) in keys.items()}
    if "window" in keys:
        if p.mapping(keys["window"][1], where, _WINDOW, required=("rule", "at", "calls")):
            return _run_window(name, data["window"], p, keys["window"][1], ruleset, site, base,
                               report)  # fmt: skip
        return []
    wanted = data.get("rules") or [r.id for r in ruleset.rules if r.check in CHECKS]
    for rid in wanted:
        if rid not in ruleset.ids:
            p.add(keys.get("rules", keys["name"])[1], where, f'unknown rule "{rid}"')
    if "call" not in keys or "expected_findings" not in keys:
        p.add(node, where, "a test needs call and expected_findings (or a window)")
        return []
    for e in p.sequence(keys["expected_findings"][1], where, "expected_findings") or []:
        p.mapping(e, where, _EXPECT, required=("rule",))
    for e in p.sequence(keys["promises"][1], where, "promises") or [] if "promises" in keys else []:
        p.mapping(e, where, _PROMISE, required=("policy", "outcome", "due_at"))
    try:
        record = build_call(data["call"] or {}, base=base, cadence=site.cadence_seconds, index=i)
        start = record.started_at
        promises = [
            PromiseResult(
                d["policy"], d["outcome"], start + d.get("promised_at", 0), start + d["due_at"],
                None if d.get("settled_at") is None else start + d["settled_at"],
            )
            for d in data.get("promises") or []
        ]  # fmt: skip
    except (ValueError, TypeError, KeyError) as exc:
        p.add(keys["call"][1], where, f"bad call: {exc}")
        return []
    if len(p.lines) > before:
        return []
    rules = [ruleset.get(r) for r in wanted]
    results = evaluate_results(record, rules, site=site, promises=promises)
    got = [
        finding_for(r.rule, r.result) for r in results if r.result.status is CheckStatus.BREACHED
    ]
    out: list[str] = []
    missing = [
        e for e in data["expected_findings"] or [] if not any(_match(e, g, start) for g in got)
    ]
    extra = [
        g for g in got if not any(_match(e, g, start) for e in data["expected_findings"] or [])
    ]
    if missing or extra:
        out += [f"    {where}:",
                f"        exp: {[dict(e) for e in data['expected_findings'] or []]}",
                f"        got: [{', '.join(_show(g, start) for g in got)}]"]  # fmt: skip
    status = {r.rule.id: r.result for r in results}
    for rid, exp in (data.get("expected_results") or {}).items():
        res = status.get(rid)
        if res is None or str(res.status) != exp:
            shown = "not run" if res is None else f"{res.status} {res.reason}".strip()
            out.append(f"    {where}: rule {rid}: expected {exp}, got {shown}")
    if out:
        report.failed += 1
        return out
    report.passed += 1
    for rid, res in status.items():
        if res.status is CheckStatus.BREACHED:
            report.coverage.setdefault(rid, set()).add("breach")
        elif res.status is CheckStatus.MET:
            report.coverage.setdefault(rid, set()).add("pass")
    return out


def _run_window(
    name: str, w: dict[str, Any], p: Problems, node: Any, ruleset: RuleSet, site: Site,
    base: float, report: TestReport,
) -> list[str]:  # fmt: skip
    where = f'test "{name}"'
    try:
        rule = ruleset.get(str(w["rule"]))
        ev = WindowEvaluator(rule, site=site)
        for j, desc in enumerate(w["calls"] or []):
            ev.add(build_call(desc, base=base, cadence=site.cadence_seconds, index=j))
    except KeyError:
        p.add(node, where, f'unknown rule "{w["rule"]}"')
        return []
    except (ValueError, TypeError, RulesError) as exc:
        p.add(node, where, f"bad window test: {exc}")
        return []
    now = base + float(w["at"])
    ratio, breached = ev.ratio(now), ev.breached(now)
    out = []
    if "ratio" in w and not _close(ratio, w["ratio"]):
        out.append(f"    {where}: rule {rule.id}: ratio exp {w['ratio']}, got {ratio}")
    if "breached" in w and breached != w["breached"]:
        out.append(f"    {where}: rule {rule.id}: breached exp {w['breached']}, got {breached}")
    if out:
        report.failed += 1
        return out
    report.passed += 1
    if breached is not None:
        report.coverage.setdefault(rule.id, set()).add("breach" if breached else "pass")
    return out
