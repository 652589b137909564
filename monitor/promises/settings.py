"""What the rules tell the promise engine: when a missed call makes a promise, how long the
promise runs (optionally in business hours) and what keeps it.

``monitor.rules`` builds a :class:`PromiseSettings` from the ``callback_kept`` rule; the
defaults here are "return every missed call within 24 hours by an answered outbound call".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import ConfigError
from monitor.record import Outcome, Severity

__all__ = [
    "ALWAYS_OPEN",
    "AlwaysOpen",
    "BusinessCalendar",
    "KeepMode",
    "PromiseRule",
    "PromiseSettings",
    "WeeklyHours",
    "settings_from_rules",
    "site_settings",
]


class KeepMode(StrEnum):
    """What counts as returning the call (a rule allows one or more)."""

    OUTBOUND_ANSWERED = "outbound_answered"  # we called the number and were answered
    OUTBOUND_ATTEMPT = "outbound_attempt"  # we called and it rang at least min_ring_seconds
    INBOUND_ANSWERED = "inbound_answered"  # the customer called in and a person answered


@runtime_checkable
class BusinessCalendar(Protocol):
    """Counts a due period in business time."""

    def add_business_seconds(self, start: float, seconds: float) -> float:
        """The epoch time at which ``seconds`` of business time have passed since ``start``."""
        ...


class AlwaysOpen:
    """The 24/7 calendar: business time is wall time."""

    def add_business_seconds(self, start: float, seconds: float) -> float:
        return start + seconds

    def __repr__(self) -> str:
        return "AlwaysOpen()"


ALWAYS_OPEN = AlwaysOpen()

_MAX_DAYS = 3660


class WeeklyHours:
    """Open the same hours on the given weekdays (0 = Monday) in a time zone; closed dates
    (holidays) are skipped. Daylight-saving changes follow the zone."""

    def __init__(
        self,
        tz: str,
        opens: time,
        closes: time,
        weekdays: frozenset[int] = frozenset(range(5)),
        closed_dates: frozenset[date] = frozenset(),
    ) -> None:
        try:
            self.zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"business hours: unknown time zone {tz!r}; use an IANA name such as "
                "'Europe/London'"
            ) from exc
        if not opens < closes:
            raise ConfigError(f"business hours: opens {opens} must be before closes {closes}")
        if not weekdays or not weekdays <= frozenset(range(7)):
            raise ConfigError(f"business hours: weekdays must be within 0..6, got {weekdays}")
        self.opens, self.closes = opens, closes
        self.weekdays, self.closed_dates = weekdays, closed_dates

    def add_business_seconds(self, start: float, seconds: float) -> float:
        left = max(0.0, seconds)
        cursor = start
        day = datetime.fromtimestamp(start, tz=UTC).astimezone(self.zone).date()
        for _ in range(_MAX_DAYS):
            if day.weekday() in self.weekdays and day not in self.closed_dates:
                lo = datetime.combine(day, self.opens, tzinfo=self.zone).timestamp()
                hi = datetime.combine(day, self.closes, tzinfo=self.zone).timestamp()
                begin = max(lo, cursor)
                if begin < hi:
                    if left <= hi - begin:
                        return begin + left
                    left -= hi - begin
                    cursor = hi
            day += timedelta(days=1)
        raise ConfigError("business hours: no open hours within ten years; check the calendar")


def _frozen(values: frozenset[Outcome] | None) -> frozenset[Outcome]:
    default = {Outcome.ABANDONED, Outcome.UNANSWERED, Outcome.VOICEMAIL}
    return frozenset(default if values is None else values)


@dataclass(frozen=True, slots=True)
class PromiseRule:
    """The standard explicit promises (AMI UserEvent, API, CLI: "I will call you back") are
    judged under: the ``callback_kept`` rule with ``policy: explicit``. ``due_seconds`` None:
    each promise is due when it says; set (the rule's ``due``): that long after it was made."""

    rule_id: str = "keep-callback-promises"
    title: str = "Keep every callback promise by its due time"
    severity: Severity = Severity.WARNING
    flag: bool = False
    due_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class PromiseSettings:
    """The promise policy. ``country`` is the site's (E.164 normalisation, ISO alpha-2)."""

    rule_id: str = "return-missed-calls"
    title: str = "Return every missed call within 24 hours"
    severity: Severity = Severity.WARNING
    flag: bool = False
    due_seconds: float = 24 * 3600.0
    business_hours: bool = False
    keep: frozenset[KeepMode] = frozenset({KeepMode.OUTBOUND_ANSWERED})
    min_ring_seconds: float = 20.0
    on_outcomes: frozenset[Outcome] = field(default_factory=lambda: _frozen(None))
    queues: frozenset[str] | None = None
    country: str = "US"
    pbx: str = "default"
    # the explicit-promise rule; None: explicit promises are kept under ``rule_id`` too (and
    # merge with an open missed-call promise for the same number)
    explicit: PromiseRule | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.rule_id:
            problems.append("rule_id: must not be empty")
        if not self.due_seconds > 0:
            problems.append(f"due_seconds: must be positive, got {self.due_seconds}")
        if not self.keep:
            problems.append("keep: name at least one of " + ", ".join(m.value for m in KeepMode))
        if self.min_ring_seconds < 0:
            problems.append(f"min_ring_seconds: must be 0 or more, got {self.min_ring_seconds}")
        bad = self.on_outcomes & {Outcome.ANSWERED, Outcome.INCOMPLETE}
        if bad:
            problems.append(
                f"on_outcomes: {sorted(bad)} cannot make a promise; use abandoned, "
                "unanswered, busy, failed or voicemail"
            )
        if len(self.country) != 2 or not self.country.isalpha():
            problems.append(f"country: {self.country!r} is not an ISO 3166 alpha-2 code (GB, US)")
        if problems:
            raise ConfigError("invalid callback promise settings", problems)


class _CallbackRule(Protocol):
    """What is read of a ``monitor.rules`` Rule (kept structural: no import of the rules)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def check(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def flag(self) -> bool: ...
    @property
    def params(self) -> Mapping[str, Any]: ...


def site_settings(rules: Iterable[_CallbackRule], *, country: str, pbx: str) -> PromiseSettings:
    """The promise policy of the loaded rules for a site as configured: the live service and
    ``ringwatch import`` both take it from here (``UK`` numbers are ``GB`` numbers)."""
    return settings_from_rules(rules, country="GB" if country == "UK" else country, pbx=pbx)


def settings_from_rules(
    rules: Iterable[_CallbackRule], *, country: str, pbx: str
) -> PromiseSettings:
    """The promise policy from the ``callback_kept`` rules: ``policy: implicit`` for missed
    calls, ``policy: explicit`` for promises a person made (each promise keeps its rule id)."""
    items = list(rules)
    explicit: PromiseRule | None = None
    for rule in items:
        if rule.check == "callback_kept" and rule.params.get("policy") == "explicit":
            due = rule.params.get("due")
            explicit = PromiseRule(
                rule_id=rule.id,
                title=rule.title or rule.id,
                severity=rule.severity,
                flag=rule.flag,
                due_seconds=None if due is None else float(due),
            )
            break
    for rule in items:
        if rule.check == "callback_kept" and rule.params.get("policy") == "implicit":
            return PromiseSettings(
                rule_id=rule.id,
                title=rule.title or rule.id,
                severity=rule.severity,
                flag=rule.flag,
                due_seconds=float(rule.params.get("due") or 86400.0),
                country=country,
                pbx=pbx,
                explicit=explicit,
            )
    return PromiseSettings(country=country, pbx=pbx, explicit=explicit)
