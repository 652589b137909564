"""The check catalogue: every check's name, kind and parameters (types, defaults, choices).

The loader validates ``params`` against these specs; rules/README.md documents each check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.buckets import WAIT_BUCKETS
from monitor.rules.cadence import is_known_country, known_countries
from monitor.rules.model import parse_duration

__all__ = ["CATALOGUE", "WINDOW_CHECKS", "CheckSpec", "ParamSpec", "coerce_param"]

# kinds: count (int >= 0), seconds (number >= 0 or a duration like "24h"), ratio (0..1),
# enum (one of choices), bool, country (a known cadence country code)


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    kind: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    help: str = ""


@dataclass(frozen=True, slots=True)
class CheckSpec:
    name: str
    params: tuple[ParamSpec, ...]
    window: bool = False  # evaluated only over a window (service_level, abandon_rate, asa)
    live: bool = False  # can be breached while the call is still up
    needs_one_of: tuple[str, ...] = ()  # at least one of these params must be given
    summary: str = ""

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


def _max(kind: str, unit: str, default: Any = None) -> ParamSpec:
    return ParamSpec("max", kind, required=default is None, default=default, unit=unit)


_SHORT = ParamSpec("short_abandon", "seconds", default=0.0, unit="s")
_INCLUDE_SHORT = ParamSpec("include_short_abandons", "bool", default=None)

CATALOGUE: dict[str, CheckSpec] = {
    s.name: s
    for s in (
        CheckSpec(
            "rings_to_answer",
            (
                _max("count", "rings"),
                ParamSpec("clock", "enum", default="arrival",
                          choices=("arrival", "queue_join", "first_ring")),
                ParamSpec("answer", "enum", default="person", choices=("person", "any")),
                ParamSpec("country", "country", default=None),
            ),
            live=True,
            summary="answered within N rings of the site's ringback cadence",
        ),
        CheckSpec("queue_wait", (_max("seconds", "s"),), live=True,
                  summary="queue wait (join to answer or leave) at most max"),
        CheckSpec("abandoned", (_SHORT,), summary="the caller did not hang up before an answer"),
        CheckSpec("longest_hold", (_max("seconds", "s"),), live=True,
                  summary="no single hold longer than max"),
        CheckSpec("total_hold", (_max("seconds", "s"),), summary="all holds together at most max"),
        CheckSpec("hold_count", (_max("count", "holds"),), summary="at most max holds"),
        CheckSpec("transfers", (_max("count", "transfers"),), summary="at most max transfers"),
        CheckSpec("agent_ring_no_answer", (_max("count", "RONAs", default=0),),
                  summary="agents did not let the call ring out (RONA)"),
        CheckSpec(
            "talk_time",
            (ParamSpec("min", "seconds", unit="s"), ParamSpec("max", "seconds", unit="s")),
            needs_one_of=("min", "max"),
            summary="talk time within min..max",
        ),
        CheckSpec(
            "callback_kept",
            (
                ParamSpec("policy", "enum", required=True, choices=("implicit", "explicit")),
                ParamSpec("due", "seconds", unit="s"),
            ),
            summary="a callback promise was kept by its due time",
        ),
        CheckSpec("greeting_latency", (_max("seconds", "s"),),
                  summary="the agent spoke within max seconds of answering"),
        CheckSpec("dead_air", (_max("seconds", "s"),),
                  summary="no silence longer than max outside hold"),
        CheckSpec(
            "overtalk",
            (ParamSpec("max_seconds", "seconds", unit="s"), ParamSpec("max_ratio", "ratio")),
            needs_one_of=("max_seconds", "max_ratio"),
            summary="both parties talking at once, longest span and share of the call",
        ),
        CheckSpec(
            "service_level",
            (
                ParamSpec("threshold", "seconds", required=True, unit="s"),
                ParamSpec("formula", "enum", default="sl", choices=("sl", "sl2")),
                _SHORT,
                _INCLUDE_SHORT,
            ),
            window=True,
            summary="share of queued calls answered within threshold seconds",
        ),
        CheckSpec("abandon_rate", (_SHORT, _INCLUDE_SHORT), window=True,
                  summary="abandoned / (answered + abandoned), a ceiling"),
        CheckSpec("asa", (ParamSpec("threshold", "seconds", required=True, unit="s"),),
                  window=True, summary="average speed of answer at most threshold seconds"),
    )
}  # fmt: skip

WINDOW_CHECKS = frozenset(name for name, spec in CATALOGUE.items() if spec.window)
BUCKET_PARAMS = {("service_level", "threshold"), ("service_level", "short_abandon"),
                 ("abandon_rate", "short_abandon")}  # fmt: skip


def coerce_param(check: str, spec: ParamSpec, value: Any) -> Any:
    """Validate one param value; returns it normalised or raises ValueError with the reason."""
    kind = spec.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return value
    if kind == "enum":
        if value not in spec.choices:
            raise ValueError(f"must be one of {', '.join(spec.choices)}, got {value!r}")
        return value
    if kind == "country":
        if not isinstance(value, str) or not is_known_country(value):
            raise ValueError(
                f"unknown country {value!r}; use one of {', '.join(known_countries())}"
            )
        return value
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"must be a whole number >= 0, got {value!r}")
        return value
    if kind == "ratio":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"must be a number between 0 and 1, got {value!r}")
        return float(value)
    # seconds
    seconds = _seconds(value)
    if (check, spec.name) in BUCKET_PARAMS and seconds != 0 and seconds not in WAIT_BUCKETS:
        raise ValueError(
            f"{seconds:g}s is not a bucket boundary of ringwatch_queue_wait_seconds; "
            f"use one of {', '.join(f'{b:g}' for b in WAIT_BUCKETS)}"
        )
    return seconds


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"must be seconds (a number or a duration like 30s), got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"must be >= 0, got {value!r}")
        return float(value)
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(f"must be seconds (a number or a duration like 30s), got {value!r}")
