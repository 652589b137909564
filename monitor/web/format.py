"""How the web pages and the CSV exports show values: units, rounding, labels, time zones.

Pure functions, no I/O: a value in, text out (``None`` is "–"). Seconds are rounded to
0.1 s ("19.7 s", "2 min 5.3 s", "25 h 3 min"), rings to one decimal ("3 rings", "3.5
rings"), ratios to a percent. Times carry their zone ("2026-09-21 15:13:20 BST"), from the
site's ``timezone`` (``site.timezone`` in the config). Stored codes become words:
outcomes, dispositions, flag and promise states, and Q.850 hang-up causes (``16`` →
"normal clearing"), with the raw code kept for a ``title`` attribute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.store.export import round_for_csv

__all__ = [
    "CHECK_UNITS",
    "DASH",
    "HANGUP_CAUSES",
    "LABELS",
    "clock",
    "hangup_cause",
    "label",
    "measure",
    "percent",
    "rings",
    "round_for_csv",
    "seconds",
    "unit_for",
    "zone_name",
    "zoned",
]

DASH = "–"

# The unit a check's measured value and limit are in (monitor/rules/catalogue.py).
CHECK_UNITS: dict[str, str] = {
    "rings_to_answer": "rings",
    "queue_wait": "s",
    "abandoned": "s",
    "longest_hold": "s",
    "total_hold": "s",
    "hold_count": "holds",
    "transfers": "transfers",
    "agent_ring_no_answer": "RONAs",
    "talk_time": "s",
    "callback_kept": "s",
    "greeting_latency": "s",
    "dead_air": "s",
    "overtalk": "s",
    "service_level": "ratio",
    "abandon_rate": "ratio",
    "asa": "s",
}

# ITU-T Q.850 cause values (what Asterisk puts in HANGUPCAUSE / the Hangup event's Cause).
HANGUP_CAUSES: dict[int, str] = {
    0: "not set",
    1: "unallocated number",
    2: "no route to transit network",
    3: "no route to destination",
    5: "misdialled trunk prefix",
    6: "channel unacceptable",
    7: "call awarded, delivered in an established channel",
    8: "pre-emption",
    14: "number ported, query on release",
    16: "normal clearing",
    17: "user busy",
    18: "no user responding",
    19: "no answer (user alerted)",
    20: "subscriber absent",
    21: "call rejected",
    22: "number changed",
    23: "redirected to a new destination",
    26: "non-selected user clearing",
    27: "destination out of order",
    28: "invalid number format",
    29: "facility rejected",
    30: "response to status enquiry",
    31: "normal, unspecified",
    34: "no circuit or channel available",
    38: "network out of order",
    41: "temporary failure",
    42: "switching equipment congestion",
    43: "access information discarded",
    44: "requested channel not available",
    47: "resource unavailable",
    50: "requested facility not subscribed",
    52: "outgoing calls barred",
    54: "incoming calls barred",
    57: "bearer capability not authorised",
    58: "bearer capability not available",
    63: "service or option not available",
    65: "bearer capability not implemented",
    66: "channel type not implemented",
    69: "requested facility not implemented",
    79: "service or option not implemented",
    81: "invalid call reference value",
    88: "incompatible destination",
    95: "invalid message",
    96: "mandatory information element missing",
    97: "message type not implemented",
    98: "message not compatible with call state",
    99: "information element not implemented",
    100: "invalid information element contents",
    101: "message not compatible with call state",
    102: "recovery on timer expiry",
    103: "parameter not implemented",
    111: "protocol error",
    127: "interworking, unspecified",
}

# Stored words -> what a person reads (outcomes, dispositions, states, kinds, directions).
LABELS: dict[str, str] = {
    "answered": "answered",
    "abandoned": "abandoned",
    "unanswered": "not answered",
    "busy": "busy",
    "failed": "failed",
    "voicemail": "went to voicemail",
    "incomplete": "incomplete (the call's end was not seen)",
    "inbound": "inbound",
    "outbound": "outbound",
    "internal": "internal",
    "exact": "exact",
    "approximate": "approximate (no Timestamp headers)",
    "confirmed_breach": "Confirmed breach",
    "not_a_breach": "Not a breach",
    "coaching_needed": "Coaching needed",
    "open": "open",
    "claimed": "claimed",
    "closed": "closed",
    "kept": "kept",
    "broken": "broken",
    "cancelled": "cancelled",
    "unreturnable": "unreturnable",
    "overdue": "overdue",
    "all": "all",
    "missed": "missed call",
    "ami": "agent (PBX)",
    "api": "API",
    "cli": "command line",
}


def label(value: object) -> str:
    """A stored word for people: ``coaching_needed`` -> "Coaching needed"."""
    if value is None or value == "":
        return DASH
    text = str(value)
    return LABELS.get(text, text.replace("_", " "))


def _trim(number: float, places: int) -> str:
    """``3.0`` -> "3", ``3.25`` -> "3.3" (``places`` decimals, trailing zeros dropped)."""
    text = f"{number:,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _finite(value: float | None) -> bool:
    return value is not None and not isinstance(value, bool) and math.isfinite(value)


def seconds(value: float | None) -> str:
    """Seconds to 0.1 s: "19.7 s", "0 s"; from a minute "2 min 5.3 s"; from an hour
    "25 h 3 min" (to the minute)."""
    if not _finite(value):
        return DASH
    assert value is not None
    sign = "-" if value < 0 else ""
    tenths = round(abs(value) * 10)
    if tenths < 600:
        return f"{sign}{_trim(tenths / 10, 1)} s"
    if tenths < 36_000:
        minutes, rest = divmod(tenths, 600)
        tail = f" {_trim(rest / 10, 1)} s" if rest else ""
        return f"{sign}{minutes} min{tail}"
    total_min = round(abs(value) / 60)
    hours, minutes = divmod(total_min, 60)
    return f"{sign}{hours:,} h" + (f" {minutes} min" if minutes else "")


def rings(value: float | None) -> str:
    """Rings to one decimal: "3 rings", "3.5 rings", "1 ring"."""
    if not _finite(value):
        return DASH
    assert value is not None
    text = _trim(value, 1)
    return f"{text} ring" if text == "1" else f"{text} rings"


def percent(value: float | None) -> str:
    """A ratio 0..1 as a percent: "3%", "12.5%" (one decimal, dropped when whole)."""
    if not _finite(value):
        return DASH
    assert value is not None
    return f"{_trim(value * 100, 1)}%"


def _count(value: float, unit: str) -> str:
    text = _trim(value, 1)
    singular = {"holds": "hold", "transfers": "transfer", "RONAs": "RONA"}.get(unit, unit)
    return f"{text} {singular if text == '1' else unit}"


def measure(value: float | None, unit: str) -> str:
    """A measured value or limit in ``unit`` ("s", "rings", "ratio", a count noun such as
    "holds", or "" when the unit is not known: the number to one decimal)."""
    if not _finite(value):
        return DASH
    assert value is not None
    if unit == "s":
        return seconds(value)
    if unit == "rings":
        return rings(value)
    if unit == "ratio":
        return percent(value)
    if unit:
        return _count(value, unit)
    return _trim(value, 1)


def unit_for(check: str | None, params: Mapping[str, object] | None = None) -> str:
    """The unit of a check's value: ``CHECK_UNITS``; an overtalk rule limited by
    ``max_ratio`` alone measures a ratio."""
    if check is None:
        return ""
    if (
        check == "overtalk"
        and params is not None
        and params.get("max_seconds") is None
        and params.get("max_ratio") is not None
    ):
        return "ratio"
    return CHECK_UNITS.get(check, "")


def zone_name(at: datetime) -> str:
    """The zone's abbreviation ("BST", "UTC"), or its offset ("UTC+04:00") when it has none."""
    abbr = at.tzname() or ""
    if abbr.isalpha():
        return abbr
    off = at.utcoffset()
    minutes = 0 if off is None else round(off.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def zoned(ts: float | None, zone: ZoneInfo, with_date: bool = True) -> str:
    """Epoch seconds as local time in ``zone`` with the zone: "2026-09-21 15:13:20 BST"."""
    if not _finite(ts):
        return DASH
    assert ts is not None
    at = datetime.fromtimestamp(ts, tz=zone)
    text = at.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    return f"{text} {zone_name(at)}"


def clock(offset: float | None) -> str:
    """Seconds into a call or recording as m:ss (h:mm:ss from an hour): ``68.4`` -> "1:08"."""
    if not _finite(offset):
        return DASH
    assert offset is not None
    s = max(0, math.floor(offset))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def hangup_cause(code: int | None) -> str:
    """A Q.850 cause as words: ``16`` -> "normal clearing"; unknown codes say "cause N"."""
    if code is None:
        return DASH
    return HANGUP_CAUSES.get(code, f"cause {code}")
