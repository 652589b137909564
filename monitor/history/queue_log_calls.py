"""queue_log lines -> call records (one per caller's visit to a queue).

What queue_log knows: the queue join (ENTERQUEUE, whole seconds), the members rung
(RINGNOANSWER/RINGCANCELED), the answer (CONNECT: holdtime = wait), the end (COMPLETE*,
transfers: calltime = talk) or the exit without answer (ABANDON, EXITWITH*, EXITEMPTY,
WITHDRAW). What it cannot know is left unknown, never guessed: the call's arrival before the
queue, rings before the queue, customer holds, the hang-up cause, the dialled number, and the
end of a call transferred on (``ended_at`` None; its talk is the agent's part). The
record says so: ``ring_seconds``/``rings``/``hangup_cause``/``dialed`` are None, ``timing`` is
``approximate`` (whole seconds), and ``extra["unknown"]`` lists the fields whose value in the
record (hold_seconds 0.0, hold_count 0) is only a placeholder for "not known" (the call record
has no null for them); reports leave those calls out of hold figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.history.queue_log import QueueLogLine
from monitor.record import CallRecord, Direction, Outcome, Timing

__all__ = ["UNKNOWN_FIELDS", "QueueLogCalls"]

UNKNOWN_FIELDS: tuple[str, ...] = (
    "ring_seconds",
    "rings",
    "hold_seconds",
    "hold_count",
    "longest_hold_seconds",
    "hangup_cause",
    "dialed",
)
_EXITS = {
    "EXITWITHTIMEOUT": "timeout",
    "EXITWITHKEY": "key",
    "EXITEMPTY": "empty",
    "WITHDRAW": "withdraw",
    "FULL": "full",
    "JOINEMPTY": "joinempty",
    "CLOSED": "closed",
}
_TRANSFERS = frozenset({"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"})
_COMPLETE = {"COMPLETEAGENT": "agent", "COMPLETECALLER": "caller"}


@dataclass
class _Visit:
    callid: str
    queue: str | None
    joined_at: float
    caller: str | None = None
    caller_name: str | None = None
    position: int | None = None
    agent: str | None = None
    answered_at: float | None = None
    wait: float | None = None
    ring_no_answer: int = 0
    tried: list[str] = field(default_factory=list)
    transfers: int = 0
    events: int = 1


class QueueLogCalls:
    """Feed lines in time order; get each call record when its visit ends."""

    def __init__(self, pbx: str = "default", stale_after_seconds: float = 4 * 3600.0) -> None:
        self.pbx = pbx
        self.stale_after = stale_after_seconds
        self.open: dict[str, _Visit] = {}
        self.other_lines = 0  # agent/queue lines (pause, login ...): not part of a call
        self.orphans = 0  # call lines for a visit whose ENTERQUEUE was not seen

    def oldest_open(self) -> float | None:
        return min((v.joined_at for v in self.open.values()), default=None)

    def feed(self, line: QueueLogLine) -> list[CallRecord]:
        out = self._expire(line.at)
        verb, callid = line.verb, line.callid
        if callid is None or verb not in _KNOWN_CALL:
            self.other_lines += 1
            return out
        if verb in ("FULL", "JOINEMPTY", "CLOSED"):  # refused at the door: never joined
            visit = _Visit(callid, line.queue, line.at)
            out.append(self._record(visit, line.at, Outcome.UNANSWERED, exit_=_EXITS[verb]))
            return out
        if verb == "ENTERQUEUE":
            if callid in self.open:  # a second ENTERQUEUE: the first visit never ended
                out.append(self._close_incomplete(self.open.pop(callid)))
            visit = _Visit(callid, line.queue, line.at)
            visit.caller = line.get("callerid")
            visit.caller_name = line.get("callerid_name")
            visit.position = line.num("position")
            self.open[callid] = visit
            return out
        found = self.open.get(callid)
        if found is None:
            self.orphans += 1
            return out
        visit = found
        visit.events += 1
        if verb in ("RINGNOANSWER", "RINGCANCELED"):
            if line.agent:
                visit.tried.append(line.agent)
            if verb == "RINGNOANSWER":
                visit.ring_no_answer += 1
        elif verb == "CONNECT":
            visit.agent = line.agent
            visit.answered_at = line.at
            hold = line.num("holdtime")
            visit.wait = float(hold) if hold is not None else line.at - visit.joined_at
            if line.agent:
                visit.tried.append(line.agent)
        elif verb in _COMPLETE or verb in _TRANSFERS:
            del self.open[callid]
            if verb in _TRANSFERS:
                visit.transfers += 1
            talk = line.num("calltime")
            # after a transfer the call goes on where queue_log cannot see it: its end is
            # not known (the talk, the agent's part, is: calltime)
            out.append(
                self._record(
                    visit,
                    None if verb in _TRANSFERS else line.at,
                    Outcome.ANSWERED,
                    talk=float(talk) if talk is not None else None,
                    ended_by=_COMPLETE.get(verb, "transfer"),
                )
            )
        elif verb == "ABANDON" or verb in _EXITS:
            del self.open[callid]
            wait = line.num("waittime")
            visit.wait = float(wait) if wait is not None else line.at - visit.joined_at
            outcome = Outcome.ABANDONED if verb == "ABANDON" else Outcome.UNANSWERED
            out.append(self._record(visit, line.at, outcome, exit_=_EXITS.get(verb)))
        return out

    def finish(self) -> list[CallRecord]:
        """End of input: visits still open become ``incomplete``."""
        out = [self._close_incomplete(v) for v in self.open.values()]
        self.open.clear()
        return out

    def _expire(self, now: float) -> list[CallRecord]:
        if not self.open:
            return []
        stale = [v for v in self.open.values() if now - v.joined_at > self.stale_after]
        for v in stale:
            del self.open[v.callid]
        return [self._close_incomplete(v) for v in stale]

    def _close_incomplete(self, visit: _Visit) -> CallRecord:
        return self._record(visit, None, Outcome.INCOMPLETE)

    def _record(
        self,
        v: _Visit,
        ended_at: float | None,
        outcome: Outcome,
        *,
        talk: float | None = None,
        exit_: str | None = None,
        ended_by: str | None = None,
    ) -> CallRecord:
        unknown = list(UNKNOWN_FIELDS)
        if ended_at is None and outcome is not Outcome.INCOMPLETE:
            unknown.append("ended_at")
        extra: dict[str, object] = {"source": "queue_log", "unknown": unknown}
        if exit_ is not None:
            extra["queue_exit"] = exit_
        if ended_by is not None:
            extra["ended_by"] = ended_by
        if v.position is not None:
            extra["position"] = v.position
        return CallRecord(
            call_id=v.callid,
            pbx=self.pbx,
            direction=Direction.INBOUND,
            caller=v.caller,
            dialed=None,
            queue=v.queue,
            agent=v.agent,
            started_at=v.joined_at,
            answered_at=v.answered_at,
            ended_at=ended_at,
            outcome=outcome,
            ring_seconds=None,
            rings=None,
            queue_wait_seconds=v.wait,
            talk_seconds=talk,
            hold_seconds=0.0,
            hold_count=0,
            longest_hold_seconds=0.0,
            transfers=v.transfers,
            hangup_cause=None,
            timing=Timing.APPROXIMATE,
            caller_name=v.caller_name,
            queue_joined_at=v.joined_at,
            answered_any_at=v.answered_at,
            agent_ring_no_answer=v.ring_no_answer,
            agents_tried=tuple(dict.fromkeys(v.tried)),
            events=v.events,
            extra=extra,
        )


_KNOWN_CALL = frozenset(
    {"ENTERQUEUE", "CONNECT", "RINGNOANSWER", "RINGCANCELED", "AGENTDUMP", "SYSCOMPAT",
     "ABANDON", "FULL", "JOINEMPTY", "CLOSED"}
    | set(_EXITS) | set(_TRANSFERS) | set(_COMPLETE)
)  # fmt: skip
