"""Phone standards as code: load and validate rules/*.yml, check calls, windows and live calls.

ruleset = load_rules("rules/")                      # RulesError lists every problem
findings = evaluate(record, ruleset, site=Site("uk"))
flag_for(findings)                                   # goes to the QA queue?
live_deadlines(snapshot, ruleset); check_live(snapshot, rule_id, now, ruleset)
WindowEvaluator(rule).add(record); .ratio(now); compile_promql(rule)
"""

from __future__ import annotations

from monitor.rules.cadence import CADENCE_SECONDS, cadence_for
from monitor.rules.catalogue import CATALOGUE, CheckSpec, ParamSpec
from monitor.rules.checks_call import Context
from monitor.rules.evaluate import (
    CHECKS,
    RuleResult,
    applies,
    evaluate,
    evaluate_results,
    flag_for,
    run_check,
)
from monitor.rules.holder import RuleSetHolder, RulesWatcher, watch_rules
from monitor.rules.live import LIVE_CHECKS, check_live, live_deadlines
from monitor.rules.loader import load_rules, load_rules_text
from monitor.rules.model import (
    AppliesTo,
    Calendar,
    CheckResult,
    CheckStatus,
    Deadline,
    PromiseResult,
    Rule,
    RuleSet,
    Site,
    Target,
    parse_duration,
)
from monitor.rules.promql import compile_alert_expr, compile_promql
from monitor.rules.testcall import build_call
from monitor.rules.testing import TestReport, run_rule_tests
from monitor.rules.window import WindowEvaluator

__all__ = [
    "CADENCE_SECONDS",
    "CATALOGUE",
    "CHECKS",
    "LIVE_CHECKS",
    "AppliesTo",
    "Calendar",
    "CheckResult",
    "CheckSpec",
    "CheckStatus",
    "Context",
    "Deadline",
    "ParamSpec",
    "PromiseResult",
    "Rule",
    "RuleResult",
    "RuleSet",
    "RuleSetHolder",
    "RulesWatcher",
    "Site",
    "Target",
    "TestReport",
    "WindowEvaluator",
    "applies",
    "build_call",
    "cadence_for",
    "check_live",
    "compile_alert_expr",
    "compile_promql",
    "evaluate",
    "evaluate_results",
    "flag_for",
    "live_deadlines",
    "load_rules",
    "load_rules_text",
    "parse_duration",
    "run_check",
    "run_rule_tests",
    "watch_rules",
]
