"""Numbers, the state machine, settings validation and business-hours due times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

import monitor.promises as pkg
from monitor.errors import ConfigError, PromiseError
from monitor.promises import (
    ALWAYS_OPEN,
    TRANSITIONS,
    BusinessCalendar,
    PromiseSettings,
    PromiseState,
    WeeklyHours,
    check_transition,
    normalise,
)
from monitor.record import Outcome


@pytest.mark.parametrize(
    "raw",
    ["07700 900123", "+44 7700 900123", "447700900123", "0044 7700 900123", "tel:+447700900123"],
)
def test_gb_formats_are_one_number(raw: str) -> None:
    assert normalise(raw, "GB").e164 == "+447700900123"


def test_us_default_and_problems() -> None:
    assert normalise("(202) 555-0123", "US").e164 == "+12025550123"
    assert normalise("1 202 555 0123", "US").e164 == "+12025550123"
    assert normalise("555-1234", "US").problem is not None  # local only
    for withheld in ("anonymous", "<unknown>", "", "Restricted", None, "PRIVATE"):
        assert normalise(withheld, "US").problem == "withheld"
    assert normalise("hello", "GB").problem == "not a phone number"


def test_a_number_is_parsed_once_per_country() -> None:
    """``normalise`` remembers (a bounded cache): the same answer, the same object."""
    from monitor.promises.numbers import _normalise

    first = normalise("07700 900321", "GB")
    assert normalise("07700 900321", "GB") is first
    assert normalise("07700 900321", "US") != first  # the country is part of the question
    assert normalise("07700 900321", "US").e164 is None
    assert _normalise.cache_info().maxsize == 4096


def test_only_legal_transitions() -> None:
    assert TRANSITIONS[PromiseState.OPEN] == {
        PromiseState.KEPT,
        PromiseState.BROKEN,
        PromiseState.CANCELLED,
        PromiseState.UNRETURNABLE,
    }
    check_transition(1, PromiseState.OPEN, PromiseState.KEPT)
    for closed in (
        PromiseState.KEPT,
        PromiseState.BROKEN,
        PromiseState.CANCELLED,
        PromiseState.UNRETURNABLE,
    ):
        for new in PromiseState:
            with pytest.raises(PromiseError, match="closed"):
                check_transition(7, closed, new)


def test_settings_validation_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as err:
        PromiseSettings(
            due_seconds=0,
            keep=frozenset(),
            country="GBR",
            on_outcomes=frozenset({Outcome.ANSWERED}),
        )
    assert len(err.value.problems) == 4


def test_always_open_and_weekly_hours() -> None:
    assert isinstance(ALWAYS_OPEN, BusinessCalendar)
    assert ALWAYS_OPEN.add_business_seconds(100.0, 50.0) == 150.0
    cal = WeeklyHours(
        "Europe/London", time(9), time(17), closed_dates=frozenset({date(2024, 5, 7)})
    )
    assert isinstance(cal, BusinessCalendar)
    # Friday 3 May 2024 16:00 BST (15:00 UTC) + 24 business hours (3 days of 8 h):
    # 1 h Fri, Mon 8 h, Tue 7 May closed, Wed 8 h, Thu 7 h -> Thu 9 May 16:00 BST.
    start = datetime(2024, 5, 3, 15, 0, tzinfo=UTC).timestamp()
    due = cal.add_business_seconds(start, 24 * 3600)
    assert due == datetime(2024, 5, 9, 15, 0, tzinfo=UTC).timestamp()
    with pytest.raises(ConfigError, match="unknown time zone"):
        WeeklyHours("Mars/Olympus", time(9), time(17))


def test_engine_uses_calendar_only_for_business_hours(tmp_path) -> None:
    from monitor.promises import PromiseEngine
    from monitor.promises.db import open_database

    class Doubler:
        def add_business_seconds(self, start: float, seconds: float) -> float:
            return start + 2 * seconds

    db = open_database(f"sqlite:///{tmp_path / 'c.sqlite'}")
    assert PromiseEngine(db, PromiseSettings(), Doubler()).due_at(0.0) == 86400.0
    on = PromiseEngine(db, PromiseSettings(business_hours=True), Doubler())
    assert on.due_at(0.0) == 2 * 86400.0


def test_public_api_is_listed() -> None:
    assert sorted(pkg.__all__) == sorted(set(pkg.__all__))
    for name in pkg.__all__:
        assert hasattr(pkg, name), name
