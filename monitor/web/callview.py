"""What the call page shows, in words: findings with their units and "jump to" moments, and
the call record as labelled, rounded rows (``monitor/web/format.py`` does the formatting).

Pure: a CallRecord (and the loaded rules' units) in, frozen rows out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from monitor.record import CallRecord, Finding
from monitor.rules.model import RuleSet
from monitor.web import format as fmt
from monitor.web.timeline import Jump, jumps, recording_start

__all__ = [
    "FieldRow",
    "FindingView",
    "finding_views",
    "record_rows",
    "recording_start_note",
    "rule_units",
]


@dataclass(frozen=True, slots=True)
class FindingView:
    """One row of "Why this call was flagged": measured and limit as text with the unit."""

    finding: Finding
    unit: str
    measured: str
    limit: str
    moments: tuple[Jump, ...]

    @property
    def unit_note(self) -> str:
        """A title for the values: what they are in, or why there is no unit."""
        if self.unit:
            return ""
        return f"unit not known: rule {self.finding.rule} is not among the loaded rules"


@dataclass(frozen=True, slots=True)
class FieldRow:
    """A line of the call record: ``key`` is the contract field (``data-field``), ``title``
    keeps the raw value where the text is a translation (a hang-up cause's code)."""

    key: str
    label: str
    text: str
    title: str = ""


def rule_units(rules: RuleSet | None) -> dict[str, str]:
    """Rule id -> the unit of its findings' values (``fmt.unit_for``)."""
    if rules is None:
        return {}
    return {r.id: fmt.unit_for(r.check, r.params) for r in rules.rules}


def finding_views(
    rec: CallRecord, units: dict[str, str], mode: str = "answer"
) -> list[FindingView]:
    out: list[FindingView] = []
    for f, moments in jumps(rec, mode):
        unit = units.get(f.rule, "")
        out.append(
            FindingView(
                finding=f,
                unit=unit,
                measured=fmt.measure(f.value, unit),
                limit=fmt.measure(f.threshold, unit),
                moments=tuple(moments),
            )
        )
    return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


def _moment(rec: CallRecord, ts: float | None, zone: ZoneInfo) -> tuple[str, str]:
    if ts is None:
        return fmt.DASH, ""
    text = f"{fmt.zoned(ts, zone, with_date=False)} (+{fmt.clock(ts - rec.started_at)})"
    return text, _iso(ts)


def _holds(rec: CallRecord) -> str:
    if not rec.holds:
        return "none"
    parts = []
    for h in rec.holds:
        end = fmt.clock(h.end - rec.started_at) if h.end is not None else "still on hold"
        parts.append(f"{fmt.clock(h.start - rec.started_at)}–{end} ({fmt.seconds(h.seconds())})")
    return "; ".join(parts) + " (call time)"


def _hold_summary(rec: CallRecord) -> str:
    if rec.hold_count == 0:
        return "none"
    noun = "hold" if rec.hold_count == 1 else "holds"
    return (
        f"{rec.hold_count} {noun}, {fmt.seconds(rec.hold_seconds)} in all, "
        f"longest {fmt.seconds(rec.longest_hold_seconds)}"
    )


def _none_or(n: int) -> str:
    return "none" if n == 0 else str(n)


def record_rows(rec: CallRecord, zone: ZoneInfo) -> list[FieldRow]:
    """The call record as the page's "Call record" table."""
    caller = rec.caller or "withheld"
    if rec.caller_name:
        caller = f"{rec.caller_name} ({caller})"
    rows = [
        FieldRow("call_id", "Call id", rec.call_id),
        FieldRow("pbx", "PBX", rec.pbx),
        FieldRow("direction", "Direction", fmt.label(str(rec.direction))),
        FieldRow("caller", "Caller", caller),
        FieldRow("dialed", "Dialled", rec.dialed or fmt.DASH),
        FieldRow("queue", "Queue", rec.queue or fmt.DASH),
        FieldRow("agent", "Agent", rec.agent or fmt.DASH),
        FieldRow("agents_tried", "Agents rung", ", ".join(rec.agents_tried) or fmt.DASH),
        FieldRow("started_at", "Arrived", fmt.zoned(rec.started_at, zone), _iso(rec.started_at)),
    ]
    for key, name, ts in (
        ("first_ring_at", "First ring", rec.first_ring_at),
        ("queue_joined_at", "Joined the queue", rec.queue_joined_at),
        ("answered_at", "Answered by a person", rec.answered_at),
        ("answered_any_at", "Answered (IVR or voicemail included)", rec.answered_any_at),
        ("voicemail_at", "Reached voicemail", rec.voicemail_at),
        ("ended_at", "Ended", rec.ended_at),
    ):
        if ts is not None or key in ("answered_at", "ended_at"):
            text, title = _moment(rec, ts, zone)
            rows.append(FieldRow(key, name, text, title))
    cause = rec.hangup_cause
    rows += [
        FieldRow("outcome", "Outcome", fmt.label(str(rec.outcome))),
        FieldRow("ring_seconds", "Ringing (arrival to answer)", fmt.seconds(rec.ring_seconds)),
        FieldRow("rings", "Rings", fmt.rings(rec.rings)),
        FieldRow("queue_wait_seconds", "Queue wait", fmt.seconds(rec.queue_wait_seconds)),
        FieldRow("talk_seconds", "Talk (holds included)", fmt.seconds(rec.talk_seconds)),
        FieldRow("hold_count", "Holds", _hold_summary(rec)),
        FieldRow("holds", "Hold spans", _holds(rec)),
        FieldRow("transfers", "Transfers", _none_or(rec.transfers)),
        FieldRow("agent_ring_no_answer", "Rang out (RONA)", _none_or(rec.agent_ring_no_answer)),
        FieldRow(
            "hangup_cause",
            "Hang-up cause",
            fmt.hangup_cause(cause),
            "" if cause is None else f"Q.850 cause {cause}",
        ),
        FieldRow("timing", "Timing", fmt.label(str(rec.timing))),
        FieldRow("recording", "Recording", rec.recording or "not recorded"),
        FieldRow("legs", "Channels", str(rec.legs)),
    ]
    a = rec.audio
    if a is not None:
        talk = " · ".join(f"{party} {fmt.percent(share)}" for party, share in a.talk_ratio)
        rows += [
            FieldRow("audio.duration_seconds", "Recording length", fmt.seconds(a.duration_seconds)),
            FieldRow(
                "audio.greeting_latency_seconds",
                "Greeting latency",
                fmt.seconds(a.greeting_latency_seconds)
                if a.greeting_latency_seconds is not None
                else "the agent did not speak",
            ),
            FieldRow(
                "audio.longest_dead_air_seconds",
                "Longest dead air",
                fmt.seconds(a.longest_dead_air_seconds),
            ),
            FieldRow("audio.overtalk_ratio", "Overtalk", fmt.percent(a.overtalk_ratio)),
            FieldRow("audio.talk_ratio", "Talk share", talk or fmt.DASH),
        ]
        if a.rings_heard is not None:
            rows.append(FieldRow("audio.rings_heard", "Rings heard", fmt.rings(a.rings_heard)))
    return rows


def recording_start_note(rec: CallRecord, zone: ZoneInfo, mode: str = "answer") -> str:
    """Where the recording's second 0 is in the call: "the answer, 0:10 into the call"."""
    start = recording_start(rec, mode)
    if start is None:
        return "an unknown moment"
    what = (
        "the answer"
        if start == rec.answered_at
        else "the call's arrival"
        if start == rec.started_at
        else "its first sample"
    )
    return (
        f"{what}, {fmt.clock(start - rec.started_at)} into the call "
        f"({fmt.zoned(start, zone, with_date=False)})"
    )
