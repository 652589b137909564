"""The time unit a report groups its rollup rows by in SQL: the 15-minute bucket, or the
site's local hour or day when the report needs no finer grain.

Grouping by local day reads a month of rollups as ~31 rows per key instead of ~3,000. The
local time of a bucket is its UTC time plus the zone's offset, which changes only at the
zone's transitions: the offset is a ``CASE`` over the transitions inside the report's range,
so the same SQL runs on SQLite and PostgreSQL. A range that does not start on a local
hour/day boundary is grouped by bucket (exact whatever the range).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, cast, func, literal

__all__ = ["Units"]

_LOCAL_EPOCH = datetime(1970, 1, 1)


def _offset(ts: float, zone: ZoneInfo) -> int:
    off = datetime.fromtimestamp(ts, tz=UTC).astimezone(zone).utcoffset()
    return 0 if off is None else int(off.total_seconds())


def offsets(zone: ZoneInfo, lo: float, hi: float) -> list[tuple[float, int]]:
    """(from epoch, offset seconds) for every offset in force in [lo, hi), on 15-minute
    boundaries (transitions fall on them)."""
    t = lo - lo % 3600
    out = [(lo, _offset(lo, zone))]
    while t < hi:
        nxt = t + 3600
        if _offset(nxt, zone) != out[-1][1]:
            step = t
            while _offset(step, zone) == out[-1][1]:
                step += 900
            out.append((step, _offset(step, zone)))
        t = nxt
    return out


class Units:
    """Unit arithmetic for one report request (see the module doc)."""

    def __init__(self, req: Any, lo: float, dialect: str) -> None:
        self.zone = ZoneInfo(req.timezone)
        self.dialect = dialect
        if req.interval == "15m":
            size = 900
        elif req.interval == "hour" or req.breakdown == "hour":
            size = 3600
        else:
            size = 86400
        if size > 900 and (req.start + _offset(req.start, self.zone)) % size != 0:
            size = 900  # the range starts inside a unit: group exactly, by bucket
        self.size = size
        self.offsets = offsets(self.zone, lo, req.end) if size > 900 else [(lo, 0)]
        self._starts: dict[float, float] = {}

    def expr(self, column: Any) -> Any:
        """SQL: the unit number of a bucket (the bucket itself for 15-minute units)."""
        if self.size == 900:
            return column
        offs = self.offsets
        if len(offs) == 1:
            off: Any = literal(offs[0][1])
        else:
            off = case(
                *[(column < offs[i + 1][0], offs[i][1]) for i in range(len(offs) - 1)],
                else_=offs[-1][1],
            )
        local = (column + off) / self.size
        if self.dialect == "postgresql":
            return func.floor(local)
        return cast(local, Integer)

    def start_of(self, unit: Any) -> float:
        """The epoch at which a unit starts (a bucket is its own start)."""
        if self.size == 900:
            return float(unit)
        key = float(unit)
        hit = self._starts.get(key)
        if hit is None:
            naive = _LOCAL_EPOCH + timedelta(seconds=key * self.size)
            hit = naive.replace(tzinfo=self.zone).timestamp()
            self._starts[key] = hit
        return hit
