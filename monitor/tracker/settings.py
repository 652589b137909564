"""Tracker settings (from ringwatch.yml ``site`` and ``tracker`` sections)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_INBOUND_CONTEXTS", "DEFAULT_INTERNAL_CONTEXTS", "TrackerSettings"]

# FreePBX / stock Asterisk contexts that receive calls from outside.
DEFAULT_INBOUND_CONTEXTS: tuple[str, ...] = (
    "from-pstn",
    "from-trunk",
    "from-external",
    "from-did-direct",
    "ext-did",
)
# Contexts phones dial from: outbound when an outside number is dialled, internal otherwise.
DEFAULT_INTERNAL_CONTEXTS: tuple[str, ...] = ("from-internal", "internal", "from-phones")


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    """How the tracker reads a PBX.

    ``cadence_seconds``: one ring cycle of the site's ringback (US 6 s, UK 3 s).
    ``outside_min_digits``: a number dialled from an internal context with at least this many
    digits (or starting with ``+``) is an outside number, so the call is outbound.
    ``stale_after_seconds``: a call with no event for this long is closed as ``incomplete``.
    ``agent_devices``: device -> agent name (``ringwatch.yml`` ``agents:``).
    ``closed_memory_seconds`` / ``closed_memory_calls``: how long (event time) and how many
    closed call ids the tracker remembers, so that a late event of a call already reported is
    absorbed instead of starting the call again (late legs, hang-ups after a restart or a
    resync arrive within seconds); whichever bound is reached first.
    """

    pbx: str = "default"
    cadence_seconds: float = 6.0
    inbound_contexts: tuple[str, ...] = DEFAULT_INBOUND_CONTEXTS
    internal_contexts: tuple[str, ...] = DEFAULT_INTERNAL_CONTEXTS
    outside_min_digits: int = 7
    stale_after_seconds: float = 4 * 3600.0
    voicemail_prefixes: tuple[str, ...] = ("Local/vm", "Local/vmu")
    # a channel in one of these dialplan contexts is leaving a voicemail (FreePBX macro-vm,
    # its newer gosub form sub-vm), as is one Up on a FreePBX voicemail extension (vmu300 ...)
    voicemail_contexts: tuple[str, ...] = ("macro-vm", "sub-vm")
    voicemail_extens: tuple[str, ...] = ("vmu", "vmb", "vms", "vmi")
    agent_devices: tuple[tuple[str, str], ...] = ()
    closed_memory_seconds: float = 3600.0
    closed_memory_calls: int = 20_000

    def agent_for_device(self, device: str) -> str | None:
        for known, name in self.agent_devices:
            if known == device:
                return name
        return None
