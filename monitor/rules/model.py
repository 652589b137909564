"""Values of the rules package: rule sets as loaded, check results, deadlines, site settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from monitor.frozen import fast_init
from monitor.record import Direction, Severity
from monitor.rules.cadence import DEFAULT_COUNTRY, cadence_for

__all__ = [
    "AppliesTo",
    "Calendar",
    "CheckResult",
    "CheckStatus",
    "Deadline",
    "PromiseResult",
    "Rule",
    "RuleSet",
    "Site",
    "Target",
    "format_duration",
    "parse_duration",
]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: str) -> float:
    """``"15m"`` -> 900.0 (Prometheus units ms|s|m|h|d|w). Raises ValueError on bad text."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"bad duration {text!r}: write a number and a unit, e.g. 30s, 15m, 24h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: float) -> str:
    """900.0 -> ``"15m"``: the largest whole Prometheus unit."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{round(seconds * 1000)}ms"


@dataclass(frozen=True, slots=True)
class Site:
    """Site settings the checks need: the country gives the ringback cadence."""

    country: str = DEFAULT_COUNTRY

    @property
    def cadence_seconds(self) -> float:
        return cadence_for(self.country)


fast_init(Site)


class CheckStatus(StrEnum):
    MET = "met"
    BREACHED = "breached"
    NOT_APPLICABLE = "not_applicable"
    NOT_EVALUATED = "not_evaluated"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check said about one call. Build with the class methods."""

    status: CheckStatus
    value: float | None = None
    threshold: float | None = None
    at: float | None = None
    evidence: tuple[tuple[str, float], ...] = ()
    reason: str = ""

    @classmethod
    def met(cls, value: float | None = None, threshold: float | None = None) -> CheckResult:
        return cls(CheckStatus.MET, value, threshold)

    @classmethod
    def breached(
        cls,
        value: float | None,
        threshold: float | None,
        at: float | None,
        evidence: tuple[tuple[str, float], ...] = (),
    ) -> CheckResult:
        return cls(CheckStatus.BREACHED, value, threshold, at, evidence)

    @classmethod
    def not_applicable(cls, reason: str = "") -> CheckResult:
        return cls(CheckStatus.NOT_APPLICABLE, reason=reason)

    @classmethod
    def not_evaluated(cls, reason: str) -> CheckResult:
        return cls(CheckStatus.NOT_EVALUATED, reason=reason)


fast_init(CheckResult)


@dataclass(frozen=True, slots=True, order=True)
class Deadline:
    """A live rule would be breached at ``at`` (event time) if nothing changes."""

    at: float
    rule_id: str


fast_init(Deadline)


@dataclass(frozen=True, slots=True)
class PromiseResult:
    """A callback promise's outcome, passed in by the promises engine.

    ``policy`` is ``implicit`` (missed/abandoned/voicemail call) or ``explicit`` (promise made
    by UserEvent or API); ``outcome`` is kept | broken | cancelled | unreturnable | open.
    """

    policy: str
    outcome: str
    promised_at: float
    due_at: float
    settled_at: float | None = None


fast_init(PromiseResult)


@dataclass(frozen=True, slots=True)
class Calendar:
    """Business hours: weekdays (0=Monday) and local time ranges in a timezone, minus holidays."""

    name: str
    timezone: str
    weekdays: frozenset[int]
    hours: tuple[tuple[time, time], ...]
    holidays: frozenset[date] = frozenset()

    def contains(self, ts: float) -> bool:
        local = datetime.fromtimestamp(ts, tz=ZoneInfo(self.timezone))
        if local.weekday() not in self.weekdays or local.date() in self.holidays:
            return False
        now = local.time().replace(tzinfo=None)
        return any(start <= now < end for start, end in self.hours)


fast_init(Calendar)


@dataclass(frozen=True, slots=True)
class AppliesTo:
    """Which calls a rule looks at; empty means all."""

    directions: frozenset[Direction] = frozenset()
    queues: frozenset[str] = frozenset()
    pbx: frozenset[str] = frozenset()
    business_hours: Calendar | None = None
    outside_business_hours: Calendar | None = None


fast_init(AppliesTo)


@dataclass(frozen=True, slots=True)
class Target:
    """A window standard: ``ratio`` over a sliding ``window`` (seconds).

    For most checks the ratio is a floor (at least this share met); for ``abandon_rate`` it is
    a ceiling. ``asa`` has no ratio (its limit is the ``threshold`` param).
    """

    window_seconds: float
    ratio: float | None = None

    @property
    def window(self) -> str:
        return format_duration(self.window_seconds)


fast_init(Target)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    check: str
    params: dict[str, Any]
    severity: Severity = Severity.WARNING
    title: str = ""
    description: str = ""
    source: str = ""
    flag: bool = False
    target: Target | None = None
    applies_to: AppliesTo = field(default_factory=AppliesTo)
    group: str = ""
    file: str = ""
    line: int = 0


fast_init(Rule)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    files: tuple[str, ...] = ()

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)


fast_init(RuleSet)
