"""A report as CSV (one line per interval and key), a text table, or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

__all__ = ["FIGURE_COLUMNS", "report_csv", "report_json", "report_table"]

FIGURE_COLUMNS: tuple[str, ...] = (
    "offered", "answered", "abandoned", "short_abandoned", "service_level", "asa_seconds",
    "average_wait_seconds", "longest_wait_seconds", "average_talk_seconds", "hold_seconds",
    "held_calls", "transfers",
)  # fmt: skip
_CAUSES = ("unanswered", "busy", "failed", "voicemail", "incomplete")
_STD = ("target", "actual", "variance", "calls_needed", "trend")


def _rules(report: dict[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for row in report["rows"] + report["totals"]:
        for s in row["standards"]:
            if s["applicable"]:
                seen.setdefault(s["rule"], None)
    return list(seen)


def _flat(row: dict[str, Any], rules: list[str]) -> list[Any]:
    figs = row["figures"]
    out: list[Any] = [row["interval"], row["key"]]
    out += [figs[c] for c in FIGURE_COLUMNS]
    out += [figs["unanswered_by_cause"][c] for c in _CAUSES]
    by_rule = {s["rule"]: s for s in row["standards"]}
    for rule in rules:
        s = by_rule.get(rule, {})
        out += [s.get(k) for k in _STD]
    return out


def report_csv(report: dict[str, Any]) -> Iterator[str]:
    rules = _rules(report)
    header = ["interval", report["breakdown"], *FIGURE_COLUMNS, *_CAUSES]
    header += [f"{rule}:{k}" for rule in rules for k in _STD]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in report["rows"] + report["totals"]:
        writer.writerow(["" if v is None else v for v in _flat(row, rules)])
    yield buf.getvalue()


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"
    return str(value)


def report_table(report: dict[str, Any]) -> str:
    cols = ("offered", "answered", "abandoned", "short_abandoned", "service_level",
            "asa_seconds", "average_wait_seconds", "longest_wait_seconds")  # fmt: skip
    heads = ("offered", "answ", "aband", "short", "SL", "ASA", "wait", "maxwait")
    lines = [
        f"standards report {report['from']} .. {report['to']} ({report['timezone']}), "
        f"by {report['interval']} and {report['breakdown']}; SL = answered within "
        f"{report['service_level_threshold']} s / (answered + abandoned - short abandons)",
        f"{'interval':<18} {'key':<16} " + " ".join(f"{h:>8}" for h in heads),
    ]
    for row in report["rows"] + report["totals"]:
        figs = row["figures"]
        lines.append(
            f"{row['interval'][:18]:<18} {row['key'][:16]:<16} "
            + " ".join(f"{_fmt(figs[c]):>8}" for c in cols)
        )
        for s in row["standards"]:
            if not s["applicable"]:
                continue
            lines.append(
                f"{'':<18}   {s['rule'][:34]:<34} target {_fmt(s['target']):>6} actual "
                f"{_fmt(s['actual']):>6} variance {_fmt(s['variance']):>6} needed "
                f"{_fmt(s['calls_needed']):>4} trend {_fmt(s['trend']):>6}"
            )
    p = report["promises"]
    kept = sum(v["kept"] for v in p["by_key"].values())
    broken = sum(v["broken"] for v in p["by_key"].values())
    still = sum(v["open"] for v in p["by_key"].values())
    lines.append(f"callbacks: {kept} kept, {broken} broken, {still} open")
    return "\n".join(lines) + "\n"
