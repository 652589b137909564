"""Load and strictly validate rule files (design.md §3 shape, Prometheus rule-group style).

Every problem in every file is collected and raised at once as ``RulesError(problems)``, each
line ``file:line:col: rule "id": message`` with a did-you-mean where one helps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import Node, ScalarNode

from monitor.errors import RulesError
from monitor.record import Direction, Severity
from monitor.rules.catalogue import CATALOGUE, CheckSpec, coerce_param
from monitor.rules.model import AppliesTo, Calendar, Rule, RuleSet, Target, parse_duration
from monitor.rules.yamlnodes import Problems, compose_file, did_you_mean, plain
from monitor.rules.yamlnodes import peek as _peek

__all__ = ["load_rules", "load_rules_text", "rule_files"]

_TOP = ("groups", "calendars")
_GROUP = ("name", "applies_to", "rules")
_RULE = (
    "id",
    "title",
    "description",
    "source",
    "check",
    "params",
    "severity",
    "flag",
    "target",
    "applies_to",
)
_APPLIES = ("direction", "queues", "pbx", "business_hours", "outside_business_hours")
_CALENDAR = ("timezone", "weekdays", "hours", "holidays")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DIRS = [x.value for x in Direction]
_HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


def _position(line: str) -> tuple[int, int]:
    m = re.search(r":(\d+):(\d+): ", line)
    return (int(m[1]), int(m[2])) if m else (0, 0)


def rule_files(path: str | Path) -> list[Path]:
    """The rule files of a directory (``*.yml``/``*.yaml``, not recursive), or the one file."""
    p = Path(path)
    if p.is_dir():
        return sorted(q for q in p.iterdir() if q.suffix in (".yml", ".yaml") and q.is_file())
    return [p]


def load_rules(paths: str | Path | Sequence[str | Path]) -> RuleSet:
    """Load rule files or directories; raises RulesError listing every problem."""
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    files: list[Path] = []
    problems: list[str] = []
    for item in items:
        found = rule_files(item)
        if Path(item).is_dir() and not found:
            problems.append(f"{item}: no rule files (*.yml) here; add one or point at another")
        files.extend(found)
    texts: list[tuple[str, str]] = []
    for f in files:
        try:
            texts.append((str(f), f.read_text(encoding="utf-8")))
        except OSError as exc:
            problems.append(f"{f}: cannot read: {exc.strerror or exc}")
    return _load(texts, problems)


def load_rules_text(text: str, name: str = "<rules>") -> RuleSet:
    """Load one rule file's text (for tests and the API)."""
    return _load([(name, text)], [])


def _load(texts: Iterable[tuple[str, str]], problems: list[str]) -> RuleSet:
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    names: list[str] = []
    for name, text in texts:
        names.append(name)
        p = Problems(name)
        for rule, id_node in _file(text, p):
            if rule.id in seen:
                p.add(id_node, f'rule "{rule.id}"', f"duplicate rule id (first at {seen[rule.id]})")
                continue
            seen[rule.id] = p.pos(id_node)
            rules.append(rule)
        problems.extend(sorted(p.lines, key=_position))
    if problems:
        raise RulesError(problems)
    return RuleSet(tuple(rules), tuple(names))


def _file(text: str, p: Problems) -> list[tuple[Rule, Node]]:
    root = compose_file(text, p)
    if root is None:
        return []
    top = p.mapping(root, "", _TOP, required=("groups",), what="a mapping with `groups:`")
    if top is None:
        return []
    calendars = _calendars(top["calendars"][1], p) if "calendars" in top else {}
    if "groups" not in top:
        return []
    groups = p.sequence(top["groups"][1], "", "groups")
    out: list[tuple[Rule, Node]] = []
    group_names: set[str] = set()
    for g in groups or []:
        keys = p.mapping(g, "group", _GROUP, required=("name", "rules"))
        if keys is None:
            continue
        name = p.text(keys["name"][1], "group", "name") if "name" in keys else None
        where = f'group "{name}"' if name else "group"
        if name and name in group_names:
            p.add(keys["name"][1], where, "duplicate group name")
        group_names.add(name or "")
        applies_raw = _applies_raw(keys["applies_to"][1], p, where) if "applies_to" in keys else {}
        rules = p.sequence(keys["rules"][1], where, "rules") if "rules" in keys else None
        for r in rules or []:
            built = _rule(r, p, name or "", applies_raw, calendars)
            if built is not None:
                out.append(built)
    return out


def _rule(
    node: Node,
    p: Problems,
    group: str,
    group_applies: dict[str, tuple[Node, Any]],
    calendars: dict[str, Calendar],
) -> tuple[Rule, Node] | None:
    peek = _peek(node, "id")
    keys = p.mapping(node, f'rule "{peek}"' if peek else "rule", _RULE, required=("id", "check"))
    if keys is None:
        return None
    rid = p.text(keys["id"][1], "rule", "id") if "id" in keys else None
    where = f'rule "{rid}"' if rid else "rule"
    ok = rid is not None
    if rid is not None and not _ID.match(rid):
        p.add(keys["id"][1], where, "id must be lower-case letters, digits, - or _ (a label)")
        ok = False
    spec: CheckSpec | None = None
    if "check" in keys:
        check_node = keys["check"][1]
        check = p.text(check_node, where, "check")
        if check is not None:
            spec = CATALOGUE.get(check)
            if spec is None:
                hint = did_you_mean(check, CATALOGUE)
                p.add(check_node, where, f'unknown check "{check}"{hint}')
    ok = ok and spec is not None
    params = _params(keys.get("params"), node, spec, p, where) if spec else None
    texts = {
        k: (p.text(keys[k][1], where, k) or "") if k in keys else ""
        for k in ("title", "description", "source")
    }
    severity = Severity.WARNING
    if "severity" in keys:
        sev = plain(keys["severity"][1])
        if sev in {s.value for s in Severity}:
            severity = Severity(sev)
        else:
            p.add(
                keys["severity"][1],
                where,
                f"severity must be info, warning or critical, "
                f"got {sev!r}{did_you_mean(str(sev), [s.value for s in Severity])}",
            )
            ok = False
    flag = bool(p.boolean(keys["flag"][1], where, "flag")) if "flag" in keys else False
    target = _target(keys.get("target"), spec, node, p, where)
    applies = dict(group_applies)
    if "applies_to" in keys:
        applies.update(_applies_raw(keys["applies_to"][1], p, where))
    applies_to = _applies(applies, calendars, p, where)
    if not ok or params is None or applies_to is None or target is False:
        return None
    assert spec is not None and rid is not None
    rule = Rule(
        id=rid,
        check=spec.name,
        params=params,
        severity=severity,
        flag=flag,
        target=target if isinstance(target, Target) else None,
        applies_to=applies_to,
        group=group,
        file=p.file,
        line=node.start_mark.line + 1,
        **texts,
    )
    return rule, keys["id"][1]


def _params(
    entry: tuple[Node, Node] | None, rule_node: Node, spec: CheckSpec, p: Problems, where: str
) -> dict[str, Any] | None:
    given = {}
    at = rule_node
    if entry is not None:
        at = entry[1]
        mapped = p.mapping(entry[1], where, [s.name for s in spec.params], what="params mapping")
        if mapped is None:
            return None
        given = mapped
    before = len(p.lines)
    out: dict[str, Any] = {}
    for ps in spec.params:
        if ps.name in given:
            vnode = given[ps.name][1]
            try:
                out[ps.name] = coerce_param(spec.name, ps, plain(vnode))
            except ValueError as exc:
                p.add(vnode, where, f'param "{ps.name}" of {spec.name}: {exc}')
        elif ps.required:
            p.add(at, where, f'{spec.name} needs param "{ps.name}"')
        else:
            out[ps.name] = ps.default
    if spec.needs_one_of and all(out.get(n) is None for n in spec.needs_one_of):
        p.add(at, where, f"{spec.name} needs at least one of: {', '.join(spec.needs_one_of)}")
    if spec.name in ("service_level", "abandon_rate") and "short_abandon" in out:
        if out.get("include_short_abandons") is None:
            out["include_short_abandons"] = not out["short_abandon"]
        sl2 = out.get("formula") == "sl2" and not out["include_short_abandons"]
        if sl2 and out["short_abandon"] > out.get("threshold", 0):
            p.add(at, where, "short_abandon must not exceed threshold for formula sl2")
    return out if len(p.lines) == before else None


def _target(
    entry: tuple[Node, Node] | None, spec: CheckSpec | None, rule_node: Node, p: Problems, w: str
) -> Target | bool:
    """A Target, True when absent and fine, False on a problem."""
    if entry is None:
        if spec is not None and spec.window:
            p.add(rule_node, w, f"{spec.name} is a window standard: add target: {{ratio, window}}")
            return False
        return True
    keys = p.mapping(entry[1], w, ("ratio", "window"), required=("window",), what="target")
    if keys is None or "window" not in keys:
        return False
    ok = True
    window = 0.0
    try:
        raw = plain(keys["window"][1])
        window = parse_duration(raw) if isinstance(raw, str) else float("nan")
        if not window > 0:
            raise ValueError(f"bad window {raw!r}: write a duration such as 15m or 1h")
    except ValueError as exc:
        p.add(keys["window"][1], w, str(exc))
        ok = False
    ratio: float | None = None
    if "ratio" in keys:
        value = plain(keys["ratio"][1])
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            p.add(keys["ratio"][1], w, f"target ratio must be between 0 and 1, got {value!r}")
            ok = False
        else:
            ratio = float(value)
    elif spec is None or spec.name != "asa":
        p.add(entry[1], w, "target needs a ratio (e.g. ratio: 0.8)")
        ok = False
    return Target(window, ratio) if ok else False


def _applies_raw(node: Node, p: Problems, where: str) -> dict[str, tuple[Node, Any]]:
    keys = p.mapping(node, where, _APPLIES, what="applies_to mapping")
    return {k: (v, plain(v)) for k, (_, v) in (keys or {}).items()}


def _applies(
    raw: dict[str, tuple[Node, Any]], calendars: dict[str, Calendar], p: Problems, where: str
) -> AppliesTo | None:
    before = len(p.lines)
    out: dict[str, Any] = {}
    for key in ("direction", "queues", "pbx"):
        if key in raw:
            items = p.texts(raw[key][0], where, f"applies_to.{key}") or []
            if key == "direction":
                for n, d in items:
                    if d not in _DIRS:
                        p.add(
                            n,
                            where,
                            f"direction must be inbound, outbound or internal, "
                            f"got {d!r}{did_you_mean(d, _DIRS)}",
                        )
                out["directions"] = frozenset(Direction(d) for _, d in items if d in _DIRS)
            else:
                out[key] = frozenset(v for _, v in items)
    for key in ("business_hours", "outside_business_hours"):
        if key in raw:
            name = p.text(raw[key][0], where, f"applies_to.{key}")
            if name is not None and name not in calendars:
                hint = did_you_mean(name, calendars) or " (define it under `calendars:`)"
                p.add(raw[key][0], where, f'unknown calendar "{name}"{hint}')
            elif name is not None:
                out[key] = calendars[name]
    return AppliesTo(**out) if len(p.lines) == before else None


def _calendars(node: Node, p: Problems) -> dict[str, Calendar]:
    top = p.mapping(node, "calendars", _names(node), what="a mapping of calendar names")
    out: dict[str, Calendar] = {}
    for name, (_, cnode) in (top or {}).items():
        where = f'calendar "{name}"'
        keys = p.mapping(cnode, where, _CALENDAR, required=("timezone", "hours"))
        if keys is None or "timezone" not in keys or "hours" not in keys:
            continue
        before = len(p.lines)
        tz = p.text(keys["timezone"][1], where, "timezone") or "UTC"
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            p.add(keys["timezone"][1], where, f"unknown timezone {tz!r} (use e.g. Europe/London)")
        days = (
            [(n, d) for n, d in p.texts(keys["weekdays"][1], where, "weekdays") or []]
            if ("weekdays" in keys)
            else [(cnode, d) for d in _WEEKDAYS[:5]]
        )
        for n, d in days:
            if d not in _WEEKDAYS:
                p.add(n, where, f"weekday must be one of {', '.join(_WEEKDAYS)}, got {d!r}")
        hours = []
        for n, h in p.texts(keys["hours"][1], where, "hours") or []:
            m = _HOURS.match(h)
            if not m or int(m[1]) > 23 or int(m[3]) > 24 or int(m[2]) > 59 or int(m[4]) > 59:
                p.add(n, where, f'hours must look like "08:00-18:00", got {h!r}')
                continue
            end = time(23, 59, 59, 999999) if int(m[3]) == 24 else time(int(m[3]), int(m[4]))
            hours.append((time(int(m[1]), int(m[2])), end))
        holidays: set[date] = set()
        for hn in (
            (p.sequence(keys["holidays"][1], where, "holidays") or [])
            if ("holidays" in keys)
            else []
        ):
            value = plain(hn)
            try:
                holidays.add(value if isinstance(value, date) else date.fromisoformat(value))
            except (TypeError, ValueError):
                p.add(hn, where, f"holiday must be a date like 2026-12-25, got {value!r}")
        if len(p.lines) == before:
            weekdays = frozenset(_WEEKDAYS.index(d) for _, d in days)
            out[name] = Calendar(name, tz, weekdays, tuple(hours), frozenset(holidays))
    return out


def _names(node: Node) -> list[str]:
    value = getattr(node, "value", None)
    if not isinstance(value, list):
        return []
    return [k.value for k, _ in value if isinstance(k, ScalarNode)]


def with_params(rule: Rule, **params: Any) -> Rule:
    """A copy of ``rule`` with some params replaced (for tests and tools)."""
    return replace(rule, params={**rule.params, **params})
