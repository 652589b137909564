"""Window standards: the in-process WindowEvaluator and the compiled PromQL agree.

The same calls feed (a) the WindowEvaluator and (b) samples shaped like the exporter's metrics
(the shared metric schema), on which a tiny evaluator of the compiled PromQL shape runs; one
test also runs the compiled expressions through promtool (real Prometheus evaluation).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitor.buckets import WAIT_BUCKETS
from monitor.record import CallRecord, Outcome
from monitor.rules import (
    CheckStatus,
    Site,
    WindowEvaluator,
    build_call,
    compile_alert_expr,
    compile_promql,
    evaluate_results,
    load_rules_text,
    parse_duration,
)

_TOKEN = re.compile(r"\s*(sum\(increase\((?P<sel>[a-z_]+\{[^}]*\})\[(?P<w>\w+)\]\)\)|[()+\-/])")
_MATCH = re.compile(r'(\w+)(=~|=)"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    at: float
    metric: str
    labels: tuple[tuple[str, str], ...]
    value: float


def _matches(labels: dict[str, str], matchers: list[tuple[str, str, str]]) -> bool:
    for name, op, value in matchers:
        got = labels.get(name, "")
        value = value.replace('\\"', '"').replace("\\\\", "\\")
        if op == "=" and got != value:
            return False
        if op == "=~" and not re.fullmatch(value, got):
            return False
    return True


def evaluate(expr: str, samples: list[Sample], now: float) -> float:
    tokens = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        assert m, f"unexpected PromQL at {expr[pos:]!r}"
        tokens.append(m)
        pos = m.end()
        while pos < len(expr) and expr[pos] == " ":
            pos += 1
    i = 0

    def term_value(m: re.Match[str]) -> float:
        sel = m.group("sel")
        metric, inner = sel.split("{", 1)
        matchers = [(a, op, b) for a, op, b in _MATCH.findall(inner[:-1])]
        window = parse_duration(m.group("w"))
        return sum(
            s.value
            for s in samples
            if s.metric == metric
            and now - window < s.at <= now
            and _matches(dict(s.labels), matchers)
        )

    def atom() -> float:
        nonlocal i
        tok = tokens[i].group(1)
        i += 1
        if tok == "(":
            v = expr_()
            assert tokens[i].group(1) == ")"
            i += 1
            return v
        return term_value(tokens[i - 1])

    def product() -> float:
        nonlocal i
        v = atom()
        while i < len(tokens) and tokens[i].group(1) == "/":
            i += 1
            d = atom()
            v = v / d if d else float("nan")
        return v

    def expr_() -> float:
        nonlocal i
        v = product()
        while i < len(tokens) and tokens[i].group(1) in "+-":
            op = tokens[i].group(1)
            i += 1
            w = product()
            v = v + w if op == "+" else v - w
        return v

    result = expr_()
    assert i == len(tokens)
    return result


RULES = load_rules_text(
    """
groups:
- name: windows
  applies_to: {queues: [sales]}
  rules:
  - {id: sl, check: service_level, params: {threshold: 20}, target: {ratio: 0.8, window: 15m}}
  - id: sl2
    check: service_level
    params: {threshold: 30, formula: sl2, short_abandon: 5}
    target: {ratio: 0.8, window: 15m}
  - id: sl2-with-short
    check: service_level
    params: {threshold: 30, formula: sl2, short_abandon: 5, include_short_abandons: true}
    target: {ratio: 0.8, window: 15m}
  - {id: abandons, check: abandon_rate, params: {short_abandon: 5},
     target: {ratio: 0.05, window: 15m}}
  - {id: abandons-all, check: abandon_rate, target: {ratio: 0.05, window: 15m}}
  - {id: asa, check: asa, params: {threshold: 30}, target: {window: 15m}}
  - {id: wait-20, check: queue_wait, params: {max: 20}, target: {ratio: 0.9, window: 15m}}
- name: all-queues
  rules:
  - {id: sl-all, check: service_level, params: {threshold: 20}, target: {ratio: 0.8, window: 10m}}
"""
)

# (queue, ended offset, wait, outcome): ended spread over 0..30 min; eval at 30 min.
CALLS = [
    ("sales", 100, 8, "answered"),
    ("sales", 950, 12, "answered"),
    ("sales", 1000, 25, "answered"),
    ("sales", 1100, 3, "abandoned"),
    ("sales", 1200, 20, "answered"),
    ("sales", 1250, 40, "abandoned"),
    ("sales", 1300, 50, "answered"),
    ("sales", 1400, 4.5, "abandoned"),
    ("sales", 1500, 28, "abandoned"),
    ("sales", 1650, 10, "answered"),
    ("support", 1200, 100, "answered"),
    ("support", 1300, 5, "answered"),
    ("sales", 1799, 19.5, "answered"),
    ("sales", 1750, 90, "unanswered"),
]
NOW = 1800.0


def records() -> list[CallRecord]:
    out = []
    for i, (queue, ended, wait, outcome) in enumerate(CALLS):
        joined = ended - wait - (60 if outcome == "answered" else 0) - 5
        desc: dict[str, Any] = {
            "queue": queue, "started_at": joined - 5, "queue_joined_at": 5, "outcome": outcome,
            "ended_at": ended - joined + 5,
        }  # fmt: skip
        if outcome == "answered":
            desc["answered_at"] = 5 + wait
        else:
            desc["queue_wait_seconds"] = wait
        out.append(build_call(desc, base=0.0, cadence=6.0, index=i))
    return out


def metric_samples(recs: list[CallRecord]) -> list[Sample]:
    """What the exporter would observe, per the schema (histogram and checks counter)."""
    out: list[Sample] = []
    for r in recs:
        assert r.ended_at is not None and r.queue_wait_seconds is not None
        labels = (("pbx", r.pbx), ("queue", r.queue or ""), ("outcome", str(r.outcome)))
        w, t, name = r.queue_wait_seconds, r.ended_at, "ringwatch_queue_wait_seconds"
        for le in WAIT_BUCKETS:
            if w <= le:
                out.append(Sample(t, f"{name}_bucket", (*labels, ("le", repr(float(le)))), 1))
        out.append(Sample(t, f"{name}_bucket", (*labels, ("le", "+Inf")), 1))
        out.append(Sample(t, f"{name}_count", labels, 1))
        out.append(Sample(t, f"{name}_sum", labels, w))
        for rr in evaluate_results(r, RULES):
            if rr.result.status in (CheckStatus.MET, CheckStatus.BREACHED):
                check = (
                    ("pbx", r.pbx),
                    ("queue", r.queue or ""),
                    ("rule", rr.rule.id),
                    ("severity", str(rr.rule.severity)),
                    ("result", str(rr.result.status)),
                )
                out.append(Sample(t, "ringwatch_standard_checks_total", check, 1))  # fmt: skip
    return out


def in_process(rule_id: str, now: float = NOW) -> float | None:
    ev = WindowEvaluator(RULES.get(rule_id), site=Site())
    for r in records():
        ev.add(r)
    return ev.ratio(now)


# Hand computation for the window (900, 1800], queue sales:
#   answered waits: 12, 25, 20, 50, 10, 19.5  -> 6 answered, 4 within 20 s, 5 within 30 s
#   abandoned waits: 3, 40, 4.5, 28            -> 4 abandoned, 2 short (<= 5 s), 3 within 30 s
HAND = {
    "sl": 4 / 6,
    "sl2": (5 + 3 - 2) / (6 + 4 - 2),
    "sl2-with-short": (5 + 3) / (6 + 4),
    "abandons": (4 - 2) / (6 + 4 - 2),
    "abandons-all": 4 / 10,
    "asa": (12 + 25 + 20 + 50 + 10 + 19.5) / 6,
    "wait-20": 6 / 11,  # per call: met 12, 20, 10, 19.5, 3, 4.5; breached 25, 50, 40, 28, 90
}


@pytest.mark.parametrize("rule_id", sorted(HAND))
def test_in_process_matches_hand_computation(rule_id: str) -> None:
    assert in_process(rule_id) == pytest.approx(HAND[rule_id])


@pytest.mark.parametrize("rule_id", [*sorted(HAND), "sl-all"])
def test_compiled_promql_agrees_with_in_process(rule_id: str) -> None:
    expr = compile_promql(RULES.get(rule_id))
    got = evaluate(expr, metric_samples(records()), NOW)
    assert got == pytest.approx(in_process(rule_id))


def test_compiled_strings() -> None:
    assert compile_promql(RULES.get("sl")) == (
        'sum(increase(ringwatch_queue_wait_seconds_bucket{queue="sales",outcome="answered",'
        'le="20.0"}[15m])) / sum(increase(ringwatch_queue_wait_seconds_count{queue="sales",'
        'outcome="answered"}[15m]))'
    )
    assert compile_promql(RULES.get("wait-20")) == (
        'sum(increase(ringwatch_standard_checks_total{rule="wait-20",result="met"}[15m])) / '
        'sum(increase(ringwatch_standard_checks_total{rule="wait-20",result=~"met|breached"}'
        "[15m]))"
    )
    assert 'le="5.0"' in compile_promql(RULES.get("abandons"))
    assert "le=" not in compile_promql(RULES.get("abandons-all"))
    assert compile_alert_expr(RULES.get("abandons")).endswith(") > 0.05")
    assert compile_alert_expr(RULES.get("sl")).endswith(") < 0.8")
    assert compile_alert_expr(RULES.get("asa")).endswith(") > 30")


def test_window_slides_and_breach_direction() -> None:
    ev = WindowEvaluator(RULES.get("abandons-all"))
    for r in records():
        ev.add(r)
    assert ev.ratio(NOW) == pytest.approx(0.4) and ev.breached(NOW) is True
    assert ev.ratio(200.0) == 0.0 and ev.breached(200.0) is False  # only the 100 s answer
    assert ev.ratio(5000.0) is None and ev.breached(5000.0) is None
    ev.prune(1000.0)
    assert ev.ratio(NOW) == pytest.approx(4 / 8)  # the 950 s and 1000 s answers are forgotten
    sl = WindowEvaluator(RULES.get("sl"))
    for r in records():
        sl.add(r)
    assert sl.breached(NOW) is True  # 4/6 < 0.8


def test_unanswered_queue_outcomes_are_left_out() -> None:
    assert any(r.outcome is Outcome.UNANSWERED for r in records())
    assert in_process("abandons-all") == pytest.approx(0.4)


def test_promtool_evaluates_the_compiled_expressions_to_the_same_ratios(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is a system dependency (.ci/system-deps.sh installs it)"
    samples = metric_samples(records())
    series: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
    for s in samples:
        values = series.setdefault((s.metric, s.labels), [0.0] * 31)
        first = int(-(-s.at // 60))  # the first minute sample that includes it
        for m in range(first, 31):
            values[m] += s.value
    input_series = [
        {"series": metric + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}",
         "values": " ".join(f"{v:g}" for v in values)}
        for (metric, labels), values in series.items()
    ]  # fmt: skip
    tests = [
        {"expr": f"round(({compile_promql(RULES.get(rid))}) * 10000)", "eval_time": "30m",
         "exp_samples": [{"labels": "{}", "value": round(HAND[rid] * 10000)}]}
        for rid in sorted(HAND)
    ]  # fmt: skip
    doc = {"tests": [{"interval": "1m", "input_series": input_series, "promql_expr_test": tests}]}
    path = tmp_path / "window.test.yml"
    path.write_text(json.dumps(doc))  # JSON is YAML
    proc = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout
