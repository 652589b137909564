"""Checklist answers of a review (issue 19): the prefill from the measurements, its evidence,
the reviewer's final answer and, when the two differ, the reviewer's reason.

Pure functions over JSON-able values; ``reviews.answers`` stores, per checklist key::

    {"prefill": true | false | null,         # what the measurements say (null: not measured)
     "evidence": [{"rule": ..., "status": "breached" | "met" | ..., "value": 19.7,
                   "threshold": 10.0, "unit": "s", "finding_seq": 1, ...}, ...],
     "value": true | false | null,           # the reviewer's answer (null: n/a)
     "reason": "..." | null}                 # required when value differs from a prefill

A draft holds only ``prefill`` and ``evidence`` (set when the review starts); submitting adds
``value`` and ``reason``. The review's ``checklist`` column keeps the final values alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.errors import InputError

__all__ = [
    "MAX_OVERRIDE_REASON",
    "answer_text",
    "overrides",
    "prefill_values",
    "settle",
]

MAX_OVERRIDE_REASON = 500  # characters of the reason for overriding one prefilled answer


def answer_text(value: bool | None) -> str:
    """``yes`` / ``no`` / ``n/a`` as shown and as reasons quote them."""
    return "yes" if value is True else "no" if value is False else "n/a"


def prefill_values(prefill: Mapping[str, Any] | None) -> dict[str, bool | None]:
    """``{key: prefilled value}`` of a stored prefill (keys without a measurement left out)."""
    out: dict[str, bool | None] = {}
    for key, entry in (prefill or {}).items():
        if isinstance(entry, Mapping) and entry.get("prefill") is not None:
            out[str(key)] = bool(entry["prefill"])
    return out


def settle(
    prefill: Mapping[str, Any] | None,
    checklist: Mapping[str, bool | None],
    reasons: Mapping[str, str],
) -> dict[str, dict[str, Any]]:
    """The stored ``answers`` of a submitted review: each checklist answer beside its prefill.

    An answer that differs from its prefill needs a reason (at most ``MAX_OVERRIDE_REASON``
    characters); every item missing one is named in one ``InputError``. A reason given for
    an answer that agrees with its prefill is dropped (nothing was overridden)."""
    answers: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    too_long: list[str] = []
    keys = list(checklist) + [k for k in (prefill or {}) if k not in checklist]
    for key in keys:
        entry = (prefill or {}).get(key)
        pre = entry.get("prefill") if isinstance(entry, Mapping) else None
        evidence = list(entry.get("evidence") or ()) if isinstance(entry, Mapping) else []
        value = checklist.get(key, pre)
        reason = (reasons.get(key) or "").strip()
        overridden = pre is not None and value != pre
        if overridden and not reason:
            missing.append(f"{key} (measured {answer_text(pre)}, answered {answer_text(value)})")
        if len(reason) > MAX_OVERRIDE_REASON:
            too_long.append(key)
        answers[key] = {
            "prefill": pre,
            "evidence": evidence,
            "value": value,
            "reason": reason if overridden else None,
        }
    if missing:
        raise InputError(
            "give a reason for each answer that differs from the measurement: " + "; ".join(missing)
        )
    if too_long:
        raise InputError(
            f"override reasons are limited to {MAX_OVERRIDE_REASON} characters; shorten: "
            + ", ".join(too_long)
        )
    return answers


def overrides(answers: Mapping[str, Any] | None) -> dict[str, str]:
    """``{key: reason}`` of the answers a reviewer overrode."""
    return {
        str(k): str(v.get("reason") or "")
        for k, v in (answers or {}).items()
        if isinstance(v, Mapping)
        and v.get("prefill") is not None
        and v.get("value") != v["prefill"]
    }
