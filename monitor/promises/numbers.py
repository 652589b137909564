"""Phone numbers to E.164, so a promise and its callback match however they were written.

``07700 900123``, ``+44 7700 900123``, ``447700900123`` and ``0044 7700 900123`` are one
number in the United Kingdom (``+447700900123``). A number is accepted when it has a
possible length for its country (``phonenumbers`` calls some ranges, such as Ofcom's drama
numbers, "not valid" although they are dialled like any other); a number that is only
possible as a local number without its area code cannot be called back reliably.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

__all__ = ["WITHHELD", "Normalised", "is_withheld", "normalise"]

WITHHELD: frozenset[str] = frozenset(
    {
        "",
        "anonymous",
        "<unknown>",
        "unknown",
        "restricted",
        "private",
        "withheld",
        "unavailable",
        "unavailable caller",
        "blocked",
        "<none>",
        "none",
    }
)
"""Caller IDs (case-insensitive) that mean "the caller withheld the number"."""

_STRIP = re.compile(r"^(?:tel:|sip:|sips:)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Normalised:
    """The result of normalising one raw number: ``e164`` or the ``problem`` with it."""

    raw: str | None
    e164: str | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.e164 is not None


def is_withheld(raw: str | None) -> bool:
    """True when the caller ID says the number was withheld (or there is none)."""
    if raw is None:
        return True
    text = raw.strip().strip('"').strip()
    return text.lower() in WITHHELD or text.lower().startswith("anonymous@")


def normalise(raw: str | None, country: str) -> Normalised:
    """``raw`` in the site ``country`` (ISO 3166 alpha-2, e.g. ``GB``, ``US``) to E.164.
    Remembered for the last 4,096 numbers (customers call again: parsing costs ~0.1 ms)."""
    return _normalise(raw, country)


@lru_cache(maxsize=4096)
def _normalise(raw: str | None, country: str) -> Normalised:
    if is_withheld(raw):
        return Normalised(raw, None, "withheld")
    assert raw is not None  # is_withheld(None) is True
    text = _STRIP.sub("", raw.strip())
    if "@" in text:  # sip:+4477...@host
        text = text.split("@", 1)[0]
    try:
        parsed = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        return Normalised(raw, None, "not a phone number")
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return Normalised(raw, None, "not a complete phone number (wrong length or local only)")
    e164: str = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Normalised(raw, e164)
