"""QueueStatus list items (QueueParams, QueueMember, QueueEntry) in app_queue's field
order; ``ActionID`` is the last field of each (EVENTS.md §1)."""

from __future__ import annotations

from monitor.simulator.engine import ContactCentre

__all__ = ["queue_status_items"]

Pairs = list[tuple[str, str]]


def _num(value: str) -> str:
    return value if value and value != "<unknown>" else "unknown"


def queue_status_items(pbx: ContactCentre, queue: str, member: str, action_id: str) -> list[Pairs]:
    """Every item for ``QueueStatus`` (filtered by queue name and member name if given)."""
    aid: Pairs = [("ActionID", action_id)] if action_id else []
    out: list[Pairs] = []
    for q in pbx.queue_state():
        cfg = q.cfg
        if queue and cfg.name != queue:
            continue
        answered = q.completed
        hold = int(q.hold_total / answered) if answered else 0
        talk = int(q.talk_total / answered) if answered else 0
        out.append(
            [
                ("Event", "QueueParams"),
                ("Queue", cfg.name),
                ("Max", "0"),
                ("Strategy", cfg.strategy),
                ("Calls", str(len(q.waiting))),
                ("Holdtime", str(hold)),
                ("TalkTime", str(talk)),
                ("Completed", str(q.completed)),
                ("Abandoned", str(q.abandoned)),
                ("ServiceLevel", "60"),
                ("ServicelevelPerf", "0.0"),
                ("ServicelevelPerf2", "0.0"),
                ("Weight", "0"),
                *aid,
            ]
        )
        for ext in cfg.agents:
            agent = pbx.agents.get(ext)
            if agent is None or (member and member not in (agent.cfg.name, f"PJSIP/{ext}")):
                continue
            status = "6" if agent.ringing else "2" if agent.in_call else "1"
            out.append(
                [
                    ("Event", "QueueMember"),
                    ("Queue", cfg.name),
                    ("Name", agent.cfg.name),
                    ("Location", f"PJSIP/{ext}"),
                    ("StateInterface", f"PJSIP/{ext}"),
                    ("Membership", "static"),
                    ("Penalty", "0"),
                    ("CallsTaken", str(agent.calls_taken)),
                    ("LastCall", str(int(agent.last_call))),
                    ("LastPause", "0"),
                    ("LoginTime", str(int(agent.login_time))),
                    ("InCall", "1" if agent.in_call else "0"),
                    ("Status", status),
                    ("Paused", "0"),
                    ("PausedReason", ""),
                    ("Wrapuptime", "0"),
                    *aid,
                ]
            )
        if member:
            continue
        for pos, waiter in enumerate(q.waiting, start=1):
            c = waiter.chan
            out.append(
                [
                    ("Event", "QueueEntry"),
                    ("Queue", cfg.name),
                    ("Position", str(pos)),
                    ("Channel", c.name),
                    ("Uniqueid", c.uniqueid),
                    ("CallerIDNum", _num(c.cid_num)),
                    ("CallerIDName", _num(c.cid_name)),
                    ("ConnectedLineNum", _num(c.conn_num)),
                    ("ConnectedLineName", _num(c.conn_name)),
                    ("Wait", str(int(pbx.now - waiter.joined))),
                    ("Priority", "0"),
                    *aid,
                ]
            )
    return out
