"""Report periods: intervals (15 min .. month) and breakdown keys in the site's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.errors import InputError

__all__ = ["BREAKDOWNS", "INTERVALS", "WEEKDAYS", "interval_start", "parse_when"]

INTERVALS: tuple[str, ...] = ("15m", "hour", "day", "week", "month")
BREAKDOWNS: tuple[str, ...] = ("none", "site", "pbx", "queue", "agent", "hour", "weekday")
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_when(text: str, zone: ZoneInfo) -> float:
    """``2026-01-05`` (midnight in ``zone``), ``2026-01-05T09:30`` or with an offset -> epoch."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{text!r} is not a date or time; give ISO 8601, e.g. 2026-01-05 or 2026-01-05T09:00"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.timestamp()


def interval_start(ts: float, interval: str, zone: ZoneInfo) -> tuple[float, str]:
    """The start (epoch) and label of the interval holding ``ts``."""
    local = datetime.fromtimestamp(ts, tz=UTC).astimezone(zone)
    if interval == "15m":
        start = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
        label = start.strftime("%Y-%m-%d %H:%M")
    elif interval == "hour":
        start = local.replace(minute=0, second=0, microsecond=0)
        label = start.strftime("%Y-%m-%d %H:00")
    elif interval == "day":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        label = start.strftime("%Y-%m-%d")
    elif interval == "week":
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())
        start = start.replace(tzinfo=None).replace(tzinfo=zone)  # midnight even across DST
        label = "week of " + start.strftime("%Y-%m-%d")
    elif interval == "month":
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        label = start.strftime("%Y-%m")
    else:
        raise InputError(f"interval {interval!r}: use one of {', '.join(INTERVALS)}")
    return start.timestamp(), label
