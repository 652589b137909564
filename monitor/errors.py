"""The one exception tree of ringwatch.

Core code raises these; the service edge (CLI, service loop, web handlers) catches and
reports them. Every message names the bad value and says what to do about it.

    RingwatchError
    ├── ConfigError            ringwatch.yml is missing, unreadable or invalid
    ├── InputError             a file given on the command line cannot be used
    │   └── TranscriptError    a transcript has no AMI in it, or cannot be read
    ├── RulesError             rules/*.yml failed validation (carries every problem)
    ├── AmiError               talking to a PBX failed
    │   ├── AmiConnectionError the TCP/TLS link failed or dropped
    │   └── AmiAuthError       the PBX refused the login
    ├── AudioError             a recording or sound device cannot be analysed
    ├── StoreError             the database refused a read or write
    │   └── NotFoundError      the call, flag or promise asked for does not exist
    └── PromiseError           a callback promise request is invalid
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AmiAuthError",
    "AmiConnectionError",
    "AmiError",
    "AudioError",
    "ConfigError",
    "InputError",
    "NotFoundError",
    "PromiseError",
    "RingwatchError",
    "RulesError",
    "StoreError",
    "TranscriptError",
]


class RingwatchError(Exception):
    """Base of every error ringwatch raises on purpose."""


class ConfigError(RingwatchError):
    """The configuration is invalid; ``problems`` lists each one with its key path."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        text = (
            message
            if not self.problems
            else message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        )
        super().__init__(text)


class InputError(RingwatchError):
    """A file or argument given by the user cannot be used."""


class TranscriptError(InputError):
    """A recorded AMI transcript is missing, unreadable or holds no AMI."""


class RulesError(RingwatchError):
    """Rule files failed validation; ``problems`` holds every ``file:line:col: ...`` line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("\n".join(self.problems) or "invalid rules")


class AmiError(RingwatchError):
    """Talking to a PBX over AMI failed."""


class AmiConnectionError(AmiError):
    """The AMI link could not be made or dropped."""


class AmiAuthError(AmiError):
    """The PBX refused the AMI login (wrong user or secret, or ACL)."""


class AudioError(RingwatchError):
    """A recording or sound device cannot be analysed."""


class StoreError(RingwatchError):
    """The store refused a read or write."""


class NotFoundError(StoreError):
    """The call, flag or promise asked for does not exist (the web answers 404)."""


class PromiseError(RingwatchError):
    """A callback promise request is invalid."""
