"""Load a scenario file (YAML) into a ``CentreConfig``, strictly: unknown keys, wrong types
and bad values are all reported at once as ``file:line: key.path: problem``."""

from __future__ import annotations

import dataclasses
import difflib
import typing
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError
from monitor.simulator.config import (
    STRATEGIES,
    AgentConfig,
    Behaviour,
    CallbackConfig,
    CentreConfig,
    ExtensionConfig,
    QueueConfig,
    TrafficConfig,
)

__all__ = ["Scenario", "load_scenario", "parse_rates"]


@dataclasses.dataclass(frozen=True)
class Scenario:
    config: CentreConfig
    seed: int | None = None


class _Errors:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, node: yaml.Node, path: str, message: str) -> None:
        self.problems.append(f"{self.source}:{node.start_mark.line + 1}: {path}: {message}")


def parse_rates(value: Any) -> tuple[float, ...]:
    """Calls per hour for each UTC hour: a number (all day), a list of 24 numbers, or a
    mapping of ``"H"`` / ``"H-H"`` (inclusive) to a number (other hours 0)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, a list of 24 numbers or an hour mapping")
    if isinstance(value, int | float):
        return tuple(float(value) for _ in range(24))
    if isinstance(value, list):
        if len(value) != 24 or not all(isinstance(v, int | float) for v in value):
            raise ValueError("a list of rates must hold exactly 24 numbers (hours 0..23 UTC)")
        return tuple(float(v) for v in value)
    if isinstance(value, dict):
        rates = [0.0] * 24
        for key, rate in value.items():
            lo, _, hi = str(key).partition("-")
            try:
                first, last = int(lo), int(hi or lo)
            except ValueError:
                raise ValueError(f"hour range {key!r} must look like 9 or 9-17") from None
            if not (0 <= first <= last <= 23) or not isinstance(rate, int | float):
                raise ValueError(f"hour range {key!r}: hours 0..23, rate a number")
            for hour in range(first, last + 1):
                rates[hour] = float(rate)
        return tuple(rates)
    raise ValueError("expected a number, a list of 24 numbers or an hour mapping")


def _plain(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _build(cls: type[Any], node: yaml.Node, path: str, errs: _Errors, extra: dict[str, Any]) -> Any:
    if not isinstance(node, yaml.MappingNode):
        errs.add(node, path, "expected a mapping")
        return None
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = dict(extra)
    for knode, vnode in node.value:
        key = str(knode.value)
        where = f"{path}.{key}" if path else key
        if key not in names or key in extra:
            near = difflib.get_close_matches(key, names, 1)
            hint = f" (did you mean {near[0]!r}?)" if near else f"; known keys: {', '.join(names)}"
            errs.add(knode, where, f"unknown key{hint}")
            continue
        hint = hints[key]
        raw = _plain(vnode)
        try:
            values[key] = _convert(hint, raw, key)
        except ValueError as exc:
            errs.add(vnode, where, str(exc))
        except _Nested as nested:
            values[key] = _build(nested.cls, vnode, where, errs, {})
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    for name in missing:
        errs.add(node, path or "(top)", f"missing required key {name!r}")
    if missing or any(v is None for v in values.values()):
        return None
    return cls(**values)


class _Nested(Exception):
    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls


def _convert(hint: Any, raw: Any, key: str) -> Any:
    if hint in (Behaviour, TrafficConfig, CallbackConfig):
        raise _Nested(hint)
    if key in ("arrivals_per_hour", "direct_per_hour", "internal_per_hour", "outbound_per_hour"):
        return parse_rates(raw)
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
            raise ValueError(f"expected a number >= 0, got {raw!r}")
        if key.endswith("probability") and raw > 1:
            raise ValueError(f"a probability is between 0 and 1, got {raw!r}")
        return float(raw)
    if hint is str:
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise ValueError(f"expected text, got {raw!r}")
        if key == "strategy" and raw not in STRATEGIES:
            raise ValueError(f"unknown strategy {raw!r}; use one of {', '.join(STRATEGIES)}")
        return str(raw)
    if hint == tuple[str, ...]:
        if not isinstance(raw, list):
            raise ValueError("expected a list of extensions")
        return tuple(str(v) for v in raw)
    raise ValueError(f"unsupported value {raw!r}")


def _items(
    cls: type[Any], node: yaml.Node, path: str, errs: _Errors, defaults: dict[str, Any]
) -> tuple[Any, ...]:
    if not isinstance(node, yaml.SequenceNode):
        errs.add(node, path, "expected a list")
        return ()
    out = []
    for i, item in enumerate(node.value):
        built = _build(cls, item, f"{path}[{i}]", errs, {})
        if built is not None and defaults and cls is AgentConfig:
            has_own = any(k.value == "behaviour" for k, _ in item.value)
            if not has_own:
                built = dataclasses.replace(built, **defaults)
        if built is not None:
            out.append(built)
    return tuple(out)


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; raises ConfigError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text)
    except OSError as exc:
        raise ConfigError(f"cannot read scenario file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"scenario file {path} is not valid YAML: {exc}") from exc
    errs = _Errors(str(path))
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"scenario file {path} must be a mapping with queues: and agents:")
    sections = {str(k.value): (k, v) for k, v in root.value}
    seed: int | None = None
    defaults: dict[str, Any] = {}
    top: dict[str, Any] = {}
    if "seed" in sections:
        raw = _plain(sections["seed"][1])
        if isinstance(raw, int) and not isinstance(raw, bool):
            seed = raw
        else:
            errs.add(sections["seed"][1], "seed", f"expected an integer, got {raw!r}")
    if "agent_defaults" in sections:
        beh = _build(Behaviour, sections["agent_defaults"][1], "agent_defaults", errs, {})
        defaults = {"behaviour": beh} if beh is not None else {}
    lists = {"agents": AgentConfig, "queues": QueueConfig, "extensions": ExtensionConfig}
    for key, cls in lists.items():
        if key in sections:
            top[key] = _items(cls, sections[key][1], key, errs, defaults)
    rest = [(k, v) for k, v in root.value if str(k.value) not in {"seed", "agent_defaults", *lists}]
    mapping = yaml.MappingNode("tag:yaml.org,2002:map", rest, root.start_mark, root.end_mark)
    config = _build(CentreConfig, mapping, "", errs, top)
    if config is not None:
        _cross_check(config, root, errs)
    if errs.problems or config is None:
        raise ConfigError(f"scenario file {path} is invalid", errs.problems)
    return Scenario(config, seed)


def _cross_check(config: CentreConfig, root: yaml.Node, errs: _Errors) -> None:
    exts = {a.ext for a in config.agents}
    for q in config.queues:
        for ext in q.agents:
            if ext not in exts:
                errs.add(root, f"queues.{q.name}.agents", f"agent {ext!r} is not in agents:")
    seen: set[str] = set()
    for ext in [a.ext for a in config.agents] + [e.ext for e in config.extensions]:
        if ext in seen:
            errs.add(root, "agents/extensions", f"extension {ext!r} is defined twice")
        seen.add(ext)
