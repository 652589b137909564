"""Asterisk ``queue_log``: a pure parser (text in, typed lines out) for every app_queue verb.

Formats (reference/queue_log/FORMAT.md), all detected per line or by header:

* the file backend, Asterisk 1.4-22: ``epoch|callid|queue|agent|EVENT|data...``;
* a realtime/SQL table exported with a header row ``time|callid|queuename|agent|event|
  data1|...|data5`` (or a single ``data`` column holding ``|``-joined values), ``|`` or ``,``
  separated (CSV quoting allowed), ``time`` as ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in the zone
  given (``queue_log_realtime_use_gmt``: UTC, else the PBX's local zone).

Verb fields (seconds unless ``_ms``) are named by :data:`VERBS`; older versions write fewer
fields (ENTERQUEUE without position before 1.8, CONNECT without ringtime in 1.4), so a missing
field is None, never a guess. Unknown verbs (``QueueLog()`` custom events) keep their raw data.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.errors import InputError

__all__ = [
    "CALL_VERBS",
    "VERBS",
    "QueueLogLine",
    "QueueLogParser",
    "parse_line",
]

VERBS: dict[str, tuple[str, ...]] = {
    "ENTERQUEUE": ("url", "callerid", "position", "callerid_name"),
    "CONNECT": ("holdtime", "member_uniqueid", "ringtime"),
    "COMPLETEAGENT": ("holdtime", "calltime", "origposition"),
    "COMPLETECALLER": ("holdtime", "calltime", "origposition"),
    "ABANDON": ("position", "origposition", "waittime"),
    "EXITWITHTIMEOUT": ("position", "origposition", "waittime"),
    "EXITWITHKEY": ("key", "position", "origposition", "waittime"),
    "EXITEMPTY": ("position", "origposition", "waittime"),
    "WITHDRAW": ("position", "origposition", "waittime", "withdraw_info"),
    "RINGNOANSWER": ("ringtime_ms",),
    "RINGCANCELED": ("ringtime_ms",),
    "TRANSFER": ("exten", "context", "holdtime", "calltime", "origposition"),
    "BLINDTRANSFER": ("exten", "context", "holdtime", "calltime", "origposition"),
    "ATTENDEDTRANSFER": ("method", "method_data", "holdtime", "calltime", "origposition"),
    "AGENTDUMP": (),
    "SYSCOMPAT": (),
    "PAUSE": ("reason",),
    "UNPAUSE": ("reason",),
    "PAUSEALL": ("reason",),
    "UNPAUSEALL": ("reason",),
    "ADDMEMBER": ("paused",),
    "REMOVEMEMBER": (),
    "PENALTY": ("penalty",),
    "RINGINUSE": ("ringinuse",),
    "AGENTLOGIN": ("channel",),
    "AGENTLOGOFF": ("channel", "logintime"),
    "AGENTCALLBACKLOGIN": ("channel",),
    "AGENTCALLBACKLOGOFF": ("channel", "logintime", "reason"),
    "QUEUESTART": (),
    "CONFIGRELOAD": (),
    # XiVO/Wazo-patched Asterisk only (not stock app_queue): a caller refused at the door
    "FULL": (),
    "JOINEMPTY": (),
    "CLOSED": (),
}
"""Every verb app_queue writes (and the XiVO ones seen in the wild), with its data fields."""

CALL_VERBS = frozenset(
    {
        "ENTERQUEUE", "CONNECT", "COMPLETEAGENT", "COMPLETECALLER", "ABANDON",
        "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY", "WITHDRAW", "RINGNOANSWER",
        "RINGCANCELED", "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER", "AGENTDUMP",
        "SYSCOMPAT", "FULL", "JOINEMPTY", "CLOSED",
    }
)  # fmt: skip
_INT_FIELDS = frozenset(
    {"position", "origposition", "holdtime", "calltime", "waittime", "ringtime",
     "ringtime_ms", "logintime", "penalty", "ringinuse"}
)  # fmt: skip
_NONE = frozenset({"", "NONE"})
_EPOCH = re.compile(r"^\d{9,11}(?:\.\d+)?$")
_DB_TIME = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?$")
_HEADER = ("time", "callid", "queuename", "agent", "event")


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    """One queue_log event. ``at`` is epoch seconds UTC; ``callid`` None for NONE (and
    MANAGER/CLI/REALTIME member changes keep their word); ``fields`` maps the verb's field
    names to values (int where the field is a count or duration, None where absent)."""

    at: float
    callid: str | None
    queue: str | None
    agent: str | None
    verb: str
    data: tuple[str, ...]
    line: int = 0

    def get(self, name: str) -> str | None:
        names = VERBS.get(self.verb, ())
        if name not in names:
            return None
        i = names.index(name)
        if i >= len(self.data) or self.data[i] == "":
            return None
        return self.data[i]

    def num(self, name: str) -> int | None:
        raw = self.get(name)
        if raw is None:
            return None
        try:
            return int(float(raw))
        except ValueError:
            return None

    @property
    def fields(self) -> dict[str, str | int | None]:
        out: dict[str, str | int | None] = {}
        for name in VERBS.get(self.verb, ()):
            out[name] = self.num(name) if name in _INT_FIELDS else self.get(name)
        return out


def _opt(value: str) -> str | None:
    value = value.strip()
    return None if value in _NONE else value


def parse_line(text: str, lineno: int = 0) -> QueueLogLine | None:
    """A file-backend line -> QueueLogLine; None for a blank line. Raises InputError when the
    line is not queue_log (the caller names the file)."""
    text = text.rstrip("\r\n")
    if not text.strip():
        return None
    parts = text.split("|")
    if len(parts) < 5 or not _EPOCH.match(parts[0].strip()):
        raise InputError(
            f"line {lineno}: not a queue_log line (expected epoch|callid|queue|agent|EVENT|...): "
            f"{text[:80]!r}"
        )
    data = parts[5:]
    if data and data[-1] == "" and len(data) > len(VERBS.get(parts[4], ())):
        data = data[:-1]  # events without parameters end in a bare '|'
    return QueueLogLine(
        at=float(parts[0]),
        callid=_opt(parts[1]),
        queue=_opt(parts[2]),
        agent=_opt(parts[3]),
        verb=parts[4].strip(),
        data=tuple(data),
        line=lineno,
    )


class QueueLogParser:
    """Lines of one file in any of the formats, given text lines as they are read.

    ``timezone`` is the zone of SQL-export ``time`` values (UTC when the PBX sets
    ``queue_log_realtime_use_gmt``); epoch lines need none.
    """

    def __init__(self, name: str, timezone: str = "UTC") -> None:
        self.name = name
        self.zone = ZoneInfo(timezone)
        self.lineno = 0
        self.bad_lines = 0
        self._columns: list[str] | None = None
        self._sep = "|"

    def feed(self, lines: Sequence[str]) -> Iterator[QueueLogLine]:
        for text in lines:
            self.lineno += 1
            stripped = text.strip()
            if not stripped:
                continue
            if self.lineno == 1 or (self._columns is None and not stripped[:1].isdigit()):
                header = self._header(stripped)
                if header:
                    continue
            try:
                line = (
                    self._row(stripped)
                    if self._columns is not None
                    else parse_line(stripped, self.lineno)
                )
            except InputError as exc:
                self.bad_lines += 1
                if self.bad_lines > 100 and self.bad_lines * 2 > self.lineno:
                    raise InputError(
                        f"{self.name}: {exc}; over half the lines are not queue_log: give "
                        "an Asterisk queue_log file or its SQL-table export"
                    ) from None
                continue
            if line is not None:
                yield line

    def _header(self, text: str) -> bool:
        sep = "|" if "|" in text else ","
        cols = [c.strip().strip('"').lower() for c in text.split(sep)]
        if tuple(cols[:5]) == _HEADER:
            self._columns, self._sep = cols, sep
            return True
        return False

    def _row(self, text: str) -> QueueLogLine | None:
        assert self._columns is not None
        values = next(csv.reader([text], delimiter=self._sep))
        row = dict(zip(self._columns, values, strict=False))
        stamp = (row.get("time") or "").strip()
        if _EPOCH.match(stamp):
            at = float(stamp)
        elif _DB_TIME.match(stamp):
            local = datetime.fromisoformat(stamp.replace(" ", "T"))
            at = local.replace(tzinfo=self.zone).timestamp()
        else:
            raise InputError(f"line {self.lineno}: time {stamp!r} is not a timestamp")
        if "data" in row and "data1" not in row:
            data = tuple((row.get("data") or "").split("|"))
        else:
            data = tuple(row.get(f"data{i}", "") or "" for i in range(1, 6))
        verb = (row.get("event") or "").strip()
        names = VERBS.get(verb, ())
        while data and data[-1] == "" and len(data) > len(names):
            data = data[:-1]
        return QueueLogLine(
            at=float(at),
            callid=_opt(row.get("callid", "")),
            queue=_opt(row.get("queuename", "")),
            agent=_opt(row.get("agent", "")),
            verb=verb,
            data=data,
            line=self.lineno,
        )
