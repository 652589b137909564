"""A report request from text parameters (CLI options, web query string), with defaults."""

from __future__ import annotations

import time
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from monitor.errors import InputError
from monitor.reports.periods import interval_start, parse_when
from monitor.reports.query import ReportRequest

__all__ = ["parse_sites", "request_from"]


def parse_sites(text: str | None) -> dict[str, str]:
    """``main=London,pbx2=Leeds`` -> {pbx: site}."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        pbx, sep, site = part.partition("=")
        if not sep or not pbx.strip() or not site.strip():
            raise InputError(f"site map {part!r}: give PBX=SITE pairs, e.g. main=London")
        out[pbx.strip()] = site.strip()
    return out


def request_from(
    params: Mapping[str, str | None], timezone: str, now: float | None = None
) -> ReportRequest:
    """Keys: from, to (dates/times; default the last 7 whole days), interval, breakdown,
    queue, agent, pbx, direction (inbound, outbound, internal, all), sl (threshold s),
    short (short-abandon s), sites (PBX=SITE,...)."""
    zone = ZoneInfo(timezone)
    today = interval_start(time.time() if now is None else now, "day", zone)[0]
    raw_to, raw_from = params.get("to"), params.get("from")
    end = parse_when(raw_to, zone) if raw_to else today
    start = parse_when(raw_from, zone) if raw_from else end - 7 * 86400
    direction = (params.get("direction") or "inbound").strip()
    if direction == "all":
        directions: tuple[str, ...] = ("inbound", "outbound", "internal")
    else:
        directions = tuple(d.strip() for d in direction.split(",") if d.strip())
        bad = [d for d in directions if d not in ("inbound", "outbound", "internal")]
        if bad or not directions:
            raise InputError(f"direction {direction!r}: use inbound, outbound, internal or all")
    try:
        sl = int(params.get("sl") or 20)
        short = float(params.get("short") or 5)
    except ValueError as exc:
        raise InputError(f"sl and short must be numbers of seconds: {exc}") from None
    req = ReportRequest(
        start=start,
        end=end,
        interval=params.get("interval") or "day",
        breakdown=params.get("breakdown") or "none",
        timezone=timezone,
        directions=directions,
        queue=params.get("queue") or None,
        agent=params.get("agent") or None,
        pbx=params.get("pbx") or None,
        sl_threshold=sl,
        short_abandon_seconds=short,
        sites=parse_sites(params.get("sites")),
    )
    req.check()
    return req
