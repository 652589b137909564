"""The call timeline as server-side SVG, and where each finding sits in the recording.

Pure: a CallRecord in, SVG text out. Every text is escaped; no inline style or script (the
page's CSP forbids them), colours come from CSS classes in static/app.css. Elements that map
to a moment of the recording carry ``data-seek`` (seconds into the recording) for call.js.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from monitor.record import CallRecord, Finding, Span
from monitor.web.format import clock

__all__ = ["Jump", "jumps", "recording_start", "timeline_svg"]

WIDTH = 960
LEFT = 150
RIGHT = 20
LANE_H = 26
TOP = 28


@dataclass(frozen=True, slots=True)
class Jump:
    """A "jump to" target: a label, the moment in call time (seconds from the call's first
    channel) and in recording time (``seek``: seconds from the recording's first sample;
    None when the moment is not in the recording). ``what`` is the moment alone ("limit
    passed", "silence") for a button in the finding's own row."""

    label: str
    call_offset: float
    seek: float | None
    what: str = ""


def recording_start(rec: CallRecord, mode: str = "answer") -> float | None:
    """Epoch time of the recording's first sample: the audio facts say; without them (not
    analysed, or the analysis failed) ``mode`` does, as ``audio.recording_start`` configures
    MixMonitor: "answer" (started by Queue()/Dial(), the default) or "start" (the call's
    first channel)."""
    if rec.audio is not None and rec.audio.recording_started_at is not None:
        return rec.audio.recording_started_at
    if mode == "start":
        return rec.started_at
    return rec.answered_at


def _seek(rec: CallRecord, at: float, mode: str = "answer") -> float | None:
    start = recording_start(rec, mode)
    if start is None or rec.recording is None:
        return None
    off = at - start
    if off < 0:
        return None
    if rec.audio is not None and off > rec.audio.duration_seconds:
        return None
    return round(off, 2)


def _finding_times(f: Finding, rec: CallRecord) -> list[tuple[str, str, float]]:
    out: list[tuple[str, str, float]] = []
    if f.at is not None:
        out.append((f.rule, "limit passed", f.at))
    for label, offset in f.evidence:
        out.append((f"{f.rule}: {label}", label.replace("_", " "), rec.started_at + offset))
    return out


def jumps(rec: CallRecord, mode: str = "answer") -> list[tuple[Finding, list[Jump]]]:
    """For each finding, its moments as offsets into the call and the recording (evidence
    offsets are call time; the recording starts at ``recording_start``, often the answer)."""
    return [
        (
            f,
            [
                Jump(label, at - rec.started_at, _seek(rec, at, mode), what)
                for label, what, at in _finding_times(f, rec)
            ],
        )
        for f in rec.findings
    ]


class _Canvas:
    def __init__(self, t0: float, t1: float) -> None:
        self.t0 = t0
        self.span = max(t1 - t0, 1.0)
        self.parts: list[str] = []

    def x(self, t: float) -> float:
        frac = min(max((t - self.t0) / self.span, 0.0), 1.0)
        return round(LEFT + frac * (WIDTH - LEFT - RIGHT), 1)

    def lane(self, i: int) -> float:
        return TOP + i * LANE_H

    def label(self, i: int, text: str) -> None:
        y = self.lane(i) + LANE_H / 2 + 4
        self.parts.append(f'<text class="tl-lane" x="8" y="{y}">{escape(text)}</text>')

    def bar(
        self,
        i: int,
        a: float,
        b: float,
        cls: str,
        title: str,
        seek: float | None = None,
    ) -> None:
        x1, x2 = self.x(a), self.x(b)
        w = max(x2 - x1, 2.0)
        y = self.lane(i) + 5
        attr = f' data-seek="{seek}"' if seek is not None else ""
        self.parts.append(
            f'<rect class="{cls}" x="{x1}" y="{y}" width="{w:.1f}" height="{LANE_H - 10}"{attr}>'
            f"<title>{escape(title)}</title></rect>"
        )

    def tick(self, i: int, t: float, cls: str, title: str) -> None:
        x = self.x(t)
        y = self.lane(i)
        self.parts.append(
            f'<line class="{cls}" x1="{x}" y1="{y + 4}" x2="{x}" y2="{y + LANE_H - 4}">'
            f"<title>{escape(title)}</title></line>"
        )


def _clock(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def _axis(c: _Canvas, lanes: int) -> None:
    step = next((s for s in (5, 10, 15, 30, 60, 120, 300, 600, 1800) if c.span / s <= 12), 3600)
    y = c.lane(lanes) + 14
    t = 0.0
    while t <= c.span + 0.001:
        x = c.x(c.t0 + t)
        c.parts.append(f'<line class="tl-grid" x1="{x}" y1="{TOP}" x2="{x}" y2="{y - 10}"/>')
        c.parts.append(f'<text class="tl-axis" x="{x}" y="{y}">{_clock(t)}</text>')
        t += step


def _speech(rec: CallRecord) -> list[tuple[str, tuple[Span, ...]]]:
    if rec.audio is None:
        return []
    return list(rec.audio.speech)


def timeline_svg(rec: CallRecord, mode: str = "answer") -> str:
    """The SVG of one call: lanes for the call's phases, holds, speech and findings
    (``mode``: where a recording without audio facts starts, see ``recording_start``)."""
    end = rec.ended_at or max(
        [rec.started_at + 1] + [f.at for f in rec.findings if f.at is not None]
    )
    c = _Canvas(rec.started_at, end)
    rstart = recording_start(rec, mode)
    lane = 0
    c.label(lane, "Call")
    answer = rec.answered_at
    ring_from = rec.first_ring_at or rec.started_at
    c.tick(lane, rec.started_at, "tl-arrival", "arrival")
    if rec.queue_joined_at is not None:
        q_end = answer or end
        c.bar(
            lane,
            rec.queue_joined_at,
            q_end,
            "tl-queue",
            f"queue wait {_clock(q_end - rec.queue_joined_at)} in {rec.queue or '-'}",
        )
    if answer is not None:
        talk = f"talk {_clock(end - answer)}"
        c.bar(lane, answer, end, "tl-talk", talk, _seek(rec, answer, mode))
    c.tick(lane, end, "tl-end", f"end ({rec.outcome})")
    lane += 1
    c.label(lane, "Ringing")
    ring_end = answer or end
    c.bar(lane, ring_from, ring_end, "tl-ring", f"ringing {_clock(ring_end - ring_from)}")
    if rec.rings and rec.ring_seconds:
        period = rec.ring_seconds / rec.rings
        for n in range(rec.rings):
            c.tick(lane, rec.started_at + n * period, "tl-ringtick", f"ring {n + 1}")
    lane += 1
    c.label(lane, "Hold / transfer")
    for h in rec.holds:
        h_end = h.end if h.end is not None else end
        held = f"hold {_clock(h_end - h.start)}"
        c.bar(lane, h.start, h_end, "tl-hold", held, _seek(rec, h.start, mode))
    for n, at in enumerate(rec.extra.get("transfer_at", []) or []):
        if isinstance(at, int | float):
            c.tick(lane, float(at), "tl-transfer", f"transfer {n + 1}")
    for party, spans in _speech(rec):
        lane += 1
        c.label(lane, f"{party.capitalize()} speech")
        base = rstart if rstart is not None else rec.started_at
        for s in spans:
            s_end = s.end if s.end is not None else s.start
            c.bar(
                lane,
                base + s.start,
                base + s_end,
                f"tl-speech tl-{escape(party)}",
                f"{party} speaking",
                round(s.start, 2) if rec.recording else None,
            )
    if rec.audio is not None and (rec.audio.dead_air or rec.audio.overtalk):
        lane += 1
        c.label(lane, "Dead air / overtalk")
        base = rstart if rstart is not None else rec.started_at
        for s in rec.audio.dead_air:
            c.bar(
                lane,
                base + s.start,
                base + (s.end or s.start),
                "tl-deadair",
                f"dead air {s.seconds():.1f}s",
                round(s.start, 2) if rec.recording else None,
            )
        for s in rec.audio.overtalk:
            c.bar(
                lane,
                base + s.start,
                base + (s.end or s.start),
                "tl-overtalk",
                f"overtalk {s.seconds():.1f}s",
                round(s.start, 2) if rec.recording else None,
            )
    lane += 1
    c.label(lane, "Findings")
    for f, moments in jumps(rec, mode):
        for j in moments:
            x = c.x(rec.started_at + j.call_offset)
            y = c.lane(lane) + LANE_H / 2
            attr = f' data-seek="{j.seek}"' if j.seek is not None else ""
            where = f"{clock(j.call_offset)} into the call"
            if j.seek is not None:
                where += f", {clock(j.seek)} in the recording"
            c.parts.append(
                f'<circle class="tl-finding tl-{escape(str(f.severity))}" cx="{x}" cy="{y}" '
                f'r="6"{attr}><title>{escape(j.label)} at {where}</title></circle>'
            )
            c.parts.append(f'<line class="tl-findline" x1="{x}" y1="{TOP}" x2="{x}" y2="{y - 6}"/>')
    lanes = lane + 1
    _axis(c, lanes)
    height = c.lane(lanes) + 24
    body = "".join(c.parts)
    return (
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-label="Call timeline">{body}</svg>'
    )
