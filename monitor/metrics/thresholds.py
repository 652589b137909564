"""The standards' numbers the wallboard colours by (green, amber, red) and filters by, read from
the rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from monitor.rules.model import Rule, RuleSet

__all__ = ["Standards", "le", "standards_from_rules"]


def le(value: float) -> str:
    """A bucket's ``le`` label as prometheus-client writes it (``3`` -> ``"3.0"``)."""
    return repr(float(value))


@dataclass(frozen=True, slots=True)
class Standards:
    """The thresholds the wallboard colours by (defaults when the rules do not say).

    ``rings_directions``: the call directions the rings standard applies to (empty: all);
    ``short_abandon``: abandons within this many seconds of joining the queue are left out of
    the abandon rate (0: all abandons count), as the abandon-rate rule says.
    """

    rings_max: int = 3
    rings_target: float = 0.9
    rings_directions: tuple[str, ...] = ("inbound",)
    sl_threshold: float = 20.0
    sl_target: float = 0.8
    abandon_ceiling: float = 0.05
    short_abandon: float = 0.0
    hold_max: float = 120.0


def standards_from_rules(rules: RuleSet | Sequence[Rule]) -> Standards:
    """Take the first rule of each kind that has the numbers; defaults otherwise."""
    items = rules.rules if isinstance(rules, RuleSet) else tuple(rules)
    values: dict[str, Any] = {}
    for r in items:
        ratio = r.target.ratio if r.target is not None else None
        if r.check == "rings_to_answer" and "rings_max" not in values:
            values["rings_max"] = int(r.params["max"])
            values["rings_directions"] = tuple(sorted(str(d) for d in r.applies_to.directions))
            if ratio is not None:
                values["rings_target"] = ratio
        elif r.check == "service_level" and "sl_threshold" not in values and ratio is not None:
            values["sl_threshold"] = float(r.params["threshold"])
            values["sl_target"] = ratio
        elif r.check == "abandon_rate" and "abandon_ceiling" not in values and ratio is not None:
            values["abandon_ceiling"] = ratio
            short = float(r.params.get("short_abandon") or 0.0)
            values["short_abandon"] = 0.0 if r.params.get("include_short_abandons") else short
        elif r.check == "longest_hold" and "hold_max" not in values:
            values["hold_max"] = float(r.params["max"])
    known = {f.name for f in fields(Standards)}
    return Standards(**{k: v for k, v in values.items() if k in known})
