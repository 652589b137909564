"""The queue exits and member changes app_queue logs, for issue 18's comparison of queue_log
with AMI (tests/lab/test_lab_history.py): ``Queue()``'s timeout, an exit by key, an empty
queue, a member added paused / unpaused / paused with a reason / removed, a blind transfer
of a queue call; and the wallboard's call (phase 2, tests/lab/test_lab_wallboard.py). Part of
``SCENARIOS`` (tests/lab/scenarios.py)."""

from __future__ import annotations

from collectors.ami.parser import AmiMessage
from tests.lab.dialplan import _agent, _caller_queue, _orig, _queue, _sip
from tests.lab.lab import Lab, Scenario

__all__ = ["QUEUE_SCENARIOS"]

QUEUE_SCENARIOS: list[Scenario] = []

QUEUE_SCENARIOS.append(
    Scenario(
        "queue_exit_timeout",
        "4155550123",
        _orig("q-to", 30),
        # Queue()'s own timeout (5 s) ends the wait while the member still rings: EXITWITHTIMEOUT
        extensions="""
[callers]
exten => q-to,1,Answer()
 same => n,Queue(q-to,,,,5)
 same => n,Hangup()
""",
        queues=_queue("q-to", "ringall", [("Local/nobody@agents/n", "Nobody")], timeout=20),
        # the member rang until the timeout: AgentRingNoAnswer, the RONA standard. app_queue
        # counts the timeout from the whole second of the join (qe->expire = qe->start + 5,
        # start = time(NULL)): the wait is over 4 s and at most 5 s, so the script says 4.5
        # (± the script tolerance). A run joined at x.998 s waited 4.002 s.
        expect={"outcome": "unanswered", "wait": 4.5, "rna": 1, "findings": {"no-ring-no-answer"}},
    )
)

# the caller's phone presses 5 three seconds after the call starts (DTMF through the Local
# channel reaches the caller's half, which is in the queue)
KEY_PHONE = """
[lab-keyphone]
exten => _9.,1,Answer()
 same => n,Wait(3)
 same => n,SendDTMF(5)
 same => n,Wait(${EXTEN:1})
 same => n,Hangup()
"""


def _key_drive(lab: Lab, sc: Scenario) -> None:
    lab.originate("q-key", sc.caller, 30, phone="lab-keyphone")


QUEUE_SCENARIOS.append(
    Scenario(
        "queue_exit_key",
        "4155550126",
        _key_drive,
        extensions=KEY_PHONE
        + _caller_queue("q-key", "q-key")
        + """
[q-key-exit]
exten => 5,1,Hangup()
""",
        queues=_queue(
            "q-key", "ringall", [("Local/nobody@agents/n", "Nobody")], context="q-key-exit"
        ),
        expect={"outcome": "unanswered", "wait": 3.0, "findings": set()},
    )
)

DYN_MEMBER = "Local/dyn-agent@agents/n"
DYN_CALLER = "4155550125"


def _ok(reply: AmiMessage, what: str) -> None:
    if reply.get("Response") != "Success":
        raise RuntimeError(f"{what}: {reply.get('Message')}")


def _member_changes_drive(lab: Lab, sc: Scenario) -> None:
    """QueueAdd a paused member (ADDMEMBER PAUSED): the first caller leaves the queue as empty
    (leavewhenempty: EXITEMPTY); unpause; a second caller is answered by that member, who
    pauses while talking (PAUSE with a reason) and unpauses after; then QueueRemove."""
    ami = lab.ami

    def queue_event(name: str, mark: int, timeout: float = 20.0) -> AmiMessage:
        return ami.wait_for(
            lambda m: m.get("Event") == name and m.get("Queue") == "q-dyn", timeout, mark
        )

    _ok(ami.action("QueueAdd", Queue="q-dyn", Interface=DYN_MEMBER, MemberName="Henry",
                   Paused="true"), "QueueAdd")  # fmt: skip
    mark = ami.mark()
    lab.originate("q-dyn", sc.caller, 30)
    queue_event("QueueCallerLeave", mark)
    _ok(ami.action("QueuePause", Queue="q-dyn", Interface=DYN_MEMBER, Paused="false"), "unpause")
    mark = ami.mark()
    lab.originate("q-dyn", DYN_CALLER, 60)
    queue_event("AgentConnect", mark)
    _ok(ami.action("QueuePause", Queue="q-dyn", Interface=DYN_MEMBER, Paused="true",
                   Reason="Wrap-up"), "pause")  # fmt: skip
    queue_event("AgentComplete", mark, 30)
    _ok(ami.action("QueuePause", Queue="q-dyn", Interface=DYN_MEMBER, Paused="false"), "unpause")
    _ok(ami.action("QueueRemove", Queue="q-dyn", Interface=DYN_MEMBER), "QueueRemove")


QUEUE_SCENARIOS.append(
    Scenario(
        "queue_exit_empty",
        "4155550124",
        _member_changes_drive,
        extensions=_caller_queue("q-dyn", "q-dyn") + _agent("dyn-agent", 2, 6),
        queues=_queue("q-dyn", "ringall", [], leavewhenempty="yes"),
        expect={"outcome": "unanswered", "findings": set()},
    )
)
QUEUE_SCENARIOS.append(
    Scenario(
        "queue_dynamic_member",
        DYN_CALLER,
        lambda lab, sc: None,  # driven by queue_exit_empty, after the member is unpaused
        expect={
            "outcome": "answered",
            "agent": "Henry",
            "ring": 2.0,
            "wait": 2.0,
            "talk": 6.0,
            "findings": set(),
        },
    )
)


def _queue_blind_drive(lab: Lab, sc: Scenario) -> None:
    """A queue call answered by a Local agent, who blind-transfers the caller (AMI
    BlindTransfer, as the blindxfer feature) once the agent's dialplan says so (UserEvent
    after 3 s of talk); the target answers after 1 s and talks 4 s."""
    mark = lab.ami.mark()
    uid = lab.originate("q-bt", sc.caller, 60)
    connect = lab.ami.wait_for(
        lambda m: m.get("Event") == "AgentConnect" and m.get("Linkedid") == uid, 20, mark
    )
    lab.ami.wait_for(
        lambda m: m.get("Event") == "UserEvent" and m.get("UserEvent") == "LabBlindTransfer",
        20,
        mark,
    )
    agent = connect.get("DestChannel") or ""
    _ok(lab.ami.action("BlindTransfer", Channel=agent, Exten="qbt-dest", Context="agents"),
        f"BlindTransfer {agent}")  # fmt: skip


QUEUE_SCENARIOS.append(
    Scenario(
        "queue_blind_transfer",
        "4155550127",
        _queue_blind_drive,
        extensions=_caller_queue("q-bt", "q-bt")
        + """
[agents]
exten => qbt-agent,1,Wait(1)
 same => n,Answer()
 same => n,Wait(3)
 same => n,UserEvent(LabBlindTransfer,Queue: q-bt)
 same => n,Wait(60)
 same => n,Hangup()
exten => qbt-dest,1,Dial(Local/qbt2@agents/n,10)
 same => n,Hangup()
"""
        + _agent("qbt2", 1, 4),
        queues=_queue("q-bt", "ringall", [("Local/qbt-agent@agents/n", "Ivan")]),
        expect={
            "outcome": "answered",
            "agent": "Ivan",
            "ring": 1.0,
            "wait": 1.0,
            "transfers": 1,
            "findings": set(),
        },
    )
)


# the live view's call (tests/lab/test_lab_wallboard.py), not in the batch: a SIPp caller
# queues in q-live (answered by the dialplan first), the SIPp phone rings 1 s and answers,
# the caller hangs up 3 s after the dialplan's answer
QUEUE_SCENARIOS.append(
    Scenario(
        "wallboard_live",
        "4155550128",
        _sip("q-live", "agent-live", [("talk", 3000), ("bye", None)]),
        extensions="""
[from-pstn]
exten => q-live,1,Answer()
 same => n,Queue(q-live,,,,30)
 same => n,Hangup()
""",
        queues=_queue("q-live", "ringall", [("PJSIP/agent-live", "Lena")]),
        phase=2,
    )
)
