"""The value checks behind ``monitor.config``: durations, secrets, and the ``Checker`` that
collects every problem with its key path (so one run lists them all)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

__all__ = ["Checker", "Secret", "parse_duration", "read_secret"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """``90``, ``"90s"``, ``"15m"``, ``"4h"``, ``"1d"`` -> seconds. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 90s, 15m or 4h, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"expected a duration like 90s, 15m or 4h, got {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


class Secret:
    """A secret value that never shows in a repr, a str() or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Checker:
    """Collects every problem of a configuration, each with its key path."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def keys(self, where: str, data: object, allowed: set[str]) -> dict[str, Any]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problems.append(
                f"{where or '(top)'}: expected a mapping, got {type(data).__name__}"
            )
            return {}
        for key in data:
            if key not in allowed:
                path = f"{where}.{key}" if where else str(key)
                self.problems.append(
                    f"{path}: unknown key (allowed here: {', '.join(sorted(allowed))})"
                )
        return data

    def typed(self, path: str, value: object, kind: type, default: Any) -> Any:
        if value is None:
            return default
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problems.append(f"{path}: expected {kind.__name__}, got {value!r}")
            return default
        return value

    def duration(self, path: str, value: object, default: float) -> float:
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.problems.append(f"{path}: {exc}")
            return default

    def positive(self, path: str, value: float, *, low: float = 0.0, high: float | None = None,
                 unit: str = "s", hint: str = "") -> float:  # fmt: skip
        """``value`` must be above ``low`` (and at most ``high``); the key path in the error."""
        if value <= low or (high is not None and value > high):
            bound = f"more than {low:g} {unit}".rstrip()
            if high is not None:
                bound += f" and at most {high:g} {unit}".rstrip()
            self.problems.append(f"{path}: must be {bound}, got {value:g}{hint}")
        return value

    def int_range(self, path: str, value: object, low: int, high: int, default: int,
                  hint: str = "") -> int:  # fmt: skip
        """A whole number in ``low..high``; the key path, the range and the value in the error."""
        number: int = self.typed(path, value, int, default)
        if not low <= number <= high:
            self.problems.append(f"{path}: must be {low} to {high}, got {number}{hint}")
            return default
        return number

    def durations(self, path: str, value: object, default: tuple[float, ...]) -> tuple[float, ...]:
        if value is None:
            return default
        if not isinstance(value, list) or not value:
            self.problems.append(f"{path}: expected a list of durations like [0.5s, 1s, 2s]")
            return default
        out = tuple(self.duration(f"{path}[{i}]", v, 1.0) for i, v in enumerate(value))
        for i, v in enumerate(out):
            self.positive(f"{path}[{i}]", v)
        return out

    def strings(self, path: str, value: object, default: tuple[str, ...]) -> tuple[str, ...]:
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{path}: expected a list of strings, got {value!r}")
            return default
        return tuple(value)


def read_secret(c: Checker, path: str, data: dict[str, Any], base: Path) -> Secret | None:
    env, file = data.get("secret_env"), data.get("secret_file")
    if env is not None and file is not None:
        c.problems.append(f"{path}: give secret_env or secret_file, not both")
        return None
    if env is not None:
        if not isinstance(env, str):
            c.problems.append(f"{path}.secret_env: expected the name of an environment variable")
            return None
        value = os.environ.get(env)
        if value is None:
            c.problems.append(
                f"{path}.secret_env: environment variable {env} is not set "
                f"(export {env}=... before starting ringwatch)"
            )
            return None
        return Secret(value)
    if file is not None:
        target = (base / str(file)).expanduser()
        try:
            return Secret(target.read_text(encoding="utf-8").strip())
        except OSError as exc:
            c.problems.append(f"{path}.secret_file: cannot read {target}: {exc.strerror}")
    return None
