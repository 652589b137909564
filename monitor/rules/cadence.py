"""Ringback cadences by country: seconds per ring as the caller hears it.

Data from /work/shared/reference/ring-cadences.md (Asterisk ``indications.conf.sample``, the
``ring`` tonelist: one ring = one full cycle of the ringback tone played to the caller).
"""

from __future__ import annotations

from monitor.errors import ConfigError

__all__ = ["CADENCE_SECONDS", "DEFAULT_COUNTRY", "cadence_for", "known_countries"]

DEFAULT_COUNTRY = "us"

# country code -> ringback cycle in seconds (on + off periods of the ``ring`` tonelist).
CADENCE_SECONDS: dict[str, float] = {
    "at": 6.0, "au": 3.0, "bg": 5.0, "br": 5.0, "be": 4.0, "ch": 5.0, "cl": 4.0, "cn": 5.0,
    "cz": 5.0, "de": 5.0, "dk": 5.0, "ee": 5.0, "es": 4.5, "fi": 5.0, "fr": 5.0, "gr": 5.0,
    "hu": 5.0, "id": 5.0, "il": 4.0, "in": 3.0, "it": 5.0, "lt": 5.0, "jp": 3.0, "mx": 5.0,
    "my": 3.0, "nl": 5.0, "no": 5.0, "nz": 3.0, "ph": 5.0, "pl": 5.0, "pt": 6.0, "ru": 5.0,
    "se": 6.0, "sg": 3.0, "th": 6.0, "uk": 3.0, "us": 6.0, "us-old": 6.0, "tw": 3.0,
    "ve": 5.0, "za": 3.0,
}  # fmt: skip

# ISO 3166 codes that Asterisk spells differently.
_ALIASES = {"gb": "uk", "ca": "us"}


def known_countries() -> list[str]:
    return sorted(CADENCE_SECONDS)


def _normalise(country: str) -> str:
    code = country.strip().lower()
    return _ALIASES.get(code, code)


def cadence_for(country: str | None) -> float:
    """Seconds per ring for ``country`` (case-insensitive; ``None`` means US).

    Raises ConfigError naming the known codes when the country has no cadence.
    """
    code = _normalise(country or DEFAULT_COUNTRY)
    try:
        return CADENCE_SECONDS[code]
    except KeyError:
        raise ConfigError(
            f"no ring cadence for country {country!r}; use one of: " + ", ".join(known_countries())
        ) from None


def is_known_country(country: str) -> bool:
    return _normalise(country) in CADENCE_SECONDS
